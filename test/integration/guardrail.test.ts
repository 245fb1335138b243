/**
 * The whole guardrail against the emulator: an EventBridge event goes through the real ingest handler,
 * the real ASL (state-machines/guardrail.asl.json, run in-process by scripts/local/runtime.ts) and the
 * real task handlers, whose SDK clients point at moto. The tests read the emulator's state with their
 * own clients, before and after, and read the ledger the guardrail wrote.
 *
 * One emulator for the file (the first run installs moto, hence the long beforeAll timeout); every
 * test uses its own function names and event ids, so tests share the emulator without a reset.
 *
 * Where moto differs from AWS (docs/emulator-notes.md), the assertions follow AWS:
 * - Lambda resource-policy statements have AWS's shapes (conditions under `Condition`, account
 *   principals as `{"AWS": "arn:aws:iam::N:root"}`), RemovePermission honours RevisionId and every
 *   policy change issues a new RevisionId: moto 5.2.5 differs, scripts/local/moto_patches.py
 *   restores AWS's behaviour at emulator start-up, and test/integration/emulator.test.ts pins it.
 * - moto keeps one URL and one policy per function whatever the qualifier: these tests use
 *   unqualified functions only (aliases are covered by the unit and SDK-mock tests).
 * - moto has no ListFunctionUrlConfigs: the collector falls back to GetFunctionUrlConfig, which gives
 *   the same snapshot for an unqualified function.
 * - moto has no function RevisionId: the plans only use the resource policy's RevisionId (GetPolicy),
 *   which is what AWS documents for Add/RemovePermission; nothing here asserts a function RevisionId.
 */
import { randomUUID } from 'node:crypto';
import {
  AddPermissionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  RemovePermissionCommand,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scanLedger } from '../../functions/aws/ledger.ts';
import type { GuardrailConfig } from '../../functions/core/config.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { type EmulatorHandle, emulatorClientConfig, startEmulator } from '../../scripts/local/emulator.ts';
import {
  type ExecutionResult,
  LocalGuardrail,
  type LocalGuardrailOptions,
  type TaskHandlers,
} from '../../scripts/local/runtime.ts';
import {
  DEMO_ACCOUNT as ACCOUNT,
  lambdaEvent,
  PUBLIC_URL_PERMISSIONS,
  DEMO_REGION as REGION,
  type SeedFunctionOptions,
  seedFunction,
} from '../../scripts/local/seed.ts';
import { PATH_NOT_APPLIED, PATH_RECORD_ONLY, PATH_REMEDIATED } from '../support/paths.ts';

const LEDGER_TABLE = 'lambda-guardrail-ledger';
const KILL_SWITCH = '/lambda-guardrail/kill-switch';
const CORS = { AllowOrigins: ['https://shop.example.com'], AllowMethods: ['GET', 'POST'] };
const ORG = 'o-a1b2c3d4e5';
const PARTNER = '210987654321';

let emu: EmulatorHandle;
let lambda: LambdaClient;
let ssm: SSMClient;

beforeAll(async () => {
  // First run installs moto into .venv-emulator (about a minute); show progress.
  emu = await startEmulator({ log: (s) => console.error(s) });
  const cfg = emulatorClientConfig(emu.endpoint, REGION);
  lambda = new LambdaClient(cfg);
  ssm = new SSMClient(cfg);
  await guardrail().setup(); // creates the ledger table once
}, 300_000);

afterAll(async () => {
  logger.setLogLevel('INFO');
  lambda?.destroy();
  ssm?.destroy();
  await emu?.stop();
});

// ---- helpers --------------------------------------------------------------------------------------

const fnName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

/** A fresh runtime (own SDK clients, so `clients.calls` counts only this test's calls). */
function guardrail(config?: Partial<GuardrailConfig>, opts: Partial<LocalGuardrailOptions> = {}) {
  return new LocalGuardrail({
    endpoint: emu.endpoint,
    region: REGION,
    logLevel: 'SILENT',
    ...(config ? { config } : {}),
    ...opts,
  });
}

const guardrailOptions = (config?: Partial<GuardrailConfig>): LocalGuardrailOptions => ({
  endpoint: emu.endpoint,
  region: REGION,
  logLevel: 'SILENT',
  ...(config ? { config } : {}),
});

