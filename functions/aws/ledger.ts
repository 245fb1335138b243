import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { LedgerRecord } from '../core/ledger.ts';
import type { AwsClients } from './clients.ts';

/** The DynamoDB document client for a region (plain JS values in and out; undefined fields dropped). */
export const documentClient = (clients: AwsClients, region: string) =>
  clients.derive(`ddb-doc:${region}`, () =>
    DynamoDBDocumentClient.from(clients.get(DynamoDBClient, region), {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
    }),
  );

export async function putLedgerRecord(
  clients: AwsClients,
  region: string,
  table: string,
  record: LedgerRecord,
) {
  // Conditional on absence: a retried Record state must not overwrite with a different outcome.
  try {
    await documentClient(clients, region).send(
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
  const r = await documentClient(clients, region).send(
    new GetCommand({ TableName: table, Key: { pk: `EXEC#${executionName}`, sk: 'RECORD' } }),
  );
  return r.Item as LedgerRecord | undefined;
}

/** Creates the ledger table where it does not exist (local runtime and emulator tests; CDK creates it when deployed). */
export async function ensureLedgerTable(clients: AwsClients, region: string, table: string) {
  const ddb = documentClient(clients, region);
  try {
    await ddb.send(new DescribeTableCommand({ TableName: table }));
  } catch {
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
  }
}

export async function scanLedger(
  clients: AwsClients,
  region: string,
  table: string,
): Promise<LedgerRecord[]> {
  const out: LedgerRecord[] = [];
  for await (const page of paginateScan({ client: documentClient(clients, region) }, { TableName: table })) {
    out.push(...((page.Items ?? []) as LedgerRecord[]));
  }
  return out;
}
