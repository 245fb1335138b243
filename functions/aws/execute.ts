import {
  CloudWatchLogsClient,
  DeleteDataProtectionPolicyCommand,
  PutDataProtectionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  AttachRolePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
  SetDefaultPolicyVersionCommand,
} from '@aws-sdk/client-iam';
import {
  AddLayerVersionPermissionCommand,
  AddPermissionCommand,
  GetFunctionConfigurationCommand,
  GetLayerVersionPolicyCommand,
  GetPolicyCommand,
  LambdaClient,
  RemoveLayerVersionPermissionCommand,
  RemovePermissionCommand,
  UpdateFunctionConfigurationCommand,
  UpdateFunctionUrlConfigCommand,
  waitForFunctionUpdated,
} from '@aws-sdk/client-lambda';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { foreignAccounts } from '../core/org.ts';
import type { AppliedStep, Remediation } from '../core/outcome.ts';
import { actionKeyOf, canonicalJson } from '../core/plan.ts';
import { parsePolicyDocument, type Statement } from '../core/policy.ts';
import { parseSecretMarker, REDACTED } from '../core/redact.ts';
import { detectSecret } from '../core/secrets/detect.ts';
import { functionConfiguration, functionUrlConfigs, keyFor, policyFor } from '../core/snapshot.ts';
import type { Finding, PlanStep, Snapshot } from '../core/types.ts';
import { type AwsClients, body, type ClientClass, errorName, isNotFound } from './clients.ts';

/**
 * Plan executors: the write side. Each supported operation maps to exactly one SDK command; the
 * operations and the IAM actions they need are declared in core/actions.ts.
 *
 * Values a plan holds by reference (DeferredValue in core/types.ts) are resolved here, at apply time,
 * into the request only: the recorded step keeps the reference, and no resolved secret value is ever
 * returned, logged or put in an error message (errors are scrubbed of every environment value).
 */

