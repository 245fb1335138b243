import * as z from 'zod/mini';
import { collectStep } from '../aws/workflow.ts';
import type { NormalizedEvent } from '../core/types.ts';
import '../core/zod.ts';
import { envDeps, type HandlerDeps, logger } from './deps.ts';
import { eventSchema } from './schemas.ts';

const input = z.object({ event: eventSchema });

export const makeCollect = (deps: () => HandlerDeps) => async (raw: unknown) => {
  const { event } = input.parse(raw) as unknown as { event: NormalizedEvent };
  const out = await collectStep(deps(), event);
  logger.info('collected', {
    eventId: event.eventId,
    keys: Object.keys(out.snapshot.responses),
    killSwitch: out.killSwitch,
  });
  return out;
};

export const handler = makeCollect(envDeps);
