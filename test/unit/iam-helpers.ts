/**
 * Role snapshot builders for the IAM.ROLE tests, in the exact IAM API response shapes (SDK v3):
 *
 *   GetRole {Role: {..., AssumeRolePolicyDocument: <URL-encoded JSON>, Tags}},
 *   ListRolePolicies {PolicyNames}, GetRolePolicy:<name> {RoleName, PolicyName, PolicyDocument: <URL-encoded>},
 *   ListAttachedRolePolicies {AttachedPolicies: [{PolicyName, PolicyArn}]},
 *   ListPolicyVersions:<arn> {Versions: [...]}, GetPolicyVersion:<arn> {PolicyVersion: {Document: <URL-encoded>, ...}},
 *   GetServiceLastAccessedDetails (ACTION_LEVEL job).
 *
 * IAM URL-encodes documents as RFC 3986 (`encodeURIComponent`); dates are ISO strings.
 */
import type { Snapshot } from '../../functions/core/types.ts';
import { ACCOUNT, REGION } from './helpers.ts';

export const ROLE_NAME = 'orders-api-role';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/service-role/${ROLE_NAME}`;
/** Evaluation time of the IAM tests. */
export const IAM_NOW = '2025-06-15T12:00:00.000Z';

export const encode = (doc: unknown) => encodeURIComponent(JSON.stringify(doc));

export const LAMBDA_TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

export const doc = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });

export interface ManagedInput {
  arn: string;
  document: unknown;
  /** Default `v1`; with `versions` the highest is the default unless set. */
  defaultVersion?: string;
  /** Extra non-default versions (id, date, document). */
  versions?: { id: string; date: string; document?: unknown }[];
}

export interface TrackedInput {
  /** Service last authenticated (ISO), or undefined: never. */
  last?: string;
  /** Tracked actions (name without prefix) -> last accessed ISO time, or null: tracked, never used. */
  actions?: Record<string, string | null>;
}

export interface RoleSnapshotInput {
  trust?: unknown;
  createDate?: string;
  tags?: Record<string, string>;
  inline?: Record<string, unknown>;
  managed?: ManagedInput[];
  /** `undefined`: key absent (not collected); `null`: could not be read; otherwise services. */
  usage?: Record<string, TrackedInput> | null;
  jobStatus?: string;
  jobCompletion?: string;
  jobType?: string;
}

export function lastAccessed(
  services: Record<string, TrackedInput>,
  opts: { status?: string; completion?: string; type?: string } = {},
) {
  return {
    JobStatus: opts.status ?? 'COMPLETED',
    JobType: opts.type ?? 'ACTION_LEVEL',
    JobCreationDate: '2025-06-15T11:58:00.000Z',
    JobCompletionDate: opts.completion ?? '2025-06-15T11:59:00.000Z',
    ServicesLastAccessed: Object.entries(services).map(([ns, s]) => ({
      ServiceName: ns,
      ServiceNamespace: ns,
      ...(s.last
        ? { LastAuthenticated: s.last, LastAuthenticatedEntity: ROLE_ARN, LastAuthenticatedRegion: REGION }
        : {}),
      TotalAuthenticatedEntities: s.last ? 1 : 0,
      ...(s.actions
        ? {
            TrackedActionsLastAccessed: Object.entries(s.actions).map(([name, t]) => ({
              ActionName: name,
              ...(t ? { LastAccessedTime: t, LastAccessedEntity: ROLE_ARN, LastAccessedRegion: REGION } : {}),
            })),
          }
        : {}),
    })),
    IsTruncated: false,
  };
}

export function roleSnapshot(input: RoleSnapshotInput = {}): Snapshot {
  const inline = input.inline ?? {};
  const managed = input.managed ?? [];
  const responses: Record<string, unknown> = {
    GetRole: {
      Role: {
        Path: '/service-role/',
        RoleName: ROLE_NAME,
        RoleId: 'AROAEXAMPLEID1234567',
        Arn: ROLE_ARN,
        CreateDate: input.createDate ?? '2024-01-10T09:00:00.000Z',
        AssumeRolePolicyDocument: encode(input.trust ?? LAMBDA_TRUST),
        MaxSessionDuration: 3600,
        ...(input.tags ? { Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
        RoleLastUsed: { LastUsedDate: '2025-06-15T10:00:00.000Z', Region: REGION },
      },
    },
    ListRolePolicies: { PolicyNames: Object.keys(inline), IsTruncated: false },
    ListAttachedRolePolicies: {
      AttachedPolicies: managed.map((m) => ({
        PolicyName: m.arn.slice(m.arn.lastIndexOf('/') + 1),
        PolicyArn: m.arn,
      })),
      IsTruncated: false,
    },
  };
  for (const [name, d] of Object.entries(inline)) {
    responses[`GetRolePolicy:${name}`] = { RoleName: ROLE_NAME, PolicyName: name, PolicyDocument: encode(d) };
  }
  for (const m of managed) {
    const def = m.defaultVersion ?? 'v1';
    const versions = [
      ...(m.versions ?? []).map((v) => ({
        VersionId: v.id,
        IsDefaultVersion: false,
        CreateDate: v.date,
        ...(v.document ? { Document: encode(v.document) } : {}),
      })),
      { VersionId: def, IsDefaultVersion: true, CreateDate: '2025-01-01T00:00:00.000Z' },
    ];
    responses[`ListPolicyVersions:${m.arn}`] = { Versions: versions, IsTruncated: false };
    responses[`GetPolicyVersion:${m.arn}`] = {
      PolicyVersion: {
        Document: encode(m.document),
        VersionId: def,
        IsDefaultVersion: true,
        CreateDate: '2025-01-01T00:00:00.000Z',
      },
    };
  }
  if (input.usage !== undefined) {
    responses['GetServiceLastAccessedDetails'] =
      input.usage === null
        ? null
        : lastAccessed(input.usage, {
            ...(input.jobStatus ? { status: input.jobStatus } : {}),
            ...(input.jobCompletion ? { completion: input.jobCompletion } : {}),
            ...(input.jobType ? { type: input.jobType } : {}),
          });
  }
  return { account: ACCOUNT, region: REGION, responses };
}

export const ADMIN_STATEMENT = { Sid: 'Admin', Effect: 'Allow', Action: '*', Resource: '*' };
export const USED = '2025-06-10T08:00:00.000Z';
export const LONG_AGO = '2024-06-01T08:00:00.000Z';
