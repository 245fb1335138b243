import { CloudWatchLogsClient, GetDataProtectionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetAccountStatusCommand, Inspector2Client } from '@aws-sdk/client-inspector2';
import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetFunctionUrlConfigCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListFunctionUrlConfigsCommand,
  ListLayersCommand,
  ListLayerVersionsCommand,
  ListTagsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { runSweep, sweepAccounts, sweepTargets } from '../../functions/aws/sweep.ts';
import { parseConfig } from '../../functions/core/config.ts';
import type { ScanReport } from '../../functions/core/report/model.ts';
import { RULES } from '../../functions/core/rules/index.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { validateScanReport } from '../report-validators.ts';
import { ACCOUNT, NOW, OTHER_ACCOUNT, REGION } from '../unit/helpers.ts';

/**
 * The sweep's two additions with SDK mocks: one execution per layer version with a live finding that
 * enforcement acts on (LAMBDA.LAYER.PUBLIC), and organization mode: every allowed member account
 * scanned through its collector role (ExternalId, a session naming the sweep run), an account that
 * refuses AssumeRole reported and skipped, executions started from the central account with the
 * member account on the event, one report.
 */

const lambda = mockClient(LambdaClient);
const sts = mockClient(STSClient);
const orgs = mockClient(OrganizationsClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const logs = mockClient(CloudWatchLogsClient);
const inspector = mockClient(Inspector2Client);
const MOCKS = [lambda, sts, orgs, s3, sfn, logs, inspector];

const META = { $metadata: {} };
const CENTRAL = '999999999999';
const DENIED = '333333333333';
const SUSPENDED = '444444444444';
const EXTERNAL_ID = 'ext-7f3a';
const HOME_KEY = 'AKIAHOMEEXAMPLE';
const MEMBER_KEY = (account: string) => `ASIAMEMBER${account}`;
const stateMachineArn = `arn:aws:states:${REGION}:${CENTRAL}:stateMachine:guardrail`;

const notFound = (m = 'not found') =>
  new ResourceNotFoundException({ message: m, $metadata: { httpStatusCode: 404 } });
const accessDenied = (m: string) =>
  Object.assign(new Error(m), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } });

const fnArn = (account: string, name: string) => `arn:aws:lambda:${REGION}:${account}:function:${name}`;
const layerArn = (account: string, v: number) =>
  `arn:aws:lambda:${REGION}:${account}:layer:shared-utils:${v}`;
const roleArn = (account: string) => `arn:aws:iam::${account}:role/app-role`;
const publicLayerPolicy = (account: string) => ({
  Policy: JSON.stringify({
    Version: '2012-10-17',
    Id: 'default',
    Statement: [
      {
        Sid: 'public',
        Effect: 'Allow',
        Principal: '*',
        Action: 'lambda:GetLayerVersion',
        Resource: layerArn(account, 2),
      },
    ],
  }),
  RevisionId: 'rev-1',
});

/** The access key the client that sent a command signs with: tells the home account from a member. */
type GetClient = () => { config: unknown };
const keyOf = async (getClient: GetClient) => {
  const provider = (getClient().config as { credentials: () => Promise<{ accessKeyId: string }> })
    .credentials;
  return (await provider()).accessKeyId;
};

/**
 * One account's resources (function `app`, layer versions 1 (private) and 2 (public)), answered only
 * to that account's credentials: a read with any other identity fails as AWS would fail it.
 */
