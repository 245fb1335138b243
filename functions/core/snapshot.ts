import * as z from 'zod/mini';
import { type PolicyDocument, parsePolicyDocument } from './policy.ts';
import type { Precondition, Snapshot, TargetKind } from './types.ts';
import './zod.ts';

/**
 * Typed, read-only views over a snapshot's raw AWS responses. Only the fields rules use are typed;
 * the snapshot itself keeps whatever AWS returned.
 */

export const snapshotSchema = z.object({
  account: z.string().check(z.regex(/^\d{12}$/, 'account must be a 12-digit account id')),
  region: z.string().check(z.minLength(1)),
  responses: z.record(z.string(), z.unknown()),
});

export class InvalidSnapshotError extends Error {
  override name = 'InvalidSnapshotError';
}

export function parseSnapshot(input: unknown): Snapshot {
  const r = snapshotSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new InvalidSnapshotError(`invalid snapshot: ${i.path.join('.') || 'snapshot'}: ${i.message}`);
  }
  for (const [key, value] of Object.entries(r.data.responses)) {
    // Lambda's GetPolicy (`GetPolicy` or `GetPolicy:<qualifier>`) carries the document as a JSON string.
    // An object here would be silently ignored by the rules and look compliant: reject it instead.
    const lambdaPolicy = key === 'GetPolicy' || /^GetPolicy:[^:]+$/.test(key);
    if (lambdaPolicy && value !== null && typeof (value as { Policy?: unknown })?.Policy !== 'string') {
      throw new InvalidSnapshotError(
        `invalid snapshot: responses.${key}: Lambda GetPolicy must be null or {"Policy": "<JSON string>", "RevisionId": ...}`,
      );
    }
  }
  return r.data;
}

export interface FunctionConfiguration {
  FunctionName: string;
  FunctionArn: string;
  Role?: string;
  RevisionId?: string;
  Runtime?: string;
  Environment?: { Variables?: Record<string, string> };
  [k: string]: unknown;
}

export interface FunctionUrlConfig {
  FunctionUrl: string;
  FunctionArn: string;
  AuthType: 'NONE' | 'AWS_IAM';
  Cors?: Record<string, unknown>;
  InvokeMode?: string;
  [k: string]: unknown;
}

export interface ResourcePolicy {
  /** Snapshot key: `GetPolicy` or `GetPolicy:<qualifier>`. */
  key: string;
  qualifier?: string;
  document: PolicyDocument;
  revisionId?: string;
}

export const keyFor = (operation: string, discriminator?: string) =>
  discriminator ? `${operation}:${discriminator}` : operation;

/** Splits a snapshot key into operation and discriminator (`GetPolicyVersion:arn:aws:...` keeps the ARN whole). */
export function splitKey(key: string): { operation: string; discriminator?: string } {
  const i = key.indexOf(':');
  return i < 0 ? { operation: key } : { operation: key.slice(0, i), discriminator: key.slice(i + 1) };
}

export function functionConfiguration(s: Snapshot): FunctionConfiguration | undefined {
  const c = s.responses['GetFunctionConfiguration'];
  return c && typeof c === 'object' ? (c as FunctionConfiguration) : undefined;
}

/** The qualifier of a qualified function ARN (`...:function:name:live` -> `live`). */
export function qualifierOf(functionArn: string): string | undefined {
  const m = /:function:[^:]+:([^:]+)$/.exec(functionArn);
  return m ? m[1] : undefined;
}

export function functionUrlConfigs(s: Snapshot): (FunctionUrlConfig & { qualifier?: string })[] {
  const list = s.responses['ListFunctionUrlConfigs'] as
    | { FunctionUrlConfigs?: FunctionUrlConfig[] }
    | undefined;
  return (list?.FunctionUrlConfigs ?? []).map((c) => {
    const qualifier = qualifierOf(c.FunctionArn);
    return qualifier ? { ...c, qualifier } : { ...c };
  });
}

