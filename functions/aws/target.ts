import type { GuardrailConfig } from '../core/config.ts';
import { type Evaluation, evaluate } from '../core/evaluate.ts';
import { redactSnapshot } from '../core/redact.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import type { AwsClients } from './clients.ts';
import { collectFunction } from './collect.ts';

/** What every workflow step needs: clients, validated config, and where the kill switch lives. */
export interface Deps {
  clients: AwsClients;
  config: GuardrailConfig;
}

export class UnsupportedTargetError extends Error {
  override name = 'UnsupportedTargetError';
}

/** Reads the resource the event is about (raw: may hold secret values; never return it from a task). */
export async function collectRaw(deps: Deps, event: NormalizedEvent): Promise<Snapshot> {
  const fn = event.resources.functionName;
  if (!fn)
    throw new UnsupportedTargetError(`event ${event.action} names no function this guardrail can evaluate`);
  return collectFunction(deps.clients, {
    account: event.account,
    region: event.region,
    functionName: fn,
    ...(event.resources.qualifier ? { qualifier: event.resources.qualifier } : {}),
  });
}

export function reevaluate(deps: Deps, event: NormalizedEvent, fresh: Snapshot, now: string): Evaluation {
  return evaluate({ snapshot: redactSnapshot(fresh), config: deps.config, now, event });
}
