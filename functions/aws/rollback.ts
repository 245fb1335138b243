import type { LedgerRecord } from '../core/ledger.ts';
import type { Remediation } from '../core/outcome.ts';
import { RollbackError, type RollbackPlan, rollbackDrift, rollbackPlan } from '../core/rollback.ts';
import { parseLayerVersionArn } from '../core/rules/lambda-layer-public.ts';
import type { Finding } from '../core/types.ts';
import type { AwsClients } from './clients.ts';
import { collectFunction } from './collect.ts';
import { collectLayer } from './collect-layer.ts';
import { collectRole } from './collect-role.ts';
import { applyPlan } from './execute.ts';

export interface RollbackResult {
  status: 'planned' | 'rolled-back' | 'refused' | 'failed';
  plan: RollbackPlan;
  drift?: string[];
  result?: Remediation;
}

/** Re-reads the function, refuses if it changed since the remediation, then applies the inverse steps. */
export async function rollback(
  clients: AwsClients,
  record: LedgerRecord,
  opts: { dryRun?: boolean } = {},
): Promise<RollbackResult> {
  const plan = rollbackPlan(record);
  // An execution role (IAM.ROLE rules): re-read the role (no evidence), refuse on drift, apply.
  const roleArn = record.target?.kind === 'role' ? record.target.arn : undefined;
  if (roleArn) {
    const region = record.event?.region ?? 'us-east-1';
    const account = roleArn.split(':')[4] ?? '';
    const fresh = await collectRole(clients, { account, region, roleArn }, { evidence: false });
    const drift = rollbackDrift(record, fresh);
    if (drift.length) return { status: 'refused', plan, drift };
    if (opts.dryRun) return { status: 'planned', plan };
    const result = await applyPlan(clients, region, plan.findings as Finding[], fresh);
    return { status: result.status === 'applied' ? 'rolled-back' : 'failed', plan, result };
  }
  // A layer version (LAMBDA.LAYER.PUBLIC): re-read it, refuse if a removed statement exists again.
  const layer = record.target?.kind === 'layer' ? parseLayerVersionArn(record.target.arn) : undefined;
  if (layer) {
    const fresh = await collectLayer(clients, {
      account: layer.account,
      region: layer.region,
      layerVersionArn: record.target!.arn,
    });
    const drift = rollbackDrift(record, fresh);
    if (drift.length) return { status: 'refused', plan, drift };
    if (opts.dryRun) return { status: 'planned', plan };
    const result = await applyPlan(clients, layer.region, plan.findings as Finding[], fresh);
    return { status: result.status === 'applied' ? 'rolled-back' : 'failed', plan, result };
  }
  const arn = record.target?.arn ?? record.event?.resources.functionArn;
  const m = arn ? /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([^:]+)/.exec(arn) : null;
  if (!m || !plan.functionName)
    throw new RollbackError(`ledger record ${record.executionName} names no function`);
  const [, region, account, functionName] = m;
  const fresh = await collectFunction(clients, { account, region, functionName });
  const drift = rollbackDrift(record, fresh);
  if (drift.length) return { status: 'refused', plan, drift };
  if (opts.dryRun) return { status: 'planned', plan };
  const result = await applyPlan(clients, region, plan.findings as Finding[], fresh);
  return { status: result.status === 'applied' ? 'rolled-back' : 'failed', plan, result };
}
