import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  RemovePermissionCommand,
  ResourceNotFoundException,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { keyFor } from '../../functions/core/snapshot.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { makeCollect } from '../../functions/handlers/collect.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeEvaluate } from '../../functions/handlers/evaluate.ts';
import { makeIngest } from '../../functions/handlers/ingest.ts';
import { makeRecord } from '../../functions/handlers/record.ts';
import { makeRemediate } from '../../functions/handlers/remediate.ts';
import { makeVerify } from '../../functions/handlers/verify.ts';
import {
  ACCOUNT,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  NOW,
  publicInvokeStatement,
  publicUrlPair,
  REGION,
} from '../unit/helpers.ts';

/**
 * Secret values must never reach logs, task outputs, Step Functions input or the ledger (DESIGN §6).
 * The whole workflow runs here with every log line captured, against a function whose environment
 * holds secrets, and with a CloudTrail event whose request carries them.
 */

const SECRETS = {
  STRIPE_SECRET_KEY: 'sk_live_51HqLyjWDarjtT1zdp7dcXAMPLEs3cr3tValue00',
  DB_PASSWORD: 'correct-horse-battery-staple-42!',
  PLAIN_LOOKING: 'orders-prod-7f3a9c', // not secret-looking: redaction is by position, not by pattern
};
const VALUES = Object.values(SECRETS);

const lambda = mockClient(LambdaClient);
const ssm = mockClient(SSMClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);
const rawDdb = mockClient(DynamoDBClient);

let captured: string[] = [];
const capture = (chunk: unknown) => {
  captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
  return true;
};

beforeAll(() => logger.setLogLevel('DEBUG'));
afterAll(() => {
  for (const m of [lambda, ssm, sfn, ddb, rawDdb]) m.restore();
});
beforeEach(() => {
  for (const m of [lambda, ssm, sfn, ddb, rawDdb]) m.reset();
  captured = [];
  vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
  }
  ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'off' } });
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date(NOW) });
  ddb.on(PutCommand).resolves({});
});
afterEach(() => vi.restoreAllMocks());

/** Everything that left the handlers: logs, return values, and every request sent to AWS. */
function everything(outputs: unknown[]): string {
  const requests = [lambda, ssm, sfn, ddb, rawDdb].flatMap((m) => m.calls().map((c) => c.args[0].input));
  return [...captured, JSON.stringify(outputs), JSON.stringify(requests)].join('\n');
}

const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });

/** Serves a function with secrets in its environment, a public URL and a backdoor statement; applies writes. */
function serveSecretFunction() {
  const r = structuredClone(
    functionSnapshot({
      environment: SECRETS,
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: [...publicUrlPair(), publicInvokeStatement('backdoor')] } },
    }).responses,
  ) as Record<string, { [k: string]: unknown } | null>;
  let rev = 0;
  const policy = () => r['GetPolicy'] as { Policy: string; RevisionId: string };
  lambda
    .on(GetFunctionConfigurationCommand)
    .callsFake(async () => structuredClone(r['GetFunctionConfiguration']));
  lambda.on(ListTagsCommand).callsFake(async () => structuredClone(r['ListTags']));
  lambda.on(ListAliasesCommand).callsFake(async () => structuredClone(r['ListAliases']));
  lambda
    .on(ListFunctionUrlConfigsCommand)
    .callsFake(async () => structuredClone(r['ListFunctionUrlConfigs']));
  lambda.on(GetPolicyCommand).callsFake(async (input: { Qualifier?: string }) => {
    const v = r[keyFor('GetPolicy', input.Qualifier)];
    if (!v) throw notFound();
    return structuredClone(v);
  });
  lambda.on(UpdateFunctionUrlConfigCommand).callsFake(async (input: { AuthType: string }) => {
    const url = (r['ListFunctionUrlConfigs'] as { FunctionUrlConfigs: { AuthType: string }[] })
      .FunctionUrlConfigs[0];
    url.AuthType = input.AuthType;
    policy().RevisionId = `rev-${++rev}`;
    return structuredClone(url);
  });
  lambda.on(RemovePermissionCommand).callsFake(async (input: { StatementId: string }) => {
    const doc = JSON.parse(policy().Policy);
    doc.Statement = doc.Statement.filter((s: { Sid: string }) => s.Sid !== input.StatementId);
    policy().Policy = JSON.stringify(doc);
    policy().RevisionId = `rev-${++rev}`;
    return {};
  });
  return r;
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cloudtrail');
/**
 * The Stratus UpdateFunctionConfiguration record, retargeted to our function, with the environment
 * values present in the request (CloudTrail normally omits them; the guardrail must not rely on that).
 */
