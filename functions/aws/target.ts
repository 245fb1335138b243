import type { GuardrailConfig } from '../core/config.ts';
import { type Evaluation, evaluate } from '../core/evaluate.ts';
import { redactSnapshot } from '../core/redact.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import type { AwsClients } from './clients.ts';
import { collectFunction } from './collect.ts';
import { type FingerprintKeySource, fingerprintKeyOf } from './fingerprint-key.ts';

/** What every workflow step needs: clients, validated config, and where the kill switch lives. */
export interface Deps extends FingerprintKeySource {
  clients: AwsClients;
  config: GuardrailConfig;
}

/** The raw snapshot redacted for leaving a task: secrets become markers with keyed fingerprints. */
export async function redacted(deps: Deps, raw: Snapshot): Promise<Snapshot> {
  return redactSnapshot(raw, await fingerprintKeyOf(deps));
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

/** Evaluates a fresh raw read exactly as Collect + Evaluate did (same redaction, same fingerprint key). */
export async function reevaluate(
  deps: Deps,
  event: NormalizedEvent,
  fresh: Snapshot,
  now: string,
): Promise<Evaluation> {
  return evaluate({ snapshot: await redacted(deps, fresh), config: deps.config, now, event });
}