/** A runtime whose Remediate task first lets someone else change the function (once), then runs. */
class InterferingGuardrail extends LocalGuardrail {
  private readonly interfere: () => Promise<void>;
  constructor(opts: LocalGuardrailOptions, interfere: () => Promise<void>) {
    super(opts);
    this.interfere = interfere;
  }
  override handlers(): TaskHandlers {
    const handlers = super.handlers();
    const remediate = handlers.Remediate;
    let done = false;
    return {
      ...handlers,
      Remediate: async (input) => {
        if (!done) {
          done = true;
          await this.interfere();
        }
        return remediate(input);
      },
    };
  }
}

function strip<T extends object>(r: T): Omit<T, '$metadata'> {
  const { $metadata: _, ...rest } = r as T & { $metadata?: unknown };
  return rest;
}

async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return null;
    throw err;
  }
}

interface Statement {
  Sid: string;
  [k: string]: unknown;
}

/** What the emulator holds for a function: configuration, URL config and resource policy. */
async function functionState(name: string) {
  const configuration = strip(await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name })));
  const url = await orNull(lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: name })));
  const policy = await orNull(lambda.send(new GetPolicyCommand({ FunctionName: name })));
  return {
    configuration,
    url: url ? strip(url) : null,
    policy: policy
      ? {
          RevisionId: policy.RevisionId,
          Statement: (JSON.parse(policy.Policy!) as { Statement: Statement[] }).Statement,
        }
      : null,
  };
}
type FunctionState = Awaited<ReturnType<typeof functionState>>;

const sids = (s: FunctionState) => (s.policy?.Statement ?? []).map((st) => st.Sid).sort();

/** A function with a public URL (AuthType NONE, Cors) and the two statements AWS requires for it. */
async function seedPublic(name: string, extra: Partial<SeedFunctionOptions> = {}) {
  await seedFunction(emu.endpoint, {
    name,
    url: { authType: 'NONE', cors: CORS },
    ...extra,
    permissions: [...PUBLIC_URL_PERMISSIONS, ...(extra.permissions ?? [])],
  });
}

const urlEvent = (name: string, opts: Parameters<typeof lambdaEvent>[2] = {}) =>
  lambdaEvent(
    'CreateFunctionUrlConfig',
    { functionName: name, authType: 'NONE', invokeMode: 'BUFFERED' },
    opts,
  );

/** Ingests one event that must start an execution; returns the execution and its ledger record. */
async function run(g: LocalGuardrail, event: unknown) {
  const r = await g.ingest(event);
  expect(r.status).toBe('started');
  const name = (r as { executionName: string }).executionName;
  const execution = g.executions.get(name) as ExecutionResult;
  const record = (await g.ledgerRecord(name)) as LedgerRecord;
  expect(record, `ledger record of ${name}`).toBeDefined();
  return { execution, record };
}

/** Lambda write calls the guardrail's own clients sent (reads and DynamoDB writes excluded). */
const lambdaWrites = (g: LocalGuardrail) =>
  [...g.clients.calls.keys()].filter((k) =>
    /^lambda:(Update|Remove|Add|Put|Delete|Create|Tag|Untag|Publish)/.test(k),
  );

const lambdaCalls = (g: LocalGuardrail) =>
  [...g.clients.calls.entries()].filter(([k]) => k.startsWith('lambda:')).reduce((n, [, v]) => n + v, 0);

// The statements AddPermission stores for PUBLIC_URL_PERMISSIONS, in AWS's shape (moto_patches.py).
const urlStatements = (name: string): Statement[] => [
  {
    Sid: 'FunctionURLAllowPublicAccess',
    Effect: 'Allow',
    Principal: '*',
    Action: 'lambda:InvokeFunctionUrl',
    Resource: fnArn(name),
    Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
  },
  {
    Sid: 'FunctionURLInvokeAllowPublicAccess',
    Effect: 'Allow',
    Principal: '*',
    Action: 'lambda:InvokeFunction',
    Resource: fnArn(name),
    Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
  },
];

const BACKDOOR = { StatementId: 'backdoor', Action: 'lambda:InvokeFunction', Principal: '*' };

