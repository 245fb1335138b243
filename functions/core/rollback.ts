import type { LedgerRecord } from './ledger.ts';
import type { AppliedStep } from './outcome.ts';
import { canonicalJson } from './plan.ts';
import { layerPolicyOf } from './rules/lambda-layer-public.ts';
import { functionConfiguration, functionUrlConfigs, policyFor } from './snapshot.ts';
import type { Finding, PlanStep, Snapshot } from './types.ts';

/**
 * Rollback: the inverse of every step a remediation applied, newest first. Pure: the ledger record
 * says what was done; a fresh snapshot says whether the resource is still as the remediation left it.
 */

export interface RollbackPlan {
  executionName: string;
  functionName?: string;
  /** Pseudo-findings (one per undone step) so the same executor applies them. */
  findings: Pick<Finding, 'ruleId' | 'resourceArn' | 'plan'>[];
  /** Steps that have no inverse: rollback cannot undo them and says so. */
  irreversible: string[];
}

export class RollbackError extends Error {
  override name = 'RollbackError';
}

export function rollbackPlan(record: LedgerRecord): RollbackPlan {
  const applied = (record.remediation?.steps ?? []).filter((s) => s.status === 'applied');
  if (!applied.length) {
    throw new RollbackError(
      `execution ${record.executionName} applied no steps (outcome ${record.outcome}); there is nothing to roll back`,
    );
  }
  const findings: RollbackPlan['findings'] = [];
  const irreversible: string[] = [];
  for (const s of [...applied].reverse()) {
    if (!s.inverse) {
      irreversible.push(`${s.service}:${s.operation} ${JSON.stringify(s.parameters)}`);
      continue;
    }
    const step: PlanStep = {
      ...s.inverse,
      reason: `roll back ${s.operation} of execution ${record.executionName}`,
    };
    const steps = [step];
    // A new default policy version: after the old default is restored, the version the remediation
    // created is deleted too (its id is known only from the apply), so the policy keeps its versions.
    const created = (s.after as { VersionId?: unknown } | null | undefined)?.VersionId;
    if (
      s.operation === 'CreatePolicyVersion' &&
      s.parameters['SetAsDefault'] === true &&
      typeof created === 'string'
    ) {
      steps.push({
        service: 'iam',
        operation: 'DeletePolicyVersion',
        parameters: { PolicyArn: s.parameters['PolicyArn'], VersionId: created },
        reason: `roll back CreatePolicyVersion of execution ${record.executionName}: delete the version it created, ${created}`,
      });
    }
    findings.push({
      ruleId: s.ruleId,
      resourceArn: s.resourceArn,
      plan: { steps, preconditions: [] },
    });
  }
  const functionName = applied.map((s) => s.parameters['FunctionName']).find((n) => typeof n === 'string') as
    | string
    | undefined;
  return {
    executionName: record.executionName,
    ...(functionName ? { functionName } : {}),
    findings,
    irreversible,
  };
}

/**
 * Why rollback must not run: each undone step's target must still be exactly as the remediation
 * left it (a URL still AWS_IAM with the same CORS; a removed statement still absent). Returns one
 * line per difference; empty means safe.
 */
export function rollbackDrift(record: LedgerRecord, fresh: Snapshot): string[] {
  const out: string[] = [];
  const applied = (record.remediation?.steps ?? []).filter((x) => x.status === 'applied');
  // Where one plan updated the same URL twice (LAMBDA.URL.PUBLIC, then LAMBDA.URL.CORS), only the
  // last update says how the remediation left it.
  const lastUrlUpdate = new Map<string, (typeof applied)[number]>();
  for (const s of applied) {
    if (s.operation === 'UpdateFunctionUrlConfig')
      lastUrlUpdate.set(String(s.parameters['Qualifier'] ?? ''), s);
  }
  for (const s of applied) {
    const qualifier = s.parameters['Qualifier'] as string | undefined;
    const where = qualifier ? `alias ${qualifier}` : '$LATEST';
    if (s.operation === 'UpdateFunctionUrlConfig') {
      if (lastUrlUpdate.get(qualifier ?? '') !== s) continue;
      const url = functionUrlConfigs(fresh).find((u) => u.qualifier === qualifier);
      const now = url
        ? { AuthType: url.AuthType, Cors: url.Cors ?? null, InvokeMode: url.InvokeMode ?? null }
        : null;
      if (canonicalJson(now) !== canonicalJson(s.after ?? null)) {
        out.push(`the function URL of ${where} changed since the remediation: now ${JSON.stringify(now)}`);
      }
    } else if (s.operation === 'RemovePermission') {
      const sid = s.parameters['StatementId'];
      if (policyFor(fresh, qualifier)?.document.Statement.some((st) => st.Sid === sid)) {
        out.push(`statement ${String(sid)} of ${where} exists again; restoring it would conflict`);
      }
    } else if (s.operation === 'AddPermission') {
      const sid = s.parameters['StatementId'];
      const st = policyFor(fresh, qualifier)?.document.Statement.find((x) => x.Sid === sid);
      if (canonicalJson(st ?? null) !== canonicalJson(s.after ?? null)) {
        out.push(`statement ${String(sid)} of ${where} changed since the remediation`);
      }
    } else if (s.operation === 'UpdateFunctionConfiguration') {
      out.push(...environmentDrift(s, fresh));
    } else if (s.operation === 'PutDataProtectionPolicy') {
      // LAMBDA.LOGS.UNMASKED: the log group must still have the policy the remediation put (when read).
      const now = fresh.responses['GetDataProtectionPolicy'] as
        | { policyDocument?: string }
        | null
        | undefined;
      const wrote = canonicalJson(JSON.parse(String(s.parameters['policyDocument'])));
      const group = String(s.parameters['logGroupIdentifier']);
      if (now === null) out.push(`the log group ${group} no longer exists`);
      else if (
        now !== undefined &&
        canonicalJson(now.policyDocument ? JSON.parse(now.policyDocument) : null) !== wrote
      )
        out.push(`the data protection policy of ${group} changed since the remediation`);
    } else if (s.operation === 'RemoveLayerVersionPermission') {
      const sid = s.parameters['StatementId'];
      const layer = `${String(s.parameters['LayerName'])}:${String(s.parameters['VersionNumber'])}`;
      if (fresh.responses['GetLayerVersion'] === null) out.push(`layer version ${layer} no longer exists`);
      else if (layerPolicyOf(fresh)?.statements.some((st) => st.Sid === sid))
        out.push(
          `statement ${String(sid)} of layer version ${layer} exists again; restoring it would conflict`,
        );
    } else if (s.service === 'iam' && fresh.responses['GetRole'] !== undefined) {
      out.push(...roleDrift(s, fresh));
    }
  }
  return out;
}

