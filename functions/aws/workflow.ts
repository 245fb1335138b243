import { actionable, type Evaluation } from '../core/evaluate.ts';
import type { Remediation } from '../core/outcome.ts';
import { failedPreconditions, planDigest } from '../core/plan.ts';
import { redactSnapshot } from '../core/redact.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import { applyPlan } from './execute.ts';
import { type KillSwitchState, readKillSwitch } from './killswitch.ts';
import { collectRaw, type Deps, reevaluate } from './target.ts';

export async function collectStep(
  deps: Deps,
  event: NormalizedEvent,
): Promise<{ snapshot: Snapshot; killSwitch: boolean; killSwitchReason: string }> {
  const [raw, ks] = await Promise.all([collectRaw(deps, event), killSwitch(deps, event)]);
  return { snapshot: redactSnapshot(raw), killSwitch: ks.on, killSwitchReason: ks.reason };
}

const killSwitch = (deps: Deps, event: NormalizedEvent): Promise<KillSwitchState> =>
  readKillSwitch(deps.clients, deps.config.homeRegion ?? event.region, deps.config.killSwitchParameter);

const describe = (e: Evaluation) =>
  actionable(e.findings, 'auto').map((f) => `${f.ruleId} ${f.resourceArn}: ${f.plan.steps.length} step(s)`);

/**
 * Remediate: re-read, stop if the kill switch is on, compare the plan the fresh state gives with the
 * evaluated one (any difference is drift), check preconditions, then apply the automatic findings.
 */
export async function remediateStep(
  deps: Deps,
  input: { event: NormalizedEvent; evaluation: Evaluation; now: string },
): Promise<Remediation> {
  const { event, evaluation, now } = input;
  const wanted = actionable(evaluation.findings, 'auto');
  if (!wanted.length) return { status: 'nothing-to-do', steps: [] };
  const ks = await killSwitch(deps, event);
  if (ks.on) return { status: 'nothing-to-do', steps: [], drift: [`not applied: ${ks.reason}`] };
  const fresh = await collectRaw(deps, event);
  const current = reevaluate(deps, event, fresh, now);
  const now_ = actionable(current.findings, 'auto');
  if (planDigest(wanted) !== planDigest(now_)) {
    return {
      status: 'resource-changed',
      steps: [],
      drift: [
        'the resource changed since it was evaluated; the plan it now needs differs',
        `evaluated: ${describe(evaluation).join('; ') || 'nothing'}`,
        `now: ${describe(current).join('; ') || 'nothing'}`,
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
  return applyPlan(deps.clients, event.region, wanted, fresh);
}
