/**
 * Applying Access Analyzer results (the Prove step) to an evaluation, purely: each finding whose plan
 * has `proofs` gets its `proof`; one whose mode is `auto` but whose proof did not PASS (failed,
 * unavailable, or no result at all) goes to `approve` with the reason; route, plan digest and
 * approval are then recomputed exactly as evaluate() computes them (`routeOf`).
 */
import type { GuardrailConfig } from '../config.ts';
import { type Evaluation, routeOf } from '../evaluate.ts';
import type { Finding, ProofResult } from '../types.ts';

/** Why a proof result does not allow an automatic write, for people. */
export function proofFailureReason(proof: ProofResult | undefined): string {
  if (!proof) return 'the rewrite was not proved (no Access Analyzer result)';
  const details = proof.checks
    .map((c) => {
      const parts: string[] = [];
      if (c.validatePolicy && c.validatePolicy.errors > 0)
        parts.push(
          `ValidatePolicy reported ${c.validatePolicy.errors} error(s)${c.validatePolicy.issues.length ? ` (${c.validatePolicy.issues.join(', ')})` : ''}`,
        );
      if (c.checkNoNewAccess === 'FAIL')
        parts.push('CheckNoNewAccess: FAIL (the new document grants new access)');
      if (c.reason) parts.push(c.reason);
      return parts.length ? `${c.replaces}: ${parts.join('; ')}` : '';
    })
    .filter(Boolean);
  const what = proof.status === 'UNAVAILABLE' ? 'the proof was unavailable' : 'the proof failed';
  return details.length ? `${what}: ${details.join(' | ')}` : what;
}

/**
 * Sets `finding.proof` from `results` (keyed by the finding's index in `evaluation.findings`) and
 * downgrades unproved automatic findings to approval. Findings without `plan.proofs` are unchanged.
 * Returns a new evaluation; the input is not modified.
 */
export function applyProofs(
  evaluation: Evaluation,
  results: Readonly<Record<number, ProofResult | undefined>>,
  config: Pick<GuardrailConfig, 'approvers'>,
): Evaluation {
  const findings: Finding[] = evaluation.findings.map((f, i) => {
    if (!f.plan.proofs?.length) return f;
    const proof = results[i];
    const out: Finding = { ...f, ...(proof ? { proof } : {}) };
    // Exempt findings are never acted on (and not proved): their mode stays as it is.
    if (f.mode === 'auto' && !f.exempt && proof?.status !== 'PASS') {
      out.mode = 'approve';
      out.modeReason = `${f.modeReason}; needs approval: ${proofFailureReason(proof)}`;
    }
    return out;
  });
  return { ...withoutApproval(evaluation), findings, ...routeOf(findings, config) };
}

/** The evaluation's fields other than the ones routeOf recomputes (a stale `approval` must not survive). */
function withoutApproval(e: Evaluation): Omit<Evaluation, 'approval'> {
  const { approval: _approval, ...rest } = e;
  return rest;
}
