import {
  CloudWatchLogsClient,
  DeleteDataProtectionPolicyCommand,
  GetDataProtectionPolicyCommand,
  PutDataProtectionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  AttachRolePolicyCommand,
  DetachRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import {
  BatchGetAccountStatusCommand,
  Inspector2Client,
  ListFindingsCommand,
} from '@aws-sdk/client-inspector2';
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { collectFunctionContext } from '../../functions/aws/collect-context.ts';
import { applyPlan } from '../../functions/aws/execute.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { lambdaLogsUnmasked } from '../../functions/core/rules/lambda-logs-unmasked.ts';
import { lambdaTracing } from '../../functions/core/rules/lambda-tracing.ts';
import { MAX_FINDINGS } from '../../functions/core/rules/lambda-vulnerable.ts';
import type { FunctionConfiguration } from '../../functions/core/snapshot.ts';
import type { Finding, Snapshot } from '../../functions/core/types.ts';
import {
  ACCOUNT,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  NOW,
  OTHER_ACCOUNT,
  REGION,
} from '../unit/helpers.ts';

const ec2 = mockClient(EC2Client);
const logs = mockClient(CloudWatchLogsClient);
const inspector = mockClient(Inspector2Client);
const iam = mockClient(IAMClient);
const lambda = mockClient(LambdaClient);
const MOCKS = [ec2, logs, inspector, iam, lambda];
afterAll(() => {
  for (const m of MOCKS) m.restore();
});
beforeEach(() => {
  for (const m of MOCKS) m.reset();
  // What an account without these settings answers; each test overrides what it looks at.
  ec2.on(DescribeSecurityGroupsCommand).resolves({ ...META, SecurityGroups: [] });
  logs.on(GetDataProtectionPolicyCommand).resolves({ ...META, logGroupIdentifier: '/custom/orders' });
  inspector.on(BatchGetAccountStatusCommand).resolves(answer(status('DISABLED')));
  iam.on(ListAttachedRolePoliciesCommand).resolves({ ...META, AttachedPolicies: [] });
});

const META = { $metadata: { httpStatusCode: 200, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 } };
const awsError = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const ROLE = `${FUNCTION_NAME}-role`;
const CONFIG: FunctionConfiguration = {
  FunctionName: FUNCTION_NAME,
  FunctionArn: functionArn(),
  Role: `arn:aws:iam::${ACCOUNT}:role/service-role/${ROLE}`,
  RevisionId: 'fn-rev-0001',
  TracingConfig: { Mode: 'PassThrough' },
  LoggingConfig: { LogFormat: 'Text', LogGroup: '/custom/orders' },
};
const VPC_CONFIG = {
  ...CONFIG,
  VpcConfig: { SubnetIds: ['subnet-1'], SecurityGroupIds: ['sg-1', 'sg-2'], VpcId: 'vpc-1' },
};
const SG_BODY = {
  SecurityGroups: [
    {
      GroupId: 'sg-1',
      GroupName: 'fn',
      Description: 'd',
      OwnerId: ACCOUNT,
      VpcId: 'vpc-1',
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
/**
 * A BatchGetAccountStatus body. The SDK model also requires errorCode/errorMessage on each State; the
 * collector and the rule read only `status`, so the fixture leaves them out (`answer` casts).
 */
const status = (lambdaStatus: string): Record<string, unknown> => ({
  accounts: [
    {
      accountId: ACCOUNT,
      state: { status: lambdaStatus },
      resourceState: {
        ec2: { status: 'DISABLED' },
        ecr: { status: 'DISABLED' },
        lambda: { status: lambdaStatus },
        lambdaCode: { status: 'DISABLED' },
      },
    },
  ],
  failedAccounts: [],
});
/** A response the mock returns: the body with the SDK's $metadata (typed loosely: fixtures hold only what is read). */
const answer = (body: object): never => ({ ...META, ...body }) as never;
const emptySnapshot = (): Snapshot => ({ account: ACCOUNT, region: REGION, responses: {} });

async function collect(
  config: FunctionConfiguration,
  opts: { attachedRolePolicies?: boolean } = {},
  clients = createClients(),
) {
  const s = emptySnapshot();
  await collectFunctionContext(clients, s, config, opts);
  return s.responses;
}

describe('collectFunctionContext: EC2 security groups (LAMBDA.VPC.EGRESS)', () => {
  it('reads exactly the function’s groups, in the response shape, only for a VPC function', async () => {
    ec2.on(DescribeSecurityGroupsCommand).resolves({ ...META, ...SG_BODY });
    expect((await collect(CONFIG))['DescribeSecurityGroups']).toBeUndefined();
    expect(ec2).not.toHaveReceivedCommand(DescribeSecurityGroupsCommand);
    const r = await collect(VPC_CONFIG);
    expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, { GroupIds: ['sg-1', 'sg-2'] });
    expect(r['DescribeSecurityGroups']).toEqual(SG_BODY);
  });

  it('a group that no longer exists is null; AccessDenied leaves the key out; throttling fails the read', async () => {
    ec2.on(DescribeSecurityGroupsCommand).rejects(awsError('InvalidGroup.NotFound', 400));
    expect((await collect(VPC_CONFIG))['DescribeSecurityGroups']).toBeNull();
    ec2.on(DescribeSecurityGroupsCommand).rejects(awsError('UnauthorizedOperation', 403));
    expect(await collect(VPC_CONFIG)).not.toHaveProperty('DescribeSecurityGroups');
    ec2.on(DescribeSecurityGroupsCommand).rejects(awsError('RequestLimitExceeded', 503));
    await expect(collect(VPC_CONFIG)).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
  });
});

describe('collectFunctionContext: CloudWatch Logs data protection (LAMBDA.LOGS.UNMASKED)', () => {
  it('reads the configured log group, else /aws/lambda/<name>', async () => {
    logs.on(GetDataProtectionPolicyCommand).resolves({ ...META, logGroupIdentifier: '/custom/orders' });
    expect((await collect(CONFIG))['GetDataProtectionPolicy']).toEqual({
      logGroupIdentifier: '/custom/orders',
    });
    expect(logs).toHaveReceivedCommandWith(GetDataProtectionPolicyCommand, {
      logGroupIdentifier: '/custom/orders',
    });
    await collect({ ...CONFIG, LoggingConfig: undefined });
    expect(logs).toHaveReceivedCommandWith(GetDataProtectionPolicyCommand, {
      logGroupIdentifier: `/aws/lambda/${FUNCTION_NAME}`,
    });
  });

  it('a missing log group is null; an unimplemented endpoint leaves the key out (the emulator)', async () => {
    logs.on(GetDataProtectionPolicyCommand).rejects(awsError('ResourceNotFoundException', 400));
    expect((await collect(CONFIG))['GetDataProtectionPolicy']).toBeNull();
    logs.on(GetDataProtectionPolicyCommand).rejects(awsError('NotImplemented', 501));
    expect(await collect(CONFIG)).not.toHaveProperty('GetDataProtectionPolicy');
  });
});

describe('collectFunctionContext: Amazon Inspector (LAMBDA.VULNERABLE)', () => {
  it('not enabled: the status is stored and no findings are listed', async () => {
    inspector.on(BatchGetAccountStatusCommand).resolves(answer(status('DISABLED')));
    const r = await collect(CONFIG);
    expect(r['BatchGetAccountStatus']).toEqual(status('DISABLED'));
    expect(inspector).toHaveReceivedCommandWith(BatchGetAccountStatusCommand, { accountIds: [ACCOUNT] });
    expect(inspector).not.toHaveReceivedCommand(ListFindingsCommand);
    expect(r).not.toHaveProperty('ListFindings');
  });

  it('asks for the account status once per set of clients and region, not once per function', async () => {
    inspector.on(BatchGetAccountStatusCommand).resolves(answer(status('DISABLED')));
    const clients = createClients();
    for (let i = 0; i < 5; i++) await collect({ ...CONFIG, FunctionName: `fn-${i}` }, {}, clients);
    expect(inspector).toHaveReceivedCommandTimes(BatchGetAccountStatusCommand, 1);
    await collect(CONFIG);
    expect(inspector).toHaveReceivedCommandTimes(BatchGetAccountStatusCommand, 2);
  });

  it('a failed status read is not cached', async () => {
    const clients = createClients();
    inspector
      .on(BatchGetAccountStatusCommand)
      .rejectsOnce(awsError('ThrottlingException', 400))
      .resolves(answer(status('DISABLED')));
    await expect(collect(CONFIG, {}, clients)).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect((await collect(CONFIG, {}, clients))['BatchGetAccountStatus']).toEqual(status('DISABLED'));
  });

  it('enabled: lists ACTIVE HIGH/CRITICAL findings of this function, every page merged', async () => {
    inspector.on(BatchGetAccountStatusCommand).resolves(answer(status('ENABLED')));
    const f = (id: string) => ({
      findingArn: `arn:aws:inspector2:${REGION}:${ACCOUNT}:finding/${id}`,
      severity: 'HIGH',
      status: 'ACTIVE',
    });
    inspector
      .on(ListFindingsCommand)
      .resolvesOnce(answer({ findings: [f('1')], nextToken: 'p2' }))
      .resolvesOnce(answer({ findings: [f('2')] }));
    const r = await collect(CONFIG);
    expect(r['ListFindings']).toEqual({ findings: [f('1'), f('2')] });
    const calls = inspector.commandCalls(ListFindingsCommand).map((c) => c.args[0].input);
    expect(calls[0]).toEqual({
      filterCriteria: {
        awsAccountId: [{ comparison: 'EQUALS', value: ACCOUNT }],
        resourceType: [{ comparison: 'EQUALS', value: 'AWS_LAMBDA_FUNCTION' }],
        lambdaFunctionName: [{ comparison: 'EQUALS', value: FUNCTION_NAME }],
        findingStatus: [{ comparison: 'EQUALS', value: 'ACTIVE' }],
        severity: [
          { comparison: 'EQUALS', value: 'CRITICAL' },
          { comparison: 'EQUALS', value: 'HIGH' },
        ],
      },
      maxResults: 100,
    });
    expect(calls[1]).toMatchObject({ nextToken: 'p2' });
  });

  it(`stops at ${MAX_FINDINGS} findings and keeps the nextToken (more exist)`, async () => {
    inspector.on(BatchGetAccountStatusCommand).resolves(answer(status('ENABLED')));
    const page = Array.from({ length: 100 }, (_, i) => ({
      findingArn: `f-${i}`,
      severity: 'HIGH',
      status: 'ACTIVE',
    }));
    inspector.on(ListFindingsCommand).resolves(answer({ findings: page, nextToken: 'more' }));
    const r = (await collect(CONFIG))['ListFindings'] as { findings: unknown[]; nextToken?: string };
    expect(r.findings).toHaveLength(MAX_FINDINGS);
    expect(r.nextToken).toBe('more');
    expect(inspector).toHaveReceivedCommandTimes(ListFindingsCommand, 1);
  });

  it('keeps only the fields the rule reads of each finding (a full one is several KB)', async () => {
    inspector.on(BatchGetAccountStatusCommand).resolves(answer(status('ENABLED')));
    const full = {
      findingArn: 'f-1',
      awsAccountId: ACCOUNT,
      title: 'CVE-2024-4068 - braces',
      severity: 'HIGH',
      status: 'ACTIVE',
      type: 'PACKAGE_VULNERABILITY',
      description: 'x'.repeat(2000),
      remediation: { recommendation: { text: 'upgrade' } },
      inspectorScoreDetails: { adjustedCvss: { score: 7.5 } },
      resources: [
        {
          id: functionArn(),
          type: 'AWS_LAMBDA_FUNCTION',
          region: REGION,
          details: { awsLambdaFunction: {} },
        },
      ],
      packageVulnerabilityDetails: {
        vulnerabilityId: 'CVE-2024-4068',
        referenceUrls: ['https://nvd.nist.gov/'],
        vulnerablePackages: [
          {
            name: 'braces',
            version: '3.0.2',
            fixedInVersion: '3.0.3',
            filePath: 'x',
            packageManager: 'NODEPKG',
          },
        ],
      },
    };
    inspector.on(ListFindingsCommand).resolves(answer({ findings: [full] }));
    const r = (await collect(CONFIG))['ListFindings'];
    expect(r).toEqual({
      findings: [
        {
          findingArn: 'f-1',
          awsAccountId: ACCOUNT,
          title: 'CVE-2024-4068 - braces',
          severity: 'HIGH',
          status: 'ACTIVE',
          type: 'PACKAGE_VULNERABILITY',
          resources: [{ id: functionArn(), type: 'AWS_LAMBDA_FUNCTION', region: REGION }],
          packageVulnerabilityDetails: {
            vulnerabilityId: 'CVE-2024-4068',
            vulnerablePackages: [{ name: 'braces', version: '3.0.2', fixedInVersion: '3.0.3' }],
          },
        },
      ],
    });
  });

  it('AccessDenied on the status leaves both keys out', async () => {
    inspector.on(BatchGetAccountStatusCommand).rejects(awsError('AccessDeniedException', 403));
    const r = await collect(CONFIG);
    expect(r).not.toHaveProperty('BatchGetAccountStatus');
    expect(r).not.toHaveProperty('ListFindings');
  });
});

describe('collectFunctionContext: execution role policies (LAMBDA.TRACING plan)', () => {
  const attached = {
    AttachedPolicies: [
      {
        PolicyName: 'AWSLambdaBasicExecutionRole',
        PolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
      },
    ],
  };

  it('only when asked, tracing is not Active and the role is in the account', async () => {
    iam.on(ListAttachedRolePoliciesCommand).resolves({ ...META, ...attached });
    expect(await collect(CONFIG)).not.toHaveProperty(`ListAttachedRolePolicies:${ROLE}`);
    expect(iam).not.toHaveReceivedCommand(ListAttachedRolePoliciesCommand);
    expect(
      (await collect(CONFIG, { attachedRolePolicies: true }))[`ListAttachedRolePolicies:${ROLE}`],
    ).toEqual(attached);
    expect(iam).toHaveReceivedCommandWith(ListAttachedRolePoliciesCommand, { RoleName: ROLE });
    iam.resetHistory();
    await collect({ ...CONFIG, TracingConfig: { Mode: 'Active' } }, { attachedRolePolicies: true });
    await collect(
      { ...CONFIG, Role: `arn:aws:iam::${OTHER_ACCOUNT}:role/${ROLE}` },
      { attachedRolePolicies: true },
    );
    expect(iam).not.toHaveReceivedCommand(ListAttachedRolePoliciesCommand);
  });
});

// ---- executors ---------------------------------------------------------------------------------

function findingOf(rule: typeof lambdaLogsUnmasked, snapshot: Snapshot, config = parseConfig({})): Finding {
  const e = evaluate({ snapshot, config, now: NOW, rules: [rule] });
  expect(e.findings).toHaveLength(1);
  return e.findings[0];
}

describe('executors: LAMBDA.LOGS.UNMASKED', () => {
  it('puts the policy with exactly the planned request, records before/after; the inverse deletes it', async () => {
    const s = functionSnapshot();
    s.responses['GetDataProtectionPolicy'] = { logGroupIdentifier: `/aws/lambda/${FUNCTION_NAME}` };
    const f = findingOf(lambdaLogsUnmasked, s);
    const step = f.plan.steps[0];
    logs
      .on(PutDataProtectionPolicyCommand)
      .callsFake(async (input) => ({ ...META, ...input, lastUpdatedTime: 1 }));
    const r = await applyPlan(createClients(), REGION, [f], s);
    expect(r.status).toBe('applied');
    expect(logs).toHaveReceivedCommandWith(PutDataProtectionPolicyCommand, step.parameters);
    expect(r.steps[0]).toMatchObject({
      status: 'applied',
      before: null,
      after: {
        logGroupIdentifier: `/aws/lambda/${FUNCTION_NAME}`,
        policyDocument: JSON.parse(String(step.parameters['policyDocument'])),
      },
      inverse: {
        operation: 'DeleteDataProtectionPolicy',
        parameters: { logGroupIdentifier: `/aws/lambda/${FUNCTION_NAME}` },
      },
    });
    // Rollback: the inverse; a policy already gone has done its job.
    logs.on(DeleteDataProtectionPolicyCommand).rejects(awsError('ResourceNotFoundException', 400));
    const undo = await applyPlan(
      createClients(),
      REGION,
      [{ ...f, plan: { steps: [{ ...step.inverse! }], preconditions: [] } }],
      s,
    );
    expect(undo.steps[0]).toMatchObject({ status: 'applied', after: { alreadyAbsent: true } });
  });
});

describe('executors: LAMBDA.TRACING', () => {
  it('attaches the X-Ray policy, then updates TracingConfig with the RevisionId and waits for the update', async () => {
    const s = functionSnapshot();
    s.responses[`ListAttachedRolePolicies:${ROLE}`] = { AttachedPolicies: [] };
    const f = findingOf(
      lambdaTracing,
      s,
      parseConfig({ rules: { 'LAMBDA.TRACING': { enabled: true, mode: 'auto' } } }),
    );
    iam.on(AttachRolePolicyCommand).resolves(META);
    lambda.on(UpdateFunctionConfigurationCommand).resolves({
      ...META,
      FunctionName: FUNCTION_NAME,
      TracingConfig: { Mode: 'Active' },
      RevisionId: 'fn-rev-0002',
      LastUpdateStatus: 'InProgress',
    });
    lambda.on(GetFunctionConfigurationCommand).resolves({
      ...META,
      FunctionName: FUNCTION_NAME,
      RevisionId: 'fn-rev-0002',
      LastUpdateStatus: 'Successful',
      State: 'Active',
    });
    const r = await applyPlan(createClients(), REGION, [f], s, {
      waiter: { minDelay: 1, maxDelay: 1, maxWaitTime: 5 },
    });
    expect(r.status).toBe('applied');
    expect(iam).toHaveReceivedCommandWith(AttachRolePolicyCommand, {
      RoleName: ROLE,
      PolicyArn: 'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess',
    });
    expect(lambda).toHaveReceivedCommandWith(UpdateFunctionConfigurationCommand, {
      FunctionName: FUNCTION_NAME,
      TracingConfig: { Mode: 'Active' },
      RevisionId: 'fn-rev-0001',
    });
    expect(r.steps[1]).toMatchObject({
      before: { TracingConfig: { Mode: 'PassThrough' } },
      after: { TracingConfig: { Mode: 'Active' }, LastUpdateStatus: 'Successful' },
    });
  });

  it('all or nothing: a refused update detaches the policy it attached', async () => {
    const s = functionSnapshot();
    s.responses[`ListAttachedRolePolicies:${ROLE}`] = { AttachedPolicies: [] };
    const f = findingOf(lambdaTracing, s, parseConfig({ rules: { 'LAMBDA.TRACING': { enabled: true } } }));
    iam.on(AttachRolePolicyCommand).resolves(META);
    iam.on(DetachRolePolicyCommand).resolves(META);
    lambda.on(UpdateFunctionConfigurationCommand).rejects(awsError('PreconditionFailedException', 412));
    const r = await applyPlan(createClients(), REGION, [f], s);
    // 412: the function changed since it was read; the attach was undone, so nothing is left written.
    expect(r.status).toBe('resource-changed');
    expect(iam).toHaveReceivedCommandWith(DetachRolePolicyCommand, {
      RoleName: ROLE,
      PolicyArn: 'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess',
    });
    expect(r.undo?.[0]).toMatchObject({ operation: 'DetachRolePolicy', status: 'applied' });
  });
});
