import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { normalizeEvent } from '../../functions/core/event.ts';
import type { HandlerDeps } from '../../functions/handlers/deps.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { makeIngest } from '../../functions/handlers/ingest.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cloudtrail');
// biome-ignore lint/suspicious/noExplicitAny: raw CloudTrail JSON
type Raw = Record<string, any>;
const load = (f: string): Raw => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8'));

const NOW = '2025-06-15T12:00:00.000Z';
const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:guardrail';
const TABLE = 'guardrail-ledger';

/** Real record (Stratus Red Team detonation): AddPermission with Principal "*" by an IAM user. */
const stratus = load('stratus-red-team__AddPermission20150331v2__1.json');
/** Real record (Panther rule test): AddPermission by an assumed role. */
const panther = load('panther-analysis__AddPermission20150331v2__1.json');

const envelope = (rec: Raw) => ({
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.lambda',
  account: rec.recipientAccountId,
  time: rec.eventTime,
  region: rec.awsRegion,
  resources: [],
  detail: rec,
});

const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);
const rawDdb = mockClient(DynamoDBClient);

function deps(over: Partial<HandlerDeps> = {}): () => HandlerDeps {
  const d: HandlerDeps = {
    clients: createClients(),
    config: parseConfig({}),
    homeRegion: 'us-east-1',
    ledgerTable: TABLE,
    stateMachineArn: STATE_MACHINE,
    excludedPrincipals: [],
    now: () => NOW,
    ...over,
  };
  return () => d;
}

