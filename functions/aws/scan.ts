import { randomBytes } from 'node:crypto';
import { LambdaClient, paginateListFunctions } from '@aws-sdk/client-lambda';
import { DEFAULT_CONFIG, type GuardrailConfig } from '../core/config.ts';
import { evaluate, ruleEnabled } from '../core/evaluate.ts';
import { redactSnapshot } from '../core/redact.ts';
import { buildScanReport, type ReportError, type ScanReport, type ScanUnit } from '../core/report/model.ts';
import { RULES } from '../core/rules/index.ts';
import { lambdaTracing } from '../core/rules/lambda-tracing.ts';
import { syntheticEvent } from '../core/sweep.ts';
import type { Rule, Snapshot } from '../core/types.ts';
import { type AwsClients, errorName, isNotFound } from './clients.ts';
import { collectFunction, type FunctionTarget } from './collect.ts';
import { collectLayer, type LayerTarget, type LayerVersionRef, listLayerVersions } from './collect-layer.ts';
import { callerAccount } from './identity.ts';
import { createLimiter } from './limit.ts';

/**
 * `guardrail scan` and the sweep's report: enumerate every function of the regions asked, read each
 * one with the workflow's own collector (functions/aws/collect.ts), evaluate it with the workflow's
 * own engine, and build the report model.
 *
 * Dry-run by construction: this module imports no writer (functions/aws/execute.ts is never loaded;
 * a test checks the import graph), only calls List/Get/Describe operations, and evaluates with the
 * global mode forced to `report`. The configured modes are still shown, as what enforcement *would*
 * do with each finding.
 */

export interface FunctionRef {
  name: string;
  arn: string;
  region: string;
  roleArn?: string;
}

export type FunctionCollector = (clients: AwsClients, target: FunctionTarget) => Promise<Snapshot>;
/** Reads an execution role into a snapshot (`GetRole`, `GetRolePolicy:<name>`, ...; issue 3). */
export type RoleCollector = (
  clients: AwsClients,
  target: { account: string; region: string; roleArn: string },
) => Promise<Snapshot>;

export interface ScanCollectors {
  function: FunctionCollector;
  /**
   * When set and a rule of the scan looks at roles, every distinct execution role of the listed
   * functions is read once (however many functions share it) and evaluated as its own resource.
   */
  role?: RoleCollector;
  /**
   * When set and a rule of the scan looks at layers, every version of every layer of the regions
   * (ListLayers, ListLayerVersions) is read and evaluated as its own resource.
   */
  layer?: LayerCollector;
}

/** Reads a layer version into a snapshot (`GetLayerVersion`, `GetLayerVersionPolicy`). */
export type LayerCollector = (clients: AwsClients, target: LayerTarget) => Promise<Snapshot>;

export const DEFAULT_COLLECTORS: ScanCollectors = { function: collectFunction, layer: collectLayer };

export interface ScanProgress {
  phase: 'listing' | 'reading' | 'done';
  /** Resources to read (functions, plus roles when role rules run). */
  total: number;
  done: number;
  errors: number;
  findings: number;
  startedAtMs: number;
}

export interface ScanOptions {
  clients: AwsClients;
  regions: readonly string[];
  /** The account; when absent, sts:GetCallerIdentity in the first region. */
  account?: string;
  /** The rules to evaluate (default: every rule). */
  rules?: readonly Rule[];
  /** The configuration enforcement would use; the scan itself always evaluates in report mode. */
  config?: GuardrailConfig;
  /** Reads in flight at once (default 8). */
  concurrency?: number;
  origin?: 'scan' | 'sweep';
  collectors?: ScanCollectors;
  now: () => string;
  onProgress?: (p: ScanProgress) => void;
  /** Milliseconds clock for progress rates (default Date.now). */
  clock?: () => number;
  /**
   * Key of the fingerprints that secret markers carry (core/redact.ts). Default: 32 random bytes per
   * scan, so detection works and fingerprints are comparable within one report only.
   */
  fingerprintKey?: Uint8Array | string;
}

export const DEFAULT_CONCURRENCY = 8;

/**
 * SDK client options for scans and sweeps: the adaptive retry mode adds client-side rate limiting on
 * top of retries, so a throttled account slows the scan down instead of failing reads.
 */