/** Statements that restrict the caller: they must survive remediation. */
const RESTRICTED_PERMISSIONS = [
  {
    StatementId: 'nightly-schedule',
    Action: 'lambda:InvokeFunction',
    Principal: 'events.amazonaws.com',
    SourceArn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/nightly`,
  },
  {
    StatementId: 'uploads-bucket',
    Action: 'lambda:InvokeFunction',
    Principal: 's3.amazonaws.com',
    SourceArn: 'arn:aws:s3:::orders-uploads',
    SourceAccount: ACCOUNT,
  },
  { StatementId: 'partner-account', Action: 'lambda:InvokeFunction', Principal: PARTNER },
  { StatementId: 'org-callers', Action: 'lambda:InvokeFunction', Principal: '*', PrincipalOrgID: ORG },
  {
    StatementId: 'org-url-callers',
    Action: 'lambda:InvokeFunctionUrl',
    Principal: '*',
    FunctionUrlAuthType: 'NONE' as const,
    PrincipalOrgID: ORG,
  },
];

const restrictedStatements = (name: string): Statement[] => [
  {
    Sid: 'nightly-schedule',
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'lambda:InvokeFunction',
    Resource: fnArn(name),
    Condition: { ArnLike: { 'AWS:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/nightly` } },
  },
  {
    Sid: 'uploads-bucket',
    Effect: 'Allow',
    Principal: { Service: 's3.amazonaws.com' },
    Action: 'lambda:InvokeFunction',
    Resource: fnArn(name),
    Condition: {
      ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::orders-uploads' },
      StringEquals: { 'AWS:SourceAccount': ACCOUNT },
    },
  },
  {
    Sid: 'partner-account',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${PARTNER}:root` },
    Action: 'lambda:InvokeFunction',
    Resource: fnArn(name),
  },
  {
    Sid: 'org-callers',
    Effect: 'Allow',
    Principal: '*',
    Action: 'lambda:InvokeFunction',
    Resource: fnArn(name),
    Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
  },
  {
    Sid: 'org-url-callers',
    Effect: 'Allow',
    Principal: '*',
    Action: 'lambda:InvokeFunctionUrl',
    Resource: fnArn(name),
    Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG, 'lambda:FunctionUrlAuthType': 'NONE' } },
  },
];

const bySid = (list: Statement[]) => [...list].sort((a, b) => a.Sid.localeCompare(b.Sid));

// ---- a. public URL and public statements ----------------------------------------------------------

describe('a public function URL', () => {
  it('is switched to AWS_IAM (Cors and InvokeMode kept), its public statements removed, and recorded', async () => {
    const name = fnName('public-url');
    await seedPublic(name);
    const before = await functionState(name);
    expect(before.url?.AuthType).toBe('NONE');
    expect(bySid(before.policy!.Statement)).toEqual(bySid(urlStatements(name)));

    const g = guardrail();
    const { execution, record } = await run(g, urlEvent(name));

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toEqual(PATH_REMEDIATED);

    const after = await functionState(name);
    expect(after.url).toMatchObject({
      FunctionUrl: before.url!.FunctionUrl,
      AuthType: 'AWS_IAM',
      Cors: CORS,
      InvokeMode: before.url!.InvokeMode,
    });
    // The last statement removed: GetPolicy is ResourceNotFoundException, as on AWS.
    expect(after.policy).toBeNull();
    expect(after.configuration).toEqual(before.configuration);

    expect(record.outcome).toBe('remediated');
    expect(record.route).toBe('auto');
    expect(record.target).toEqual({ kind: 'function', arn: fnArn(name) });
    expect(record.findings.map((f) => [f.ruleId, f.mode, f.exempt])).toEqual([
      ['LAMBDA.URL.PUBLIC', 'auto', false],
    ]);
    const steps = record.remediation!.steps;
    expect(record.remediation!.status).toBe('applied');
    expect(steps.map((s) => [s.operation, s.status])).toEqual([
      ['UpdateFunctionUrlConfig', 'applied'],
      ['RemovePermission', 'applied'],
      ['RemovePermission', 'applied'],
    ]);
    const urlState = (authType: string) => ({
      AuthType: authType,
      Cors: CORS,
      InvokeMode: before.url!.InvokeMode,
    });
    expect(steps[0]).toMatchObject({ before: urlState('NONE'), after: urlState('AWS_IAM') });
    const [invokeUrl, invokeFn] = urlStatements(name);
    expect(steps[1]).toMatchObject({
      parameters: { StatementId: invokeUrl.Sid },
      before: invokeUrl,
      after: null,
    });
    expect(steps[2]).toMatchObject({
      parameters: { StatementId: invokeFn.Sid },
      before: invokeFn,
      after: null,
    });
    // Every step carries its inverse, so rollback can restore the exact previous state.
    expect(steps.map((s) => s.inverse?.operation)).toEqual([
      'UpdateFunctionUrlConfig',
      'AddPermission',
      'AddPermission',
    ]);
    expect(record.verification).toEqual({ verified: true, remaining: [] });
    expect(lambdaWrites(g).sort()).toEqual(['lambda:RemovePermission', 'lambda:UpdateFunctionUrlConfig']);
  });

  it('an unrestricted public invoke statement is removed as well (LAMBDA.POLICY.PUBLIC)', async () => {
    const name = fnName('backdoor');
    await seedPublic(name, { permissions: [BACKDOOR] });
    const { execution, record } = await run(
      guardrail(),
      lambdaEvent('AddPermission20150331v2', {
        functionName: name,
        statementId: 'backdoor',
        action: 'lambda:InvokeFunction',
        principal: '*',
      }),
    );
    expect(execution.states).toEqual(PATH_REMEDIATED);
    expect(record.outcome).toBe('remediated');
    expect(record.findings.map((f) => f.ruleId)).toEqual(['LAMBDA.URL.PUBLIC', 'LAMBDA.POLICY.PUBLIC']);
    expect(record.remediation!.steps.map((s) => `${s.operation} ${s.parameters.StatementId ?? ''}`)).toEqual([
      'UpdateFunctionUrlConfig ',
      'RemovePermission FunctionURLAllowPublicAccess',
      'RemovePermission FunctionURLInvokeAllowPublicAccess',
      'RemovePermission backdoor',
    ]);
    const after = await functionState(name);
    expect(after.url?.AuthType).toBe('AWS_IAM');
    expect(after.policy).toBeNull();
  });
});

// ---- b. restricted statements survive -------------------------------------------------------------

describe('restricted statements', () => {
  it('service principals with SourceArn, a named account and `*` with PrincipalOrgID are kept exactly', async () => {
    const name = fnName('restricted');
    await seedPublic(name, { permissions: [BACKDOOR, ...RESTRICTED_PERMISSIONS] });
    const before = await functionState(name);
    expect(sids(before)).toEqual(
      [...urlStatements(name), { Sid: 'backdoor' }, ...restrictedStatements(name)].map((s) => s.Sid).sort(),
    );

    const { record } = await run(guardrail(), urlEvent(name));
    expect(record.outcome).toBe('remediated');

    const after = await functionState(name);
    // Exactly the restricted statements remain, unchanged (compared whole, not by Sid).
    expect(bySid(after.policy!.Statement)).toEqual(bySid(restrictedStatements(name)));
    expect(bySid(after.policy!.Statement)).toEqual(
      bySid(
        before.policy!.Statement.filter((s) => RESTRICTED_PERMISSIONS.some((p) => p.StatementId === s.Sid)),
      ),
    );
    expect(after.url?.AuthType).toBe('AWS_IAM');
    // Every policy change issues a new RevisionId (AWS; restored in moto by moto_patches.py).
    expect(after.policy!.RevisionId).not.toBe(before.policy!.RevisionId);
    expect(record.verification?.verified).toBe(true);
  });
});

// ---- c. report mode -------------------------------------------------------------------------------

describe('report mode', () => {
  it.each<[string, Partial<GuardrailConfig>]>([
    ['global mode report', { mode: 'report' }],
    [
      'per-rule report overrides',
      { rules: { 'LAMBDA.URL.PUBLIC': { mode: 'report' }, 'LAMBDA.POLICY.PUBLIC': { mode: 'report' } } },
    ],
  ])('%s changes nothing and records the planned steps', async (_label, config) => {
    const name = fnName('report');
    await seedPublic(name, { permissions: [BACKDOOR] });
    const before = await functionState(name);

    const g = guardrail(config);
    const { execution, record } = await run(g, urlEvent(name));

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toEqual(PATH_RECORD_ONLY);
    expect(await functionState(name)).toEqual(before);
    expect(lambdaWrites(g)).toEqual([]);

    expect(record.outcome).toBe('reported');
    expect(record.route).toBe('report');
    expect(record.remediation).toBeUndefined();
    const [url, pol] = record.findings;
    expect([url.ruleId, url.mode, pol.ruleId, pol.mode]).toEqual([
      'LAMBDA.URL.PUBLIC',
      'report',
      'LAMBDA.POLICY.PUBLIC',
      'report',
    ]);
    // The findings carry exactly the calls enforcement would make.
    expect(url.plan.steps.map((s) => [s.operation, s.parameters])).toEqual([
      [
        'UpdateFunctionUrlConfig',
        { FunctionName: name, AuthType: 'AWS_IAM', Cors: CORS, InvokeMode: before.url!.InvokeMode },
      ],
      [
        'RemovePermission',
        { FunctionName: name, StatementId: 'FunctionURLAllowPublicAccess', RevisionId: expect.anything() },
      ],
      [
        'RemovePermission',
        {
          FunctionName: name,
          StatementId: 'FunctionURLInvokeAllowPublicAccess',
          RevisionId: expect.anything(),
        },
      ],
    ]);
    expect(pol.plan.steps.map((s) => [s.operation, s.parameters.StatementId])).toEqual([
      ['RemovePermission', 'backdoor'],
    ]);
    // The first write to the function carries the policy RevisionId that was read.
    expect(url.plan.preconditions).toContainEqual(
      expect.objectContaining({ read: 'GetPolicy', path: 'RevisionId', equals: before.policy!.RevisionId }),
    );
  });
});

// ---- d. duplicate delivery ------------------------------------------------------------------------

describe('a duplicate event', () => {
  it('does nothing the second time: one execution, no reads, no writes', async () => {
    const name = fnName('dup');
    await seedPublic(name);
    const g = guardrail();
    const event = urlEvent(name);
    const { record } = await run(g, event);
    expect(record.outcome).toBe('remediated');

    // Open the URL again, so a second run would have something to do. (On AWS that change has its
    // own CloudTrail event and so its own execution; the duplicate delivery must not act on it.)
    await lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: name, AuthType: 'NONE' }));
    const reopened = await functionState(name);
    const callsBefore = lambdaCalls(g);
    expect(callsBefore).toBeGreaterThan(0); // the counter works: the first run read and wrote

    const second = await g.ingest(event);
    expect(second).toEqual({ status: 'duplicate', executionName: record.executionName });
    expect(g.executions.size).toBe(1);
    expect(lambdaCalls(g)).toBe(callsBefore);
    expect(await functionState(name)).toEqual(reopened);
    const records = (await scanLedger(g.clients, REGION, LEDGER_TABLE)).filter(
      (r) => r.eventId === event.detail.eventID,
    );
    expect(records).toHaveLength(1);
  });
});

// ---- e. kill switch -------------------------------------------------------------------------------

describe('the kill switch', () => {
  it('on at the start of an execution: findings are reported, nothing changes', async () => {
    const name = fnName('killswitch');
    await seedPublic(name, { permissions: [BACKDOOR] });
    const before = await functionState(name);
    const g = guardrail();
    await ssm.send(
      new PutParameterCommand({ Name: KILL_SWITCH, Value: 'on', Type: 'String', Overwrite: true }),
    );
    try {
      const { execution, record } = await run(g, urlEvent(name));
      expect(execution.states).toEqual(PATH_RECORD_ONLY);
      expect(record.outcome).toBe('reported');
      expect(record.killSwitch).toBe(true);
      expect(record.findings).toHaveLength(2);
      for (const f of record.findings) {
        expect(f.mode).toBe('report');
        expect(f.modeReason).toMatch(/kill switch/);
        expect(f.plan.steps.length).toBeGreaterThan(0);
      }
    } finally {
      await ssm.send(new DeleteParameterCommand({ Name: KILL_SWITCH }));
    }
    expect(await functionState(name)).toEqual(before);
    expect(lambdaWrites(g)).toEqual([]);
  });

  it('turned on between evaluation and remediation: Remediate re-reads it and applies nothing', async () => {
    const name = fnName('killswitch-late');
    await seedPublic(name);
    const before = await functionState(name);
    const g = new InterferingGuardrail(guardrailOptions(), async () => {
      await ssm.send(
        new PutParameterCommand({ Name: KILL_SWITCH, Value: 'on', Type: 'String', Overwrite: true }),
      );
    });
    try {
      const { execution, record } = await run(g, urlEvent(name));
      expect(execution.states).toEqual(PATH_NOT_APPLIED);
      expect(record.killSwitch).toBe(false); // as read by Collect
      expect(record.remediation).toMatchObject({ status: 'nothing-to-do', steps: [] });
      expect(record.remediation!.drift!.join(' ')).toMatch(/kill switch/);
      expect(record.outcome).toBe('reported');
    } finally {
      await ssm.send(new DeleteParameterCommand({ Name: KILL_SWITCH }));
    }
    expect(await functionState(name)).toEqual(before);
    expect(lambdaWrites(g)).toEqual([]);
  });
});

// ---- f. resource changed between evaluation and remediation ----------------------------------------

describe('a resource changed between evaluation and remediation', () => {
  it.each<[string, (name: string) => Promise<unknown>]>([
    [
      'another public statement was added',
      (name) =>
        lambda.send(new AddPermissionCommand({ FunctionName: name, ...BACKDOOR, StatementId: 'late' })),
    ],
    [
      'one of the public statements was removed',
      (name) =>
        lambda.send(
          new RemovePermissionCommand({
            FunctionName: name,
            StatementId: 'FunctionURLInvokeAllowPublicAccess',
          }),
        ),
    ],
    [
      'someone else already switched the URL to AWS_IAM',
      (name) => lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: name, AuthType: 'AWS_IAM' })),
    ],
  ])('%s: outcome resource-changed, nothing written', async (_label, mutate) => {
    const name = fnName('changed');
    await seedPublic(name);
    const before = await functionState(name);
    let mutated: FunctionState | undefined;
    const g = new InterferingGuardrail(guardrailOptions(), async () => {
      await mutate(name);
      mutated = await functionState(name);
    });
    const { execution, record } = await run(g, urlEvent(name));

    expect(mutated).toBeDefined();
    expect(mutated).not.toEqual(before);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toEqual(PATH_NOT_APPLIED); // no Verify
    expect(record.outcome).toBe('resource-changed');
    expect(record.remediation).toMatchObject({ status: 'resource-changed', steps: [] });
    expect(record.remediation!.drift!.length).toBeGreaterThan(0);
    expect(await functionState(name)).toEqual(mutated);
    expect(lambdaWrites(g)).toEqual([]);
  });
});

// ---- g. exemptions --------------------------------------------------------------------------------

describe('exemptions', () => {
  const exemptTags = (until: string) => ({
    'guardrail:exempt': 'LAMBDA.URL.PUBLIC',
    'guardrail:exempt-reason': 'verifies Stripe signatures itself (SEC-123)',
    'guardrail:exempt-until': until,
  });

  it('an exempt function is left alone and recorded as exempt', async () => {
    const name = fnName('exempt');
    await seedPublic(name, { tags: exemptTags('2099-12-31') });
    const before = await functionState(name);
    const g = guardrail();
    const { execution, record } = await run(g, urlEvent(name));
    expect(execution.states).toEqual(PATH_RECORD_ONLY);
    expect(record.outcome).toBe('exempt');
    expect(record.route).toBe('none');
    expect(record.findings).toHaveLength(1);
    expect(record.findings[0]).toMatchObject({
      ruleId: 'LAMBDA.URL.PUBLIC',
      exempt: true,
      exemption: {
        status: 'active',
        until: '2099-12-31',
        reason: 'verifies Stripe signatures itself (SEC-123)',
      },
    });
    expect(await functionState(name)).toEqual(before);
    expect(lambdaWrites(g)).toEqual([]);
  });

  it('an expired exemption is ignored: remediated, and the finding says expired', async () => {
    const name = fnName('expired');
    await seedPublic(name, { tags: exemptTags('2020-01-31') });
    const { execution, record } = await run(guardrail(), urlEvent(name));
    expect(execution.states).toEqual(PATH_REMEDIATED);
    expect(record.outcome).toBe('remediated');
    expect(record.findings[0]).toMatchObject({
      ruleId: 'LAMBDA.URL.PUBLIC',
      exempt: false,
      exemption: { status: 'expired', until: '2020-01-31' },
    });
    expect((await functionState(name)).url?.AuthType).toBe('AWS_IAM');
  });
});

// ---- h. events that start nothing ------------------------------------------------------------------

describe('ingest', () => {
  it('ignores an event caused by an excluded principal (the guardrail itself): no execution', async () => {
    const name = fnName('own-change');
    await seedPublic(name);
    const before = await functionState(name);
    const role = `arn:aws:iam::${ACCOUNT}:role/lambda-guardrail-remediate`;
    const g = guardrail({ excludedPrincipals: [role] });
    const r = await g.ingest(
      urlEvent(name, {
        sessionIssuerArn: role,
        actorArn: `arn:aws:sts::${ACCOUNT}:assumed-role/lambda-guardrail-remediate/exec`,
      }),
    );
    expect(r.status).toBe('ignored');
    expect(g.executions.size).toBe(0);
    expect(lambdaCalls(g)).toBe(0);
    expect(await functionState(name)).toEqual(before);
  });

  it.each<[string, (id: string) => unknown]>([
    [
      'no eventID',
      (id) => ({
        id,
        'detail-type': 'AWS API Call via CloudTrail',
        source: 'aws.lambda',
        detail: { eventName: 'AddPermission20150331v2' },
      }),
    ],
    [
      "names another account's function",
      (id) => ({
        ...lambdaEvent('AddPermission20150331v2', {
          functionName: `arn:aws:lambda:${REGION}:${PARTNER}:function:victim`,
          statementId: 'x',
        }),
        id,
      }),
    ],
  ])('records a malformed event (%s) as rejected-input, starts nothing', async (_label, make) => {
    const id = `bad-${randomUUID()}`;
    const g = guardrail();
    const r = await g.ingest(make(id));
    expect(r.status).toBe('rejected');
    expect(g.executions.size).toBe(0);
    const rejected = (await scanLedger(g.clients, REGION, LEDGER_TABLE)).filter(
      (x) => x.pk === `REJECTED#${id}`,
    );
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      outcome: 'rejected-input',
      findings: [],
      error: { error: 'InvalidEvent' },
    });
    expect(lambdaCalls(g)).toBe(0);
  });
});

