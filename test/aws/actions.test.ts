import { CloudWatchLogsClient, GetDataProtectionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import {
  BatchGetAccountStatusCommand,
  Inspector2Client,
  ListFindingsCommand,
} from '@aws-sdk/client-inspector2';
import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { collectFunction } from '../../functions/aws/collect.ts';
import { EXECUTORS } from '../../functions/aws/execute.ts';
import { actionKey, READ_ACTIONS, WRITE_ACTIONS, writeAction } from '../../functions/core/actions.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { RULES } from '../../functions/core/rules/index.ts';
import { keyFor } from '../../functions/core/snapshot.ts';
import type { PlanStep, Snapshot } from '../../functions/core/types.ts';
import {
  ACCOUNT,
  accountStatement,
  FUNCTION_NAME,
  functionSnapshot,
  NOW,
  publicInvokeStatement,
  publicUrlPair,
  REGION,
  serviceStatement,
  urlFunctionInvokeStatement,
  urlInvokeStatement,
} from '../unit/helpers.ts';
import { ADMIN_STATEMENT, doc, roleSnapshot } from '../unit/iam-helpers.ts';

const ROLE_USAGE = { sqs: { last: '2025-06-10T00:00:00.000Z' }, ec2: {} };
const SQS_STAR = doc({ Sid: 'Queues', Effect: 'Allow', Action: 'sqs:*', Resource: '*' });

/**
 * The guardrail's IAM permissions are built from core/actions.ts. These tests keep that list honest:
 * every executor is declared and every declaration has an executor; every plan step a rule produces
 * uses a declared operation; every SDK command the collector sends is a declared read.
 */

const lambda = mockClient(LambdaClient);
const secrets = mockClient(SecretsManagerClient);
const iam = mockClient(IAMClient);
const ec2 = mockClient(EC2Client);
const logs = mockClient(CloudWatchLogsClient);
const inspector = mockClient(Inspector2Client);
const MOCKS = { lambda, secretsmanager: secrets, iam, ec2, logs, inspector2: inspector };
afterAll(() => {
  for (const m of Object.values(MOCKS)) m.restore();
});
beforeEach(() => {
  for (const m of Object.values(MOCKS)) m.reset();
});

/** `GetPolicyCommand` -> `lambda:GetPolicy` (every mocked service) */
const sentActions = () =>
  Object.entries(MOCKS).flatMap(([service, m]) =>
    m.calls().map((c) => `${service}:${c.args[0].constructor.name.replace(/Command$/, '')}`),
  );

/** The snapshots the rule unit tests use (built with the same helpers), plus a few combinations. */
const CORPUS: Record<string, Snapshot> = {
  'public URL on $LATEST': functionSnapshot({
    urls: [{ authType: 'NONE' }],
    policies: { '': { statements: publicUrlPair() } },
  }),
  'public URL on an alias, no CORS': functionSnapshot({
    aliases: ['live'],
    urls: [{ qualifier: 'live', authType: 'NONE', cors: null, invokeMode: 'RESPONSE_STREAM' }],
    policies: { '': null, live: { statements: publicUrlPair('live') } },
  }),
  'URL NONE with only the InvokeFunctionUrl statement': functionSnapshot({
    urls: [{ authType: 'NONE' }],
    policies: { '': { statements: [urlInvokeStatement()] } },
  }),
  'URL NONE without a policy': functionSnapshot({ urls: [{ authType: 'NONE' }], policies: { '': null } }),
  'URL AWS_IAM with a leftover public statement': functionSnapshot({
    urls: [{ authType: 'AWS_IAM' }],
    policies: { '': { statements: [urlFunctionInvokeStatement()] } },
  }),
  'public invoke statement': functionSnapshot({
    urls: [],
    policies: { '': { statements: [publicInvokeStatement('backdoor')] } },
  }),
  'public lambda:* statement on an alias': functionSnapshot({
    aliases: ['prod'],
    urls: [],
    policies: { prod: { statements: [publicInvokeStatement('star', { Action: 'lambda:*' })] } },
  }),
  'public statement without Sid': functionSnapshot({
    urls: [],
    policies: { '': { statements: [publicInvokeStatement('x', { Sid: undefined })] } },
  }),
  'everything at once': functionSnapshot({
    aliases: ['live'],
    urls: [{ authType: 'NONE' }, { qualifier: 'live', authType: 'NONE' }],
    policies: {
      '': {
        statements: [
          ...publicUrlPair(),
          publicInvokeStatement('backdoor'),
          serviceStatement('s3', 's3.amazonaws.com', { ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::b' } }),
          accountStatement('partner'),
        ],
      },
      live: { statements: [...publicUrlPair('live'), publicInvokeStatement('live-backdoor')] },
    },
  }),
  compliant: functionSnapshot({
    urls: [{ authType: 'AWS_IAM' }],
    policies: { '': { statements: [accountStatement('partner')] } },
  }),
  'secrets in the environment': functionSnapshot({
    urls: [],
    environment: {
      DB_PASSWORD: 'N0t-a-real-but-random-Pa55word!',
      GITHUB_TOKEN: `ghp_${'a1B2c3D4e5'.repeat(3)}123456`,
      TABLE_NAME: 'orders',
    },
  }),
  'EventBridge and SNS may invoke for any account': functionSnapshot({
    urls: [],
    policies: {
      '': {
        statements: [
          serviceStatement('bus', 'events.amazonaws.com'),
          serviceStatement('topic', 'sns.amazonaws.com', { ArnLike: { 'AWS:SourceArn': '*' } }),
        ],
      },
    },
  }),
  'layer version shared with every account': {
    account: ACCOUNT,
    region: REGION,
    responses: {
      GetLayerVersion: {
        LayerArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared`,
        LayerVersionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared:2`,
        Version: 2,
      },
      GetLayerVersionPolicy: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Id: 'default',
          Statement: [{ Sid: 'public', Effect: 'Allow', Principal: '*', Action: 'lambda:GetLayerVersion' }],
        }),
        RevisionId: 'layer-rev',
      },
    },
  },
  // LAMBDA.LOGS.UNMASKED: no data protection policy (inverse: delete), and one that masks part (inverse: put back).
  'log group without a data protection policy': withResponses(functionSnapshot({ urls: [] }), {
    GetDataProtectionPolicy: { logGroupIdentifier: `/aws/lambda/${FUNCTION_NAME}` },
  }),
  'log group masking only AWS secret keys': withResponses(functionSnapshot({ urls: [] }), {
    GetDataProtectionPolicy: {
      logGroupIdentifier: `/aws/lambda/${FUNCTION_NAME}`,
      policyDocument: JSON.stringify({
        Name: 'p',
        Version: '2021-06-01',
        Statement: [
          {
            DataIdentifier: ['arn:aws:dataprotection::aws:data-identifier/AwsSecretKey'],
            Operation: { Audit: { FindingsDestination: {} } },
          },
          {
            DataIdentifier: ['arn:aws:dataprotection::aws:data-identifier/AwsSecretKey'],
            Operation: { Deidentify: { MaskConfig: {} } },
          },
        ],
      }),
    },
  }),
  // LAMBDA.TRACING (enabled in CONFIGS): attach the X-Ray policy, then Active.
  'tracing off, no X-Ray policy on the role': withResponses(functionSnapshot({ urls: [] }), {
    [`ListAttachedRolePolicies:${FUNCTION_NAME}-role`]: { AttachedPolicies: [] },
  }),
  'CORS any origin with credentials on an alias URL': functionSnapshot({
    aliases: ['live'],
    urls: [
      {
        qualifier: 'live',
        authType: 'AWS_IAM',
        cors: { AllowOrigins: ['*'], AllowCredentials: true, AllowMethods: ['GET'] },
      },
    ],
    policies: { '': null, live: null },
  }),
  // Execution roles (IAM.ROLE.*, test/unit/iam-helpers.ts): inline, AWS-managed and customer-managed
  // at the five-version limit, each with Access Advisor evidence (SQS used).
  'execution role with Action "*" inline': roleSnapshot({
    inline: { app: doc(ADMIN_STATEMENT) },
    usage: ROLE_USAGE,
  }),
  'execution role with AdministratorAccess attached': roleSnapshot({
    managed: [{ arn: 'arn:aws:iam::aws:policy/AdministratorAccess', document: doc(ADMIN_STATEMENT) }],
    usage: ROLE_USAGE,
  }),
  'execution role with sqs:* in a customer-managed policy at five versions': roleSnapshot({
    managed: [
      {
        arn: `arn:aws:iam::${ACCOUNT}:policy/queues`,
        document: SQS_STAR,
        defaultVersion: 'v5',
        versions: [1, 2, 3, 4].map((n) => ({
          id: `v${n}`,
          date: `2025-0${n}-01T00:00:00.000Z`,
          document: SQS_STAR,
        })),
      },
    ],
    usage: ROLE_USAGE,
  }),
};

