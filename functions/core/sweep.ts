import { createHash } from 'node:crypto';
import type { Actor, NormalizedEvent, ResourceRefs } from './types.ts';

/**
 * Events the guardrail makes up itself, for runs no CloudTrail event started: the scheduled sweep
 * (`origin: 'sweep'`, one workflow execution per resource) and `guardrail scan` (`origin: 'scan'`,
 * evaluated in-process). They have the normalized event's shape, so every step downstream treats them
 * like any other event.
 */

export const SWEEP_ACTION = 'Sweep';
export const SCAN_ACTION = 'Scan';

/** `2025-06-15T11:58:31.123Z` -> `20250615T1158` (UTC, to the minute). */
export function minuteStamp(iso: string): string {
  const d = new Date(Date.parse(iso));
  if (Number.isNaN(d.getTime())) throw new RangeError(`not an ISO time: ${iso}`);
  return d.toISOString().slice(0, 16).replace(/[-:]/g, '');
}

/** The ISO time truncated to the minute (`2025-06-15T11:58:00.000Z`). */
export function minuteOf(iso: string): string {
  const d = new Date(Date.parse(iso));
  if (Number.isNaN(d.getTime())) throw new RangeError(`not an ISO time: ${iso}`);
  d.setUTCSeconds(0, 0);
  return d.toISOString();
}

/**
 * The execution name of one sweep run for one resource: `sweep-<yyyymmddThhmm>-<16 hex of SHA-256 of
 * the resource ARN>`, 36 characters. It cannot collide with an event-driven execution (those are
 * named after CloudTrail event ids, which are UUIDs and never start with `sweep-`), and a retried sweep
 * in the same minute reuses the names, so Step Functions starts nothing twice.
 */
export function sweepExecutionName(time: string, resourceArn: string): string {
  const hash = createHash('sha256').update(resourceArn).digest('hex').slice(0, 16);
  return `sweep-${minuteStamp(time)}-${hash}`;
}

export interface SyntheticEventInput {
  origin: 'sweep' | 'scan';
  /** Becomes `eventId` (for a sweep: the execution name). */
  id: string;
  account: string;
  region: string;
  time: string;
  resources: ResourceRefs;
  /** Who runs it: the sweep's role, or the person running the CLI (when known). */
  actor?: Actor;
}

export function syntheticEvent(input: SyntheticEventInput): NormalizedEvent {
  const action = input.origin === 'sweep' ? SWEEP_ACTION : SCAN_ACTION;
  const r = input.resources;
  const service = r.functionName || r.functionArn || r.layerArn ? 'lambda' : 'iam';
  return {
    eventId: input.id,
    eventName: action,
    action,
    service,
    account: input.account,
    region: input.region,
    time: input.time,
    actor: input.actor ?? { type: input.origin === 'sweep' ? 'GuardrailSweep' : 'GuardrailScan' },
    resources: { ...input.resources },
    requestParameters: {},
    origin: input.origin,
  };
}