export const SCAN_CLIENT_OPTIONS = { retryMode: 'adaptive', maxAttempts: 6 } as const;

/**
 * The snapshot a rule sees: exactly what the workflow's Collect task hands to Evaluate (environment
 * values replaced by `[redacted]` or, for secrets, by a marker with a keyed fingerprint).
 */
export const prepareSnapshot = (raw: Snapshot, fingerprintKey: Uint8Array | string): Snapshot =>
  redactSnapshot(raw, fingerprintKey);

/** Every function of a region (every page of ListFunctions; AWS returns at most 50 per page). */
export async function listFunctions(clients: AwsClients, region: string): Promise<FunctionRef[]> {
  const lambda = clients.get(LambdaClient, region);
  const out: FunctionRef[] = [];
  for await (const page of paginateListFunctions({ client: lambda, pageSize: 50 }, {})) {
    for (const f of page.Functions ?? []) {
      if (!f.FunctionName || !f.FunctionArn) continue;
      // Only the identity is kept: ListFunctions also returns environment values, which stay here.
      out.push({ name: f.FunctionName, arn: f.FunctionArn, region, ...(f.Role ? { roleArn: f.Role } : {}) });
    }
  }
  return out;
}

/**
 * True for errors from AWS or the network (a read that failed); false for bugs in our own code, which
 * must surface as internal errors instead of being reported as "unreadable".
 */
export function isReadFailure(err: unknown): boolean {
  const e = err as { $metadata?: unknown; $fault?: unknown; code?: unknown; name?: unknown };
  if (!e || typeof e !== 'object') return false;
  if (e.$metadata || e.$fault) return true;
  if (typeof e.code === 'string' && /^(E[A-Z]+|UND_ERR_\w+)$/.test(e.code)) return true;
  return ['TimeoutError', 'NetworkingError', 'RequestTimeout', 'AbortError'].includes(String(e.name));
}

const firstLine = (err: unknown) =>
  String((err as Error)?.message ?? err)
    .split('\n')[0]
    .slice(0, 300);
const readError = (err: unknown) => ({ error: errorName(err), message: firstLine(err) });

const roleNameOf = (arn: string) => arn.split('/').pop() ?? arn;