function withResponses(s: Snapshot, responses: Record<string, unknown>): Snapshot {
  Object.assign(s.responses, responses);
  return s;
}

/**
 * Report-only rules: their findings carry the exact remediation as text, never a plan step, so they
 * need no write action (and the corpus must show that they plan nothing).
 */
const REPORT_ONLY = new Set([
  // No automatic fix for Resource "*" (the findings say what to scope): reported.
  'IAM.ROLE.RESOURCE_WILDCARD',
  'LAMBDA.LAYER.UNTRUSTED',
  'LAMBDA.VPC.REQUIRED',
  'LAMBDA.RUNTIME.DEPRECATED',
  'LAMBDA.ASYNC.NO_FAILURE_DESTINATION',
  'LAMBDA.VPC.EGRESS',
  'LAMBDA.VULNERABLE',
]);

/** Configurations whose plans differ: a customer-managed key and the extension layer change the steps. */
const CONFIGS = [
  DEFAULT_CONFIG,
  parseConfig({
    secrets: {
      kmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      extensionLayerArns: {
        arm64: `arn:aws:lambda:${REGION}:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:12`,
      },
    },
  }),
  // LAMBDA.URL.CORS plans only with allowed origins configured.
  parseConfig({ allowedCorsOrigins: ['https://app.example.com'] }),
  // LAMBDA.TRACING is opt-in.
  parseConfig({ rules: { 'LAMBDA.TRACING': { enabled: true } } }),
];

