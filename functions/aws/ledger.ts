import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LedgerRecord } from '../core/ledger.ts';
import type { AwsClients } from './clients.ts';

export async function putLedgerRecord(
  clients: AwsClients,
  region: string,
  table: string,
  record: LedgerRecord,
) {
  // Conditional on absence: a retried Record state must not overwrite with a different outcome.
  try {
    await clients
      .ddb(region)
      .send(
        new PutCommand({ TableName: table, Item: record, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
    return { written: true };
  } catch (err) {
    if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return { written: false };
    throw err;
  }
}

export async function getLedgerRecord(
  clients: AwsClients,
  region: string,
  table: string,
  executionName: string,
): Promise<LedgerRecord | undefined> {
  const r = await clients
    .ddb(region)
    .send(new GetCommand({ TableName: table, Key: { pk: `EXEC#${executionName}`, sk: 'RECORD' } }));
  return r.Item as LedgerRecord | undefined;
}
