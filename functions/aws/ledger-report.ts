import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { LedgerRecord } from '../core/ledger.ts';
import { type AwsClients, errorName } from './clients.ts';
import { documentClient } from './ledger.ts';

/** The ledger's global secondary index by day (`day` = YYYY-MM-DD of recordedAt, sorted by recordedAt). */
export const LEDGER_BY_DAY_INDEX = 'byDay';

/** Longest period read day by day through the index; longer ones are one filtered Scan. */
export const MAX_DAYS_BY_INDEX = 400;

/** The UTC days from `since` to `until` inclusive, as YYYY-MM-DD. */
export function daysBetween(since: string, until: string): string[] {
  const out: string[] = [];
  const start = Date.parse(`${since.slice(0, 10)}T00:00:00.000Z`);
  const end = Date.parse(`${until.slice(0, 10)}T00:00:00.000Z`);
  for (let t = start; t <= end; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** DynamoDB says ValidationException ("does not have the specified index"); moto ResourceNotFoundException. */
const missingIndex = (err: unknown) =>
  ['ValidationException', 'ResourceNotFoundException'].includes(errorName(err)) &&
  /index/i.test(String((err as Error).message));

/**
 * Ledger records with `since <= recordedAt <= until`: one Query of the `byDay` index per day (every
 * page), or, where the table has no such index (a table made by hand, the local emulator's) or the
 * period is very long, one paginated Scan with the same filter.
 */
export async function ledgerRecordsBetween(
  clients: AwsClients,
  region: string,
  table: string,
  since: string,
  until: string,
): Promise<{ records: LedgerRecord[]; via: 'index' | 'scan' }> {
  const ddb = documentClient(clients, region);
  const days = daysBetween(since, until);
  if (days.length <= MAX_DAYS_BY_INDEX) {
    try {
      const records: LedgerRecord[] = [];
      for (const day of days) {
        for await (const page of paginateQuery(
          { client: ddb },
          {
            TableName: table,
            IndexName: LEDGER_BY_DAY_INDEX,
            KeyConditionExpression: '#day = :day AND recordedAt BETWEEN :since AND :until',
            ExpressionAttributeNames: { '#day': 'day' },
            ExpressionAttributeValues: { ':day': day, ':since': since, ':until': until },
          },
        )) {
          records.push(...((page.Items ?? []) as LedgerRecord[]));
        }
      }
      return { records, via: 'index' };
    } catch (err) {
      if (!missingIndex(err)) throw err;
    }
  }
  const records: LedgerRecord[] = [];
  for await (const page of paginateScan(
    { client: ddb },
    {
      TableName: table,
      FilterExpression: 'recordedAt BETWEEN :since AND :until',
      ExpressionAttributeValues: { ':since': since, ':until': until },
    },
  )) {
    records.push(...((page.Items ?? []) as LedgerRecord[]));
  }
  return { records, via: 'scan' };
}
