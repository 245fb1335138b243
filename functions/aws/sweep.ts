import type { GuardrailConfig } from '../core/config.ts';
import { accountDecision, orgEnabled } from '../core/org.ts';
import { type DigestMessage, diffReports, digestMessage, type ReportDigest } from '../core/report/digest.ts';
import { renderHtml } from '../core/report/html.ts';
import type { ScanReport } from '../core/report/model.ts';
import { RULES } from '../core/rules/index.ts';
import { minuteOf, minuteStamp, sweepExecutionName, syntheticEvent } from '../core/sweep.ts';
import type { Actor, NormalizedEvent, ResourceRefs, Rule } from '../core/types.ts';
import type { AwsClients } from './clients.ts';
import { sendEmail } from './email.ts';
import { mapLimit } from './limit.ts';
import { LATEST_KEY, putObject, readLatestReport, reportKeys } from './report-store.ts';
import { DEFAULT_CONCURRENCY, isReadFailure, scanAccount } from './scan.ts';
import { DEFAULT_ACCOUNT_CONCURRENCY, listOrganizationAccounts, scanOrganization } from './scan-org.ts';
import { startExecution } from './start.ts';

/**
 * The scheduled sweep (CloudTrail -> EventBridge delivery is best effort; the sweep catches what it
 * missed):
 * 1. scan the home region with the scan code path, in report mode (reads only); in organization mode,
 *    every member account (`scan --org`'s code path: Organizations ListAccounts or
 *    `organization.accounts.allow`, minus `organization.accounts.deny`, each through the member
 *    collector role; an account that cannot be entered is an error of the report, not of the sweep);
 * 2. store the report (HTML + JSON) in the reports bucket, and keep it as `latest.json`;
 * 3. start one workflow execution per function (and per execution role once role rules exist, and per
 *    layer version with a live finding enforcement acts on) with a synthesized event
 *    (`origin: 'sweep'`, the resource's own account and region), named `sweep-<minute>-<hash>`: each
 *    finding is then handled in its configured mode by the same state machine as an event-driven run
 *    (in organization mode through the member roles of the event's account);
 * 4. email a digest of new and resolved findings (compared with the previous report) to the
 *    approvers, from the approval sender, when anything changed.
 */

export interface SweepDeps {
  clients: AwsClients;
  config: GuardrailConfig;
  /** The home region: the one the sweep scans and where the state machine and bucket live. */
  region: string;
  account: string;
  stateMachineArn: string;
  reportBucket: string;
  now: () => string;
  rules?: readonly Rule[];
  concurrency?: number;
  /** Who the synthesized events name as actor (the sweep function's role). */
  actor?: Actor;
  /** The key of secret-marker fingerprints (the deployment's, so they match Collect's); default random. */
  fingerprintKey?: () => Promise<Uint8Array | string>;
  /** Organization mode: member accounts scanned at once (default 4). */
  accountConcurrency?: number;
  /** Starts one execution; defaults to Step Functions StartExecution (the local runtime runs the ASL). */
  start?: (event: NormalizedEvent) => Promise<{ started: boolean; executionName: string }>;
}

export interface SweepResult {
  time: string;
  reportKeys: { json: string; html: string };
  summary: ScanReport['summary'];
  /** The accounts the report covers (one in single-account mode) and those that could not be entered. */
  accounts: { scanned: string[]; unreachable: string[] };
  executions: { started: number; alreadyStarted: number; failed: { name: string; error: string }[] };
  digest: { new: number; resolved: number; emailed: number };
}

/** One execution the sweep starts: the resource, and the account and region its event names. */
export interface SweepTarget {
  account: string;
  region: string;
  arn: string;
  resources: ResourceRefs;
}

/** A layer version gets an execution only for a live finding that enforcement would act on. */
const actionableLayer = (r: ScanReport['resources'][number]) =>
  r.kind === 'layer' &&
  r.status === 'non-compliant' &&
  r.findings.some((f) => !f.exempt && f.enforcementMode !== 'report');

export function sweepTargets(report: ScanReport, rules: readonly Rule[]): SweepTarget[] {
  const functions = report.resources
    .filter((r) => r.kind === 'function' && r.status !== 'deleted')
    .map((r) => ({
      account: r.account,
      region: r.region,
      arn: r.arn,
      resources: { functionName: r.name, functionArn: r.arn },
    }));
  // Role rules are evaluated on roles: one execution per distinct execution role, once such rules exist.
  const roles = new Map<string, SweepTarget>();
  if (rules.some((r) => r.resource === 'role'))
    for (const r of report.resources)
      if (r.kind === 'function' && r.roleArn && !roles.has(r.roleArn))
        roles.set(r.roleArn, {
          account: r.account,
          region: r.region,
          arn: r.roleArn,
          resources: { roleArn: r.roleArn, roleName: r.roleArn.split('/').pop() ?? r.roleArn },
        });
  // Layer versions are many and mostly compliant: only those with something to fix, approve or
  // record get an execution (collectRaw reads a layer target from `resources.layerArn`).
  const layers = report.resources.filter(actionableLayer).map((r) => ({
    account: r.account,
    region: r.region,
    arn: r.arn,
    resources: { layerArn: r.arn },
  }));
  return [...functions, ...roles.values(), ...layers];
}

