import type { GuardrailConfig } from '../core/config.ts';
import { type Evaluation, evaluate, ruleEnabled } from '../core/evaluate.ts';
import { redactSnapshot } from '../core/redact.ts';
import { parseLayerVersionArn } from '../core/rules/lambda-layer-public.ts';
import { lambdaTracing } from '../core/rules/lambda-tracing.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import type { AwsClients } from './clients.ts';
import { collectFunction } from './collect.ts';
import { collectLayer } from './collect-layer.ts';
import { collectRole } from './collect-role.ts';
import { type FingerprintKeySource, fingerprintKeyOf } from './fingerprint-key.ts';
import { inEventAccount, readClients } from './org-target.ts';

/** What every workflow step needs: clients, validated config, and where the kill switch lives. */
export interface Deps extends FingerprintKeySource {
  clients: AwsClients;
  config: GuardrailConfig;
  /**
   * Local runtime only (the emulator has no Access Advisor): a recorded `GetServiceLastAccessedDetails`
   * response for a role, used instead of the one Collect read. Never set when deployed.
   */
  recordedEvidence?: (roleArn: string) => unknown;
}

/** The raw snapshot redacted for leaving a task: secrets become markers with keyed fingerprints. */
export async function redacted(deps: Deps, raw: Snapshot): Promise<Snapshot> {
  return redactSnapshot(raw, await fingerprintKeyOf(deps));
}

export class UnsupportedTargetError extends Error {
  override name = 'UnsupportedTargetError';
}

export interface CollectOptions {
  /** Execution roles: generate and read Access Advisor's last-accessed report (Collect only). */
  evidence?: boolean;
  /**
   * Execution roles, re-read without evidence (Remediate, Verify): the evaluated snapshot, whose
   * `GetServiceLastAccessedDetails` is copied into the fresh read so re-evaluation rests on the same
   * evidence and gives the same plan.
   */
  evaluated?: Snapshot;
}

const EVIDENCE = 'GetServiceLastAccessedDetails';
const roleOf = (s: Snapshot) => (s.responses['GetRole'] as { Role?: { Arn?: string } } | null)?.Role?.Arn;

/**
 * Reads the resource the event is about (raw: may hold secret values; never return it from a task):
 * a layer version, a function, or an execution role (an event naming no function; docs/iam-roles.md).
 */
export async function collectRaw(
  deps: Deps,
  event: NormalizedEvent,
  opts: CollectOptions = {},
): Promise<Snapshot> {
  // Organization mode: the collector role of the event's account (functions/aws/org-target.ts).
  const clients = readClients(deps, event);
  const fn = event.resources.functionName;
  // Layer events (PublishLayerVersion, AddLayerVersionPermission) name a layer version, no function.
  const layer = event.resources.layerArn;
  if (!fn && layer && parseLayerVersionArn(layer))
    return collectLayer(clients, { account: event.account, region: event.region, layerVersionArn: layer });
  const { roleArn, roleName } = event.resources;
  if (!fn && (roleArn || roleName)) {
    const s = await collectRole(
      clients,
      {
        account: event.account,
        region: event.region,
        ...(roleArn ? { roleArn } : {}),
        ...(roleName ? { roleName } : {}),
      },
      { evidence: opts.evidence ?? false },
    );
    const recorded = opts.evidence ? deps.recordedEvidence?.(roleOf(s) ?? roleArn ?? '') : undefined;
    if (recorded !== undefined && s.responses['GetRole']) s.responses[EVIDENCE] = recorded;
    const evaluated = opts.evaluated?.responses;
    if (!opts.evidence && s.responses['GetRole'] && evaluated && EVIDENCE in evaluated)
      s.responses[EVIDENCE] = evaluated[EVIDENCE];
    return inEventAccount(deps, event, s);
  }
  if (!fn)
    throw new UnsupportedTargetError(
      `event ${event.action} names no function or role this guardrail can evaluate`,
    );
  const snapshot = await collectFunction(clients, {
    account: event.account,
    region: event.region,
    functionName: fn,
    ...(event.resources.qualifier ? { qualifier: event.resources.qualifier } : {}),
    attachedRolePolicies: ruleEnabled(lambdaTracing, deps.config),
  });
  return inEventAccount(deps, event, snapshot);
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
