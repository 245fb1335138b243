import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AddPermissionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  PreconditionFailedException,
  RemovePermissionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  ServiceException,
  UpdateFunctionConfigurationCommand,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { normalizeEvent } from '../../functions/core/event.ts';
import type { Remediation } from '../../functions/core/outcome.ts';
import { keyFor, qualifierOf } from '../../functions/core/snapshot.ts';
import type { NormalizedEvent, Snapshot } from '../../functions/core/types.ts';
import { makeCollect } from '../../functions/handlers/collect.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeEvaluate } from '../../functions/handlers/evaluate.ts';
import { makeRemediate } from '../../functions/handlers/remediate.ts';
import { makeVerify } from '../../functions/handlers/verify.ts';
import {
  ACCOUNT,
  DEFAULT_CORS,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  NOW,
  policyRevision,
  publicInvokeStatement,
  publicUrlPair,
  REGION,
  serviceStatement,
  urlFunctionInvokeStatement,
  urlInvokeStatement,
} from '../unit/helpers.ts';

// ---- a stateful fake of the Lambda API, serving a snapshot and applying writes to it ---------------

type Responses = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: loosely typed AWS response bodies
type Body = Record<string, any>;

const lambda = mockClient(LambdaClient);
const ssm = mockClient(SSMClient);

const notFound = (what: string) =>
  new ResourceNotFoundException({ message: `${what} not found`, $metadata: { httpStatusCode: 404 } });

const MUTATING = new Set([
  UpdateFunctionUrlConfigCommand.name,
  RemovePermissionCommand.name,
  AddPermissionCommand.name,
  UpdateFunctionConfigurationCommand.name,
]);
const names = () => lambda.calls().map((c) => c.args[0].constructor.name.replace(/Command$/, ''));
const writes = () => lambda.calls().filter((c) => MUTATING.has(c.args[0].constructor.name));

/**
 * Serves `s` through the mocked LambdaClient. Writes change the served state like Lambda does, and
 * every write gives every policy a new RevisionId, so a stale RevisionId fails with
 * PreconditionFailedException (as on AWS).
 */
function serve(s: Snapshot) {
  const state: { r: Responses; writes: number; afterWrite?: (r: Responses, n: number) => void } = {
    r: structuredClone(s.responses),
    writes: 0,
  };
  const copy = <T>(v: T): T => structuredClone(v);
  const bump = () => {
    state.writes++;
    for (const [k, v] of Object.entries(state.r)) {
      if (k.startsWith('GetPolicy') && v) (v as Body).RevisionId = `policy-rev-${state.writes}`;
    }
    (state.r['GetFunctionConfiguration'] as Body).RevisionId = `fn-rev-${state.writes}`;
    state.afterWrite?.(state.r, state.writes);
  };
  lambda.on(GetFunctionConfigurationCommand).callsFake(async () => {
    if (!state.r['GetFunctionConfiguration']) throw notFound('Function');
    return copy(state.r['GetFunctionConfiguration']);
  });
  lambda.on(ListTagsCommand).callsFake(async () => copy(state.r['ListTags']));
  lambda.on(ListAliasesCommand).callsFake(async () => copy(state.r['ListAliases']));
  lambda
    .on(ListFunctionUrlConfigsCommand)
    .callsFake(async () => copy(state.r['ListFunctionUrlConfigs'] ?? { FunctionUrlConfigs: [] }));
  lambda.on(GetPolicyCommand).callsFake(async (input: { Qualifier?: string }) => {
    const v = state.r[keyFor('GetPolicy', input.Qualifier)];
    if (!v) throw notFound('Policy');
    return copy(v);
  });
  lambda.on(GetFunctionEventInvokeConfigCommand).callsFake(async (input: { Qualifier?: string }) => {
    const v = state.r[keyFor('GetFunctionEventInvokeConfig', input.Qualifier)];
    if (!v) throw notFound('EventInvokeConfig');
    return copy(v);
  });
  lambda.on(UpdateFunctionUrlConfigCommand).callsFake(async (input: Body) => {
    const urls = (state.r['ListFunctionUrlConfigs'] as Body | undefined)?.FunctionUrlConfigs as Body[];
    const url = urls?.find((u) => qualifierOf(u.FunctionArn) === input.Qualifier);
    if (!url) throw notFound('FunctionUrlConfig');
    url.AuthType = input.AuthType;
    if (input.Cors !== undefined) url.Cors = input.Cors;
    if (input.InvokeMode !== undefined) url.InvokeMode = input.InvokeMode;
    url.LastModifiedTime = '2025-06-15T12:00:01.000000Z';
    bump();
    return copy(url);
  });
  lambda.on(RemovePermissionCommand).callsFake(async (input: Body) => {
    const key = keyFor('GetPolicy', input.Qualifier);
    const policy = state.r[key] as Body | null;
    if (!policy) throw notFound('Policy');
    if (input.RevisionId && input.RevisionId !== policy.RevisionId) {
      throw new PreconditionFailedException({
        message: 'The Revision Id provided does not match the latest Revision Id.',
        $metadata: { httpStatusCode: 412 },
      });
    }
    const doc = JSON.parse(policy.Policy);
    const left = doc.Statement.filter((st: Body) => st.Sid !== input.StatementId);
    if (left.length === doc.Statement.length) throw notFound('Statement');
    state.r[key] = left.length ? { ...policy, Policy: JSON.stringify({ ...doc, Statement: left }) } : null;
    bump();
    return {};
  });
  return state;
}