type Exec = (
  clients: AwsClients,
  region: string,
  params: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

/** A delete of something already gone has done its job (undo and rollback are idempotent). */
const absentOk =
  (exec: Exec): Exec =>
  async (c, r, p) => {
    try {
      return await exec(c, r, p);
    } catch (err) {
      if (isNotFound(err)) return { alreadyAbsent: true };
      throw err;
    }
  };

/**
 * One SDK command for one plan operation: the plan's parameters are the request (deferred values
 * already resolved), the response body is the result.
 */
const command =
  (
    // biome-ignore lint/suspicious/noExplicitAny: any SDK v3 client class.
    client: ClientClass<any>,
    // biome-ignore lint/suspicious/noExplicitAny: each command class takes its own input type.
    Command: new (input: any) => unknown,
  ): Exec =>
  async (c, r, p) =>
    body(await c.get(client, r).send(new Command(p))) as Record<string, unknown>;

export const EXECUTORS: Readonly<Record<string, Exec>> = {
  'lambda:UpdateFunctionUrlConfig': command(LambdaClient, UpdateFunctionUrlConfigCommand),
  'lambda:RemovePermission': command(LambdaClient, RemovePermissionCommand),
  'lambda:AddPermission': command(LambdaClient, AddPermissionCommand),
  'lambda:UpdateFunctionConfiguration': command(LambdaClient, UpdateFunctionConfigurationCommand),
  // LAMBDA.LAYER.PUBLIC: unshare a layer version (a statement already gone has done its job); rollback re-shares.
  'lambda:RemoveLayerVersionPermission': /* @__PURE__ */ absentOk(
    command(LambdaClient, RemoveLayerVersionPermissionCommand),
  ),
  'lambda:AddLayerVersionPermission': command(LambdaClient, AddLayerVersionPermissionCommand),
  'secretsmanager:CreateSecret': command(SecretsManagerClient, CreateSecretCommand),
  'secretsmanager:DeleteSecret': /* @__PURE__ */ absentOk(command(SecretsManagerClient, DeleteSecretCommand)),
  // IAM is global; the client for the function's region resolves the partition's IAM endpoint.
  'iam:PutRolePolicy': command(IAMClient, PutRolePolicyCommand),
  'iam:DeleteRolePolicy': /* @__PURE__ */ absentOk(command(IAMClient, DeleteRolePolicyCommand)),
  // Execution-role rewrites (docs/iam-roles.md) and their rollback inverses.
  'iam:CreatePolicyVersion': command(IAMClient, CreatePolicyVersionCommand),
  'iam:DeletePolicyVersion': /* @__PURE__ */ absentOk(command(IAMClient, DeletePolicyVersionCommand)),
  'iam:SetDefaultPolicyVersion': command(IAMClient, SetDefaultPolicyVersionCommand),
  'iam:DetachRolePolicy': /* @__PURE__ */ absentOk(command(IAMClient, DetachRolePolicyCommand)),
  'iam:AttachRolePolicy': command(IAMClient, AttachRolePolicyCommand),
  // LAMBDA.LOGS.UNMASKED: mask credentials in a log group; rollback deletes the policy or puts the old one back.
  'logs:PutDataProtectionPolicy': command(CloudWatchLogsClient, PutDataProtectionPolicyCommand),
  'logs:DeleteDataProtectionPolicy': /* @__PURE__ */ absentOk(
    command(CloudWatchLogsClient, DeleteDataProtectionPolicyCommand),
  ),
};

/** Errors that mean "nothing was written, try the whole remediation again later". */
const RETRYABLE = new Set(['ResourceConflictException', 'ThrottlingException', 'TooManyRequestsException']);
/** Errors that mean "the resource is not as the plan expects": the outcome is resource-changed, not failed. */
const DRIFT = new Set(['PreconditionFailedException', 'PolicyDriftError', 'FunctionDriftError']);

export class PolicyDriftError extends Error {
  override name = 'PolicyDriftError';
}

export class FunctionDriftError extends Error {
  override name = 'FunctionDriftError';
}

/** Lambda accepted the update but could not apply it (LastUpdateStatus Failed), or did not finish in time. */
export class FunctionUpdateError extends Error {
  override name = 'FunctionUpdateError';
}

/** Tracks what each resource policy should look like as this plan's steps are applied. */
class PolicyLedger {
  private expected = new Map<string, Statement[]>();
  constructor(private readonly fresh: Snapshot) {}
  private key(p: Record<string, unknown>) {
    return keyFor('GetPolicy', p['Qualifier'] as string | undefined);
  }
  statements(p: Record<string, unknown>): Statement[] {
    const k = this.key(p);
    if (!this.expected.has(k)) {
      this.expected.set(k, [
        ...(policyFor(this.fresh, p['Qualifier'] as string | undefined)?.document.Statement ?? []),
      ]);
    }
    return this.expected.get(k)!;
  }
  statement(p: Record<string, unknown>): Statement | undefined {
    return this.statements(p).find((s) => s.Sid === p['StatementId']);
  }
  removed(p: Record<string, unknown>) {
    this.expected.set(
      this.key(p),
      this.statements(p).filter((s) => s.Sid !== p['StatementId']),
    );
  }
  added(p: Record<string, unknown>, st: Statement) {
    this.expected.set(this.key(p), [...this.statements(p).filter((s) => s.Sid !== st.Sid), st]);
  }
}

const sortedStatements = (list: Statement[]) =>
  canonicalJson([...list].sort((a, b) => String(a.Sid).localeCompare(String(b.Sid))));

/** Everything a plan's steps share while they are applied. Holds raw values in memory only. */
class ApplyState {
  readonly policies: PolicyLedger;
  /** ARNs of the secrets this plan created, by name (resolves `{fromSecretArn}`). */
  readonly secretArns = new Map<string, string>();
  /** The function's environment as this plan expects it now (the fresh read, then each update it sent). */
  env: Record<string, string>;
  /** Every value that must never appear in a recorded error: the environment's and any secret read. */
  private readonly sensitive = new Set<string>();

  /** The layer version policy as this plan expects it now (LAMBDA.LAYER.PUBLIC: the fresh read minus its removals). */
  private layerPolicy?: Statement[];
  layerStatements(): Statement[] {
    if (!this.layerPolicy) {
      const p = this.fresh.responses['GetLayerVersionPolicy'] as { Policy?: unknown } | null | undefined;
      this.layerPolicy =
        p && typeof p.Policy === 'string' ? [...parsePolicyDocument(p.Policy).Statement] : [];
    }
    return this.layerPolicy;
  }
  layerRemoved(sid: unknown) {
    this.layerPolicy = this.layerStatements().filter((st) => st.Sid !== sid);
  }

  /** True when the snapshot given is redacted: then no environment value may be resolved from it. */
  readonly redacted: boolean;

  constructor(
    readonly clients: AwsClients,
    readonly region: string,
    readonly fresh: Snapshot,
  ) {
    this.policies = new PolicyLedger(fresh);
    this.env = {
      ...((functionConfiguration(fresh)?.Environment?.Variables ?? {}) as Record<string, string>),
    };
    this.redacted = Object.values(this.env).some((v) => v === REDACTED || parseSecretMarker(v));
    // Secrets of any length, and any long value (it may be a secret the detector does not know):
    // short ordinary settings (`orders`, `info`) stay readable in error messages.
    for (const [k, v] of Object.entries(this.env)) {
      if (typeof v === 'string' && (v.length >= 12 || (v.length >= 3 && detectSecret(k, v))))
        this.remember(v);
    }
  }

  /** The environment, for a step that reads or rewrites it; never from a redacted snapshot. */
  environment(): Record<string, string> {
    if (this.redacted)
      throw new Error('the snapshot given to the executor is redacted; environment values need the raw read');
    return this.env;
  }

  remember(value: unknown) {
    if (typeof value === 'string' && value.length >= 3) {
      this.sensitive.add(value);
      // As it appears inside JSON text (AWS error messages quote request bodies).
      this.sensitive.add(JSON.stringify(value).slice(1, -1));
    }
  }

  /** A message with every known sensitive value replaced by `[redacted]`. */
  scrub(message: string): string {
    let out = message;
    for (const v of [...this.sensitive].sort((a, b) => b.length - a.length))
      out = out.split(v).join(REDACTED);
    return out;
  }
}

const DEFERRED_KEYS = new Set([
  'fromEnvironment',
  'fromPolicyRevision',
  'fromLayerPolicyRevision',
  'fromFunctionRevision',
  'fromSecretArn',
  'fromEnvironmentWith',
  'fromSecretValue',
  'jsonOf',
]);

/** The deferred key of a value such as `{"fromEnvironment": "X"}`, if it is one. */
function deferredKey(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && DEFERRED_KEYS.has(keys[0]) ? keys[0] : undefined;
}

async function readFunction(state: ApplyState, functionName: string) {
  return state.clients
    .get(LambdaClient, state.region)
    .send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
}

/** Resolves every deferred value inside `value` (recursively); returns what the request carries. */
async function resolve(value: unknown, state: ApplyState): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolve(v, state)));
  const kind = deferredKey(value);
  const arg = kind ? (value as Record<string, unknown>)[kind] : undefined;
  switch (kind) {
    case 'fromPolicyRevision': {
      const ref = arg as { FunctionName: string; Qualifier?: string };
      const r = await state.clients.get(LambdaClient, state.region).send(new GetPolicyCommand(ref));
      const actual = parsePolicyDocument(r.Policy ?? '{"Statement":[]}').Statement;
      // Only this plan's earlier steps may have changed the policy since it was evaluated.
      if (sortedStatements(actual) !== sortedStatements(state.policies.statements(ref))) {
        throw new PolicyDriftError(
          `the resource policy of ${ref.FunctionName}${ref.Qualifier ? `:${ref.Qualifier}` : ''} changed during remediation`,
        );
      }
      return r.RevisionId;
    }
    case 'fromLayerPolicyRevision': {
      const ref = arg as { LayerName: string; VersionNumber: number };
      const r = await state.clients
        .get(LambdaClient, state.region)
        .send(new GetLayerVersionPolicyCommand(ref));
      const actual = parsePolicyDocument(r.Policy ?? '{"Statement":[]}').Statement;
      // Only this plan's earlier steps may have changed the layer policy since it was evaluated.
      if (sortedStatements(actual) !== sortedStatements(state.layerStatements())) {
        throw new PolicyDriftError(
          `the policy of layer version ${ref.LayerName}:${ref.VersionNumber} changed during remediation`,
        );
      }
      return r.RevisionId;
    }
    case 'fromFunctionRevision': {
      const ref = arg as { FunctionName: string };
      const r = await readFunction(state, ref.FunctionName);
      // Only this plan's earlier steps may have changed the function since it was read, and none of
      // them touches the environment unless this plan updated it (then `state.env` says how).
      if (canonicalJson(r.Environment?.Variables ?? {}) !== canonicalJson(state.env)) {
        throw new FunctionDriftError(
          `the environment of ${ref.FunctionName} changed since it was read; nothing was sent`,
        );
      }
      return r.RevisionId;
    }
    case 'fromEnvironment': {
      const name = String(arg);
      const v = state.environment()[name];
      if (v === undefined) throw new FunctionDriftError(`the environment variable ${name} is no longer set`);
      return v;
    }
    case 'fromSecretArn': {
      const name = String(arg);
      const arn = state.secretArns.get(name);
      if (!arn) throw new Error(`no earlier step of this plan created the secret ${name}`);
      return arn;
    }
    case 'fromEnvironmentWith': {
      const { remove, set } = arg as { remove: string[]; set: Record<string, unknown> };
      const next: Record<string, string> = { ...state.environment() };
      for (const k of remove) {
        if (!(k in next)) throw new FunctionDriftError(`the environment variable ${k} is no longer set`);
        delete next[k];
      }
      for (const [k, v] of Object.entries(set)) {
        if (k in next) throw new FunctionDriftError(`the environment variable ${k} is already set`);
        next[k] = String(await resolve(v, state));
      }
      return next;
    }
    case 'fromSecretValue': {
      const id = String(await resolve(arg, state));
      const r = await state.clients
        .get(SecretsManagerClient, state.region)
        .send(new GetSecretValueCommand({ SecretId: id }));
      if (typeof r.SecretString !== 'string') throw new Error(`the secret ${id} holds no SecretString`);
      state.remember(r.SecretString);
      return r.SecretString;
    }
    case 'jsonOf':
      return JSON.stringify(await resolve(arg, state));
    default:
      break;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = await resolve(v, state);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return value;
}

