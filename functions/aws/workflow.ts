import { type ApprovalResult, approvalDigest, findingsToApply } from '../core/approval.ts';
import type { Evaluation } from '../core/evaluate.ts';
import { applyProofs } from '../core/iam/proof.ts';
import { orgEnabled } from '../core/org.ts';
import type { Remediation } from '../core/outcome.ts';
import { failedPreconditions, planDigest } from '../core/plan.ts';
import type { Finding, NormalizedEvent, ProofResult, Snapshot } from '../core/types.ts';
import { eventClients } from './assume.ts';
import { applyPlan } from './execute.ts';
import { type KillSwitchState, readKillSwitch } from './killswitch.ts';
import { collectRaw, type Deps, redacted, reevaluate } from './target.ts';

export async function collectStep(
  deps: Deps,
  event: NormalizedEvent,
): Promise<{ snapshot: Snapshot; killSwitch: boolean; killSwitchReason: string }> {
  const [raw, ks] = await Promise.all([collectRaw(deps, event, { evidence: true }), killSwitch(deps, event)]);
  return { snapshot: await redacted(deps, raw), killSwitch: ks.on, killSwitchReason: ks.reason };
}

const killSwitch = (deps: Deps, event: NormalizedEvent): Promise<KillSwitchState> =>
  readKillSwitch(deps.clients, deps.config.homeRegion ?? event.region, deps.config.killSwitchParameter);

const describe = (e: Evaluation, approval?: ApprovalResult) =>
  findingsToApply(e.findings, approval).map(
    (f) => `${f.ruleId} ${f.resourceArn}: ${f.plan.steps.length} step(s)`,
  );

/**
 * Remediate: re-read, stop if the kill switch is on, compare the plan the fresh state gives with the
 * evaluated one (any difference is drift), check preconditions, then apply the automatic findings,
 * plus the findings that needed approval when `approval` says they were approved.
 */
export async function remediateStep(
  deps: Deps,
  input: {
    event: NormalizedEvent;
    evaluation: Evaluation;
    now: string;
    approval?: ApprovalResult;
    /** The evaluated (redacted) snapshot: execution roles are re-read against its evidence. */
    snapshot?: Snapshot;
  },
): Promise<Remediation> {
  const { event, evaluation, now, approval } = input;
  const wanted = findingsToApply(evaluation.findings, approval);
  if (!wanted.length) return { status: 'nothing-to-do', steps: [] };
  // Defence in depth: an automatic rewrite of an IAM policy needs a passing proof (the Prove step
  // downgrades the others to approval; this holds even if that step was skipped).
  const unproved = wanted.filter(
    (f) => f.mode === 'auto' && f.plan.proofs?.length && f.proof?.status !== 'PASS',
  );
  if (unproved.length) {
    return {
      status: 'nothing-to-do',
      steps: [],
      drift: unproved.map(
        (f) =>
          `not applied: ${f.ruleId} ${f.resourceArn} rewrites an IAM policy without a passing proof (${f.proof?.status ?? 'not proved'})`,
      ),
    };
  }
  // What the approver saw and approved must be exactly what the evaluation holds.
  if (approval?.decision === 'approved' && approval.planDigest !== approvalDigest(evaluation.findings)) {
    return {
      status: 'resource-changed',
      steps: [],
      drift: ['the approved plan differs from the evaluated plan; nothing was applied'],
    };
  }
  const ks = await killSwitch(deps, event);
  if (ks.on) return { status: 'nothing-to-do', steps: [], drift: [`not applied: ${ks.reason}`] };
  const fresh = await collectRaw(deps, event, input.snapshot ? { evaluated: input.snapshot } : {});
  // The re-evaluation carries the evaluated proofs (same documents, same proof), so an IAM finding
  // downgraded by its proof is downgraded again and the two plans compare equal.
  const current = carryProofs(evaluation, await reevaluate(deps, event, fresh, now), deps.config);
  const now_ = findingsToApply(current.findings, approval);
  if (planDigest(wanted) !== planDigest(now_)) {
    return {
      status: 'resource-changed',
      steps: [],
      drift: [
        'the resource changed since it was evaluated; the plan it now needs differs',
        `evaluated: ${describe(evaluation, approval).join('; ') || 'nothing'}`,
        `now: ${describe(current, approval).join('; ') || 'nothing'}`,
      ],
    };
  }
  const failed = wanted.flatMap((f) => failedPreconditions(f.plan.preconditions, fresh));
  if (failed.length) {
    return {
      status: 'resource-changed',
      steps: [],
      drift: failed.map(
        (p) => `${p.description}: expected ${JSON.stringify(p.equals)}, found ${JSON.stringify(p.found)}`,
      ),
    };
  }
  // Organization mode: the remediation role of the event's account, and no step may name another.
  return orgEnabled(deps.config)
    ? applyPlan(eventClients(deps, event, 'remediation'), event.region, wanted, fresh, {
        account: event.account,
      })
    : applyPlan(deps.clients, event.region, wanted, fresh);
}

/**
 * The proofs an evaluation already holds, carried over to a re-evaluation of the same resource
 * (Remediate re-reads before it writes): a fresh finding gets the proof of the evaluated finding with
 * the same rule, resource and documents to prove. A finding whose documents changed gets none.
 */
function carryProofs(evaluated: Evaluation, current: Evaluation, config: Deps['config']): Evaluation {
  if (!evaluated.findings.some((f) => f.proof)) return current;
  const key = (f: Finding) => `${f.ruleId}\u0000${f.resourceArn}\u0000${JSON.stringify(f.plan.proofs ?? [])}`;
  const proofs = new Map(evaluated.findings.filter((f) => f.proof).map((f) => [key(f), f.proof!]));
  const results: Record<number, ProofResult> = {};
  for (const [i, f] of current.findings.entries()) {
    const p = proofs.get(key(f));
    if (p) results[i] = p;
  }
  return applyProofs(current, results, config);
}
