import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudWatchLogsClient, GetDataProtectionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetRoleCommand, IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { BatchGetAccountStatusCommand, Inspector2Client } from '@aws-sdk/client-inspector2';
import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListFunctionUrlConfigsCommand,
  ListLayersCommand,
  ListTagsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';

/**
 * `guardrail evaluate` and `guardrail scan` cover LAMBDA.VPC.EGRESS, LAMBDA.VULNERABLE and
 * LAMBDA.LOGS.UNMASKED: evaluate from a snapshot file carrying their keys (docs/snapshot.md), scan
 * through the collector with SDK mocks (the emulator runs are in test/integration/checklist-b.test.ts).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FX = join(ROOT, 'test', 'fixtures', 'cli');
const NOW = '2024-08-02T00:00:00.000Z';
const tmp = mkdtempSync(join(tmpdir(), 'guardrail-checklist-b-'));
const lambda = mockClient(LambdaClient);
const sts = mockClient(STSClient);
const iam = mockClient(IAMClient);
const ec2 = mockClient(EC2Client);
const logs = mockClient(CloudWatchLogsClient);
const inspector = mockClient(Inspector2Client);
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  for (const m of [lambda, sts, iam, ec2, logs, inspector]) m.restore();
});

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) }, () => NOW);
  return { code, out, err, stdout: out.join('\n') };
}

const OPEN_EGRESS = {
  SecurityGroups: [
    {
      GroupId: 'sg-0a1b2c3d4e5f60718',
      GroupName: 'fn',
      Description: 'function group',
      OwnerId: '880896431042',
      VpcId: 'vpc-0abc',
      IpPermissions: [],
      IpPermissionsEgress: [
        {
          IpProtocol: '-1',
          IpRanges: [{ CidrIp: '0.0.0.0/0' }],
          Ipv6Ranges: [],
          PrefixListIds: [],
          UserIdGroupPairs: [],
        },
      ],
    },
  ],
};

describe('guardrail evaluate: the part B rules from a snapshot file', () => {
  it('reports open egress, an unmasked log group (with its plan) and Inspector findings', async () => {
    const snapshot = JSON.parse(readFileSync(join(FX, 'snapshot-public.json'), 'utf8'));
    const account = snapshot.account as string;
    const cfg = snapshot.responses.GetFunctionConfiguration;
    cfg.VpcConfig = {
      SubnetIds: ['subnet-1'],
      SecurityGroupIds: ['sg-0a1b2c3d4e5f60718'],
      VpcId: 'vpc-0abc',
    };
    snapshot.responses.DescribeSecurityGroups = OPEN_EGRESS;
    snapshot.responses.GetDataProtectionPolicy = { logGroupIdentifier: `/aws/lambda/${cfg.FunctionName}` };
    snapshot.responses.BatchGetAccountStatus = {
      accounts: [
        {
          accountId: account,
          state: { status: 'ENABLED' },
          resourceState: { lambda: { status: 'ENABLED' } },
        },
      ],
      failedAccounts: [],
    };
    snapshot.responses.ListFindings = {
      findings: [
        {
          findingArn: `arn:aws:inspector2:${snapshot.region}:${account}:finding/abc`,
          title: 'CVE-2024-4068 - braces',
          severity: 'CRITICAL',
          status: 'ACTIVE',
          type: 'PACKAGE_VULNERABILITY',
          packageVulnerabilityDetails: {
            vulnerabilityId: 'CVE-2024-4068',
            vulnerablePackages: [{ name: 'braces', version: '3.0.2', fixedInVersion: '3.0.3' }],
          },
        },
      ],
    };
    const file = join(tmp, 'snapshot.json');
    writeFileSync(file, JSON.stringify(snapshot));
    const r = await run(
      'evaluate',
      '--event',
      join(FX, 'event-addpermission.json'),
      '--snapshot',
      file,
      '--format',
      'json',
    );
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    const byRule = Object.fromEntries(doc.findings.map((f: { ruleId: string }) => [f.ruleId, f]));
    expect(byRule['LAMBDA.VPC.EGRESS']).toMatchObject({ mode: 'report', plan: { steps: [] } });
    expect(byRule['LAMBDA.VULNERABLE']).toMatchObject({ severity: 'CRITICAL', mode: 'report' });
    expect(byRule['LAMBDA.LOGS.UNMASKED']).toMatchObject({
      mode: 'report',
      plan: { steps: [{ service: 'logs', operation: 'PutDataProtectionPolicy' }] },
    });
    // The table shows the exact call a dry run would make.
    const table = await run('evaluate', '--event', join(FX, 'event-addpermission.json'), '--snapshot', file);
    expect(table.stdout).toContain('logs:PutDataProtectionPolicy');
  });
});

describe('guardrail scan: the part B rules through the collector', () => {
  it('states "Inspector not enabled" once and reports open egress and unmasked log groups per function', async () => {
    const ACCOUNT = '123456789012';
    const REGION = 'us-east-1';
    const arn = (n: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${n}`;
    const names = ['a', 'b', 'c'];
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
    iam
      .on(GetRoleCommand)
      .rejects(new NoSuchEntityException({ message: 'no role', $metadata: { httpStatusCode: 404 } }));
    lambda.on(ListFunctionsCommand).resolves({
      Functions: names.map((n) => ({
        FunctionName: n,
        FunctionArn: arn(n),
        Role: `arn:aws:iam::${ACCOUNT}:role/r`,
      })),
    });
    lambda.on(GetFunctionConfigurationCommand).callsFake(({ FunctionName }) => ({
      FunctionName,
      FunctionArn: arn(FunctionName),
      Runtime: 'nodejs24.x',
      ...(FunctionName === 'a'
        ? { VpcConfig: { SubnetIds: ['subnet-1'], SecurityGroupIds: ['sg-0a1b2c3d4e5f60718'] } }
        : {}),
    }));
    lambda.on(ListTagsCommand).resolves({ Tags: {} });
    lambda.on(ListAliasesCommand).resolves({ Aliases: [] });
    lambda.on(ListFunctionUrlConfigsCommand).resolves({ FunctionUrlConfigs: [] });
    lambda.on(ListLayersCommand).resolves({ Layers: [] });
    const notFound = () =>
      new ResourceNotFoundException({ message: 'not found', $metadata: { httpStatusCode: 404 } });
    lambda.on(GetPolicyCommand).rejects(notFound());
    lambda.on(GetFunctionEventInvokeConfigCommand).rejects(notFound());
    ec2.on(DescribeSecurityGroupsCommand).resolves(OPEN_EGRESS);
    logs.on(GetDataProtectionPolicyCommand).callsFake(({ logGroupIdentifier }) => ({ logGroupIdentifier }));
    inspector.on(BatchGetAccountStatusCommand).resolves({
      accounts: [
        {
          accountId: ACCOUNT,
          state: { status: 'DISABLED' },
          resourceState: { lambda: { status: 'DISABLED' } },
        },
      ],
      failedAccounts: [],
    } as never);
    const r = await run('scan', '--region', REGION, '--format', 'json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.notices).toEqual([
      {
        ruleId: 'LAMBDA.VULNERABLE',
        region: REGION,
        message: expect.stringContaining('not enabled'),
        resources: 3,
      },
    ]);
    const findings = report.resources.flatMap((x: { name: string; findings: { ruleId: string }[] }) =>
      x.findings.map((f) => `${x.name}:${f.ruleId}`),
    );
    expect(findings.sort()).toEqual([
      'a:LAMBDA.LOGS.UNMASKED',
      'a:LAMBDA.VPC.EGRESS',
      'b:LAMBDA.LOGS.UNMASKED',
      'c:LAMBDA.LOGS.UNMASKED',
    ]);
    expect(inspector.commandCalls(BatchGetAccountStatusCommand)).toHaveLength(1);
    const table = await run('scan', '--region', REGION);
    expect(table.stdout.split('Lambda scanning is not enabled')).toHaveLength(2);
  });
});
