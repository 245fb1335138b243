import * as z from 'zod/mini';
import { remediateStep } from '../aws/workflow.ts';
import { normalizeApproval } from '../core/approval.ts';
import type { Evaluation } from '../core/evaluate.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import '../core/zod.ts';
import { envDeps, type HandlerDeps, logger } from './deps.ts';
import { evaluationSchema, eventSchema, isoTime, snapshotInput } from './schemas.ts';

const input = z.object({
  event: eventSchema,
  evaluation: evaluationSchema,
  now: isoTime,
  /** After RequestApproval: the decision (approved, rejected Pass, or expired). Absent on the auto route. */
  approval: z.optional(z.looseObject({ decision: z.enum(['approved', 'rejected', 'expired']) })),
  /** The evaluated (redacted) snapshot: an execution role is re-read against its evidence. */
  snapshot: z.optional(snapshotInput),
});

export const makeRemediate = (deps: () => HandlerDeps) => async (raw: unknown) => {
  const i = input.parse(raw);
  const approval = normalizeApproval(i.approval);
  const result = await remediateStep(deps(), {
    event: i.event as unknown as NormalizedEvent,
    evaluation: i.evaluation as unknown as Evaluation,
    now: i.now,
    ...(approval ? { approval } : {}),
    ...(i.snapshot ? { snapshot: i.snapshot as Snapshot } : {}),
  });
  logger.info('remediation', {
    eventId: i.event.eventId,
    status: result.status,
    ...(approval ? { approval: approval.decision } : {}),
    steps: result.steps.map((s) => `${s.operation}:${s.status}`),
  });
  return result;
};

export const handler = makeRemediate(envDeps);
