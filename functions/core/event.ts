import * as z from 'zod/mini';
import type { NormalizedEvent, ResourceRefs } from './types.ts';
import './zod.ts';

/**
 * CloudTrail record -> NormalizedEvent. Accepts a bare CloudTrail record or the EventBridge
 * "AWS API Call via CloudTrail" envelope around one. Anything that does not validate is a
 * `InvalidEventError` with one readable line; callers record it as `rejected-input`.
 */

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2,}(-[a-z]+)+-\d+[a-z]*$/;

const optionalString = z.optional(z.string());
const userIdentitySchema = z.looseObject({
  type: optionalString,
  arn: optionalString,
  accountId: optionalString,
  principalId: optionalString,
  invokedBy: optionalString,
  sessionContext: z.optional(
    z.looseObject({
      sessionIssuer: z.optional(z.looseObject({ arn: optionalString })),
    }),
  ),
});

export const cloudTrailRecordSchema = z.looseObject({
  eventID: z.string().check(z.minLength(1), z.maxLength(128)),
  eventName: z.string().check(z.regex(/^[A-Za-z0-9]+$/, 'eventName must be an API name')),
  eventSource: z
    .string()
    .check(z.regex(/^[a-z0-9-]+\.amazonaws\.com$/, 'eventSource must be <service>.amazonaws.com')),
  eventTime: z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), 'eventTime must be an ISO date')),
  awsRegion: z.string().check(z.regex(REGION, 'awsRegion must be a region name')),
  recipientAccountId: optionalString,
  userIdentity: z.optional(userIdentitySchema),
  requestParameters: z.nullish(z.record(z.string(), z.unknown())),
  responseElements: z.nullish(z.record(z.string(), z.unknown())),
  errorCode: optionalString,
  errorMessage: optionalString,
});

export type CloudTrailRecord = z.infer<typeof cloudTrailRecordSchema>;

export const eventBridgeEnvelopeSchema = z.looseObject({
  'detail-type': z.literal('AWS API Call via CloudTrail'),
  source: z.string(),
  account: optionalString,
  region: optionalString,
  detail: z.unknown(),
});

/** `AddPermission20150331v2` -> `AddPermission`; names without a suffix are unchanged. */
export function baseAction(eventName: string): string {
  return eventName.replace(/20\d{6}(v\d+)?$/, '');
}

/** Lambda function references: name, `name:qualifier`, full or partial ARN. */
export function parseFunctionRef(
  ref: string,
  account: string,
  region: string,
): { functionName: string; functionArn: string; qualifier?: string } {
  let name = ref;
  let qualifier: string | undefined;
  let acct = account;
  let reg = region;
  const full = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([^:]+)(?::([^:]+))?$/.exec(ref);
  const partial = /^(\d{12}):function:([^:]+)(?::([^:]+))?$/.exec(ref);
  if (full) {
    [, reg, acct, name, qualifier] = full;
  } else if (partial) {
    [, acct, name, qualifier] = partial;
  } else {
    const parts = ref.split(':');
    if (parts.length > 2) throw new InvalidEventError(`unrecognised function reference: ${ref}`);
    [name, qualifier] = parts;
  }
  if (!/^[A-Za-z0-9_-]{1,140}$/.test(name)) throw new InvalidEventError(`invalid function name: ${name}`);
  if (acct !== account) {
    // Nothing from one account is ever applied to another: an event may only name its own resources.
    throw new InvalidEventError(`event from account ${account} names a function in account ${acct}`);
  }
  if (reg !== region) throw new InvalidEventError(`event from ${region} names a function in ${reg}`);
  return {
    functionName: name,
    functionArn: `arn:aws:lambda:${region}:${account}:function:${name}`,
    ...(qualifier ? { qualifier } : {}),
  };
}

/**
 * A layer reference (name or layer ARN) and a version number -> the layer version ARN
 * (`arn:aws:lambda:<region>:<account>:layer:<name>:<version>`); without a version, the layer ARN.
 */