// ---- the event and the workflow, run through the handlers ---------------------------------------

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cloudtrail');
/** The transcribed CreateFunctionUrlConfig record (SigmaHQ PR 5016) with its redacted fields filled in. */
function urlEvent(): NormalizedEvent {
  const rec = JSON.parse(
    readFileSync(join(FIXTURES, 'sigmahq-pr5016__CreateFunctionUrlConfig__1.json'), 'utf8'),
  );
  delete rec.awsCloud_account_ID;
  delete rec.cwlGroupname;
  Object.assign(rec, {
    eventID: '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b',
    awsRegion: REGION,
    recipientAccountId: ACCOUNT,
    sourceIPAddress: '198.51.100.7',
    userIdentity: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/developer/alice`,
      accountId: ACCOUNT,
      sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${ACCOUNT}:role/developer` } },
    },
  });
  rec.requestParameters.functionName = FUNCTION_NAME;
  rec.responseElements.functionArn = functionArn();
  return normalizeEvent(rec);
}

const event = urlEvent();
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v));

function deps(config: unknown = {}): () => HandlerDeps {
  const d: HandlerDeps = {
    clients: createClients(),
    config: parseConfig(config),
    homeRegion: REGION,
    now: () => NOW,
  };
  return () => d;
}

/** Collect -> Evaluate, as the state machine wires them (payloads go through JSON). */
async function collectAndEvaluate(d: () => HandlerDeps) {
  const collected = json(await makeCollect(d)({ event }));
  const evaluation = json(
    await makeEvaluate(d)({
      event,
      snapshot: collected.snapshot,
      killSwitch: collected.killSwitch,
      now: NOW,
    }),
  );
  return { collected, evaluation };
}

async function pipeline(config: unknown = {}) {
  const d = deps(config);
  const { collected, evaluation } = await collectAndEvaluate(d);
  const remediation = json(await makeRemediate(d)({ event, evaluation, now: NOW }));
  return { d, collected, evaluation, remediation };
}

const killSwitch = (value: string | null) => {
  ssm.reset();
  if (value === null)
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  else ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/x', Value: value, Type: 'String' } });
};

/** Public URL on $LATEST (both statements), a backdoor statement and a restricted service statement. */
const publicEverything = () =>
  functionSnapshot({
    urls: [{ authType: 'NONE' }],
    policies: {
      '': {
        statements: [
          ...publicUrlPair(),
          publicInvokeStatement('backdoor'),
          serviceStatement('s3-invoke', 's3.amazonaws.com', {
            ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::orders-bucket' },
          }),
        ],
      },
    },
  });

beforeAll(() => logger.setLogLevel('SILENT'));
afterAll(() => {
  lambda.restore();
  ssm.restore();
});
beforeEach(() => {
  lambda.reset();
  killSwitch(null);
});

// ---- report mode: the proof that a dry run writes nothing ------------------------------------------