export function sweepEvents(
  report: ScanReport,
  deps: Pick<SweepDeps, 'actor' | 'rules'>,
  time: string,
): NormalizedEvent[] {
  return sweepTargets(report, deps.rules ?? RULES).map((t) =>
    syntheticEvent({
      origin: 'sweep',
      id: sweepExecutionName(time, t.arn),
      account: t.account,
      region: t.region,
      time,
      resources: t.resources,
      ...(deps.actor ? { actor: deps.actor } : {}),
    }),
  );
}

/**
 * Organization mode: the accounts the sweep scans. `organization.accounts.allow` when set (no
 * Organizations call), else every ACTIVE account of ListAccounts; `deny` is always removed, so the
 * sweep never reads an account whose events the guardrail would reject.
 */
export async function sweepAccounts(deps: Pick<SweepDeps, 'clients' | 'config'>): Promise<string[]> {
  const org = deps.config.organization;
  const listed = org.accounts.allow.length
    ? org.accounts.allow
    : await listOrganizationAccounts(deps.clients);
  return [...new Set(listed)].filter((a) => accountDecision(org, a).allowed).sort();
}

async function sweepScan(deps: SweepDeps, rules: readonly Rule[], time: string): Promise<ScanReport> {
  const common = {
    regions: [deps.region],
    rules,
    config: deps.config,
    origin: 'sweep' as const,
    concurrency: deps.concurrency ?? DEFAULT_CONCURRENCY,
    now: deps.now,
    ...(deps.fingerprintKey ? { fingerprintKey: await deps.fingerprintKey() } : {}),
  };
  if (!orgEnabled(deps.config))
    return scanAccount({ ...common, clients: deps.clients, account: deps.account });
  const org = deps.config.organization;
  return scanOrganization({
    ...common,
    clients: deps.clients,
    accounts: await sweepAccounts(deps),
    roleName: org.memberRoleNames.collector,
    ...(org.externalId ? { externalId: org.externalId } : {}),
    accountConcurrency: deps.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY,
    // The member's CloudTrail shows which sweep run read it.
    sessionName: `guardrail-sweep-${minuteStamp(time)}`,
  });
}

export async function runSweep(
  deps: SweepDeps,
  input: { scheduledTime?: string } = {},
): Promise<SweepResult> {
  // The scheduled time (to the minute) names the executions: a retried invocation reuses the names.
  const time = minuteOf(input.scheduledTime ?? deps.now());
  const rules = deps.rules ?? RULES;
  const report = await sweepScan(deps, rules, time);

  const previous = await readLatestReport(deps.clients, deps.region, deps.reportBucket);
  const keys = reportKeys(report.finishedAt);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await putObject(deps.clients, deps.region, deps.reportBucket, keys.json, json, 'application/json');
  await putObject(
    deps.clients,
    deps.region,
    deps.reportBucket,
    keys.html,
    renderHtml(report),
    'text/html; charset=utf-8',
  );
  await putObject(deps.clients, deps.region, deps.reportBucket, LATEST_KEY, json, 'application/json');

  const start =
    deps.start ?? ((event: NormalizedEvent) => startExecution(deps.clients, deps.stateMachineArn, event));
  const executions: SweepResult['executions'] = { started: 0, alreadyStarted: 0, failed: [] };
  await mapLimit(
    sweepEvents(report, { ...deps, rules }, time),
    deps.concurrency ?? DEFAULT_CONCURRENCY,
    async (event) => {
      try {
        const r = await start(event);
        if (r.started) executions.started++;
        else executions.alreadyStarted++;
      } catch (err) {
        if (!isReadFailure(err)) throw err;
        executions.failed.push({
          name: event.eventId,
          error: `${(err as Error).name}: ${(err as Error).message}`.slice(0, 300),
        });
      }
    },
  );

  const unreachable = report.errors.flatMap((e) => (e.scope === 'account' && e.account ? [e.account] : []));
  const digest: ReportDigest = diffReports(previous, report);
  let emailed = 0;
  const { approvers, approvalSender } = deps.config;
  if ((digest.new.length || digest.resolved.length) && approvers.length && approvalSender) {
    const message: DigestMessage = digestMessage(digest, report, `s3://${deps.reportBucket}/${keys.html}`);
    for (const to of approvers) {
      await sendEmail(deps.clients, deps.region, { from: approvalSender, to, ...message });
      emailed++;
    }
  }
  return {
    time,
    reportKeys: keys,
    summary: report.summary,
    accounts: { scanned: report.accounts.filter((a) => !unreachable.includes(a)), unreachable },
    executions,
    digest: { new: digest.new.length, resolved: digest.resolved.length, emailed },
  };
}