function serveAccount(account: string, key: string) {
  const guard = async (getClient: GetClient) => {
    const k = await keyOf(getClient);
    if (k !== key) throw accessDenied(`read with ${k}, expected ${key}`);
  };
  /** Answers `value` to this account's credentials only. */
  const answer =
    (value: object) =>
    async (_: unknown, c: GetClient): Promise<object> => {
      await guard(c);
      return { ...META, ...value };
    };
  const config = {
    FunctionName: 'app',
    FunctionArn: fnArn(account, 'app'),
    Role: roleArn(account),
    Runtime: 'nodejs22.x',
  };
  lambda.on(ListFunctionsCommand).callsFake(answer({ Functions: [config] }));
  lambda.on(GetFunctionConfigurationCommand).callsFake(answer(config));
  lambda.on(ListTagsCommand).callsFake(answer({ Tags: {} }));
  lambda.on(ListAliasesCommand).callsFake(answer({ Aliases: [] }));
  lambda.on(ListFunctionUrlConfigsCommand).callsFake(answer({ FunctionUrlConfigs: [] }));
  const missing = async (_: unknown, c: GetClient) => {
    await guard(c);
    throw notFound();
  };
  lambda.on(GetFunctionEventInvokeConfigCommand).callsFake(missing);
  lambda.on(GetFunctionUrlConfigCommand).callsFake(missing);
  lambda.on(GetPolicyCommand).callsFake(missing);
  // The collector's context reads (log group data protection, Inspector status): nothing configured.
  logs.on(GetDataProtectionPolicyCommand).callsFake(answer({}));
  inspector.on(BatchGetAccountStatusCommand).callsFake(answer({ accounts: [], failedAccounts: [] }));
  lambda.on(ListLayersCommand).callsFake(answer({ Layers: [{ LayerName: 'shared-utils' }] }));
  lambda.on(ListLayerVersionsCommand).callsFake(async (_, c) => {
    await guard(c);
    return {
      ...META,
      LayerVersions: [
        { LayerVersionArn: layerArn(account, 2), Version: 2 },
        { LayerVersionArn: layerArn(account, 1), Version: 1 },
      ],
    };
  });
  lambda.on(GetLayerVersionCommand).callsFake(async ({ VersionNumber }, c) => {
    await guard(c);
    return {
      ...META,
      LayerArn: `arn:aws:lambda:${REGION}:${account}:layer:shared-utils`,
      LayerVersionArn: layerArn(account, VersionNumber),
      Version: VersionNumber,
      CreatedDate: '2025-05-01T10:00:00.000+0000',
    };
  });
  lambda.on(GetLayerVersionPolicyCommand).callsFake(async ({ VersionNumber }, c) => {
    await guard(c);
    if (VersionNumber === 2) return { ...META, ...publicLayerPolicy(account) };
    throw notFound('No policy is associated with the given resource.');
  });
}

const objects = new Map<string, string>();
const started = () =>
  sfn.commandCalls(StartExecutionCommand).map((c) => ({
    name: c.args[0].input.name!,
    event: (JSON.parse(c.args[0].input.input!) as { event: NormalizedEvent }).event,
  }));

const deps = (config: ReturnType<typeof parseConfig>, account = CENTRAL) => ({
  clients: createClients({ maxAttempts: 1, credentials: { accessKeyId: HOME_KEY, secretAccessKey: 'x' } }),
  config,
  region: REGION,
  account,
  stateMachineArn,
  reportBucket: 'reports-bucket',
  now: () => NOW,
});

