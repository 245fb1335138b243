import {
  GenerateServiceLastAccessedDetailsCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetServiceLastAccessedDetailsCommand,
  type GetServiceLastAccessedDetailsResponse,
  IAMClient,
  type PolicyVersion,
  paginateListAttachedRolePolicies,
  paginateListPolicyVersions,
  paginateListRolePolicies,
  type ServiceLastAccessed,
} from '@aws-sdk/client-iam';
import type { Snapshot } from '../core/types.ts';
import { type AwsClients, body, errorName, isNotFound, orNull } from './clients.ts';

/**
 * The execution-role collector (docs/iam-roles.md, docs/snapshot.md). Every response is kept in the
 * SDK's shape under its operation name; IAM policy documents stay URL-encoded as IAM returns them
 * (the core decodes). A role that does not exist is `GetRole: null`.
 *
 * Evidence (Access Advisor) is an asynchronous job: `GenerateServiceLastAccessedDetails` at
 * ACTION_LEVEL, then `GetServiceLastAccessedDetails` polled with backoff for a bounded time. A job
 * still running after the bound throws `EvidencePendingError`, which the state machine's Collect state
 * retries (a later attempt starts a new job; IAM reuses a recent report for the same ARN).
 */

export interface RoleTarget {
  account: string;
  region: string;
  roleArn?: string;
  roleName?: string;
}

export interface RoleCollectOptions {
  /** Generate and read Access Advisor's last-accessed report (off for re-reads at Remediate/Verify). */
  evidence: boolean;
  /** Polling bound for the report job. */
  poll?: { maxWaitMs: number; initialDelayMs: number; maxDelayMs: number };
  /** Injected in tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** IAM keeps at most five versions of a managed policy. */
export const MAX_POLICY_VERSIONS = 5;

export const DEFAULT_EVIDENCE_POLL = { maxWaitMs: 20_000, initialDelayMs: 500, maxDelayMs: 4_000 };

/** The last-accessed job did not finish within the bound: retry the collection later. */
export class EvidencePendingError extends Error {
  override name = 'EvidencePendingError';
}

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);
export const isAccessDenied = (err: unknown) => ACCESS_DENIED.has(errorName(err));

/** The role name of a role ARN (`arn:aws:iam::1:role/path/name` -> `name`). */
export const roleNameOfArn = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

/** Plain JSON (Dates as ISO strings): the snapshot is the same in-process and after a task boundary. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function collectRole(
  clients: AwsClients,
  target: RoleTarget,
  opts: RoleCollectOptions,
): Promise<Snapshot> {
  const iam = clients.get(IAMClient, target.region);
  const responses: Record<string, unknown> = {};
  const snapshot: Snapshot = { account: target.account, region: target.region, responses };
  const name = target.roleName ?? (target.roleArn ? roleNameOfArn(target.roleArn) : undefined);
  if (!name) throw new Error('collectRole needs a roleArn or a roleName');

  const role = await orNull(iam.send(new GetRoleCommand({ RoleName: name })));
  responses['GetRole'] = role ? plain(body(role)) : null;
  if (!role?.Role) return snapshot;
  const roleArn = role.Role.Arn ?? target.roleArn ?? '';

  const policyNames: string[] = [];
  for await (const page of paginateListRolePolicies({ client: iam }, { RoleName: name }))
    policyNames.push(...(page.PolicyNames ?? []));
  responses['ListRolePolicies'] = { PolicyNames: policyNames };

  const attached: { PolicyName?: string; PolicyArn?: string }[] = [];
  for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: name }))
    attached.push(...(page.AttachedPolicies ?? []));
  responses['ListAttachedRolePolicies'] = { AttachedPolicies: plain(attached) };

  const [inline, managed, evidence] = await Promise.all([
    Promise.all(
      policyNames.map(async (p) => {
        const r = await orNull(iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: p })));
        return [`GetRolePolicy:${p}`, r ? plain(body(r)) : null] as const;
      }),
    ),
    Promise.all(attached.map((a) => collectManaged(iam, String(a.PolicyArn)))),
    opts.evidence ? lastAccessed(iam, roleArn, opts) : Promise.resolve(undefined),
  ]);
  for (const [k, v] of inline) responses[k] = v;
  for (const entries of managed) for (const [k, v] of entries) responses[k] = v;
  if (opts.evidence) responses['GetServiceLastAccessedDetails'] = evidence ?? null;
  return snapshot;
}

/** `ListPolicyVersions:<arn>` (all pages) and `GetPolicyVersion:<arn>` of the default version. */
async function collectManaged(iam: IAMClient, policyArn: string): Promise<[string, unknown][]> {
  const versions: PolicyVersion[] = [];
  try {
    for await (const page of paginateListPolicyVersions({ client: iam }, { PolicyArn: policyArn }))
      versions.push(...(page.Versions ?? []));
  } catch (err) {
    if (isNotFound(err)) return [[`ListPolicyVersions:${policyArn}`, null]];
    throw err;
  }
  const def = versions.find((v) => v.IsDefaultVersion);
  const doc = def?.VersionId
    ? await orNull(iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: def.VersionId })))
    : null;
  // At the five-version limit a rewrite first deletes the oldest non-default version; its document is
  // read so that deletion can be undone. ListPolicyVersions omits `Document` (a field of the same
  // PolicyVersion type): it is filled in on that one entry, URL-encoded as IAM returns it.
  if (versions.length >= MAX_POLICY_VERSIONS) {
    const oldest = versions
      .filter((v) => !v.IsDefaultVersion && v.VersionId)
      .sort((a, b) => String(plain(a.CreateDate)).localeCompare(String(plain(b.CreateDate))))[0];
    if (oldest) {
      const r = await orNull(
        iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: oldest.VersionId })),
      );
      if (r?.PolicyVersion?.Document) oldest.Document = r.PolicyVersion.Document;
    }
  }
  return [
    [`ListPolicyVersions:${policyArn}`, { Versions: plain(versions) }],
    [`GetPolicyVersion:${policyArn}`, doc ? plain(body(doc)) : null],
  ];
}

