import type { ApprovalResult } from './approval.ts';
import type { Evaluation } from './evaluate.ts';
import type { Outcome } from './types.ts';

export interface AppliedStep {
  ruleId: string;
  resourceArn: string;
  service: string;
  operation: string;
  /** The request as sent, with deferred values shown as their references (never the resolved secret). */
  parameters: Record<string, unknown>;
  /** `undone`: applied, then undone again because a later step of the same all-or-nothing plan failed. */
  status: 'applied' | 'failed' | 'skipped' | 'undone';
  /** The state the step changed, before and after (statement, URL config, ...). */
  before?: unknown;
  after?: unknown;
  error?: string;
  inverse?: { service: string; operation: string; parameters: Record<string, unknown> };
}

export interface Remediation {
  status: 'applied' | 'resource-changed' | 'failed' | 'nothing-to-do';
  steps: AppliedStep[];
  /** Why the resource counts as changed (failed preconditions, different plan). */
  drift?: string[];
  error?: string;
  /**
   * The calls that undid the applied steps of an all-or-nothing plan after one of its steps failed
   * (newest first). If one of them failed, the steps it should have undone stay `applied`, with their
   * inverses, for `guardrail rollback`.
   */
  undo?: AppliedStep[];
}

export interface Verification {
  verified: boolean;
  /** Findings of the remediated rules that are still present after the fix. */
  remaining: { ruleId: string; resourceArn: string; summary: string }[];
}

/** The single outcome recorded in the ledger for an execution. */
export function decideOutcome(args: {
  evaluation?: Evaluation;
  remediation?: Remediation;
  verification?: Verification;
  error?: unknown;
  rejected?: boolean;
  /** The decision on the findings that needed approval, when the workflow asked for one. */
  approval?: ApprovalResult;
}): Outcome {
  const { evaluation, remediation, verification, error, rejected, approval } = args;
  if (rejected) return 'rejected-input';
  if (error) return 'failed';
  if (remediation?.status === 'resource-changed') return 'resource-changed';
  if (remediation?.status === 'failed') return 'failed';
  if (remediation?.status === 'applied' && verification && !verification.verified) return 'failed';
  // A rejection or an expiry is the outcome even when automatic findings were applied next to it:
  // the findings that needed a person are still open.
  if (approval?.decision === 'rejected') return 'rejected';
  if (approval?.decision === 'expired') return 'expired';
  if (remediation?.status === 'applied') return 'remediated';
  const findings = evaluation?.findings ?? [];
  const live = findings.filter((f) => !f.exempt);
  // Approved, but nothing applied (the kill switch was turned on meanwhile): recorded, nothing changed.
  if (approval?.decision === 'approved') return 'reported';
  if (live.some((f) => f.mode === 'approve')) return 'approval-required';
  if (live.length) return 'reported';
  if (findings.length) return 'exempt';
  return 'compliant';
}
