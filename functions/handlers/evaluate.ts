import * as z from 'zod/mini';
import { evaluate } from '../core/evaluate.ts';
import type { Finding, NormalizedEvent, Snapshot } from '../core/types.ts';
import '../core/zod.ts';
import { envDeps, type HandlerDeps, logger } from './deps.ts';
import { eventSchema, isoTime, snapshotInput } from './schemas.ts';

const input = z.object({
  event: eventSchema,
  snapshot: snapshotInput,
  killSwitch: z.boolean(),
  now: isoTime,
});

/** Whether the Prove state must run: a finding that may be applied rewrites an IAM policy (plan.proofs). */
export const needsProof = (findings: readonly Finding[]) =>
  findings.some((f) => !f.exempt && f.mode !== 'report' && !!f.plan.proofs?.length);

export const makeEvaluate = (deps: () => HandlerDeps) => async (raw: unknown) => {
  const i = input.parse(raw);
  const result = evaluate({
    snapshot: i.snapshot as Snapshot,
    event: i.event as unknown as NormalizedEvent,
    config: deps().config,
    now: i.now,
    killSwitch: i.killSwitch,
  });
  // The state machine proves IAM rewrites (Prove) before it routes on them.
  const out = { ...result, needsProof: needsProof(result.findings) };
  logger.info('evaluated', {
    eventId: i.event.eventId,
    route: result.route,
    findings: result.findings.map((f) => ({ ruleId: f.ruleId, mode: f.mode, exempt: f.exempt })),
    needsProof: out.needsProof,
  });
  return out;
};

export const handler = makeEvaluate(envDeps);
