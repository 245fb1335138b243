/**
 * Usage evidence: IAM last-accessed data (`GetServiceLastAccessedDetails` of an `ACTION_LEVEL` job,
 * under that snapshot key in the API's response shape) judged against `now` and the lookback window.
 *
 * What the data can and cannot say (IAM User Guide, "Refining permissions using last accessed
 * information"): activity appears within about 4 hours; only management actions of tracked services
 * have action-level data (`TrackedActionsLastAccessed`); data-plane actions (s3:GetObject, ...) are
 * never tracked; `TrackedActionsLastAccessed` is absent both when a service has no tracked actions and
 * when none of them was used, so its absence is service-level data only.
 */
import { catalogAction } from './catalog.ts';
import type { RoleInfo } from './document.ts';

export const LAG_HOURS = 4;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface TrackedAction {
  ActionName?: string;
  LastAccessedTime?: string;
  LastAccessedEntity?: string;
  LastAccessedRegion?: string;
}

export interface ServiceLastAccessed {
  ServiceName?: string;
  ServiceNamespace: string;
  LastAuthenticated?: string;
  LastAuthenticatedEntity?: string;
  LastAuthenticatedRegion?: string;
  TotalAuthenticatedEntities?: number;
  TrackedActionsLastAccessed?: TrackedAction[];
}

export interface LastAccessedDetails {
  JobStatus?: string;
  JobType?: string;
  JobCreationDate?: string;
  JobCompletionDate?: string;
  ServicesLastAccessed?: ServiceLastAccessed[];
  /** True when more pages exist (`Marker`): the collector must read them all. */
  IsTruncated?: boolean;
  Error?: { Message?: string; Code?: string };
}

export interface ServiceUsage {
  /** Last use within the lookback window. */
  used: boolean;
  /** Action-level data: the tracked actions listed for the service (lower-cased `service:action`). */
  tracked?: Set<string>;
  /** Tracked actions used within the lookback (lower-cased `service:action`). */
  usedActions?: Set<string>;
}

export interface Evidence {
  /** A rewrite can be proposed from it: a completed job, read in full (not truncated), with a completion date. */
  rewritable: boolean;
  /** Good enough to apply without a person (besides minEvidenceDays): rewritable and no problem at all. */
  usable: boolean;
  /** Why not (or what limits it), for people. */
  problems: string[];
  /** Days the evidence covers: from max(role creation, now - lookback) to (job completion - lag). */
  coverageDays: number;
  lookbackDays: number;
  /** Lower-cased service namespace -> usage. */
  services: Map<string, ServiceUsage>;
  /** For the finding's evidence: what the rewrite rests on. */
  summary: {
    source: 'GetServiceLastAccessedDetails';
    jobStatus: string | null;
    jobType: string | null;
    jobCompletionDate: string | null;
    lookbackDays: number;
    coverageDays: number;
    windowStart: string | null;
    windowEnd: string | null;
    servicesUsed: string[];
    servicesWithActionData: string[];
    servicesUsedWithoutActionData: string[];
    caveats: string[];
  };
}

const CAVEATS = [
  `activity appears in IAM last-accessed data within about ${LAG_HOURS} hours: use after the window end is not seen`,
  'only management actions of tracked services have action-level data; other actions of a used service are kept',
  'data-plane actions (such as s3:GetObject, dynamodb:GetItem) are not in last-accessed data: a service used only through them looks unused',
];

const time = (s: string | undefined) => (s ? Date.parse(s) : Number.NaN);

/** Canonical lower-cased `service:action` of a tracked action name (with or without its prefix). */
function trackedKey(namespace: string, actionName: string): string {
  const full = actionName.includes(':') ? actionName : `${namespace}:${actionName}`;
  return (catalogAction(full)?.action ?? full).toLowerCase();
}

/** Reads the evidence of a role snapshot; `details` is the snapshot value (undefined: not collected, null: unreadable). */
export function readEvidence(
  details: LastAccessedDetails | null | undefined,
  role: Pick<RoleInfo, 'CreateDate'>,
  now: string,
  lookbackDays: number,
): Evidence {
  const nowMs = Date.parse(now);
  const cutoff = nowMs - lookbackDays * DAY;
  const problems: string[] = [];
  const services = new Map<string, ServiceUsage>();
  if (details === undefined) problems.push('no IAM last-accessed data was collected');
  else if (details === null) problems.push('IAM last-accessed data could not be read');
  else if (details.JobStatus !== 'COMPLETED')
    problems.push(
      `the last-accessed job is ${details.JobStatus ?? 'of unknown status'}${details.Error?.Message ? ` (${details.Error.Message})` : ''}, not COMPLETED`,
    );
  const completed = details?.JobStatus === 'COMPLETED';
  const end = completed ? time(details.JobCompletionDate) - LAG_HOURS * HOUR : Number.NaN;
  const created = time(role.CreateDate);
  const start = Math.max(cutoff, Number.isNaN(created) ? cutoff : created);
  let coverageDays = 0;
  if (completed) {
    if (Number.isNaN(end)) problems.push('the last-accessed job has no completion date');
    else if (end > nowMs) problems.push('the last-accessed job completed after the evaluation time');
    else {
      coverageDays = Math.max(0, (end - start) / DAY);
      if (end <= start)
        problems.push(
          `the role is younger than the ${LAG_HOURS}-hour lag of last-accessed data: no usage can be seen yet`,
        );
    }
    if (details.IsTruncated)
      problems.push(
        'the last-accessed report was read only in part (IsTruncated): unlisted services would look unused',
      );
    if (details.JobType && details.JobType !== 'ACTION_LEVEL')
      problems.push(`the job is ${details.JobType}: no action-level data, service level only`);
    for (const svc of details.ServicesLastAccessed ?? []) {
      if (!svc?.ServiceNamespace) continue;
      const ns = svc.ServiceNamespace.toLowerCase();
      const used = time(svc.LastAuthenticated) >= cutoff;
      const usage: ServiceUsage = { used };
      if (svc.TrackedActionsLastAccessed?.length) {
        usage.tracked = new Set();
        usage.usedActions = new Set();
        for (const a of svc.TrackedActionsLastAccessed) {
          if (!a?.ActionName) continue;
          const key = trackedKey(ns, a.ActionName);
          usage.tracked.add(key);
          if (time(a.LastAccessedTime) >= cutoff) usage.usedActions.add(key);
        }
      }
      services.set(ns, usage);
    }
  }
  const rewritable = completed && !details.IsTruncated && !Number.isNaN(end) && end <= nowMs;
  const usable = rewritable && problems.length === 0;
  const list = (f: (u: ServiceUsage) => boolean) =>
    [...services.entries()]
      .filter(([, u]) => f(u))
      .map(([k]) => k)
      .sort();
  const iso = (ms: number) => (Number.isNaN(ms) ? null : new Date(ms).toISOString());
  return {
    rewritable,
    usable,
    problems,
    coverageDays,
    lookbackDays,
    services,
    summary: {
      source: 'GetServiceLastAccessedDetails',
      jobStatus: details?.JobStatus ?? null,
      jobType: details?.JobType ?? null,
      jobCompletionDate: details?.JobCompletionDate ?? null,
      lookbackDays,
      coverageDays: Math.round(coverageDays * 10) / 10,
      windowStart: completed ? iso(start) : null,
      windowEnd: completed ? iso(end) : null,
      servicesUsed: list((u) => u.used),
      servicesWithActionData: list((u) => !!u.tracked),
      servicesUsedWithoutActionData: list((u) => u.used && !u.tracked),
      caveats: CAVEATS,
    },
  };
}