/** `{fromSecretArn}` replaced by the ARN this plan created (an ARN is not a secret); everything else kept as is. */
function withSecretArns(value: unknown, state: ApplyState): unknown {
  if (Array.isArray(value)) return value.map((v) => withSecretArns(v, state));
  if (deferredKey(value) === 'fromSecretArn') {
    const name = String((value as { fromSecretArn: string }).fromSecretArn);
    return state.secretArns.get(name) ?? value;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withSecretArns(v, state)]));
  }
  return value;
}

/** A statement of the layer version policy in a snapshot (`GetLayerVersionPolicy`), by Sid. */
function layerStatement(snapshot: Snapshot, sid: unknown): Statement | undefined {
  const p = snapshot.responses['GetLayerVersionPolicy'] as { Policy?: unknown } | null | undefined;
  if (!p || typeof p.Policy !== 'string') return undefined;
  return parsePolicyDocument(p.Policy).Statement.find((st) => st.Sid === sid);
}

/** The log group's data protection policy in a snapshot, as recorded before a logs step (no secrets in it). */
function dataProtectionPolicy(snapshot: Snapshot): unknown {
  const r = snapshot.responses['GetDataProtectionPolicy'] as
    | { logGroupIdentifier?: string; policyDocument?: string }
    | null
    | undefined;
  if (!r?.policyDocument) return null;
  return { logGroupIdentifier: r.logGroupIdentifier ?? null, policyDocument: JSON.parse(r.policyDocument) };
}

