import type { GuardrailConfig } from '../core/config.ts';
import { type DigestMessage, diffReports, digestMessage, type ReportDigest } from '../core/report/digest.ts';
import { renderHtml } from '../core/report/html.ts';
import type { ScanReport } from '../core/report/model.ts';
import { RULES } from '../core/rules/index.ts';
import { minuteOf, sweepExecutionName, syntheticEvent } from '../core/sweep.ts';
import type { Actor, NormalizedEvent, ResourceRefs, Rule } from '../core/types.ts';
import type { AwsClients } from './clients.ts';
import { sendEmail } from './email.ts';
import { mapLimit } from './limit.ts';
import { LATEST_KEY, putObject, readLatestReport, reportKeys } from './report-store.ts';
import { DEFAULT_CONCURRENCY, isReadFailure, scanAccount } from './scan.ts';
import { startExecution } from './start.ts';

/**
 * The scheduled sweep (CloudTrail -> EventBridge delivery is best effort; the sweep catches what it
 * missed):
 * 1. scan the home region with the scan code path, in report mode (reads only);
 * 2. store the report (HTML + JSON) in the reports bucket, and keep it as `latest.json`;
 * 3. start one workflow execution per function (and per execution role once role rules exist) with a
 *    synthesized event (`origin: 'sweep'`), named `sweep-<minute>-<hash>`: each finding is then
 *    handled in its configured mode by the same state machine as an event-driven run;
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
  /** Starts one execution; defaults to Step Functions StartExecution (the local runtime runs the ASL). */
  start?: (event: NormalizedEvent) => Promise<{ started: boolean; executionName: string }>;
}

export interface SweepResult {
  time: string;
  reportKeys: { json: string; html: string };
  summary: ScanReport['summary'];
  executions: { started: number; alreadyStarted: number; failed: { name: string; error: string }[] };
  digest: { new: number; resolved: number; emailed: number };
}

export function sweepTargets(report: ScanReport, rules: readonly Rule[]): ResourceRefs[] {
  const functions = report.resources
    .filter((r) => r.kind === 'function' && r.status !== 'deleted')
    .map((r) => ({ functionName: r.name, functionArn: r.arn }));
  // Role rules are evaluated on roles: one execution per distinct execution role, once such rules exist.
  const roles = rules.some((r) => r.resource === 'role')
    ? [
        ...new Set(report.resources.flatMap((r) => (r.kind === 'function' && r.roleArn ? [r.roleArn] : []))),
      ].map((roleArn) => ({ roleArn, roleName: roleArn.split('/').pop() ?? roleArn }))
    : [];
  return [...functions, ...roles];
}

export function sweepEvents(
  report: ScanReport,
  deps: Pick<SweepDeps, 'account' | 'region' | 'actor' | 'rules'>,
  time: string,
): NormalizedEvent[] {
  return sweepTargets(report, deps.rules ?? RULES).map((resources) => {
    const arn = resources.functionArn ?? resources.roleArn ?? '';
    return syntheticEvent({
      origin: 'sweep',
      id: sweepExecutionName(time, arn),
      account: deps.account,
      region: deps.region,
      time,
      resources,
      ...(deps.actor ? { actor: deps.actor } : {}),
    });
  });
}

export async function runSweep(
  deps: SweepDeps,
  input: { scheduledTime?: string } = {},
): Promise<SweepResult> {
  // The scheduled time (to the minute) names the executions: a retried invocation reuses the names.
  const time = minuteOf(input.scheduledTime ?? deps.now());
  const rules = deps.rules ?? RULES;
  const report = await scanAccount({
    clients: deps.clients,
    regions: [deps.region],
    account: deps.account,
    rules,
    config: deps.config,
    origin: 'sweep',
    concurrency: deps.concurrency ?? DEFAULT_CONCURRENCY,
    now: deps.now,
    ...(deps.fingerprintKey ? { fingerprintKey: await deps.fingerprintKey() } : {}),
  });

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
    executions,
    digest: { new: digest.new.length, resolved: digest.resolved.length, emailed },
  };
}