/**
 * Keeps the report inside the state machine's 256 KB payload: an `Action: "*"` role lists every
 * service, with every tracked action of each. A service never authenticated to (no
 * `LastAuthenticated`) is dropped by the rewrite whatever its actions say, so its action list is
 * left out; `LastAccessedEntity` is always this role. Everything the core reads is kept: used
 * services keep every tracked action, used or not (tracked-but-unused actions are dropped, untracked
 * ones kept, so the core must know which are tracked).
 */
export function compactService(svc: ServiceLastAccessed): ServiceLastAccessed {
  const { TrackedActionsLastAccessed: tracked, ...rest } = svc;
  if (!svc.LastAuthenticated || !tracked) return rest;
  return {
    ...rest,
    TrackedActionsLastAccessed: tracked.map(({ LastAccessedEntity: _e, ...a }) => a),
  };
}

/**
 * Access Advisor at action level. Returns the response as AWS gives it (all pages of
 * ServicesLastAccessed merged), `null` when the caller may not read it; a FAILED job is returned as is.
 */
async function lastAccessed(
  iam: IAMClient,
  roleArn: string,
  opts: RoleCollectOptions,
): Promise<Record<string, unknown> | null> {
  const poll = opts.poll ?? DEFAULT_EVIDENCE_POLL;
  const sleep = opts.sleep ?? defaultSleep;
  try {
    const { JobId } = await iam.send(
      new GenerateServiceLastAccessedDetailsCommand({ Arn: roleArn, Granularity: 'ACTION_LEVEL' }),
    );
    let waited = 0;
    let delay = poll.initialDelayMs;
    let first = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId }));
    while (first.JobStatus === 'IN_PROGRESS') {
      if (waited >= poll.maxWaitMs)
        throw new EvidencePendingError(
          `the last-accessed report for ${roleArn} was still IN_PROGRESS after ${Math.round(waited / 1000)} s`,
        );
      await sleep(delay);
      waited += delay;
      delay = Math.min(delay * 2, poll.maxDelayMs);
      first = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId }));
    }
    if (first.JobStatus !== 'COMPLETED') return plain(body(first));
    const services = [...(first.ServicesLastAccessed ?? [])];
    let page: GetServiceLastAccessedDetailsResponse = first;
    while (page.IsTruncated && page.Marker) {
      page = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId, Marker: page.Marker }));
      services.push(...(page.ServicesLastAccessed ?? []));
    }
    const { IsTruncated: _t, Marker: _m, ...rest } = body(first);
    return plain({ ...rest, ServicesLastAccessed: services.map(compactService), IsTruncated: false });
  } catch (err) {
    if (isAccessDenied(err)) return null;
    throw err;
  }
}
