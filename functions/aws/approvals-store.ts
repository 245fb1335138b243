import { CreateTableCommand, DescribeTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type ApprovalRecord,
  type ApprovalStatus,
  approvalKey,
  executionPointerKey,
} from '../core/approval.ts';
import type { AwsClients } from './clients.ts';
import { errorName } from './clients.ts';
import { documentClient } from './ledger.ts';

/**
 * The approvals table: one item per approval (`APPROVAL#<id>`, holding the task token) and one
 * pointer per execution (`EXEC#<name>` -> approval id), so a retried request and the expiry step
 * find the approval of their execution. Every status change is a conditional write: an approval is
 * decided at most once. Items carry a TTL; the ledger keeps the decision for good.
 */

const NAMES = {
  '#status': 'status',
  '#decidedBy': 'decidedBy',
  '#decidedAt': 'decidedAt',
  '#comment': 'comment',
  '#expiresAt': 'expiresAt',
};

const isConditionFailure = (err: unknown) =>
  errorName(err) === 'ConditionalCheckFailedException' || errorName(err) === 'TransactionCanceledException';

export class ApprovalExistsError extends Error {
  override name = 'ApprovalExistsError';
}

/** Writes a new PENDING approval and the execution's pointer to it, together or not at all. */
export async function createApproval(
  clients: AwsClients,
  region: string,
  table: string,
  record: ApprovalRecord,
): Promise<void> {
  try {
    await documentClient(clients, region).send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: table, Item: record, ConditionExpression: 'attribute_not_exists(pk)' } },
          {
            Put: {
              TableName: table,
              Item: {
                pk: executionPointerKey(record.executionName),
                approvalId: record.approvalId,
                ttl: record.ttl,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
  } catch (err) {
    if (isConditionFailure(err))
      throw new ApprovalExistsError(`an approval already exists for ${record.executionName}`);
    throw err;
  }
}

export async function getApproval(
  clients: AwsClients,
  region: string,
  table: string,
  approvalId: string,
): Promise<ApprovalRecord | undefined> {
  const r = await documentClient(clients, region).send(
    new GetCommand({ TableName: table, Key: { pk: approvalKey(approvalId) }, ConsistentRead: true }),
  );
  return r.Item as ApprovalRecord | undefined;
}

/** The approval an execution asked for, if any. */
export async function approvalForExecution(
  clients: AwsClients,
  region: string,
  table: string,
  executionName: string,
): Promise<ApprovalRecord | undefined> {
  const r = await documentClient(clients, region).send(
    new GetCommand({
      TableName: table,
      Key: { pk: executionPointerKey(executionName) },
      ConsistentRead: true,
    }),
  );
  const id = (r.Item as { approvalId?: string } | undefined)?.approvalId;
  return id ? getApproval(clients, region, table, id) : undefined;
}

/** A retried RequestApproval has a new task token: store it, only while still PENDING. */
export async function replaceTaskToken(
  clients: AwsClients,
  region: string,
  table: string,
  approvalId: string,
  taskToken: string,
): Promise<boolean> {
  try {
    await documentClient(clients, region).send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: approvalKey(approvalId) },
        UpdateExpression: 'SET taskToken = :t',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':t': taskToken, ':pending': 'PENDING' },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

export async function markNotified(
  clients: AwsClients,
  region: string,
  table: string,
  approvalId: string,
  at: string,
): Promise<void> {
  await documentClient(clients, region).send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: approvalKey(approvalId) },
      UpdateExpression: 'SET notifiedAt = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':at': at },
    }),
  );
}

export type DecideResult =
  | { decided: true; record: ApprovalRecord }
  | { decided: false; current?: ApprovalRecord };

/**
 * PENDING -> APPROVED/REJECTED, only if still PENDING and not past its expiry: the single-use step.
 * Two concurrent decisions: exactly one wins, the other sees the winner's record.
 */
export async function decideApproval(
  clients: AwsClients,
  region: string,
  table: string,
  args: {
    approvalId: string;
    status: 'APPROVED' | 'REJECTED';
    decidedBy: string;
    decidedAt: string;
    comment?: string;
  },
): Promise<DecideResult> {
  try {
    const r = await documentClient(clients, region).send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: approvalKey(args.approvalId) },
        UpdateExpression: `SET #status = :s, #decidedBy = :by, #decidedAt = :at${args.comment ? ', #comment = :c' : ''}`,
        ConditionExpression: '#status = :pending AND #expiresAt > :at',
        ExpressionAttributeNames: {
          '#status': NAMES['#status'],
          '#decidedBy': NAMES['#decidedBy'],
          '#decidedAt': NAMES['#decidedAt'],
          '#expiresAt': NAMES['#expiresAt'],
          ...(args.comment ? { '#comment': NAMES['#comment'] } : {}),
        },
        ExpressionAttributeValues: {
          ':s': args.status,
          ':by': args.decidedBy,
          ':at': args.decidedAt,
          ':pending': 'PENDING',
          ...(args.comment ? { ':c': args.comment } : {}),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { decided: true, record: r.Attributes as ApprovalRecord };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const current = await getApproval(clients, region, table, args.approvalId);
    return { decided: false, ...(current ? { current } : {}) };
  }
}

/** Undoes a decision the workflow never received (it could not be reached): back to PENDING. */
export async function undoDecision(
  clients: AwsClients,
  region: string,
  table: string,
  approvalId: string,
  status: 'APPROVED' | 'REJECTED',
  decidedAt: string,
): Promise<void> {
  try {
    await documentClient(clients, region).send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: approvalKey(approvalId) },
        UpdateExpression: 'SET #status = :pending REMOVE #decidedBy, #decidedAt, #comment',
        ConditionExpression: '#status = :s AND #decidedAt = :at',
        ExpressionAttributeNames: {
          '#status': NAMES['#status'],
          '#decidedBy': NAMES['#decidedBy'],
          '#decidedAt': NAMES['#decidedAt'],
          '#comment': NAMES['#comment'],
        },
        ExpressionAttributeValues: { ':pending': 'PENDING', ':s': status, ':at': decidedAt },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/**
 * Marks an approval EXPIRED: on the workflow's timeout, or when the workflow turned out to be no
 * longer waiting for a decision that was just recorded. Returns the status it had before.
 */
export async function expireApproval(
  clients: AwsClients,
  region: string,
  table: string,
  approvalId: string,
  at: string,
): Promise<ApprovalStatus | undefined> {
  try {
    const r = await documentClient(clients, region).send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: approvalKey(approvalId) },
        UpdateExpression: 'SET #status = :expired, expiredAt = :at',
        ConditionExpression: 'attribute_exists(pk) AND #status <> :expired',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':expired': 'EXPIRED', ':at': at },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return (r.Attributes as ApprovalRecord | undefined)?.status;
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

/** Creates the approvals table (with TTL) where it does not exist: local runtime and emulator tests. */
export async function ensureApprovalsTable(clients: AwsClients, region: string, table: string) {
  const ddb = documentClient(clients, region);
  try {
    await ddb.send(new DescribeTableCommand({ TableName: table }));
    return;
  } catch {
    // create it below
  }
  await ddb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  await ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: table,
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    }),
  );
}
