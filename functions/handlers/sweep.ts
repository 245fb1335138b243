import * as z from 'zod/mini';
import { createClients } from '../aws/clients.ts';
import { fingerprintKeyOf } from '../aws/fingerprint-key.ts';
import { SCAN_CLIENT_OPTIONS } from '../aws/scan.ts';
import { runSweep, type SweepDeps } from '../aws/sweep.ts';
import '../core/zod.ts';
import { depsFromEnv, logger } from './deps.ts';
import { isoTime } from './schemas.ts';

/**
 * EventBridge Scheduler -> sweep: scan the home region in report mode (in organization mode, of every
 * member account), store the report, start one execution per function, role and actionable layer
 * version through the state machine, email the digest (functions/aws/sweep.ts).
 * The schedule passes `{"scheduledTime": "<aws.scheduler.scheduled-time>"}`; a manual invocation may
 * pass nothing.
 */

const input = z.looseObject({ scheduledTime: z.optional(isoTime) });

export function sweepDepsFromEnv(env: NodeJS.ProcessEnv = process.env): SweepDeps {
  const base = depsFromEnv(env);
  const stateMachineArn = env.STATE_MACHINE_ARN;
  const reportBucket = env.REPORT_BUCKET;
  if (!stateMachineArn) throw new Error('STATE_MACHINE_ARN is not set');
  if (!reportBucket) throw new Error('REPORT_BUCKET is not set');
  // Adaptive retry: the sweep reads every function and backs off when Lambda throttles it.
  const clients = createClients(SCAN_CLIENT_OPTIONS);
  const keySecret = env.FINGERPRINT_KEY_SECRET;
  return {
    clients,
    config: base.config,
    region: base.homeRegion,
    account: stateMachineArn.split(':')[4],
    stateMachineArn,
    reportBucket,
    now: base.now,
    actor: { type: 'GuardrailSweep', ...(env.SWEEP_ROLE_ARN ? { arn: env.SWEEP_ROLE_ARN } : {}) },
    // The deployment's key, so the report's secret fingerprints match what Collect records.
    fingerprintKey: () =>
      fingerprintKeyOf({
        clients,
        config: base.config,
        ...(keySecret ? { fingerprintKeySecret: keySecret } : {}),
      }),
  };
}

let cached: SweepDeps | undefined;
const envSweepDeps = () => {
  cached ??= sweepDepsFromEnv();
  return cached;
};

export const makeSweep = (deps: () => SweepDeps) => async (raw: unknown) => {
  const i = input.parse(raw ?? {});
  const result = await runSweep(deps(), i.scheduledTime ? { scheduledTime: i.scheduledTime } : {});
  logger.info('swept', {
    time: result.time,
    resources: result.summary.resources,
    accounts: result.accounts.scanned.length,
    unreachableAccounts: result.accounts.unreachable,
    findings: result.summary.liveFindings,
    unreadable: result.summary.byStatus.unreadable,
    executions: { ...result.executions, failed: result.executions.failed.length },
    digest: result.digest,
    report: result.reportKeys.html,
  });
  if (result.executions.failed.length) {
    logger.warn('some executions could not be started', { failed: result.executions.failed.slice(0, 20) });
  }
  return result;
};

export const handler = makeSweep(envSweepDeps);