describe('report mode writes nothing', () => {
  it.each([
    ['global mode report', { mode: 'report' }],
    [
      'both rules overridden to report',
      { rules: { 'LAMBDA.URL.PUBLIC': { mode: 'report' }, 'LAMBDA.POLICY.PUBLIC': { mode: 'report' } } },
    ],
  ])('%s: evaluate -> remediate sends no mutating Lambda command', async (_label, config) => {
    const fake = serve(publicEverything());
    const { evaluation, remediation } = await pipeline(config);
    expect(evaluation.route).toBe('report');
    expect(evaluation.findings.map((f: Body) => [f.ruleId, f.mode])).toEqual([
      ['LAMBDA.URL.PUBLIC', 'report'],
      ['LAMBDA.POLICY.PUBLIC', 'report'],
      // S3 invokes asynchronously and this function has no failure destination (report-only rule).
      ['LAMBDA.ASYNC.NO_FAILURE_DESTINATION', 'report'],
    ]);
    // The plan is still there: report mode shows exactly what enforcement would do.
    expect(evaluation.findings[0].plan.steps.map((s: Body) => s.operation)).toEqual([
      'UpdateFunctionUrlConfig',
      'RemovePermission',
      'RemovePermission',
    ]);
    expect(remediation).toEqual({ status: 'nothing-to-do', steps: [] });
    expect(lambda.calls().length).toBeGreaterThan(0);
    expect(writes()).toEqual([]);
    for (const n of names()) expect(n).toMatch(/^(Get|List)/);
    expect(fake.writes).toBe(0);
  });

  it('kill switch on at collect time: every finding is downgraded to report and nothing is written', async () => {
    killSwitch('on');
    serve(publicEverything());
    const { collected, evaluation, remediation } = await pipeline();
    expect(collected.killSwitch).toBe(true);
    expect(evaluation.route).toBe('report');
    expect(evaluation.findings.every((f: Body) => f.mode === 'report')).toBe(true);
    expect(evaluation.findings[0].modeReason).toMatch(/kill switch/);
    expect(remediation.status).toBe('nothing-to-do');
    expect(writes()).toEqual([]);
  });

  it('one rule in report, the other auto: only the auto rule is applied', async () => {
    serve(publicEverything());
    const { remediation } = await pipeline({ rules: { 'LAMBDA.URL.PUBLIC': { mode: 'report' } } });
    expect(remediation.status).toBe('applied');
    expect(writes().map((c) => [c.args[0].constructor.name, c.args[0].input])).toEqual([
      [
        'RemovePermissionCommand',
        { FunctionName: FUNCTION_NAME, StatementId: 'backdoor', RevisionId: policyRevision() },
      ],
    ]);
  });
});

// ---- auto mode: exact requests, in order ------------------------------------------------------------