function planSteps(): { where: string; ruleId: string; step: Omit<PlanStep, 'inverse'> }[] {
  const out: { where: string; ruleId: string; step: Omit<PlanStep, 'inverse'> }[] = [];
  for (const [where, snapshot] of Object.entries(CORPUS)) {
    for (const f of CONFIGS.flatMap((config) => evaluate({ snapshot, config, now: NOW }).findings)) {
      for (const step of f.plan.steps) {
        out.push({ where, ruleId: f.ruleId, step });
        if (step.inverse) out.push({ where: `${where} (inverse)`, ruleId: f.ruleId, step: step.inverse });
      }
    }
  }
  return out;
}

describe('write actions', () => {
  it('every executor is declared in WRITE_ACTIONS, and every declared write has an executor', () => {
    const declared = WRITE_ACTIONS.map((a) => actionKey(a.service, a.operation)).sort();
    expect(Object.keys(EXECUTORS).sort()).toEqual(declared);
    expect(new Set(declared).size).toBe(declared.length);
  });

  it('every declared write names its IAM actions, never a wildcard', () => {
    for (const a of WRITE_ACTIONS) {
      expect(a.iamActions.length).toBeGreaterThan(0);
      for (const iam of a.iamActions) expect(iam).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
      expect(a.iamActions).toContain(`${a.service}:${a.operation}`);
    }
  });

  it.each(WRITE_ACTIONS.map((a) => [actionKey(a.service, a.operation)]))(
    'executor %s sends exactly the SDK command of its operation',
    async (key) => {
      for (const m of Object.values(MOCKS)) m.resolves({});
      await EXECUTORS[key](createClients(), REGION, { FunctionName: FUNCTION_NAME });
      expect(sentActions()).toEqual([key]);
    },
  );

  it('the corpus exercises every rule and every declared write', () => {
    const steps = planSteps();
    expect(new Set(steps.map((s) => s.ruleId))).toEqual(
      new Set(RULES.map((r) => r.id).filter((id) => !REPORT_ONLY.has(id))),
    );
    expect(new Set(steps.map((s) => actionKey(s.step.service, s.step.operation)))).toEqual(
      new Set(WRITE_ACTIONS.map((a) => actionKey(a.service, a.operation))),
    );
  });

  it('an operation declared for some rules is used by no other rule', () => {
    const misused = planSteps()
      .filter(({ ruleId, step }) => {
        const a = writeAction(step.service, step.operation);
        return a?.usedBy && !a.usedBy.includes(ruleId);
      })
      .map(({ where, ruleId, step }) => `${where}: ${ruleId} ${step.service}:${step.operation}`);
    expect(misused).toEqual([]);
  });

  it('every operation a rule plan step (or its inverse) uses is declared and executable', () => {
    const undeclared = planSteps()
      .filter(
        ({ step }) =>
          !writeAction(step.service, step.operation) || !EXECUTORS[actionKey(step.service, step.operation)],
      )
      .map(({ where, ruleId, step }) => `${where}: ${ruleId} ${step.service}:${step.operation}`);
    expect(undeclared).toEqual([]);
  });
});