export async function scanAccount(opts: ScanOptions): Promise<ScanReport> {
  const { clients, regions } = opts;
  if (!regions.length) throw new RangeError('scan needs at least one region');
  const clock = opts.clock ?? Date.now;
  const startedAtMs = clock();
  const startedAt = opts.now();
  const rules = opts.rules ?? RULES;
  const config = opts.config ?? DEFAULT_CONFIG;
  // Dry run: whatever the configuration says, every finding is evaluated in report mode.
  const reportConfig: GuardrailConfig = { ...config, mode: 'report' };
  const collectors = opts.collectors ?? DEFAULT_COLLECTORS;
  const origin = opts.origin ?? 'scan';
  const account = opts.account ?? (await callerAccount(clients, regions[0]));
  const fingerprintKey = opts.fingerprintKey ?? randomBytes(32);
  const tracingPlan = rules.some((r) => r.id === lambdaTracing.id) && ruleEnabled(lambdaTracing, config);

  const progress: ScanProgress = { phase: 'listing', total: 0, done: 0, errors: 0, findings: 0, startedAtMs };
  const report = (phase: ScanProgress['phase']) => opts.onProgress?.({ ...progress, phase });
  report('listing');

  const errors: ReportError[] = [];
  const listedByRegion = await Promise.all(
    regions.map(async (region) => {
      try {
        return await listFunctions(clients, region);
      } catch (err) {
        if (!isReadFailure(err)) throw err;
        errors.push({ scope: 'region', region, ...readError(err) });
        progress.errors++;
        return [];
      }
    }),
  );
  const functions = listedByRegion.flat();
  const roleRules = rules.some((r) => r.resource === 'role');
  const roleArns =
    collectors.role && roleRules
      ? [...new Set(functions.flatMap((f) => (f.roleArn ? [f.roleArn] : [])))]
      : [];
  const layerCollector = collectors.layer;
  const layers =
    layerCollector && rules.some((r) => r.resource === 'layer')
      ? (
          await Promise.all(
            regions.map(async (region) => {
              try {
                return await listLayerVersions(clients, region);
              } catch (err) {
                if (!isReadFailure(err)) throw err;
                errors.push({ scope: 'region', region, ...readError(err) });
                progress.errors++;
                return [];
              }
            }),
          )
        ).flat()
      : [];
  progress.total = functions.length + roleArns.length + layers.length;
  report('reading');

  const limiter = createLimiter(opts.concurrency ?? DEFAULT_CONCURRENCY);
  const finish = (unit: ScanUnit): ScanUnit => {
    progress.done++;
    if (unit.error) progress.errors++;
    progress.findings += unit.evaluation?.findings.filter((f) => !f.exempt).length ?? 0;
    report('reading');
    return unit;
  };

  const evaluateUnit = (
    snapshot: Snapshot,
    region: string,
    resources: Parameters<typeof syntheticEvent>[0]['resources'],
    id: string,
  ) =>
    evaluate({
      snapshot: prepareSnapshot(snapshot, fingerprintKey),
      config: reportConfig,
      now: startedAt,
      rules,
      event: syntheticEvent({ origin, id, account, region, time: startedAt, resources }),
    });

  const functionUnit = (fn: FunctionRef) =>
    limiter.run(async (): Promise<ScanUnit> => {
      const base = {
        kind: 'function' as const,
        arn: fn.arn,
        name: fn.name,
        region: fn.region,
        ...(fn.roleArn ? { roleArn: fn.roleArn } : {}),
      };
      try {
        const raw = await collectors.function(clients, {
          account,
          region: fn.region,
          functionName: fn.name,
          // LAMBDA.TRACING's plan reads the execution role's attached policies: only when that rule runs.
          ...(tracingPlan ? { attachedRolePolicies: true } : {}),
        });
        if (raw.responses['GetFunctionConfiguration'] === null) return finish({ ...base, deleted: true });
        const evaluation = evaluateUnit(
          raw,
          fn.region,
          { functionName: fn.name, functionArn: fn.arn },
          `${origin}-${fn.arn}`,
        );
        return finish({ ...base, evaluation });
      } catch (err) {
        if (!isReadFailure(err)) throw err;
        // Gone between listing and reading (e.g. ListTags after deletion): deleted, not unreadable.
        if (isNotFound(err)) return finish({ ...base, deleted: true });
        return finish({ ...base, error: readError(err) });
      }
    });

  const roleCollector = collectors.role;
  const roleUnit = (roleArn: string) =>
    limiter.run(async (): Promise<ScanUnit> => {
      // IAM is global: a role is read once, in the first region of the scan.
      const region = regions[0];
      const base = { kind: 'role' as const, arn: roleArn, name: roleNameOf(roleArn), region };
      try {
        const raw = await roleCollector!(clients, { account, region, roleArn });
        if (raw.responses['GetRole'] === null) return finish({ ...base, deleted: true });
        const evaluation = evaluateUnit(
          raw,
          region,
          { roleName: base.name, roleArn },
          `${origin}-${roleArn}`,
        );
        return finish({ ...base, evaluation });
      } catch (err) {
        if (!isReadFailure(err)) throw err;
        if (isNotFound(err)) return finish({ ...base, deleted: true });
        return finish({ ...base, error: readError(err) });
      }
    });

  const layerUnit = (layer: LayerVersionRef) =>
    limiter.run(async (): Promise<ScanUnit> => {
      const base = { kind: 'layer' as const, arn: layer.arn, name: layer.name, region: layer.region };
      try {
        const raw = await layerCollector!(clients, {
          account,
          region: layer.region,
          layerVersionArn: layer.arn,
        });
        if (raw.responses['GetLayerVersion'] === null) return finish({ ...base, deleted: true });
        const evaluation = evaluateUnit(raw, layer.region, { layerArn: layer.arn }, `${origin}-${layer.arn}`);
        return finish({ ...base, evaluation });
      } catch (err) {
        if (!isReadFailure(err)) throw err;
        if (isNotFound(err)) return finish({ ...base, deleted: true });
        return finish({ ...base, error: readError(err) });
      }
    });

  const units = await Promise.all([
    ...functions.map(functionUnit),
    ...roleArns.map(roleUnit),
    ...layers.map(layerUnit),
  ]);
  const finishedAt = opts.now();
  report('done');
  return buildScanReport({
    origin,
    account,
    regions,
    startedAt,
    finishedAt,
    rules,
    config,
    units,
    errors,
  });
}
