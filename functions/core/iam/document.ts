/**
 * IAM identity-policy documents of a role snapshot: decoding, shapes, the trust policy and every
 * policy that applies to the role (inline, customer-managed, AWS-managed).
 *
 * Encodings: IAM `Get*Policy*` responses carry the document URL-encoded (RFC 3986: `%XX` escapes
 * only, so a `+` is a literal plus, never a space) and the JS SDK v3 does not decode it; CloudTrail's
 * `policyDocument` request parameter is plain JSON text. Shapes: `Statement` is an object or an array;
 * `Action`, `NotAction`, `Resource`, `NotResource` are a string or an array; condition operators and
 * keys compare case-insensitively.
 */
import { asArray, conditionEntries, type PolicyDocument, type Statement } from '../policy.ts';
import type { Snapshot } from '../types.ts';

export type { PolicyDocument, Statement };

export class PolicyDocumentError extends Error {
  override name = 'PolicyDocumentError';
}

/**
 * The JSON text of a policy document given as plain JSON (CloudTrail) or URL-encoded JSON (IAM Get*).
 * Plain JSON starts with `{` (after whitespace); an encoded one starts with `%7B`.
 */
export function policyText(doc: string): string {
  const text = doc.trim();
  if (text.startsWith('{')) return text;
  try {
    return decodeURIComponent(text).trim();
  } catch {
    throw new PolicyDocumentError('policy document is neither JSON nor valid URL-encoded JSON');
  }
}

/**
 * Parses an identity policy document (object, JSON text or URL-encoded JSON text). Statement objects
 * are kept as parsed (same keys, same order), so a statement that is not rewritten serializes exactly
 * as it came.
 */
