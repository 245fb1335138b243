import * as z from 'zod/mini';
import { verifyStep } from '../aws/verify.ts';
import type { Evaluation } from '../core/evaluate.ts';
import type { Remediation } from '../core/outcome.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import '../core/zod.ts';
import { envDeps, type HandlerDeps, logger } from './deps.ts';
import { evaluationSchema, eventSchema, isoTime, remediationSchema, snapshotInput } from './schemas.ts';

const input = z.object({
  event: eventSchema,
  evaluation: evaluationSchema,
  remediation: remediationSchema,
  now: isoTime,
  /** The evaluated (redacted) snapshot: an execution role is re-evaluated on the same evidence. */
  snapshot: z.optional(snapshotInput),
});

export const makeVerify = (deps: () => HandlerDeps) => async (raw: unknown) => {
  const i = input.parse(raw);
  const result = await verifyStep(deps(), {
    event: i.event as unknown as NormalizedEvent,
    evaluation: i.evaluation as unknown as Evaluation,
    remediation: i.remediation as unknown as Remediation,
    now: i.now,
    ...(i.snapshot ? { snapshot: i.snapshot as Snapshot } : {}),
  });
  logger.info('verified', {
    eventId: i.event.eventId,
    verified: result.verified,
    remaining: result.remaining.length,
  });
  return result;
};

export const handler = makeVerify(envDeps);