function secretEvent() {
  const rec = JSON.parse(
    readFileSync(join(FIXTURES, 'stratus-red-team__UpdateFunctionConfiguration20150331v2__1.json'), 'utf8'),
  );
  rec.awsRegion = REGION;
  rec.recipientAccountId = ACCOUNT;
  rec.userIdentity.accountId = ACCOUNT;
  rec.userIdentity.arn = `arn:aws:iam::${ACCOUNT}:user/alice`;
  rec.requestParameters = { functionName: FUNCTION_NAME, environment: { variables: { ...SECRETS } } };
  rec.responseElements = { functionName: FUNCTION_NAME, environment: { variables: { ...SECRETS } } };
  return rec;
}

function deps(): () => HandlerDeps {
  const d: HandlerDeps = {
    clients: createClients(),
    // LAMBDA.ENV.SECRET reports here (its own leak tests, with the move applied, are in
    // test/aws/env-secret.test.ts); the other rules apply, so the whole workflow runs.
    config: parseConfig({ rules: { 'LAMBDA.ENV.SECRET': { mode: 'report' } } }),
    homeRegion: REGION,
    ledgerTable: 'guardrail-ledger',
    stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:guardrail`,
    excludedPrincipals: [],
    now: () => NOW,
  };
  return () => d;
}

describe('secret values never leave', () => {
  it('ingest: the StartExecution input and the logs hold the variable names only', async () => {
    const out = await makeIngest(deps())(secretEvent());
    expect(out.status).toBe('started');
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input ?? '{}');
    expect(input.event.requestParameters.environment.variables).toEqual({
      STRIPE_SECRET_KEY: '[redacted]',
      DB_PASSWORD: '[redacted]',
      PLAIN_LOOKING: '[redacted]',
    });
    expect(captured.join('')).toContain('started');
    const all = everything([out]);
    for (const v of VALUES) expect(all).not.toContain(v);
  });

  it('ingest: a rejected event with secrets in it is recorded without them', async () => {
    const rec = secretEvent();
    delete rec.eventID;
    const out = await makeIngest(deps())({
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.lambda',
      detail: rec,
    });
    expect(out.status).toBe('rejected');
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    const all = everything([out]);
    for (const v of VALUES) expect(all).not.toContain(v);
  });

  it('the whole workflow (collect, evaluate, remediate, verify, record) with logs at DEBUG', async () => {
    const served = serveSecretFunction();
    const d = deps();
    const ev: NormalizedEvent = {
      eventId: '0d9c8b7a-6f5e-4d3c-8b2a-190817263544',
      eventName: 'UpdateFunctionConfiguration20150331v2',
      action: 'UpdateFunctionConfiguration',
      service: 'lambda',
      account: ACCOUNT,
      region: REGION,
      time: NOW,
      actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
      resources: { functionName: FUNCTION_NAME, functionArn: functionArn() },
      requestParameters: {
        functionName: FUNCTION_NAME,
        environment: { variables: { DB_PASSWORD: '[redacted]' } },
      },
      origin: 'event',
    };
    const j = <T>(v: T): T => JSON.parse(JSON.stringify(v));
    const collected = j(await makeCollect(d)({ event: ev }));
    const evaluation = j(
      await makeEvaluate(d)({
        event: ev,
        snapshot: collected.snapshot,
        killSwitch: collected.killSwitch,
        now: NOW,
      }),
    );
    expect(evaluation.route).toBe('auto');
    const remediation = j(await makeRemediate(d)({ event: ev, evaluation, now: NOW }));
    expect(remediation.status).toBe('applied');
    const verification = j(await makeVerify(d)({ event: ev, evaluation, remediation, now: NOW }));
    expect(verification.verified).toBe(true);
    const record = await makeRecord(d)({
      executionName: ev.eventId,
      state: { event: ev, collected, evaluation, remediation, verification },
    });
    expect(record.outcome).toBe('remediated');

    // The capture works: each handler logged something.
    const logs = captured.join('');
    for (const msg of ['collected', 'evaluated', 'remediation', 'verified', 'recorded'])
      expect(logs).toContain(msg);
    // The function really had the secrets and the collector read them (3 times: collect, remediate, verify) ...
    for (const v of VALUES) expect(JSON.stringify(served['GetFunctionConfiguration'])).toContain(v);
    expect(lambda.commandCalls(GetFunctionConfigurationCommand)).toHaveLength(3);
    // ... and no value appears anywhere: logs, outputs, requests (including the ledger PutItem).
    const all = everything([collected, evaluation, remediation, verification, record]);
    for (const v of VALUES) expect(all).not.toContain(v);
    // The names are kept (useful evidence).
    expect(JSON.stringify(collected)).toContain('STRIPE_SECRET_KEY');
  });
});