describe('auto mode applies the plan exactly', () => {
  it('sends UpdateFunctionUrlConfig, then RemovePermission per statement with re-read RevisionIds', async () => {
    const fake = serve(publicEverything());
    const d = deps();
    const { evaluation } = await collectAndEvaluate(d);
    expect(evaluation.route).toBe('auto');
    lambda.resetHistory();
    const remediation: Remediation = await makeRemediate(d)({ event, evaluation, now: NOW });

    expect(names()).toEqual([
      // the fresh read
      'GetFunctionConfiguration',
      'ListTags',
      'ListAliases',
      'ListFunctionUrlConfigs',
      'GetPolicy',
      'GetFunctionEventInvokeConfig',
      // the plan
      'UpdateFunctionUrlConfig',
      'GetPolicy',
      'RemovePermission',
      'GetPolicy',
      'RemovePermission',
      'GetPolicy',
      'RemovePermission',
    ]);
    expect(writes().map((c) => c.args[0].input)).toEqual([
      { FunctionName: FUNCTION_NAME, AuthType: 'AWS_IAM', Cors: DEFAULT_CORS, InvokeMode: 'BUFFERED' },
      {
        FunctionName: FUNCTION_NAME,
        StatementId: 'FunctionURLAllowPublicAccess',
        RevisionId: 'policy-rev-1',
      },
      {
        FunctionName: FUNCTION_NAME,
        StatementId: 'FunctionURLAllowInvokeAction',
        RevisionId: 'policy-rev-2',
      },
      { FunctionName: FUNCTION_NAME, StatementId: 'backdoor', RevisionId: 'policy-rev-3' },
    ]);
    // The deferred RevisionIds were read from the unqualified policy.
    for (const c of lambda.commandCalls(GetPolicyCommand)) {
      expect(c.args[0].input).toEqual({ FunctionName: FUNCTION_NAME });
    }
    expect(fake.writes).toBe(4);

    expect(remediation.status).toBe('applied');
    expect(remediation.steps.map((s) => [s.ruleId, s.operation, s.status])).toEqual([
      ['LAMBDA.URL.PUBLIC', 'UpdateFunctionUrlConfig', 'applied'],
      ['LAMBDA.URL.PUBLIC', 'RemovePermission', 'applied'],
      ['LAMBDA.URL.PUBLIC', 'RemovePermission', 'applied'],
      ['LAMBDA.POLICY.PUBLIC', 'RemovePermission', 'applied'],
    ]);
    const [url, first] = remediation.steps;
    expect(url.before).toEqual({ AuthType: 'NONE', Cors: DEFAULT_CORS, InvokeMode: 'BUFFERED' });
    expect(url.after).toEqual({ AuthType: 'AWS_IAM', Cors: DEFAULT_CORS, InvokeMode: 'BUFFERED' });
    expect(url.inverse?.parameters).toMatchObject({ AuthType: 'NONE' });
    // The ledger keeps the reference, not the resolved value.
    expect(first.parameters['RevisionId']).toEqual({ fromPolicyRevision: { FunctionName: FUNCTION_NAME } });
    expect(first.before).toEqual(urlInvokeStatement());
    expect(first.inverse).toMatchObject({ operation: 'AddPermission' });
    // What is left: only the restricted service statement.
    const policy = JSON.parse((fake.r['GetPolicy'] as Body).Policy);
    expect(policy.Statement.map((s: Body) => s.Sid)).toEqual(['s3-invoke']);
  });

  it('a plan that starts with RemovePermission uses the evaluated RevisionId literally', async () => {
    serve(
      functionSnapshot({ urls: [], policies: { '': { statements: [publicInvokeStatement('backdoor')] } } }),
    );
    const { remediation } = await pipeline();
    expect(remediation.status).toBe('applied');
    expect(writes().map((c) => c.args[0].input)).toEqual([
      { FunctionName: FUNCTION_NAME, StatementId: 'backdoor', RevisionId: policyRevision() },
    ]);
    expect(lambda).not.toHaveReceivedCommand(UpdateFunctionUrlConfigCommand);
  });

  it('an alias URL is fixed on its qualifier, with the alias policy', async () => {
    const fake = serve(
      functionSnapshot({
        aliases: ['live'],
        urls: [{ qualifier: 'live', authType: 'NONE', cors: null, invokeMode: 'RESPONSE_STREAM' }],
        policies: { '': null, live: { statements: publicUrlPair('live') } },
      }),
    );
    const { remediation } = await pipeline();
    expect(remediation.status).toBe('applied');
    expect(writes().map((c) => c.args[0].input)).toEqual([
      { FunctionName: FUNCTION_NAME, Qualifier: 'live', AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' },
      {
        FunctionName: FUNCTION_NAME,
        Qualifier: 'live',
        StatementId: 'FunctionURLAllowPublicAccess',
        RevisionId: 'policy-rev-1',
      },
      {
        FunctionName: FUNCTION_NAME,
        Qualifier: 'live',
        StatementId: 'FunctionURLAllowInvokeAction',
        RevisionId: 'policy-rev-2',
      },
    ]);
    expect(fake.r['GetPolicy:live']).toBeNull();
  });

  it('a policy change by someone else between two steps stops the plan (failed, drift recorded)', async () => {
    const fake = serve(publicEverything());
    const d = deps();
    const { evaluation } = await collectAndEvaluate(d);
    fake.afterWrite = (r, n) => {
      if (n !== 1) return;
      // Right after the URL update, someone adds a statement: the re-read must not match.
      const p = r['GetPolicy'] as Body;
      const doc = JSON.parse(p.Policy);
      doc.Statement.push(serviceStatement('intruder', 'events.amazonaws.com'));
      p.Policy = JSON.stringify(doc);
    };
    const remediation: Remediation = await makeRemediate(d)({ event, evaluation, now: NOW });
    expect(remediation.status).toBe('failed');
    expect(remediation.steps.map((s) => [s.operation, s.status])).toEqual([
      ['UpdateFunctionUrlConfig', 'applied'],
      ['RemovePermission', 'failed'],
    ]);
    expect(remediation.drift?.[0]).toMatch(/PolicyDriftError: the resource policy of orders-api changed/);
    expect(writes().map((c) => c.args[0].constructor.name)).toEqual(['UpdateFunctionUrlConfigCommand']);
  });
});

// ---- drift and errors ---------------------------------------------------------------------------

describe('drift and write errors', () => {
  async function evaluated(s: Snapshot) {
    const fake = serve(s);
    const d = deps();
    const { evaluation } = await collectAndEvaluate(d);
    expect(evaluation.route).toBe('auto');
    lambda.resetHistory();
    return { fake, d, evaluation, remediate: () => makeRemediate(d)({ event, evaluation, now: NOW }) };
  }

  it('the resource changed since evaluation (URL already fixed by someone) -> resource-changed, no writes', async () => {
    const { fake, remediate } = await evaluated(publicEverything());
    ((fake.r['ListFunctionUrlConfigs'] as Body).FunctionUrlConfigs[0] as Body).AuthType = 'AWS_IAM';
    const r = await remediate();
    expect(r.status).toBe('resource-changed');
    expect(r.steps).toEqual([]);
    expect(r.drift?.[0]).toMatch(/plan it now needs differs/);
    expect(writes()).toEqual([]);
  });

  it('same statements but a new policy RevisionId -> precondition fails -> resource-changed, no writes', async () => {
    const { fake, remediate } = await evaluated(publicEverything());
    (fake.r['GetPolicy'] as Body).RevisionId = 'someone-else-rev';
    const r = await remediate();
    expect(r.status).toBe('resource-changed');
    // Both findings guard the same policy, so both preconditions report it.
    expect(r.drift).toEqual([
      'the resource policy of $LATEST is unchanged: expected "rev-latest-0001", found "someone-else-rev"',
      'the resource policy of the function is unchanged: expected "rev-latest-0001", found "someone-else-rev"',
    ]);
    expect(writes()).toEqual([]);
  });

  it('the function was deleted since evaluation -> resource-changed, no writes', async () => {
    const { fake, remediate } = await evaluated(publicEverything());
    fake.r['GetFunctionConfiguration'] = null;
    const r = await remediate();
    expect(r.status).toBe('resource-changed');
    expect(names()).toEqual(['GetFunctionConfiguration']);
  });

  it('PreconditionFailedException on the first write -> resource-changed', async () => {
    const { remediate } = await evaluated(
      functionSnapshot({ urls: [], policies: { '': { statements: [publicInvokeStatement('backdoor')] } } }),
    );
    lambda
      .on(RemovePermissionCommand)
      .rejects(new PreconditionFailedException({ message: 'revision mismatch', $metadata: {} }));
    const r = await remediate();
    expect(r.status).toBe('resource-changed');
    expect(r.steps).toHaveLength(1);
    expect(r.steps[0]).toMatchObject({ operation: 'RemovePermission', status: 'failed' });
    expect(r.error).toMatch(/^PreconditionFailedException: revision mismatch/);
    expect(r.drift).toEqual([r.error]);
  });

  it('ResourceConflictException on the first write is rethrown so Step Functions retries the state', async () => {
    const { remediate } = await evaluated(publicEverything());
    lambda
      .on(UpdateFunctionUrlConfigCommand)
      .rejects(new ResourceConflictException({ message: 'update in progress', $metadata: {} }));
    await expect(remediate()).rejects.toMatchObject({ name: 'ResourceConflictException' });
    expect(lambda).toHaveReceivedCommandTimes(UpdateFunctionUrlConfigCommand, 1);
    expect(lambda).not.toHaveReceivedCommand(RemovePermissionCommand);
  });

  it.each([
    ['ServiceException', () => new ServiceException({ message: 'internal error', $metadata: {} })],
    // After a write, even a retryable error is returned, not thrown: a retry would re-plan from a changed state.
    [
      'ResourceConflictException',
      () => new ResourceConflictException({ message: 'conflict', $metadata: {} }),
    ],
  ])('%s after a write -> failed, with the applied steps recorded', async (name, err) => {
    const { remediate } = await evaluated(publicEverything());
    lambda.on(RemovePermissionCommand).rejects(err());
    const r = await remediate();
    expect(r.status).toBe('failed');
    expect(r.steps.map((s) => [s.operation, s.status])).toEqual([
      ['UpdateFunctionUrlConfig', 'applied'],
      ['RemovePermission', 'failed'],
    ]);
    expect(r.steps[0].after).toMatchObject({ AuthType: 'AWS_IAM' });
    expect(r.steps[1].error).toMatch(new RegExp(`^${name}: `));
    expect(r.error).toBe(r.steps[1].error);
    expect(r.drift).toBeUndefined();
    expect(lambda).toHaveReceivedCommandTimes(RemovePermissionCommand, 1);
  });

  it('kill switch turned on between evaluation and remediation -> nothing written, reason recorded', async () => {
    const { remediate } = await evaluated(publicEverything());
    killSwitch('on');
    const r = await remediate();
    expect(r).toEqual({
      status: 'nothing-to-do',
      steps: [],
      drift: ["not applied: kill switch /lambda-guardrail/kill-switch is 'on'"],
    });
    expect(lambda.calls()).toEqual([]);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: '/lambda-guardrail/kill-switch' });
  });

  it('kill switch unreadable at remediation time -> fails safe, nothing written', async () => {
    const { remediate } = await evaluated(publicEverything());
    ssm.reset();
    ssm
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const r = await remediate();
    expect(r.status).toBe('nothing-to-do');
    expect(r.drift?.[0]).toMatch(/AccessDeniedException/);
    expect(writes()).toEqual([]);
  });
});