export function layerVersionRef(ref: string, version: unknown, account: string, region: string): string {
  const full = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):layer:([^:]+)(?::(\d+))?$/.exec(ref);
  const [reg, acct, name, v] = full
    ? [full[1], full[2], full[3], full[4]]
    : [region, account, ref, undefined];
  if (!/^[A-Za-z0-9_-]{1,140}$/.test(name)) throw new InvalidEventError(`invalid layer name: ${name}`);
  if (acct !== account)
    throw new InvalidEventError(`event from account ${account} names a layer in account ${acct}`);
  if (reg !== region) throw new InvalidEventError(`event from ${region} names a layer in ${reg}`);
  const n =
    v ??
    (typeof version === 'number' || (typeof version === 'string' && /^\d+$/.test(version))
      ? String(version)
      : undefined);
  return `arn:aws:lambda:${region}:${account}:layer:${name}${n ? `:${n}` : ''}`;
}

const SECRET_KEY = /(variables|password|secret|token|credential|privatekey|zipfile|apikey)/i;

/** Copies request parameters, replacing values under secret-looking keys with `[redacted]`. */
export function sanitizeParameters(value: unknown, depth = 0): unknown {
  if (depth > 12) return '[truncated]';
  if (Array.isArray(value)) return value.map((v) => sanitizeParameters(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SECRET_KEY.test(k) && (typeof v === 'string' ? v !== '' : typeof v === 'object' && v !== null)
          ? redactLeaves(v)
          : sanitizeParameters(v, depth + 1);
    }
    return out;
  }
  return value;
}

function redactLeaves(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    // Keep key names (useful evidence), drop values.
    return Object.fromEntries(Object.keys(v).map((k) => [k, '[redacted]']));
  }
  return '[redacted]';
}

function firstError(err: z.core.$ZodError): string {
  const issue = err.issues[0];
  const path = issue.path.length ? issue.path.join('.') : 'event';
  return `${path}: ${issue.message}`;
}

/** Unwraps an EventBridge envelope if there is one and validates the CloudTrail record. */
export function parseCloudTrailInput(input: unknown): CloudTrailRecord {
  if (!input || typeof input !== 'object') throw new InvalidEventError('event is not a JSON object');
  let record: unknown = input;
  if ('detail-type' in input || 'detail' in input) {
    const env = eventBridgeEnvelopeSchema.safeParse(input);
    if (!env.success)
      throw new InvalidEventError(`not a CloudTrail API call envelope: ${firstError(env.error)}`);
    record = env.data.detail;
  }
  const parsed = cloudTrailRecordSchema.safeParse(record);
  if (!parsed.success) throw new InvalidEventError(`not a CloudTrail record: ${firstError(parsed.error)}`);
  return parsed.data;
}