/** Names only (sorted): a recorded before/after of an environment never holds a value. */
const variableNames = (env: Record<string, unknown>) => Object.keys(env).sort();

function before(step: PlanStep, state: ApplyState): unknown {
  const p = step.parameters;
  switch (actionKeyOf(step)) {
    case 'lambda:UpdateFunctionUrlConfig': {
      const url = functionUrlConfigs(state.fresh).find(
        (u) => u.qualifier === (p['Qualifier'] as string | undefined),
      );
      return url
        ? { AuthType: url.AuthType, Cors: url.Cors ?? null, InvokeMode: url.InvokeMode ?? null }
        : null;
    }
    case 'lambda:RemovePermission':
    case 'lambda:AddPermission':
      return state.policies.statement(p) ?? null;
    case 'lambda:RemoveLayerVersionPermission':
    case 'lambda:AddLayerVersionPermission':
      return layerStatement(state.fresh, p['StatementId']) ?? null;
    case 'logs:PutDataProtectionPolicy':
    case 'logs:DeleteDataProtectionPolicy':
      return dataProtectionPolicy(state.fresh);
    case 'lambda:UpdateFunctionConfiguration': {
      const cfg = functionConfiguration(state.fresh);
      return {
        RevisionId: cfg?.RevisionId ?? null,
        Variables: variableNames(state.env),
        ...('Layers' in p ? { Layers: ((cfg?.Layers as { Arn: string }[]) ?? []).map((l) => l.Arn) } : {}),
        ...('TracingConfig' in p ? { TracingConfig: cfg?.['TracingConfig'] ?? null } : {}),
      };
    }
    default:
      return iamBefore(step, state.fresh);
  }
}