export function parseIdentityPolicy(doc: unknown): { document: PolicyDocument; text: string } {
  let text: string;
  let value: unknown;
  if (typeof doc === 'string') {
    text = policyText(doc);
    try {
      value = JSON.parse(text);
    } catch {
      throw new PolicyDocumentError('policy document is not valid JSON');
    }
  } else {
    value = doc;
    text = JSON.stringify(doc);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new PolicyDocumentError('policy document is not a JSON object');
  const raw = value as { Statement?: unknown };
  const statements = raw.Statement === undefined ? [] : asArray(raw.Statement);
  for (const s of statements) {
    if (!s || typeof s !== 'object' || Array.isArray(s))
      throw new PolicyDocumentError('a statement is not a JSON object');
  }
  return { document: { ...(value as object), Statement: statements as Statement[] }, text };
}

/** A statement's Allow/Deny (the policy language spells them exactly so; anything else is invalid). */
export const isAllow = (s: Statement) => s.Effect === 'Allow';

/** Action, NotAction, Resource and NotResource as arrays of strings (string or array in the policy). */
export function statementLists(s: Statement) {
  const strings = (v: unknown) => asArray(v as string | string[]).filter((x) => typeof x === 'string');
  return {
    actions: strings(s.Action),
    notActions: strings(s.NotAction),
    hasNotAction: s.NotAction !== undefined,
    resources: strings(s.Resource),
    notResources: strings(s.NotResource),
    hasNotResource: s.NotResource !== undefined,
  };
}

/** Condition keys of a statement, lower-cased (keys are case-insensitive), with their operators. */
export const conditionKeys = (s: Statement) => conditionEntries(s);

// ---- trust policy -------------------------------------------------------------------------------

const LAMBDA_PRINCIPAL = 'lambda.amazonaws.com';

/**
 * Whether a trust policy lets Lambda assume the role: an Allow statement whose `Principal.Service`
 * (a string or an array) names `lambda.amazonaws.com` for `sts:AssumeRole` (or `sts:*`, `*`).
 */
export function trustsLambda(trust: PolicyDocument): boolean {
  return trust.Statement.some((s) => {
    if (!isAllow(s) || !s.Principal || typeof s.Principal !== 'object') return false;
    const services = asArray((s.Principal as Record<string, string | string[]>)['Service']);
    if (!services.some((p) => typeof p === 'string' && p.toLowerCase() === LAMBDA_PRINCIPAL)) return false;
    const actions = statementLists(s).actions.map((a) => a.toLowerCase());
    return actions.some((a) => a === 'sts:assumerole' || a === 'sts:*' || a === '*');
  });
}

// ---- the role and its policies ------------------------------------------------------------------

export interface RoleInfo {
  RoleName: string;
  Arn: string;
  CreateDate?: string;
  AssumeRolePolicyDocument?: string;
  Tags?: { Key: string; Value: string }[];
}

export function roleInfo(s: Snapshot): RoleInfo | undefined {
  const r = s.responses['GetRole'] as { Role?: RoleInfo } | null | undefined;
  return r?.Role?.Arn && r.Role.RoleName ? r.Role : undefined;
}

export type PolicyKind = 'inline' | 'customer-managed' | 'aws-managed';

export interface PolicyVersionInfo {
  VersionId: string;
  IsDefaultVersion: boolean;
  CreateDate?: string;
  Document?: string;
}

export interface RolePolicy {
  kind: PolicyKind;
  /** Inline policy name, or the managed policy's name. */
  name: string;
  /** Managed policies only. */
  arn?: string;
  /** `inline:<name>` or the managed policy ARN (PolicyProof.replaces). */
  replaces: string;
  /** The snapshot key the document was read from. */
  key: string;
  /** The document as the snapshot holds it (URL-encoded string, or an object from the AWS CLI), for preconditions. */
  raw?: unknown;
  document?: PolicyDocument;
  /** Decoded JSON text of the document. */
  text?: string;
  /** Managed: the default version id and every version (ListPolicyVersions), when read. */
  defaultVersionId?: string;
  versions?: PolicyVersionInfo[];
  /** Why the document could not be used (not read, unreadable, malformed). */
  error?: string;
}

/** `arn:aws:iam::aws:policy/...` (also `arn:aws-cn`, `arn:aws-us-gov`): owned by AWS, never rewritten in place. */
export const isAwsManagedArn = (arn: string) => /^arn:aws[a-z-]*:iam::aws:policy\//.test(arn);

/** A document as the API returns it (URL-encoded string) or as the AWS CLI prints it (decoded object). */
function withDocument(p: RolePolicy, raw: unknown): RolePolicy {
  if (typeof raw !== 'string' && (!raw || typeof raw !== 'object'))
    return { ...p, error: `${p.key} has no policy document` };
  try {
    const { document, text } = parseIdentityPolicy(raw);
    return { ...p, raw, document, text };
  } catch (e) {
    return { ...p, raw, error: `${p.key}: ${(e as Error).message}` };
  }
}

/**
 * Every policy that applies to the role, in a stable order: inline policies (ListRolePolicies, then
 * `GetRolePolicy:<name>`), then attached managed policies (ListAttachedRolePolicies, then the default
 * version `GetPolicyVersion:<arn>` and `ListPolicyVersions:<arn>`). A listed policy whose document is
 * missing from the snapshot (not read) or null (read and gone) carries an `error`.
 */
export function rolePolicies(s: Snapshot): RolePolicy[] {
  const out: RolePolicy[] = [];
  const inline = s.responses['ListRolePolicies'] as { PolicyNames?: string[] } | null | undefined;
  for (const name of [...(inline?.PolicyNames ?? [])].sort()) {
    const key = `GetRolePolicy:${name}`;
    const base: RolePolicy = { kind: 'inline', name, replaces: `inline:${name}`, key };
    const body = s.responses[key] as { PolicyDocument?: unknown } | null | undefined;
    out.push(
      body === undefined
        ? { ...base, error: `${key} was not read` }
        : body === null
          ? { ...base, error: `${key}: the policy no longer exists` }
          : withDocument(base, body.PolicyDocument),
    );
  }
  const attached = s.responses['ListAttachedRolePolicies'] as
    | { AttachedPolicies?: { PolicyName?: string; PolicyArn?: string }[] }
    | null
    | undefined;
  const list = [...(attached?.AttachedPolicies ?? [])].filter((a) => a.PolicyArn);
  list.sort((a, b) => (a.PolicyArn! < b.PolicyArn! ? -1 : 1));
  for (const a of list) {
    const arn = a.PolicyArn!;
    const key = `GetPolicyVersion:${arn}`;
    const name = a.PolicyName ?? arn.slice(arn.lastIndexOf('/') + 1);
    const versions = s.responses[`ListPolicyVersions:${arn}`] as
      | { Versions?: PolicyVersionInfo[] }
      | null
      | undefined;
    const base: RolePolicy = {
      kind: isAwsManagedArn(arn) ? 'aws-managed' : 'customer-managed',
      name,
      arn,
      replaces: arn,
      key,
      ...(versions?.Versions ? { versions: versions.Versions } : {}),
    };
    const body = s.responses[key] as
      | { PolicyVersion?: { Document?: unknown; VersionId?: string } }
      | null
      | undefined;
    if (body === undefined) out.push({ ...base, error: `${key} was not read` });
    else if (body === null || !body.PolicyVersion)
      out.push({ ...base, error: `${key}: the policy version no longer exists` });
    else
      out.push(
        withDocument(
          {
            ...base,
            ...(body.PolicyVersion.VersionId ? { defaultVersionId: body.PolicyVersion.VersionId } : {}),
          },
          body.PolicyVersion.Document,
        ),
      );
  }
  return out;
}

/** Policy size as IAM counts it: characters of the JSON text, whitespace not counted. */
export const policySize = (text: string) => text.replace(/\s/g, '').length;

/** IAM quotas: inline policies of one role together, and one managed policy version. */
export const INLINE_POLICIES_PER_ROLE_LIMIT = 10_240;
export const MANAGED_POLICY_LIMIT = 6_144;
/** Managed policies keep at most five versions. */
export const MAX_POLICY_VERSIONS = 5;
