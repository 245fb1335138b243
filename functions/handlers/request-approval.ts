import { randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import { loadApprovalKeys } from '../aws/approval-keys.ts';
import {
  approvalForExecution,
  createApproval,
  expireApproval,
  markNotified,
  replaceTaskToken,
} from '../aws/approvals-store.ts';
import { sendEmail } from '../aws/email.ts';
import {
  approvalSubject,
  approvalUrl,
  buildApprovalRecord,
  expiryOf,
  findingsNeedingApproval,
} from '../core/approval.ts';
import { previewApproval } from '../core/approval-preview.ts';
import { approvalEmail, type EmailMessage, expiredEmail } from '../core/approval-render.ts';
import type { Evaluation } from '../core/evaluate.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import '../core/zod.ts';
import { envDeps, type HandlerDeps, logger } from './deps.ts';
import { evaluationSchema, eventSchema, isoTime, snapshotInput } from './schemas.ts';

/**
 * RequestApproval (`lambda:invoke.waitForTaskToken`) and ApprovalExpired, one function:
 * - `request`: stores the approval (with the task token) and emails every approver their own signed
 *   link. The workflow then waits until the callback sends the decision, or the task times out.
 *   A retried request (new token) updates the stored token and does not email twice.
 * - `expire`: on the task's timeout, marks the approval EXPIRED and tells the approvers.
 * The task token is stored, never logged and never returned.
 */

const requestInput = z.object({
  action: z.literal('request'),
  taskToken: z.string().check(z.minLength(1), z.maxLength(8192)),
  executionId: z.optional(z.string()),
  executionName: z.string().check(z.minLength(1)),
  now: isoTime,
  event: eventSchema,
  evaluation: evaluationSchema,
  snapshot: snapshotInput,
});
const expireInput = z.object({
  action: z.literal('expire'),
  executionName: z.string().check(z.minLength(1)),
  event: eventSchema,
  evaluation: evaluationSchema,
});
const input = z.union([requestInput, expireInput]);

export class ApprovalStateError extends Error {
  override name = 'ApprovalStateError';
}

const newApprovalId = () => randomBytes(16).toString('hex');

function mailer(d: HandlerDeps) {
  return d.sendEmail ?? (async (m: EmailMessage) => void (await sendEmail(d.clients, d.homeRegion, m)));
}

function required<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null || value === '') throw new Error(`${what} is not set`);
  return value;
}

async function request(d: HandlerDeps, i: z.output<typeof requestInput>) {
  const table = required(d.approvalsTable, 'APPROVALS_TABLE');
  const evaluation = i.evaluation as unknown as Evaluation;
  const findings = findingsNeedingApproval(evaluation.findings);
  if (!findings.length)
    throw new ApprovalStateError('RequestApproval ran without findings that need approval');
  if (!d.config.approvers.length) throw new ApprovalStateError('no approvers are configured');
  const sender = required(d.config.approvalSender, 'approvalSender');
  const baseUrl = required(d.approvalBaseUrl, 'APPROVAL_BASE_URL');
  const secret = required(d.approvalKeySecret, 'APPROVAL_KEY_SECRET');

  let record = await approvalForExecution(d.clients, d.homeRegion, table, i.executionName);
  if (record) {
    // A retry of this task: same approval, new token.
    if (
      record.status !== 'PENDING' ||
      !(await replaceTaskToken(d.clients, d.homeRegion, table, record.approvalId, i.taskToken))
    ) {
      throw new ApprovalStateError(`approval ${record.approvalId} is already ${record.status}`);
    }
  } else {
    const event = i.event as unknown as NormalizedEvent;
    const previews = previewApproval(findings, i.snapshot as Snapshot);
    record = buildApprovalRecord({
      approvalId: (d.newApprovalId ?? newApprovalId)(),
      taskToken: i.taskToken,
      ...(i.executionId ? { executionId: i.executionId } : {}),
      executionName: i.executionName,
      approvers: d.config.approvers,
      createdAt: i.now,
      expiresAt: expiryOf(i.now, d.config),
      subject: approvalSubject({ event, evaluation, previews }),
    });
    await createApproval(d.clients, d.homeRegion, table, record);
  }

  if (!record.notifiedAt) {
    const keys = await loadApprovalKeys(d.clients, d.homeRegion, secret);
    const expires = Math.floor(Date.parse(record.expiresAt) / 1000);
    const send = mailer(d);
    for (const approver of record.approvers) {
      const url = approvalUrl(baseUrl, keys.current, { approvalId: record.approvalId, expires, approver });
      await send(
        approvalEmail({ subject: record.subject, approver, from: sender, url, expiresAt: record.expiresAt }),
      );
    }
    await markNotified(d.clients, d.homeRegion, table, record.approvalId, d.now());
  }
  logger.info('approval requested', {
    approvalId: record.approvalId,
    executionName: i.executionName,
    approvers: record.approvers.length,
    findings: record.subject.findings.map((f) => f.ruleId),
    expiresAt: record.expiresAt,
  });
  return { approvalId: record.approvalId, expiresAt: record.expiresAt, approvers: record.approvers.length };
}

async function expire(d: HandlerDeps, i: z.output<typeof expireInput>) {
  const table = required(d.approvalsTable, 'APPROVALS_TABLE');
  const expiredAt = d.now();
  const record = await approvalForExecution(d.clients, d.homeRegion, table, i.executionName);
  if (!record) {
    logger.warn('approval timed out, no approval record', { executionName: i.executionName });
    return { decision: 'expired' as const, expiredAt, notified: 0 };
  }
  const before = await expireApproval(d.clients, d.homeRegion, table, record.approvalId, expiredAt);
  let notified = 0;
  if (d.config.approvalSender) {
    const send = mailer(d);
    for (const approver of record.approvers) {
      try {
        await send(
          expiredEmail({ subject: record.subject, approver, from: d.config.approvalSender, expiredAt }),
        );
        notified++;
      } catch (err) {
        // Telling approvers is best effort: the expiry is recorded either way.
        logger.warn('could not send the expiry notice', {
          approvalId: record.approvalId,
          error: (err as Error).name,
        });
      }
    }
  }
  logger.info('approval expired', {
    approvalId: record.approvalId,
    executionName: i.executionName,
    before,
    notified,
  });
  return { decision: 'expired' as const, approvalId: record.approvalId, expiredAt, notified };
}

export const makeRequestApproval = (deps: () => HandlerDeps) => async (raw: unknown) => {
  const i = input.parse(raw);
  const d = deps();
  return i.action === 'expire' ? expire(d, i) : request(d, i);
};

export const handler = makeRequestApproval(envDeps);