/** A URL-encoded IAM document (as IAM returns it) as JSON; undefined when it is not one. */
function iamDocument(doc: unknown): unknown {
  if (typeof doc !== 'string') return undefined;
  try {
    return JSON.parse(decodeURIComponent(doc));
  } catch {
    return undefined;
  }
}

/**
 * What an execution-role step replaces, from the evaluated (fresh) read: the original documents,
 * default versions and attachments are recorded in the ledger so rollback can restore them.
 */
function iamBefore(step: PlanStep, fresh: Snapshot): unknown {
  const p = step.parameters;
  const r = fresh.responses;
  const arn = String(p['PolicyArn'] ?? '');
  const versions = () =>
    ((
      r[`ListPolicyVersions:${arn}`] as {
        Versions?: { VersionId?: string; IsDefaultVersion?: boolean }[];
      } | null
    )?.Versions ?? []) as { VersionId?: string; IsDefaultVersion?: boolean; CreateDate?: string }[];
  const attached = () =>
    (
      (r['ListAttachedRolePolicies'] as { AttachedPolicies?: { PolicyArn?: string }[] } | null)
        ?.AttachedPolicies ?? []
    ).map((a) => a.PolicyArn);
  switch (actionKeyOf(step)) {
    case 'iam:PutRolePolicy':
    case 'iam:DeleteRolePolicy': {
      const key = `GetRolePolicy:${String(p['PolicyName'])}`;
      if (!(key in r)) return null;
      const doc = iamDocument((r[key] as { PolicyDocument?: string } | null)?.PolicyDocument);
      return { PolicyName: p['PolicyName'], PolicyDocument: doc ?? null };
    }
    case 'iam:CreatePolicyVersion':
    case 'iam:SetDefaultPolicyVersion': {
      const v = (
        r[`GetPolicyVersion:${arn}`] as { PolicyVersion?: { VersionId?: string; Document?: string } } | null
      )?.PolicyVersion;
      return v
        ? {
            PolicyArn: arn,
            DefaultVersionId: v.VersionId ?? null,
            Document: iamDocument(v.Document) ?? null,
            VersionIds: versions().map((x) => x.VersionId),
          }
        : null;
    }
    case 'iam:DeletePolicyVersion': {
      const v = versions().find((x) => x.VersionId === p['VersionId']);
      return v
        ? {
            PolicyArn: arn,
            VersionId: v.VersionId,
            IsDefaultVersion: v.IsDefaultVersion ?? false,
            CreateDate: v.CreateDate ?? null,
          }
        : null;
    }
    case 'iam:DetachRolePolicy':
    case 'iam:AttachRolePolicy':
      return { AttachedPolicyArns: attached() };
    default:
      return null;
  }
}

