import { type ApprovalResult, normalizeApproval } from './approval.ts';
import type { Evaluation } from './evaluate.ts';
import { decideOutcome, type Remediation, type Verification } from './outcome.ts';
import type { NormalizedEvent, Outcome } from './types.ts';

/**
 * One ledger record per execution: the event, the findings with their modes and plans, the steps
 * applied with before/after, and the outcome. Source of reports and of rollback. Never holds secret
 * values: snapshots are not stored, findings carry names and fingerprints only.
 */
export interface LedgerRecord {
  pk: string;
  sk: 'RECORD';
  /** YYYY-MM-DD of recordedAt, for the byDay index. */
  day: string;
  recordedAt: string;
  executionId?: string;
  executionName: string;
  startedAt?: string;
  eventId?: string;
  event?: NormalizedEvent;
  target?: Evaluation['target'];
  killSwitch?: boolean;
  route?: Evaluation['route'];
  findings: Evaluation['findings'];
  remediation?: Remediation;
  verification?: Verification;
  /** The decision on the findings that needed approval: who, when, the comment (never a token or signature). */
  approval?: ApprovalResult;
  outcome: Outcome;
  error?: { error: string; cause: string };
}

export interface WorkflowState {
  event?: NormalizedEvent;
  collected?: { killSwitch?: boolean; killSwitchReason?: string };
  evaluation?: Evaluation;
  remediation?: Remediation;
  verification?: Verification;
  /** `$.approval` as the workflow left it (approved output, rejection Pass, or expiry). */
  approval?: unknown;
  error?: { Error?: string; Cause?: string };
}

/** Step Functions error causes can be long JSON; keep the message, bounded. */
function errorSummary(e: { Error?: string; Cause?: string }): { error: string; cause: string } {
  let cause = e.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string; errorType?: string };
    if (parsed.errorMessage) cause = `${parsed.errorType ?? 'Error'}: ${parsed.errorMessage}`;
  } catch {
    // not JSON: keep as is
  }
  return { error: e.Error ?? 'Error', cause: cause.slice(0, 1000) };
}

export function buildLedgerRecord(args: {
  executionId?: string;
  executionName: string;
  startedAt?: string;
  recordedAt: string;
  state: WorkflowState;
}): LedgerRecord {
  const { state } = args;
  const approval = normalizeApproval(state.approval);
  const outcome = decideOutcome({
    ...(approval ? { approval } : {}),
    ...(state.evaluation ? { evaluation: state.evaluation } : {}),
    ...(state.remediation ? { remediation: state.remediation } : {}),
    ...(state.verification ? { verification: state.verification } : {}),
    ...(state.error ? { error: state.error } : {}),
  });
  return {
    pk: `EXEC#${args.executionName}`,
    sk: 'RECORD',
    day: args.recordedAt.slice(0, 10),
    recordedAt: args.recordedAt,
    ...(args.executionId ? { executionId: args.executionId } : {}),
    executionName: args.executionName,
    ...(args.startedAt ? { startedAt: args.startedAt } : {}),
    ...(state.event ? { eventId: state.event.eventId, event: state.event } : {}),
    ...(state.evaluation?.target ? { target: state.evaluation.target } : {}),
    ...(state.collected?.killSwitch !== undefined ? { killSwitch: state.collected.killSwitch } : {}),
    ...(state.evaluation ? { route: state.evaluation.route } : {}),
    findings: state.evaluation?.findings ?? [],
    ...(state.remediation ? { remediation: state.remediation } : {}),
    ...(state.verification ? { verification: state.verification } : {}),
    ...(approval ? { approval } : {}),
    outcome,
    ...(state.error ? { error: errorSummary(state.error) } : {}),
  };
}

/** The record for an event that failed validation: kept, so malformed input never vanishes. */
export function rejectionRecord(args: {
  id: string;
  recordedAt: string;
  reason: string;
  source?: string;
}): LedgerRecord {
  return {
    pk: `REJECTED#${args.id}`,
    sk: 'RECORD',
    day: args.recordedAt.slice(0, 10),
    recordedAt: args.recordedAt,
    executionName: `rejected-${args.id}`,
    findings: [],
    outcome: 'rejected-input',
    error: { error: 'InvalidEvent', cause: args.reason.slice(0, 1000) },
  };
}