/** Every resource policy in the snapshot: the function's own and one per qualifier. */
export function resourcePolicies(s: Snapshot): ResourcePolicy[] {
  const out: ResourcePolicy[] = [];
  for (const [key, value] of Object.entries(s.responses)) {
    const { operation, discriminator } = splitKey(key);
    if (operation !== 'GetPolicy' || !value || typeof value !== 'object') continue;
    // Lambda's GetPolicy carries `Policy` as a JSON string; IAM's GetPolicy (a managed policy) does not.
    const body = value as { Policy?: unknown; RevisionId?: string };
    if (typeof body.Policy !== 'string') continue;
    out.push({
      key,
      ...(discriminator ? { qualifier: discriminator } : {}),
      document: parsePolicyDocument(body.Policy),
      ...(body.RevisionId ? { revisionId: body.RevisionId } : {}),
    });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** The precondition every write to a resource policy carries: its RevisionId is still the evaluated one. */
export function policyUnchanged(policy: ResourcePolicy, where: string): Precondition[] {
  return policy.revisionId
    ? [
        {
          read: policy.key,
          path: 'RevisionId',
          equals: policy.revisionId,
          description: `the resource policy of ${where} is unchanged`,
        },
      ]
    : [];
}

export function policyFor(s: Snapshot, qualifier?: string): ResourcePolicy | undefined {
  return resourcePolicies(s).find((p) => p.qualifier === qualifier);
}

export function tags(s: Snapshot): Record<string, string> {
  const t = s.responses['ListTags'] as { Tags?: Record<string, string> } | undefined;
  return t?.Tags ?? {};
}

interface RoleBody {
  Role?: { Arn?: string; RoleName?: string; Tags?: { Key: string; Value: string }[] };
}

/** The role of a role snapshot (`GetRole`), if the snapshot is about a role. */
export function roleOf(s: Snapshot): RoleBody['Role'] | undefined {
  const r = s.responses['GetRole'] as RoleBody | null | undefined;
  return r?.Role?.Arn ? r.Role : undefined;
}

/** The layer version of a layer snapshot (`GetLayerVersion`), if the snapshot is about a layer. */
export function layerVersionArnOf(s: Snapshot): string | undefined {
  const l = s.responses['GetLayerVersion'] as { LayerVersionArn?: string } | null | undefined;
  return l?.LayerVersionArn;
}

/**
 * What a snapshot is about: a function (`GetFunctionConfiguration`), an IAM role (`GetRole`) or a
 * layer version (`GetLayerVersion`), in that order. Undefined when the resource did not exist.
 */
export function targetOf(s: Snapshot): { kind: TargetKind; arn: string } | undefined {
  if (functionConfiguration(s)) {
    const arn = functionArnOf(s);
    return arn ? { kind: 'function', arn } : undefined;
  }
  const role = roleOf(s);
  if (role?.Arn) return { kind: 'role', arn: role.Arn };
  const layer = layerVersionArnOf(s);
  return layer ? { kind: 'layer', arn: layer } : undefined;
}

/** The tags of the snapshot's target: exemptions are read from them. Layers carry no tags. */
export function targetTags(s: Snapshot): Record<string, string> {
  if (functionConfiguration(s)) return tags(s);
  const role = roleOf(s);
  if (role) return Object.fromEntries((role.Tags ?? []).map((t) => [t.Key, t.Value]));
  return {};
}

export function functionArnOf(s: Snapshot): string | undefined {
  return functionConfiguration(s)?.FunctionArn?.replace(/(:function:[^:]+):[^:]+$/, '$1');
}

export function functionNameOf(s: Snapshot): string | undefined {
  return functionConfiguration(s)?.FunctionName;
}

/**
 * Reads a value at a path such as `FunctionUrlConfigs[FunctionArn=arn:...].AuthType` from a response.
 * Used for preconditions; returns undefined when any segment is missing.
 */
export function select(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const seg of path.match(/[^.[\]]+|\[[^\]]*\]/g) ?? []) {
    if (cur == null) return undefined;
    if (seg.startsWith('[')) {
      const [k, v] = seg.slice(1, -1).split(/=(.*)/s);
      if (!Array.isArray(cur)) return undefined;
      cur = cur.find((x) => x && typeof x === 'object' && String((x as Record<string, unknown>)[k]) === v);
    } else {
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return cur;
}