export function normalizeEvent(input: unknown): NormalizedEvent {
  const rec = parseCloudTrailInput(input);
  const account = rec.recipientAccountId ?? rec.userIdentity?.accountId;
  if (!account || !ACCOUNT.test(account)) {
    throw new InvalidEventError(
      `recipientAccountId must be a 12-digit account id, got ${JSON.stringify(account)}`,
    );
  }
  if (rec.errorCode) throw new InvalidEventError(`the call failed (${rec.errorCode}); nothing changed`);
  const service = rec.eventSource.replace(/\.amazonaws\.com$/, '');
  const region = rec.awsRegion;
  const params = (rec.requestParameters ?? {}) as Record<string, unknown>;
  const resources: ResourceRefs = {};
  const str = (k: string) => (typeof params[k] === 'string' ? (params[k] as string) : undefined);

  if (service === 'lambda') {
    const ref = str('functionName');
    if (ref) {
      const fn = parseFunctionRef(ref, account, region);
      resources.functionName = fn.functionName;
      resources.functionArn = fn.functionArn;
      const qualifier = str('qualifier') ?? fn.qualifier;
      if (qualifier) resources.qualifier = qualifier;
    }
    const role = str('role');
    if (role) resources.roleArn = role;
    const layer = str('layerName');
    if (layer) {
      // AddLayerVersionPermission names the version in its request; PublishLayerVersion's new
      // version is only in the response.
      const response = (rec.responseElements ?? {}) as Record<string, unknown>;
      const version = params['versionNumber'] ?? response['version'];
      resources.layerArn = layerVersionRef(layer, version, account, region);
    }
  } else if (service === 'iam') {
    const roleName = str('roleName');
    if (roleName) {
      resources.roleName = roleName;
      resources.roleArn = `arn:aws:iam::${account}:role/${roleName}`;
    }
    const policyArn = str('policyArn');
    if (policyArn) resources.policyArn = policyArn;
  }

  const ui = rec.userIdentity;
  return {
    eventId: rec.eventID,
    eventName: rec.eventName,
    action: baseAction(rec.eventName),
    service,
    account,
    region,
    time: new Date(Date.parse(rec.eventTime)).toISOString(),
    actor: {
      type: ui?.type ?? 'Unknown',
      ...(ui?.arn ? { arn: ui.arn } : {}),
      ...(ui?.accountId ? { accountId: ui.accountId } : {}),
      ...(ui?.principalId ? { principalId: ui.principalId } : {}),
      ...(ui?.sessionContext?.sessionIssuer?.arn
        ? { sessionIssuerArn: ui.sessionContext.sessionIssuer.arn }
        : {}),
      ...(ui?.invokedBy ? { invokedBy: ui.invokedBy } : {}),
    },
    resources,
    requestParameters: sanitizeParameters(params) as Record<string, unknown>,
    origin: 'event',
  };
}

/**
 * Step Functions execution names allow 1-80 characters of [A-Za-z0-9-_]. CloudTrail event ids are
 * UUIDs, so they pass through; anything else is mapped deterministically so duplicates still collide.
 */
export function executionName(eventId: string): string {
  const clean = eventId.replace(/[^A-Za-z0-9_-]/g, '_');
  return clean.length <= 80 ? clean : clean.slice(0, 80);
}

/** True when the actor is one of the excluded principals (the guardrail's own roles, by default). */
export function isExcludedActor(event: NormalizedEvent, excluded: readonly string[]): boolean {
  const arns = [event.actor.arn, event.actor.sessionIssuerArn].filter((a): a is string => !!a);
  return excluded.some((x) => arns.some((a) => a === x || matchesAssumedRole(a, x)));
}

/** `arn:aws:sts::1:assumed-role/Name/session` belongs to `arn:aws:iam::1:role/[path/]Name`. */
function matchesAssumedRole(actorArn: string, roleArn: string): boolean {
  const assumed = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(actorArn);
  const role = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  return !!assumed && !!role && assumed[1] === role[1] && assumed[2] === role[2];
}

/**
 * The event of one execution about an execution role, derived from an event about something else
 * (docs/iam-roles.md): a function created or reconfigured with a role (`suffix` `role`), or a managed
 * policy changed (`CreatePolicyVersion`, `SetDefaultPolicyVersion`: one per role it is attached to).
 * The event id gets `-<suffix>` so its execution name is distinct, deterministic (a redelivery is a
 * duplicate) and at most 80 characters for a CloudTrail event id (a 36-character UUID).
 */
export function roleEvent(
  event: NormalizedEvent,
  role: { roleName: string; roleArn?: string },
  suffix: string,
): NormalizedEvent {
  return {
    ...event,
    eventId: `${event.eventId}-${suffix}`,
    resources: {
      roleName: role.roleName,
      ...(role.roleArn ? { roleArn: role.roleArn } : {}),
      ...(event.resources.policyArn ? { policyArn: event.resources.policyArn } : {}),
    },
  };
}