beforeAll(() => logger.setLogLevel('SILENT'));
afterAll(() => {
  for (const m of MOCKS) m.restore();
});
beforeEach(() => {
  for (const m of MOCKS) m.reset();
  objects.clear();
  s3.on(PutObjectCommand).callsFake(({ Key, Body }) => {
    objects.set(Key, String(Body));
    return META;
  });
  s3.on(GetObjectCommand).callsFake(({ Key }) => {
    const text = objects.get(Key);
    if (text !== undefined) return { ...META, Body: { transformToString: async () => text } };
    throw Object.assign(new Error('The specified key does not exist.'), {
      name: 'NoSuchKey',
      $fault: 'client',
      $metadata: { httpStatusCode: 404 },
    });
  });
  // Executions are started by the central account, whatever account the event names.
  sfn.on(StartExecutionCommand).callsFake(async ({ name }, c) => {
    const k = await keyOf(c);
    if (k !== HOME_KEY) throw accessDenied(`StartExecution with ${k}`);
    return { ...META, executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}` };
  });
  sts.on(GetCallerIdentityCommand).resolves({ ...META, Account: CENTRAL });
});

describe('sweep: layer versions', () => {
  beforeEach(() => serveAccount(ACCOUNT, HOME_KEY));

  it('starts one execution per layer version with a live finding enforcement acts on, none for the others', async () => {
    const r = await runSweep(deps(parseConfig({}), ACCOUNT), { scheduledTime: '2025-06-15T12:00:00Z' });
    const layers = started().filter((s) => s.event.resources.layerArn);
    expect(layers).toHaveLength(1);
    const [{ name, event }] = layers;
    expect(name).toMatch(/^sweep-20250615T1200-[0-9a-f]{16}$/);
    expect(event).toMatchObject({
      eventId: name,
      origin: 'sweep',
      service: 'lambda',
      account: ACCOUNT,
      region: REGION,
      resources: { layerArn: layerArn(ACCOUNT, 2) },
    });
    // no function or role refs on a layer event: collectRaw reads it as a layer target
    expect(Object.keys(event.resources)).toEqual(['layerArn']);
    // the function and its execution role still get theirs
    expect(started().map((s) => Object.keys(s.event.resources).sort().join())).toEqual(
      expect.arrayContaining(['functionArn,functionName', 'roleArn,roleName']),
    );
    expect(r.executions).toEqual({ started: 3, alreadyStarted: 0, failed: [] });
    // the compliant version 1 is in the report but gets no execution
    const stored = JSON.parse(objects.get('latest.json')!) as ScanReport;
    expect(stored.resources.filter((x) => x.kind === 'layer').map((x) => [x.arn, x.status])).toEqual([
      [layerArn(ACCOUNT, 1), 'compliant'],
      [layerArn(ACCOUNT, 2), 'non-compliant'],
    ]);
  });

  it('a layer finding in report mode is reported, and starts nothing', async () => {
    const config = parseConfig({ rules: { 'LAMBDA.LAYER.PUBLIC': { mode: 'report' } } });
    const r = await runSweep(deps(config, ACCOUNT), { scheduledTime: '2025-06-15T12:00:00Z' });
    expect(started().filter((s) => s.event.resources.layerArn)).toEqual([]);
    expect(r.summary.byStatus['non-compliant']).toBeGreaterThanOrEqual(1);
  });

  it('sweepTargets: exempt, compliant, deleted and report-mode layer versions get no execution', () => {
    const layer = (arn: string, status: string, findings: object[]) => ({
      kind: 'layer',
      account: ACCOUNT,
      region: REGION,
      arn,
      name: 'shared-utils',
      status,
      results: [],
      findings,
    });
    const live = { ruleId: 'LAMBDA.LAYER.PUBLIC', exempt: false, enforcementMode: 'auto' };
    const report = {
      resources: [
        layer(layerArn(ACCOUNT, 1), 'compliant', []),
        layer(layerArn(ACCOUNT, 2), 'exempt', [{ ...live, exempt: true }]),
        layer(layerArn(ACCOUNT, 3), 'non-compliant', [{ ...live, enforcementMode: 'report' }]),
        layer(layerArn(ACCOUNT, 4), 'deleted', []),
        layer(layerArn(ACCOUNT, 5), 'non-compliant', [live]),
        layer(layerArn(ACCOUNT, 6), 'non-compliant', [{ ...live, enforcementMode: 'approve' }]),
      ],
    } as unknown as ScanReport;
    expect(sweepTargets(report, RULES).map((t) => t.resources.layerArn)).toEqual([
      layerArn(ACCOUNT, 5),
      layerArn(ACCOUNT, 6),
    ]);
  });
});

describe('sweep: organization mode', () => {
  const orgConfig = (accounts: object = { deny: [DENIED] }) =>
    parseConfig({
      organization: {
        enabled: true,
        orgId: 'o-a1b2c3d4e5',
        externalId: EXTERNAL_ID,
        targets: { organizationalUnitIds: ['r-ab12'] },
        regions: [REGION],
        accounts,
      },
    });

  beforeEach(() => {
    serveAccount(ACCOUNT, MEMBER_KEY(ACCOUNT));
    orgs.on(ListAccountsCommand).callsFake(async (_, c) => {
      if ((await keyOf(c)) !== HOME_KEY) throw accessDenied('ListAccounts outside the central account');
      return {
        ...META,
        Accounts: [
          { Id: OTHER_ACCOUNT, State: 'ACTIVE' },
          { Id: ACCOUNT, State: 'ACTIVE' },
          { Id: DENIED, State: 'ACTIVE' },
          { Id: SUSPENDED, State: 'SUSPENDED' },
        ],
      };
    });
    sts.on(AssumeRoleCommand).callsFake(async ({ RoleArn, ExternalId }, c) => {
      if ((await keyOf(c)) !== HOME_KEY) throw accessDenied('AssumeRole from a member');
      const account = RoleArn.split(':')[4];
      // OTHER_ACCOUNT has no member stack (or trusts someone else): AssumeRole is refused.
      if (account !== ACCOUNT || ExternalId !== EXTERNAL_ID)
        throw accessDenied(
          `User: arn:aws:sts::${CENTRAL}:assumed-role/sweep/x is not authorized to perform: sts:AssumeRole on resource: ${RoleArn}`,
        );
      return {
        ...META,
        Credentials: {
          AccessKeyId: MEMBER_KEY(account),
          SecretAccessKey: 'y',
          SessionToken: 'z',
          Expiration: new Date(Date.now() + 3_600_000),
        },
      };
    });
  });

  it('scans every allowed member through its collector role, reports the refusal, starts member executions', async () => {
    const r = await runSweep(deps(orgConfig()), { scheduledTime: '2025-06-15T12:03:27Z' });

    // Accounts: ACTIVE ones from Organizations, minus the deny list; each entered once, with the ExternalId.
    const assumed = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(assumed.map((a) => a.RoleArn).sort()).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/lambda-guardrail-collector`,
      `arn:aws:iam::${OTHER_ACCOUNT}:role/lambda-guardrail-collector`,
    ]);
    for (const a of assumed) {
      expect(a.ExternalId).toBe(EXTERNAL_ID);
      expect(a.RoleSessionName).toBe('guardrail-sweep-20250615T1203');
    }
    expect(r.accounts).toEqual({ scanned: [ACCOUNT], unreachable: [OTHER_ACCOUNT] });

    // One report, from the central account, covering both accounts; the refusal is an account error.
    const stored = JSON.parse(objects.get('latest.json')!) as ScanReport;
    expect(validateScanReport(stored)).toEqual([]);
    expect(stored).toMatchObject({ origin: 'sweep', account: CENTRAL, accounts: [ACCOUNT, OTHER_ACCOUNT] });
    expect(stored.errors).toEqual([
      expect.objectContaining({ scope: 'account', account: OTHER_ACCOUNT, error: 'AccessDenied' }),
    ]);
    expect(new Set(stored.resources.map((x) => x.account))).toEqual(new Set([ACCOUNT]));
    // read (through the member's credentials: the mocks refuse any other), not merely listed
    expect(stored.resources.map((x) => x.status)).not.toContain('unreadable');
    expect(stored.resources.find((x) => x.arn === layerArn(ACCOUNT, 2))?.status).toBe('non-compliant');
    expect(stored.resources.map((x) => x.arn).sort()).toEqual(
      [fnArn(ACCOUNT, 'app'), layerArn(ACCOUNT, 1), layerArn(ACCOUNT, 2)].sort(),
    );

    // Executions: started from the central account (the mock refuses anything else), the member on the event.
    const s = started();
    expect(s.map(({ event: { resources: x } }) => x.functionArn ?? x.roleArn ?? x.layerArn).sort()).toEqual(
      [fnArn(ACCOUNT, 'app'), roleArn(ACCOUNT), layerArn(ACCOUNT, 2)].sort(),
    );
    for (const { name, event } of s) {
      expect(event).toMatchObject({ eventId: name, origin: 'sweep', account: ACCOUNT, region: REGION });
      expect(name).toMatch(/^sweep-20250615T1203-[0-9a-f]{16}$/);
    }
    expect(r.executions).toEqual({ started: 3, alreadyStarted: 0, failed: [] });
    // Nothing was read from the central account itself (its resources are not the members').
    expect(lambda.commandCalls(ListFunctionsCommand)).toHaveLength(1);
  });

  it('with an allow list: exactly those accounts (minus deny), no Organizations call', async () => {
    const config = orgConfig({ allow: [ACCOUNT, DENIED], deny: [DENIED] });
    expect(await sweepAccounts({ clients: createClients(), config })).toEqual([ACCOUNT]);
    const r = await runSweep(deps(config), { scheduledTime: '2025-06-15T12:00:00Z' });
    expect(orgs).not.toHaveReceivedAnyCommand();
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/lambda-guardrail-collector`,
    ]);
    expect(r.accounts).toEqual({ scanned: [ACCOUNT], unreachable: [] });
    expect(r.executions.started).toBe(3);
  });

  it('every account refusing: an empty report with the errors, no execution, no failure', async () => {
    sts.on(AssumeRoleCommand).rejects(accessDenied('not authorized to perform: sts:AssumeRole'));
    const r = await runSweep(deps(orgConfig()), { scheduledTime: '2025-06-15T12:00:00Z' });
    expect(r.accounts).toEqual({ scanned: [], unreachable: [ACCOUNT, OTHER_ACCOUNT] });
    expect(r.summary.resources).toBe(0);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(lambda).not.toHaveReceivedAnyCommand();
  });

  it('a member that cannot be entered this time: its open findings are neither resolved nor new in the digest', async () => {
    const config = orgConfig({ allow: [ACCOUNT] });
    const first = await runSweep(deps(config), { scheduledTime: '2025-06-15T12:00:00Z' });
    expect(first.digest.new).toBeGreaterThan(0);
    sts.on(AssumeRoleCommand).rejects(accessDenied('not authorized to perform: sts:AssumeRole'));
    const second = await runSweep(deps(config), { scheduledTime: '2025-06-16T12:00:00Z' });
    expect(second.accounts.unreachable).toEqual([ACCOUNT]);
    expect(second.digest).toMatchObject({ new: 0, resolved: 0 });
  });
});