function after(
  step: PlanStep,
  sent: Record<string, unknown>,
  response: Record<string, unknown>,
  state: ApplyState,
): unknown {
  switch (actionKeyOf(step)) {
    case 'logs:PutDataProtectionPolicy':
      return {
        logGroupIdentifier: response['logGroupIdentifier'] ?? sent['logGroupIdentifier'],
        policyDocument: JSON.parse(String(response['policyDocument'] ?? sent['policyDocument'])),
      };
    case 'logs:DeleteDataProtectionPolicy':
      return response['alreadyAbsent'] ? { alreadyAbsent: true } : null;
    case 'lambda:UpdateFunctionUrlConfig':
      return {
        AuthType: response['AuthType'],
        Cors: response['Cors'] ?? null,
        InvokeMode: response['InvokeMode'] ?? null,
      };
    case 'lambda:AddPermission':
    case 'lambda:AddLayerVersionPermission':
      return typeof response['Statement'] === 'string' ? JSON.parse(response['Statement']) : null;
    case 'lambda:RemoveLayerVersionPermission':
      return response['alreadyAbsent'] ? { alreadyAbsent: true } : null;
    case 'secretsmanager:CreateSecret':
      return {
        ARN: response['ARN'] ?? null,
        Name: response['Name'] ?? null,
        VersionId: response['VersionId'] ?? null,
      };
    case 'secretsmanager:DeleteSecret':
      return response['alreadyAbsent']
        ? { alreadyAbsent: true }
        : {
            ARN: response['ARN'] ?? null,
            DeletionDate:
              response['DeletionDate'] instanceof Date
                ? response['DeletionDate'].toISOString()
                : (response['DeletionDate'] ?? null),
          };
    case 'iam:PutRolePolicy':
      return {
        RoleName: sent['RoleName'],
        PolicyName: sent['PolicyName'],
        PolicyDocument: JSON.parse(String(sent['PolicyDocument'])),
      };
    case 'iam:DeleteRolePolicy':
    case 'iam:DeletePolicyVersion':
    case 'iam:DetachRolePolicy':
      return response['alreadyAbsent'] ? { alreadyAbsent: true } : null;
    case 'iam:CreatePolicyVersion': {
      const v = response['PolicyVersion'] as { VersionId?: string; IsDefaultVersion?: boolean } | undefined;
      return {
        PolicyArn: sent['PolicyArn'],
        VersionId: v?.VersionId ?? null,
        IsDefaultVersion: v?.IsDefaultVersion ?? null,
        Document: JSON.parse(String(sent['PolicyDocument'])),
      };
    }
    case 'iam:SetDefaultPolicyVersion':
      return { PolicyArn: sent['PolicyArn'], DefaultVersionId: sent['VersionId'] };
    case 'iam:AttachRolePolicy':
      return { RoleName: sent['RoleName'], PolicyArn: sent['PolicyArn'] };
    case 'lambda:UpdateFunctionConfiguration': {
      // Never the response's Environment (it holds every value): names, and the ARNs this plan added.
      const env = ((sent['Environment'] as { Variables?: Record<string, string> })?.Variables ??
        {}) as Record<string, string>;
      const arns = Object.fromEntries(
        Object.entries(env).filter(([, v]) => [...state.secretArns.values()].includes(v)),
      );
      return {
        RevisionId: response['RevisionId'] ?? null,
        LastUpdateStatus: response['LastUpdateStatus'] ?? null,
        Variables: variableNames(env),
        ...(Object.keys(arns).length ? { SecretArnVariables: arns } : {}),
        ...('Layers' in sent ? { Layers: sent['Layers'] } : {}),
        ...('TracingConfig' in sent
          ? { TracingConfig: response['TracingConfig'] ?? sent['TracingConfig'] }
          : {}),
      };
    }
    default:
      return null;
  }
}

export interface ApplyOptions {
  /**
   * Organization mode: the event's account. A plan any of whose steps targets a resource of another
   * account (core/org.ts `foreignAccounts`) is refused whole, before anything is written.
   */
  account?: string;
  /** How long to wait for LastUpdateStatus after UpdateFunctionConfiguration (seconds). */
  waiter?: { minDelay: number; maxDelay: number; maxWaitTime: number };
}

const DEFAULT_WAITER = { minDelay: 1, maxDelay: 5, maxWaitTime: 60 };

/**
 * Waits until Lambda has applied a configuration update (LastUpdateStatus Successful). Uses the
 * non-throwing waiter: the throwing one puts the whole GetFunctionConfiguration response, every
 * environment value included, in its error message.
 */
async function waitUntilUpdated(state: ApplyState, functionName: string, opts: ApplyOptions) {
  const w = opts.waiter ?? DEFAULT_WAITER;
  const r = await waitForFunctionUpdated(
    { client: state.clients.get(LambdaClient, state.region), ...w },
    { FunctionName: functionName },
  );
  const reason = r.reason as
    | {
        LastUpdateStatus?: string;
        LastUpdateStatusReason?: string;
        LastUpdateStatusReasonCode?: string;
        RevisionId?: string;
      }
    | undefined;
  if (r.state === 'SUCCESS') return { LastUpdateStatus: 'Successful', RevisionId: reason?.RevisionId };
  if (r.state === 'FAILURE') {
    throw new FunctionUpdateError(
      `LastUpdateStatus Failed (${reason?.LastUpdateStatusReasonCode ?? 'no code'}): ${reason?.LastUpdateStatusReason ?? 'no reason given'}`,
    );
  }
  throw new FunctionUpdateError(`LastUpdateStatus was not Successful after ${w.maxWaitTime} s (${r.state})`);
}