// ---- verify -------------------------------------------------------------------------------------

describe('verify', () => {
  it('after a successful remediation the fresh read is clean -> verified', async () => {
    serve(publicEverything());
    const { d, evaluation, remediation } = await pipeline();
    expect(remediation.status).toBe('applied');
    const v = await makeVerify(d)({ event, evaluation, remediation, now: NOW });
    expect(v).toEqual({ verified: true, remaining: [] });
  });

  it('lists the remediated findings the fresh read still shows', async () => {
    serve(publicEverything());
    const { d, evaluation, remediation } = await pipeline();
    // The writes "succeeded" but the fresh read still shows the original state.
    lambda.reset();
    serve(publicEverything());
    const v = await makeVerify(d)({ event, evaluation, remediation, now: NOW });
    expect(v.verified).toBe(false);
    expect(v.remaining).toEqual([
      {
        ruleId: 'LAMBDA.URL.PUBLIC',
        resourceArn: functionArn(),
        summary: expect.stringMatching(/AuthType NONE/),
      },
      {
        ruleId: 'LAMBDA.POLICY.PUBLIC',
        resourceArn: functionArn(),
        summary: expect.stringMatching(/backdoor/),
      },
    ]);
    expect(writes()).toEqual([]);
  });

  it('only remediated rules count: a finding of a rule that was not applied is not "remaining"', async () => {
    serve(publicEverything());
    const { d, evaluation, remediation } = await pipeline({
      rules: { 'LAMBDA.URL.PUBLIC': { mode: 'report' } },
    });
    const v = await makeVerify(d)({ event, evaluation, remediation, now: NOW });
    expect(v).toEqual({ verified: true, remaining: [] });
  });

  it('one statement left behind is reported', async () => {
    serve(publicEverything());
    const { d, evaluation, remediation } = await pipeline();
    lambda.reset();
    serve(
      functionSnapshot({
        urls: [{ authType: 'AWS_IAM' }],
        policies: { '': { statements: [urlFunctionInvokeStatement(), publicInvokeStatement('backdoor')] } },
      }),
    );
    const v = await makeVerify(d)({ event, evaluation, remediation, now: NOW });
    expect(v.remaining.map((f) => f.ruleId)).toEqual(['LAMBDA.POLICY.PUBLIC']);
  });
});