describe('read actions', () => {
  const META = { $metadata: {} };
  const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });

  function serve(s: Snapshot) {
    const r = s.responses;
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolves({ ...META, ...(r['GetFunctionConfiguration'] as object) });
    lambda.on(ListTagsCommand).resolves({ ...META, ...(r['ListTags'] as object) });
    lambda.on(ListAliasesCommand).resolves({ ...META, ...(r['ListAliases'] as object) });
    lambda
      .on(ListFunctionUrlConfigsCommand)
      .resolves({ ...META, ...(r['ListFunctionUrlConfigs'] as object) });
    lambda.on(GetPolicyCommand).callsFake(async (input: { Qualifier?: string }) => {
      const v = r[keyFor('GetPolicy', input.Qualifier)];
      if (!v) throw notFound();
      return { ...META, ...(v as object) };
    });
    lambda.on(GetFunctionUrlConfigCommand).rejects(notFound());
    lambda.on(GetFunctionEventInvokeConfigCommand).rejects(notFound());
    // Context reads (functions/aws/collect-context.ts): a VPC function, Inspector enabled, tracing off.
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    logs.on(GetDataProtectionPolicyCommand).resolves({ logGroupIdentifier: `/aws/lambda/${FUNCTION_NAME}` });
    inspector.on(BatchGetAccountStatusCommand).resolves({
      accounts: [
        {
          accountId: ACCOUNT,
          state: { status: 'ENABLED' },
          resourceState: {
            ec2: { status: 'DISABLED' },
            ecr: { status: 'DISABLED' },
            lambda: { status: 'ENABLED' },
          },
        },
      ],
      failedAccounts: [],
      // The SDK model also requires errorCode/errorMessage on each State; the collector reads only status.
    } as never);
    inspector.on(ListFindingsCommand).resolves({ findings: [] });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
  }

  const target = {
    account: ACCOUNT,
    region: REGION,
    functionName: FUNCTION_NAME,
    qualifier: '3',
    attachedRolePolicies: true,
  };

  async function collectedActions(fallback: boolean) {
    for (const m of Object.values(MOCKS)) m.reset();
    const s = structuredClone(CORPUS['everything at once']);
    Object.assign(s.responses['GetFunctionConfiguration'] as object, {
      VpcConfig: { SubnetIds: ['subnet-1'], SecurityGroupIds: ['sg-1'], VpcId: 'vpc-1' },
    });
    serve(s);
    if (fallback) {
      lambda
        .on(ListFunctionUrlConfigsCommand)
        .rejects(
          Object.assign(new Error('Not Found'), { name: 'UnknownError', $metadata: { httpStatusCode: 404 } }),
        );
    }
    await collectFunction(createClients(), target);
    return sentActions();
  }

  it('every command the collector sends is a declared read (ListFunctionUrlConfigs path)', async () => {
    const actions = await collectedActions(false);
    expect(actions.length).toBeGreaterThanOrEqual(6);
    expect(actions.filter((a) => !READ_ACTIONS.function.includes(a))).toEqual([]);
  });

  it('every command the collector sends is a declared read (GetFunctionUrlConfig fallback)', async () => {
    const actions = await collectedActions(true);
    expect(actions).toContain('lambda:GetFunctionUrlConfig');
    expect(actions.filter((a) => !READ_ACTIONS.function.includes(a))).toEqual([]);
  });

  it('no read is declared that the collector never makes (each one widens the role)', async () => {
    const used = new Set([...(await collectedActions(false)), ...(await collectedActions(true))]);
    expect([...used].sort()).toEqual([...READ_ACTIONS.function].sort());
  });
});