/**
 * After an UpdateFunctionConfiguration failed without a clear answer (a 5xx, a timeout), did the new
 * environment land anyway? Decided by reading the function, not by the error.
 */
async function updateLanded(state: ApplyState, sent: Record<string, unknown>): Promise<boolean> {
  const wanted = (sent['Environment'] as { Variables?: Record<string, string> } | undefined)?.Variables;
  if (!wanted) return false;
  try {
    const r = await readFunction(state, String(sent['FunctionName']));
    return canonicalJson(r.Environment?.Variables ?? {}) === canonicalJson(wanted);
  } catch {
    return false;
  }
}

/** A 4xx answer: the service refused the request, so nothing was written. */
const refused = (err: unknown) => {
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return (typeof status === 'number' && status >= 400 && status < 500) || DRIFT.has(errorName(err));
};

function errorText(err: unknown, step: PlanStep, state: ApplyState): string {
  let message = state.scrub((err as Error)?.message ?? String(err));
  // Lambda quotes the environment it measured when it refuses one (the 4 KB limit): keep the sentence only.
  if (step.operation === 'UpdateFunctionConfiguration') message = message.replace(/[{[].*$/s, '').trim();
  return `${errorName(err)}: ${message}`.slice(0, 500);
}

interface Done {
  record: AppliedStep;
  /** The inverse with this plan's ARNs filled in, as recorded. */
  inverse?: AppliedStep['inverse'];
}

/** Undoes applied steps (newest first), each on its own: one failure does not stop the others. */
async function undoSteps(done: Done[], state: ApplyState): Promise<AppliedStep[]> {
  const out: AppliedStep[] = [];
  for (const d of [...done].reverse()) {
    const inv = d.inverse ? { ...d.inverse, reason: `undo ${d.record.operation}` } : undefined;
    if (!inv) {
      out.push({
        ruleId: d.record.ruleId,
        resourceArn: d.record.resourceArn,
        service: d.record.service,
        operation: d.record.operation,
        parameters: d.record.parameters,
        status: 'failed',
        error: 'no inverse: left applied',
      });
      continue;
    }
    const u: AppliedStep = {
      ruleId: d.record.ruleId,
      resourceArn: d.record.resourceArn,
      service: inv.service,
      operation: inv.operation,
      parameters: inv.parameters,
      status: 'failed',
    };
    try {
      const exec = EXECUTORS[actionKeyOf(inv)];
      if (!exec) throw new Error(`no executor for ${actionKeyOf(inv)}`);
      const params = (await resolve(inv.parameters, state)) as Record<string, unknown>;
      const response = await exec(state.clients, state.region, params);
      u.status = 'applied';
      u.after = after(inv, params, response, state);
      d.record.status = 'undone';
    } catch (err) {
      u.error = errorText(err, inv, state);
    }
    out.push(u);
  }
  return out;
}

/**
 * Applies the findings' plan steps in order against a fresh snapshot (raw: it may hold environment
 * values, which deferred `{fromEnvironment}` references read). Stops at the first failure.
 * A retryable error before anything was written is rethrown so Step Functions retries the state;
 * after the first write, a failure is returned with the steps applied so far (rollback can undo them).
 * An all-or-nothing plan (`plan.atomic`) first undoes its own applied steps, so a failed move of a
 * secret leaves neither the secret nor the grant behind (docs/secret-remediation.md).
 */
export async function applyPlan(
  clients: AwsClients,
  region: string,
  findings: readonly Finding[],
  fresh: Snapshot,
  opts: ApplyOptions = {},
): Promise<Remediation> {
  if (opts.account) {
    const account = opts.account;
    const refusedSteps = findings.flatMap((f) =>
      f.plan.steps.flatMap((step) => {
        const foreign = foreignAccounts(account, f.resourceArn, step.parameters);
        return foreign.length ? [`${step.operation} names account ${foreign.join(', ')}`] : [];
      }),
    );
    if (refusedSteps.length)
      return {
        status: 'failed',
        steps: [],
        error:
          `refused: the event is from account ${account}, but ${refusedSteps.join('; ')}; nothing was applied`.slice(
            0,
            1000,
          ),
      };
  }
  const state = new ApplyState(clients, region, fresh);
  const steps: AppliedStep[] = [];
  for (const finding of findings) {
    const done: Done[] = [];
    for (const step of finding.plan.steps) {
      const exec = EXECUTORS[actionKeyOf(step)];
      const record: AppliedStep = {
        ruleId: finding.ruleId,
        resourceArn: finding.resourceArn,
        service: step.service,
        operation: step.operation,
        parameters: step.parameters,
        status: 'failed',
        before: before(step, state),
      };
      let params: Record<string, unknown> | undefined;
      let applied = false;
      try {
        if (!exec) throw new Error(`no executor for ${actionKeyOf(step)}`);
        params = (await resolve(step.parameters, state)) as Record<string, unknown>;
        let response: Record<string, unknown>;
        try {
          response = await exec(clients, region, params);
        } catch (err) {
          // An update that may have landed although the call failed: read the function to find out.
          if (
            step.operation !== 'UpdateFunctionConfiguration' ||
            refused(err) ||
            !(await updateLanded(state, params))
          )
            throw err;
          response = {};
        }
        applied = true;
        if (step.operation === 'CreateSecret' && typeof response['ARN'] === 'string')
          state.secretArns.set(String(params['Name']), response['ARN']);
        if (step.operation === 'UpdateFunctionConfiguration') {
          const sentEnv = (params['Environment'] as { Variables?: Record<string, string> } | undefined)
            ?.Variables;
          if (sentEnv) state.env = { ...sentEnv };
          Object.assign(response, await waitUntilUpdated(state, String(params['FunctionName']), opts));
        }
        record.status = 'applied';
        record.after = after(step, params, response, state);
        if (step.operation === 'RemovePermission') state.policies.removed(step.parameters);
        if (step.operation === 'RemoveLayerVersionPermission')
          state.layerRemoved(step.parameters['StatementId']);
        if (step.operation === 'AddPermission' && record.after)
          state.policies.added(step.parameters, record.after as Statement);
      } catch (err) {
        const text = errorText(err, step, state);
        if (applied) {
          // Lambda took the update but did not apply it in time (or failed): the new configuration is
          // what the function has now, so the step stays applied (with its inverse) and is not undone.
          record.status = 'applied';
          record.after = params ? after(step, params, {}, state) : null;
        }
        record.error = text;
        if (step.inverse) record.inverse = inverseOf(step, state);
        steps.push(record);
        if (applied) done.push({ record, ...(record.inverse ? { inverse: record.inverse } : {}) });
        const undo =
          finding.plan.atomic && !applied && done.length ? await undoSteps(done, state) : undefined;
        const nothingWritten = !steps.some((s) => s.status === 'applied');
        if (nothingWritten && !undo && RETRYABLE.has(errorName(err))) {
          throw Object.assign(new Error(state.scrub((err as Error).message ?? '')), { name: errorName(err) });
        }
        // Someone else's update in progress is a change to the function too.
        const drift =
          DRIFT.has(errorName(err)) ||
          err instanceof PolicyDriftError ||
          (finding.plan.atomic === true && errorName(err) === 'ResourceConflictException');
        const undoFailed = undo?.filter((u) => u.status !== 'applied') ?? [];
        const error = undoFailed.length
          ? `${text}; undo incomplete: ${undoFailed.map((u) => `${u.operation} ${u.error}`).join('; ')}`.slice(
              0,
              1000,
            )
          : text;
        return {
          status: drift && nothingWritten ? 'resource-changed' : 'failed',
          steps,
          ...(drift ? { drift: [text] } : {}),
          error,
          ...(undo ? { undo } : {}),
        };
      }
      if (step.inverse) record.inverse = inverseOf(step, state);
      steps.push(record);
      done.push({ record, ...(record.inverse ? { inverse: record.inverse } : {}) });
    }
  }
  return { status: steps.length ? 'applied' : 'nothing-to-do', steps };
}

/** The inverse as recorded: ARNs this plan learnt filled in, every other reference kept. */
function inverseOf(step: PlanStep, state: ApplyState): AppliedStep['inverse'] {
  const inv = step.inverse!;
  return {
    service: inv.service,
    operation: inv.operation,
    parameters: withSecretArns(inv.parameters, state) as Record<string, unknown>,
  };
}
