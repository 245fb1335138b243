import type { Evaluation } from '../core/evaluate.ts';
import type { Remediation, Verification } from '../core/outcome.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import { collectRaw, type Deps, reevaluate } from './target.ts';

/** Verify: re-collect and re-evaluate; every remediated finding must be gone. */
export async function verifyStep(
  deps: Deps,
  input: {
    event: NormalizedEvent;
    evaluation: Evaluation;
    remediation: Remediation;
    now: string;
    /** The evaluated snapshot: an execution role is re-evaluated on the same evidence. */
    snapshot?: Snapshot;
  },
): Promise<Verification> {
  const fresh = await collectRaw(deps, input.event, input.snapshot ? { evaluated: input.snapshot } : {});
  const current = await reevaluate(deps, input.event, fresh, input.now);
  const fixed = new Set(input.remediation.steps.map((s) => `${s.ruleId} ${s.resourceArn}`));
  const remaining = current.findings
    .filter((f) => !f.exempt && fixed.has(`${f.ruleId} ${f.resourceArn}`))
    .map((f) => ({ ruleId: f.ruleId, resourceArn: f.resourceArn, summary: f.summary }));
  return { verified: remaining.length === 0, remaining };
}
