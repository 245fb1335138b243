import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { putLedgerRecord } from '../../functions/aws/ledger.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { rejectionRecord } from '../../functions/core/ledger.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeRecord } from '../../functions/handlers/record.ts';
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

const ddb = mockClient(DynamoDBDocumentClient);
const rawDdb = mockClient(DynamoDBClient);
const TABLE = 'guardrail-ledger';
const SECRET = 'sk_live_51HxQ2mEXAMPLEc0nfidential9f8e7d6c5b4a';

const event: NormalizedEvent = {
  eventId: 'a1b2c3d4-1111-4222-8333-444455556666',
  eventName: 'CreateFunctionUrlConfig',
  action: 'CreateFunctionUrlConfig',
  service: 'lambda',
  account: ACCOUNT,
  region: REGION,
  time: '2025-06-15T11:58:00.000Z',
  actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
  resources: { functionName: FUNCTION_NAME, functionArn: functionArn() },
  requestParameters: { functionName: FUNCTION_NAME, authType: 'NONE' },
  origin: 'event',
};

/** A function with a public URL, a backdoor statement and a secret in its environment (raw, unredacted). */
const raw = functionSnapshot({
  urls: [{ authType: 'NONE' }],
  policies: { '': { statements: [...publicUrlPair(), publicInvokeStatement('backdoor')] } },
  environment: { STRIPE_KEY: SECRET, TABLE_NAME: 'orders' },
});
const evaluation = JSON.parse(
  JSON.stringify(evaluate({ snapshot: raw, config: DEFAULT_CONFIG, now: NOW, event })),
);

function deps(over: Partial<HandlerDeps> = {}): () => HandlerDeps {
  const d: HandlerDeps = {
    clients: createClients(),
    config: parseConfig({}),
    homeRegion: 'eu-central-1',
    ledgerTable: TABLE,
    now: () => NOW,
    ...over,
  };
  return () => d;
}

const input = (state: Record<string, unknown>) => ({
  executionId: `arn:aws:states:eu-central-1:${ACCOUNT}:execution:guardrail:${event.eventId}`,
  executionName: event.eventId,
  startedAt: '2025-06-15T11:59:00.000Z',
  state,
});
const putInput = () => ddb.commandCalls(PutCommand)[0].args[0].input;

beforeAll(() => logger.setLogLevel('SILENT'));
afterAll(() => {
  ddb.restore();
  rawDdb.restore();
});
beforeEach(() => {
  ddb.reset();
  rawDdb.reset();
  ddb.on(PutCommand).resolves({});
});

describe('record handler', () => {
  it('PutItem of one record per execution, conditional on absence', async () => {
    const out = await makeRecord(deps())(
      input({ event, collected: { killSwitch: false, killSwitchReason: 'off' }, evaluation }),
    );
    expect(out).toEqual({ outcome: 'reported', pk: `EXEC#${event.eventId}` });
    // Auto findings that did not reach Remediate are "reported": nothing was applied.
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    const p = putInput();
    expect(p.TableName).toBe(TABLE);
    expect(p.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(p.Item).toMatchObject({
      pk: `EXEC#${event.eventId}`,
      sk: 'RECORD',
      day: '2025-06-15',
      recordedAt: NOW,
      executionName: event.eventId,
      eventId: event.eventId,
      killSwitch: false,
      route: 'auto',
      outcome: 'reported',
    });
    expect(p.Item?.['findings'].map((f: { ruleId: string }) => f.ruleId)).toEqual([
      'LAMBDA.URL.PUBLIC',
      'LAMBDA.POLICY.PUBLIC',
    ]);
  });

  it('writes to the ledger in the home region', async () => {
    await makeRecord(deps())(input({ event, evaluation }));
    expect(await ddb.send.thisValues[0].config.region()).toBe('eu-central-1');
  });

  it('ConditionalCheckFailed (a retried Record state) -> no throw, the first record stands', async () => {
    ddb
      .on(PutCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    await expect(makeRecord(deps())(input({ event, evaluation }))).resolves.toEqual({
      outcome: 'reported',
      pk: `EXEC#${event.eventId}`,
    });
    await expect(
      putLedgerRecord(
        createClients(),
        REGION,
        TABLE,
        rejectionRecord({ id: 'x', recordedAt: NOW, reason: 'bad' }),
      ),
    ).resolves.toEqual({ written: false });
  });

  it('putLedgerRecord reports written: true on success; other errors are thrown', async () => {
    const rec = rejectionRecord({ id: 'x', recordedAt: NOW, reason: 'bad' });
    await expect(putLedgerRecord(createClients(), REGION, TABLE, rec)).resolves.toEqual({ written: true });
    ddb
      .on(PutCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(putLedgerRecord(createClients(), REGION, TABLE, rec)).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
  });

  it('the record never contains environment values, even if a raw snapshot reaches the state', async () => {
    // Defence in depth: the state machine only carries redacted snapshots, but the record must not
    // depend on that. Here the whole raw snapshot (with the secret) is in the state.
    await makeRecord(deps())(
      input({
        event,
        collected: { snapshot: raw, killSwitch: false, killSwitchReason: 'off' },
        evaluation,
      }),
    );
    const text = JSON.stringify(putInput());
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('"orders"');
    expect(text).not.toContain('Environment');
  });

  it('a failure state is recorded as failed, with the cause summarised', async () => {
    const out = await makeRecord(deps())(
      input({
        event,
        error: {
          Error: 'AccessDeniedException',
          Cause: JSON.stringify({
            errorType: 'AccessDeniedException',
            errorMessage: 'not allowed',
            trace: ['x'],
          }),
        },
      }),
    );
    expect(out.outcome).toBe('failed');
    expect(putInput().Item?.['error']).toEqual({
      error: 'AccessDeniedException',
      cause: 'AccessDeniedException: not allowed',
    });
  });

  it('an applied and verified remediation is recorded as remediated, with the steps', async () => {
    const remediation = {
      status: 'applied',
      steps: [
        {
          ruleId: 'LAMBDA.URL.PUBLIC',
          resourceArn: functionArn(),
          service: 'lambda',
          operation: 'UpdateFunctionUrlConfig',
          parameters: { FunctionName: FUNCTION_NAME, AuthType: 'AWS_IAM' },
          status: 'applied',
          before: { AuthType: 'NONE', Cors: null, InvokeMode: 'BUFFERED' },
          after: { AuthType: 'AWS_IAM', Cors: null, InvokeMode: 'BUFFERED' },
        },
      ],
    };
    const out = await makeRecord(deps())(
      input({ event, evaluation, remediation, verification: { verified: true, remaining: [] } }),
    );
    expect(out.outcome).toBe('remediated');
    expect(putInput().Item).toMatchObject({ remediation, verification: { verified: true, remaining: [] } });
  });

  it('without a ledger table it fails loudly', async () => {
    await expect(makeRecord(deps({ ledgerTable: undefined }))(input({ event }))).rejects.toThrow(
      /LEDGER_TABLE/,
    );
    expect(ddb).not.toHaveReceivedAnyCommand();
  });
});