beforeAll(() => logger.setLogLevel('SILENT'));
afterAll(() => {
  sfn.restore();
  ddb.restore();
  rawDdb.restore();
});
beforeEach(() => {
  sfn.reset();
  ddb.reset();
  rawDdb.reset();
  sfn.on(StartExecutionCommand).resolves({
    executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:x`,
    startDate: new Date(NOW),
  });
  ddb.on(PutCommand).resolves({});
});

describe('ingest: valid events start one execution named after the CloudTrail eventID', () => {
  it('EventBridge envelope -> StartExecution {name: eventID, input: {event: normalized}}', async () => {
    const out = await makeIngest(deps())(envelope(stratus));
    expect(out).toEqual({ status: 'started', executionName: stratus.eventID });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const input = sfn.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(input.stateMachineArn).toBe(STATE_MACHINE);
    expect(input.name).toBe('b67a9bba-d9da-4980-bf74-baed881b117d');
    const sent = JSON.parse(input.input ?? 'null');
    expect(sent).toEqual({ event: normalizeEvent(stratus) });
    expect(sent.event).toMatchObject({
      eventId: stratus.eventID,
      eventName: 'AddPermission20150331v2',
      action: 'AddPermission',
      service: 'lambda',
      account: '880896431042',
      region: 'ca-centralnorth-1r',
      resources: { functionName: 'stratus-red-team-backdoor-f-func' },
      origin: 'event',
    });
    // Nothing is written to the ledger for a started execution (the workflow records it).
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('the bare CloudTrail record (no envelope) is accepted the same way', async () => {
    const out = await makeIngest(deps())(stratus);
    expect(out).toEqual({ status: 'started', executionName: stratus.eventID });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE,
      name: stratus.eventID,
      input: JSON.stringify({ event: normalizeEvent(stratus) }),
    });
  });

  it('uses the SFN client of the state machine region', async () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:guardrail';
    await makeIngest(deps({ stateMachineArn: arn }))(stratus);
    const call = sfn.commandCalls(StartExecutionCommand)[0];
    expect(call.args[0].input.stateMachineArn).toBe(arn);
    expect(await sfn.send.thisValues[0].config.region()).toBe('eu-west-1');
  });

  it('ExecutionAlreadyExists (a redelivered event) -> status duplicate, no error', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const out = await makeIngest(deps())(envelope(stratus));
    expect(out).toEqual({ status: 'duplicate', executionName: stratus.eventID });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('any other StartExecution error is rethrown (the event goes to the DLQ)', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(makeIngest(deps())(stratus)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('a custom startExecution (local runtime) is used instead of Step Functions', async () => {
    const seen: string[] = [];
    const out = await makeIngest(
      deps({
        startExecution: async (e) => {
          seen.push(e.eventId);
          return { started: true, executionName: e.eventId };
        },
      }),
    )(stratus);
    expect(out.status).toBe('started');
    expect(seen).toEqual([stratus.eventID]);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});

describe('ingest: the guardrail never reacts to its own changes', () => {
  const ROLE_WITH_PATH = 'arn:aws:iam::123456789012:role/guardrail/lambda-guardrail-remediate';
  /** The Panther record, as if made by the guardrail's remediation role (role created with a path). */
  const own = (withIssuer: boolean): Raw => {
    const rec = structuredClone(panther);
    rec.eventID = 'f3b0c2d4-0000-4000-8000-000000000001';
    rec.userIdentity.arn = 'arn:aws:sts::123456789012:assumed-role/lambda-guardrail-remediate/1718450000000';
    if (withIssuer) rec.userIdentity.sessionContext.sessionIssuer.arn = ROLE_WITH_PATH;
    else delete rec.userIdentity.sessionContext;
    return rec;
  };

  it.each([
    ['with the session issuer ARN', true],
    ['from the assumed-role session ARN alone (the path is not in it)', false],
  ])('excluded role %s -> ignored, no StartExecution', async (_label, withIssuer) => {
    const out = await makeIngest(deps({ excludedPrincipals: [ROLE_WITH_PATH] }))(envelope(own(withIssuer)));
    expect(out).toEqual({ status: 'ignored', reason: 'caused by the guardrail itself' });
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('a role of the same name in another account is not excluded', async () => {
    const out = await makeIngest(
      deps({ excludedPrincipals: ['arn:aws:iam::210987654321:role/guardrail/lambda-guardrail-remediate'] }),
    )(envelope(own(false)));
    expect(out.status).toBe('started');
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('a different role in the same account is not excluded', async () => {
    const out = await makeIngest(deps({ excludedPrincipals: [ROLE_WITH_PATH] }))(envelope(panther));
    expect(out.status).toBe('started');
  });
});

describe('ingest: malformed input is recorded as a rejection, never started', () => {
  const put = () => ddb.commandCalls(PutCommand)[0].args[0].input;

  it('an envelope whose record has no eventID -> PutItem rejected-input, no StartExecution', async () => {
    const rec = structuredClone(stratus);
    delete rec.eventID;
    const out = await makeIngest(deps())(envelope(rec));
    expect(out.status).toBe('rejected');
    expect((out as { reason: string }).reason).toMatch(/eventID/);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(put()).toMatchObject({
      TableName: TABLE,
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: {
        // The envelope id names the rejection, so a redelivery hits the same record.
        pk: 'REJECTED#7bf73129-1428-4cd3-a780-95db273d1602',
        sk: 'RECORD',
        day: '2025-06-15',
        recordedAt: NOW,
        outcome: 'rejected-input',
        findings: [],
        error: { error: 'InvalidEvent', cause: expect.stringMatching(/eventID/) },
      },
    });
  });

  it('a failed call (errorCode) is rejected with the error code as reason', async () => {
    const rec = load('panther-analysis__AttachRolePolicy__2.json');
    const out = await makeIngest(deps())(rec);
    expect(out.status).toBe('rejected');
    expect(put().Item?.['outcome']).toBe('rejected-input');
    expect(put().Item?.['error']?.cause).toMatch(/NoSuchEntity/);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('input without a usable id gets a stable hashed id (same input, same record key)', async () => {
    const junk = { hello: 'world' };
    await makeIngest(deps())(junk);
    await makeIngest(deps())(junk);
    const [a, b] = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.['pk']);
    expect(a).toMatch(/^REJECTED#[0-9a-f]{32}$/);
    expect(b).toBe(a);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('a hostile envelope id is not used as a key', async () => {
    await makeIngest(deps())({ ...envelope({ nope: true }), id: 'EXEC#x/../../y' });
    expect(ddb.commandCalls(PutCommand)[0].args[0].input.Item?.['pk']).toMatch(/^REJECTED#[0-9a-f]{32}$/);
  });

  it('a rejection that was already recorded (conditional check fails) is not an error', async () => {
    ddb
      .on(PutCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ConditionalCheckFailedException' }));
    await expect(makeIngest(deps())({ hello: 'world' })).resolves.toMatchObject({ status: 'rejected' });
  });

  it('without a ledger table, a rejection is an error rather than silently dropped', async () => {
    await expect(makeIngest(deps({ ledgerTable: undefined }))({ hello: 'world' })).rejects.toThrow(
      /LEDGER_TABLE/,
    );
  });
});
