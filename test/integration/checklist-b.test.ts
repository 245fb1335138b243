/**
 * Issue 7 part B against the emulator (moto): LAMBDA.VPC.EGRESS from real DescribeSecurityGroups
 * responses, LAMBDA.VULNERABLE's "Inspector not enabled" stated once per scan and its findings once
 * enabled, LAMBDA.TRACING's plan applied (AttachRolePolicy + UpdateFunctionConfiguration), and
 * LAMBDA.LOGS.UNMASKED where moto falls short.
 *
 * Where moto differs from AWS (followed here: AWS):
 * - moto 5.2.5 implements no CloudWatch Logs data protection (GetDataProtectionPolicy answers as an
 *   unknown action). The collector leaves the key out and the rule says "not read"; the read, the plan
 *   and the executor are covered against AWS's documented shapes in test/aws/collect-context.test.ts.
 * - moto's BatchGetAccountStatus lists an account only after Enable was called for it; AWS lists every
 *   account asked for (status DISABLED when Inspector is off). Both mean "not scanned" to the rule.
 * - moto ignores TracingConfig on UpdateFunctionConfiguration: scripts/local/moto_patches.py (patch 9)
 *   restores AWS's behaviour, pinned here.
 * - moto loads AWS managed policies (AWSXRayDaemonWriteAccess) only with MOTO_IAM_LOAD_MANAGED_POLICIES;
 *   in AWS they always exist. This file's emulator is started with it.
 * - moto's ListFindings ignores the filter and answers from a queue set through its /moto-api; AWS
 *   filters by the function. The test queues exactly the findings AWS would return for the function.
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
} from '@aws-sdk/client-ec2';
import { IAMClient, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import { EnableCommand, Inspector2Client } from '@aws-sdk/client-inspector2';
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { collectFunction } from '../../functions/aws/collect.ts';
import { applyPlan } from '../../functions/aws/execute.ts';
import { scanAccount } from '../../functions/aws/scan.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { lambdaLogsUnmasked } from '../../functions/core/rules/lambda-logs-unmasked.ts';
import { lambdaTracing } from '../../functions/core/rules/lambda-tracing.ts';
import { lambdaVpcEgress } from '../../functions/core/rules/lambda-vpc-egress.ts';
import { lambdaVulnerable } from '../../functions/core/rules/lambda-vulnerable.ts';
import {
  EMULATOR_CREDENTIALS,
  type EmulatorHandle,
  emulatorClientConfig,
  startEmulator,
} from '../../scripts/local/emulator.ts';
import { DEMO_ACCOUNT as ACCOUNT, ensureRole, DEMO_REGION as REGION, ZIP } from '../../scripts/local/seed.ts';

let emu: EmulatorHandle;
let ec2: EC2Client;
let lambda: LambdaClient;
let iam: IAMClient;
const NOW = () => new Date().toISOString();
const clients = () => createClients({ endpoint: emu.endpoint, credentials: { ...EMULATOR_CREDENTIALS } });
const target = (functionName: string, extra: { attachedRolePolicies?: boolean } = {}) => ({
  account: ACCOUNT,
  region: REGION,
  functionName,
  ...extra,
});
let roleArn: string;
let openGroup: string;
let narrowGroup: string;
let subnet: string;

async function createFunction(name: string, groups?: string[]) {
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Role: roleArn,
      Code: { ZipFile: ZIP },
      ...(groups ? { VpcConfig: { SubnetIds: [subnet], SecurityGroupIds: groups } } : {}),
    }),
  );
}

beforeAll(async () => {
  // AttachRolePolicy of an AWS managed policy needs moto to know them (off by default in moto 5;
  // in AWS they always exist). Set for this emulator process only.
  const saved = process.env['MOTO_IAM_LOAD_MANAGED_POLICIES'];
  process.env['MOTO_IAM_LOAD_MANAGED_POLICIES'] = 'true';
  try {
    emu = await startEmulator({ log: (s) => console.error(s) });
  } finally {
    if (saved === undefined) delete process.env['MOTO_IAM_LOAD_MANAGED_POLICIES'];
    else process.env['MOTO_IAM_LOAD_MANAGED_POLICIES'] = saved;
  }
  const cfg = emulatorClientConfig(emu.endpoint, REGION);
  ec2 = new EC2Client(cfg);
  lambda = new LambdaClient(cfg);
  iam = new IAMClient(cfg);
  roleArn = await ensureRole(emu.endpoint, 'checklist-b-role');
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const vpcId = vpc.Vpc!.VpcId!;
  subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.20.1.0/24' }))).Subnet!
    .SubnetId!;
  // A new group has the default egress rule: all traffic to 0.0.0.0/0.
  openGroup = (
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'open', Description: 'open', VpcId: vpcId }))
  ).GroupId!;
  narrowGroup = (
    await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: 'narrow', Description: 'narrow', VpcId: vpcId }),
    )
  ).GroupId!;
  await ec2.send(
    new AuthorizeSecurityGroupEgressCommand({
      GroupId: narrowGroup,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    }),
  );
  await ec2.send(
    new RevokeSecurityGroupEgressCommand({
      GroupId: narrowGroup,
      IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    }),
  );
  await createFunction('egress-open', [openGroup]);
  await createFunction('egress-narrow', [narrowGroup]);
  await createFunction('plain');
}, 300_000);

afterAll(async () => {
  ec2?.destroy();
  lambda?.destroy();
  iam?.destroy();
  await emu?.stop();
});

describe('LAMBDA.VPC.EGRESS on the emulator', () => {
  it('reads the function’s security groups and flags only the one with the default all-traffic egress', async () => {
    const open = await collectFunction(clients(), target('egress-open'));
    const narrow = await collectFunction(clients(), target('egress-narrow'));
    const plain = await collectFunction(clients(), target('plain'));
    expect(open.responses['DescribeSecurityGroups']).toMatchObject({
      SecurityGroups: [{ GroupId: openGroup }],
    });
    expect(plain.responses).not.toHaveProperty('DescribeSecurityGroups');
    const r = lambdaVpcEgress.evaluate(open, { now: NOW() });
    expect(r.status).toBe('NON_COMPLIANT');
    if (r.status === 'NON_COMPLIANT')
      expect(r.findings[0].evidence['openEgress']).toMatchObject([
        { groupId: openGroup, ipProtocol: '-1', destinations: ['0.0.0.0/0'] },
      ]);
    expect(lambdaVpcEgress.evaluate(narrow, { now: NOW() }).status).toBe('COMPLIANT');
    expect(lambdaVpcEgress.evaluate(plain, { now: NOW() }).status).toBe('NOT_APPLICABLE');
  });
});

describe('LAMBDA.LOGS.UNMASKED on the emulator (moto has no data protection)', () => {
  it('the read is left out and the rule says so, instead of failing the whole function', async () => {
    const s = await collectFunction(clients(), target('plain'));
    expect(s.responses).not.toHaveProperty('GetDataProtectionPolicy');
    expect(lambdaLogsUnmasked.evaluate(s, { now: NOW() })).toMatchObject({
      status: 'NOT_APPLICABLE',
      reason: expect.stringContaining('was not read'),
    });
  });
});

describe('LAMBDA.VULNERABLE on the emulator', () => {
  it('Inspector not enabled: the scan states it once, in its notices, not once per function', async () => {
    const report = await scanAccount({ clients: clients(), regions: [REGION], now: NOW, account: ACCOUNT });
    const notices = report.notices.filter((n) => n.ruleId === 'LAMBDA.VULNERABLE');
    expect(notices).toEqual([
      {
        ruleId: 'LAMBDA.VULNERABLE',
        region: REGION,
        message: expect.stringContaining('Lambda scanning is not enabled'),
        resources: report.resources.filter((r) => r.kind === 'function' && r.status !== 'deleted').length,
      },
    ]);
    expect(notices[0].resources).toBeGreaterThanOrEqual(3);
  });

  it('once enabled, HIGH/CRITICAL findings of the function are reported', async () => {
    const inspector = new Inspector2Client(emulatorClientConfig(emu.endpoint, REGION));
    await inspector.send(new EnableCommand({ accountIds: [ACCOUNT], resourceTypes: ['LAMBDA'] }));
    inspector.destroy();
    const fnArn = (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'plain' })))
      .FunctionArn!;
    const finding = {
      awsAccountId: ACCOUNT,
      findingArn: `arn:aws:inspector2:${REGION}:${ACCOUNT}:finding/0123456789abcdef`,
      title: 'CVE-2024-4068 - braces',
      severity: 'HIGH',
      status: 'ACTIVE',
      type: 'PACKAGE_VULNERABILITY',
      description: 'braces fails to limit the number of characters it can handle',
      resources: [{ id: fnArn, type: 'AWS_LAMBDA_FUNCTION', region: REGION }],
      packageVulnerabilityDetails: {
        vulnerabilityId: 'CVE-2024-4068',
        source: 'NVD',
        vulnerablePackages: [
          { name: 'braces', version: '3.0.2', fixedInVersion: '3.0.3', packageManager: 'NODEPKG' },
        ],
      },
      firstObservedAt: 1718452800,
      lastObservedAt: 1718452800,
      remediation: { recommendation: { text: 'Upgrade braces' } },
    };
    const res = await fetch(`${emu.endpoint}/moto-api/static/inspector2/findings-results`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ results: [[finding]], account_id: ACCOUNT, region: REGION }),
    });
    expect(res.ok).toBe(true);
    const s = await collectFunction(clients(), target('plain'));
    const r = lambdaVulnerable.evaluate(s, { now: NOW() });
    expect(r.status).toBe('NON_COMPLIANT');
    if (r.status === 'NON_COMPLIANT') {
      expect(r.findings[0].severity).toBe('HIGH');
      expect(r.findings[0].evidence['findings']).toMatchObject([
        { title: 'CVE-2024-4068 - braces', packages: [{ name: 'braces', fixedInVersion: '3.0.3' }] },
      ]);
    }
  });
});

describe('LAMBDA.TRACING plan on the emulator', () => {
  it('UpdateFunctionConfiguration sets TracingConfig (moto_patches.py patch 9)', async () => {
    await createFunction('tracing-pin');
    // PATCHED: moto 5.2.5 ignores TracingConfig on UpdateFunctionConfiguration; AWS sets the mode.
    const r = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'tracing-pin',
        TracingConfig: { Mode: 'Active' },
      }),
    );
    expect(r.TracingConfig?.Mode).toBe('Active');
    const cfg = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'tracing-pin' }));
    expect(cfg.TracingConfig?.Mode).toBe('Active');
  });

  it('attaches AWSXRayDaemonWriteAccess and turns tracing Active; re-evaluated, compliant', async () => {
    const config = parseConfig({ rules: { 'LAMBDA.TRACING': { enabled: true, mode: 'auto' } } });
    const c = clients();
    const s = await collectFunction(c, target('plain', { attachedRolePolicies: true }));
    expect(s.responses['ListAttachedRolePolicies:checklist-b-role']).toEqual({ AttachedPolicies: [] });
    const e = evaluate({ snapshot: s, config, now: NOW(), rules: [lambdaTracing] });
    expect(e.findings.map((f) => [f.mode, f.plan.steps.map((x) => x.operation)])).toEqual([
      ['auto', ['AttachRolePolicy', 'UpdateFunctionConfiguration']],
    ]);
    const r = await applyPlan(c, REGION, e.findings, s, {
      waiter: { minDelay: 1, maxDelay: 1, maxWaitTime: 20 },
    });
    expect(r.status, JSON.stringify(r)).toBe('applied');
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'checklist-b-role' }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyName)).toContain('AWSXRayDaemonWriteAccess');
    const after = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'plain' }));
    expect(after.TracingConfig?.Mode).toBe('Active');
    const again = await collectFunction(clients(), target('plain', { attachedRolePolicies: true }));
    expect(lambdaTracing.evaluate(again, { now: NOW(), config }).status).toBe('COMPLIANT');
  });
});