/** A URL-encoded IAM document as JSON (undefined when absent or unreadable). */
function iamJson(doc: unknown): unknown {
  if (typeof doc !== 'string') return undefined;
  try {
    return JSON.parse(decodeURIComponent(doc));
  } catch {
    return undefined;
  }
}

/**
 * Execution-role steps (docs/iam-roles.md, "Rollback"): rollback restores the originals only while the
 * role is as the remediation left it: each rewritten inline policy still holds the written document,
 * each rewritten managed policy still has the created version as its default, each detached policy is
 * still detached.
 */
function roleDrift(s: AppliedStep, fresh: Snapshot): string[] {
  const r = fresh.responses;
  const p = s.parameters;
  if (!r['GetRole']) return [`the role ${String(p['RoleName'] ?? '')} no longer exists`.trim()];
  switch (s.operation) {
    case 'PutRolePolicy': {
      const name = String(p['PolicyName']);
      const now = iamJson((r[`GetRolePolicy:${name}`] as { PolicyDocument?: string } | null)?.PolicyDocument);
      const written = (s.after as { PolicyDocument?: unknown } | null)?.PolicyDocument;
      return canonicalJson(now ?? null) === canonicalJson(written ?? null)
        ? []
        : [`inline policy ${name} changed since the remediation wrote it`];
    }
    case 'CreatePolicyVersion': {
      if (p['SetAsDefault'] !== true) return [];
      const arn = String(p['PolicyArn']);
      const now = (r[`GetPolicyVersion:${arn}`] as { PolicyVersion?: { VersionId?: string } } | null)
        ?.PolicyVersion?.VersionId;
      const created = (s.after as { VersionId?: string } | null)?.VersionId;
      return now === created
        ? []
        : [
            `the default version of ${arn} is ${now ?? 'unknown'} now, not ${created ?? 'the one the remediation created'}`,
          ];
    }
    case 'DetachRolePolicy': {
      const arn = String(p['PolicyArn']);
      const attached = (
        (r['ListAttachedRolePolicies'] as { AttachedPolicies?: { PolicyArn?: string }[] } | null)
          ?.AttachedPolicies ?? []
      ).some((a) => a.PolicyArn === arn);
      return attached ? [`${arn} is attached again since the remediation`] : [];
    }
    default:
      return [];
  }
}

/**
 * A moved secret can only be put back while the function still reads it: each `<NAME>_SECRET_ARN`
 * the remediation added still holds that ARN, and no `<NAME>` was set again (restoring would overwrite
 * it). The layers, when the remediation changed them, are still as it left them. Compares values in
 * memory; the lines hold names and ARNs only.
 */
function environmentDrift(s: AppliedStep, fresh: Snapshot): string[] {
  const out: string[] = [];
  const cfg = functionConfiguration(fresh);
  const fn = String(s.parameters['FunctionName'] ?? cfg?.FunctionName ?? 'the function');
  if (!cfg) return [`${fn} no longer exists`];
  const env = (cfg.Environment?.Variables ?? {}) as Record<string, string>;
  const after = (s.after ?? {}) as { SecretArnVariables?: Record<string, string>; Layers?: string[] };
  const edit = (
    s.parameters['Environment'] as { Variables?: { fromEnvironmentWith?: { remove?: string[] } } }
  )?.Variables?.fromEnvironmentWith;
  for (const [name, arn] of Object.entries(after.SecretArnVariables ?? {})) {
    if (env[name] !== arn)
      out.push(`${name} of ${fn} no longer holds ${arn}; the function reads another value now`);
  }
  for (const name of edit?.remove ?? []) {
    if (name in env) out.push(`${name} of ${fn} is set again; restoring it would overwrite that value`);
  }
  if (after.Layers) {
    const layers = ((cfg.Layers as { Arn: string }[] | undefined) ?? []).map((l) => l.Arn);
    if (canonicalJson(layers) !== canonicalJson(after.Layers))
      out.push(`the layers of ${fn} changed since the remediation`);
  }
  // LAMBDA.TRACING: the mode the remediation set must still be the function's.
  const tracing = (s.parameters['TracingConfig'] as { Mode?: string } | undefined)?.Mode;
  const tracingNow = (cfg['TracingConfig'] as { Mode?: string } | undefined)?.Mode ?? 'PassThrough';
  if (tracing && tracingNow !== tracing)
    out.push(`the tracing mode of ${fn} changed since the remediation (now ${tracingNow})`);
  return out;
}
