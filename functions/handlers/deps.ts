import { Logger } from '@aws-lambda-powertools/logger';
import { createClients } from '../aws/clients.ts';
import type { Deps } from '../aws/target.ts';
import type { TaskResult } from '../aws/task-result.ts';
import type { EmailMessage } from '../core/approval-render.ts';
import { parseConfig } from '../core/config.ts';
import type { NormalizedEvent } from '../core/types.ts';

/** Shared by every handler: the structured logger and dependencies built once per cold start from the environment. */
export const logger = new Logger({ serviceName: 'lambda-guardrail' });

export interface HandlerDeps extends Deps {
  ledgerTable?: string;
  stateMachineArn?: string;
  excludedPrincipals?: string[];
  /** Region of the ledger table and state machine. */
  homeRegion: string;
  now: () => string;
  /** Starts a workflow for an event; defaults to Step Functions StartExecution (the local runtime runs the ASL in-process). */
  startExecution?: (event: NormalizedEvent) => Promise<{ started: boolean; executionName: string }>;
  /** Approvals: the table holding pending approvals (and their task tokens). */
  approvalsTable?: string;
  /** Approvals: base URL of the approval endpoint (the callback's function URL; locally a loopback server). */
  approvalBaseUrl?: string;
  /** Approvals: Secrets Manager id of the HMAC keys that sign links. */
  approvalKeySecret?: string;
  /** Sends one approval email; defaults to SES v2 SendEmail (the local runtime also writes an outbox). */
  sendEmail?: (message: EmailMessage) => Promise<void>;
  /** SendTaskSuccess/SendTaskFailure; defaults to Step Functions (the local runtime resolves its own pending task). */
  sendTaskResult?: (result: TaskResult) => Promise<void>;
  /** A new approval id (128 random bits, hex); tests may fix it. */
  newApprovalId?: () => string;
}

export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): HandlerDeps {
  const config = parseConfig(env.GUARDRAIL_CONFIG ? JSON.parse(env.GUARDRAIL_CONFIG) : {});
  const excluded = env.EXCLUDED_PRINCIPALS ? (JSON.parse(env.EXCLUDED_PRINCIPALS) as string[]) : [];
  return {
    clients: createClients(),
    config: env.KILL_SWITCH_PARAMETER
      ? { ...config, killSwitchParameter: env.KILL_SWITCH_PARAMETER }
      : config,
    homeRegion: env.AWS_REGION ?? config.homeRegion,
    ...(env.LEDGER_TABLE ? { ledgerTable: env.LEDGER_TABLE } : {}),
    ...(env.STATE_MACHINE_ARN ? { stateMachineArn: env.STATE_MACHINE_ARN } : {}),
    ...(env.APPROVALS_TABLE ? { approvalsTable: env.APPROVALS_TABLE } : {}),
    ...(env.APPROVAL_BASE_URL ? { approvalBaseUrl: env.APPROVAL_BASE_URL } : {}),
    ...(env.APPROVAL_KEY_SECRET ? { approvalKeySecret: env.APPROVAL_KEY_SECRET } : {}),
    // Key of the secret fingerprints (LAMBDA.ENV.SECRET); read by collect, remediate and verify only.
    ...(env.FINGERPRINT_KEY_SECRET ? { fingerprintKeySecret: env.FINGERPRINT_KEY_SECRET } : {}),
    excludedPrincipals: [...config.excludedPrincipals, ...excluded],
    now: () => new Date().toISOString(),
  };
}

let cached: HandlerDeps | undefined;
/** Lazily built so importing a handler module (tests, local runtime) never reads the environment. */
export const envDeps = () => {
  cached ??= depsFromEnv();
  return cached;
};