// ---- i. secrets -----------------------------------------------------------------------------------

describe('secret values', () => {
  const SECRET = 'Sup3rS3cret!value';

  it('never reach the ledger, the execution payloads or the logs', async () => {
    const name = fnName('secrets');
    await seedPublic(name, { environment: { DB_PASSWORD: SECRET, TABLE_NAME: 'orders' } });
    expect((await functionState(name)).configuration.Environment?.Variables?.DB_PASSWORD).toBe(SECRET);

    const logs: string[] = [];
    const capture = (chunk: unknown) => {
      logs.push(String(chunk));
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const g = guardrail(undefined, { logLevel: 'DEBUG' });
    // CloudTrail omits environment values; an event that carried one anyway must be sanitized too.
    const carrying = lambdaEvent('UpdateFunctionConfiguration20150331v2', {
      functionName: name,
      environment: { variables: { DB_PASSWORD: SECRET, TABLE_NAME: 'orders' } },
    });
    try {
      await run(g, carrying);
      await run(g, urlEvent(name));
    } finally {
      out.mockRestore();
      err.mockRestore();
      logger.setLogLevel('SILENT');
    }

    const ledger = JSON.stringify(await scanLedger(g.clients, REGION, LEDGER_TABLE));
    const executions = JSON.stringify([...g.executions.values()]);
    const logText = logs.join('');
    // The checks below are not vacuous: the logs, payloads and ledger did see this function.
    expect(logText).toContain(carrying.detail.eventID);
    expect(logText).toContain('"message":"remediation"');
    expect(executions).toContain('DB_PASSWORD'); // the redacted snapshot keeps names...
    expect(executions).toContain('[redacted]'); // ...and drops values
    expect(ledger).toContain(name);
    expect([...g.executions.values()].map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);

    for (const [where, text] of [
      ['ledger', ledger],
      ['execution payloads', executions],
      ['logs', logText],
    ]) {
      expect(text.includes(SECRET), `secret value found in ${where}`).toBe(false);
    }
    // The guardrail did not touch the environment.
    expect((await functionState(name)).configuration.Environment?.Variables?.DB_PASSWORD).toBe(SECRET);
  });
});
