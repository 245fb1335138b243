import * as z from 'zod/mini';
import { proveStep } from '../aws/prove.ts';
import type { Evaluation } from '../core/evaluate.ts';
import type { NormalizedEvent } from '../core/types.ts';
import '../core/zod.ts';
import { envDeps, type HandlerDeps, logger } from './deps.ts';
import { evaluationSchema, eventSchema } from './schemas.ts';

const input = z.object({ event: eventSchema, evaluation: evaluationSchema });

/**
 * Prove: Access Analyzer checks of every rewritten IAM document (functions/aws/prove.ts), then the
 * evaluation with each finding's proof and unproved automatic findings moved to approval.
 */
export const makeProve = (deps: () => HandlerDeps) => async (raw: unknown) => {
  const i = input.parse(raw);
  const result = await proveStep(deps(), {
    event: i.event as unknown as NormalizedEvent,
    evaluation: i.evaluation as unknown as Evaluation,
  });
  logger.info('proved', {
    eventId: i.event.eventId,
    route: result.route,
    proofs: result.findings
      .filter((f) => f.proof)
      .map((f) => ({ ruleId: f.ruleId, mode: f.mode, status: f.proof!.status })),
  });
  return result;
};

export const handler = makeProve(envDeps);
