import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { ensureApprovalsTable } from '../../functions/aws/approvals-store.ts';
import { type AwsClients, createClients } from '../../functions/aws/clients.ts';
import { sendEmail } from '../../functions/aws/email.ts';
import { ensureLedgerTable, getLedgerRecord } from '../../functions/aws/ledger.ts';
import type { TaskResult } from '../../functions/aws/task-result.ts';
import { approvalTimeoutSeconds, withApprovalTimeout } from '../../functions/core/approval.ts';
import type { EmailMessage } from '../../functions/core/approval-render.ts';
import { type GuardrailConfig, parseConfig } from '../../functions/core/config.ts';
import { executionName } from '../../functions/core/event.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { makeApprovalCallback } from '../../functions/handlers/approval-callback.ts';
import { makeCollect } from '../../functions/handlers/collect.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeEvaluate } from '../../functions/handlers/evaluate.ts';
import { makeIngest } from '../../functions/handlers/ingest.ts';
import { makeProve } from '../../functions/handlers/prove.ts';
import { makeRecord } from '../../functions/handlers/record.ts';
import { makeRemediate } from '../../functions/handlers/remediate.ts';
import { makeRequestApproval } from '../../functions/handlers/request-approval.ts';
import { makeVerify } from '../../functions/handlers/verify.ts';
import { type FunctionUrlServer, Outbox, seedApprovalResources, serveFunctionUrl } from './approvals.ts';

/**
 * The local runtime: the real ASL from state-machines/, executed in-process by aws-local-stepfunctions,
 * with every Task state calling the real handler, whose SDK clients point at the emulator.
 * Differences from the service, kept small and explicit:
 * - `$$.State.EnteredTime` is the execution's start time (the library does not set it per state);
 * - execution names are deduplicated in memory for the runtime's lifetime (the service keeps them 90 days);
 * - Retry intervals are shortened so tests do not sleep.
 * - `.waitForTaskToken` (RequestApproval): the real handler runs, then the task waits on a promise that
 *   the approval callback's "send task result" settles (SendTaskSuccess/SendTaskFailure in AWS), or
 *   that fails with `States.Timeout` after the configured approval timeout. `$$.Task.Token` is a
 *   random token per execution, supplied through the run context.
 */

// aws-local-stepfunctions 3 uses Promise.withResolvers, which Node 20 lacks.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= () => {
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

export const ASL_PATH = new URL('../../state-machines/guardrail.asl.json', import.meta.url);

export interface ExecutionResult {
  executionName: string;
  /** `WAITING`: paused in RequestApproval until a decision or the timeout (see `LocalGuardrail.completion`). */
  status: 'SUCCEEDED' | 'FAILED' | 'WAITING';
  output?: Record<string, unknown>;
  error?: string;
  /** States entered, in order. */
  states: string[];
  transitions: number;
  lambdaInvocations: number;
}

const machines = new Map<string, StateMachine>();

/** A task token shaped like the service's (long, opaque); only the local runtime knows it. */
export const localTaskToken = () => `AQ${randomBytes(96).toString('base64url')}`;

export type TaskHandlers = Record<string, (input: unknown) => Promise<unknown>>;

/**
 * The ASL with its `${Name}` placeholders substituted, as CloudFormation does on deploy
 * (`definitionSubstitutions`). Locally each placeholder becomes a well-formed Lambda ARN.
 */
export function loadDefinition(
  account = '000000000000',
  region = 'us-east-1',
  approvalTimeout?: number,
): StateMachineDefinition {
  const file = readFileSync(ASL_PATH, 'utf8');
  const text = (approvalTimeout ? withApprovalTimeout(file, approvalTimeout) : file).replace(
    /\$\{([A-Za-z]+)FunctionArn\}/g,
    (_, name: string) =>
      `arn:aws:lambda:${region}:${account}:function:lambda-guardrail-${name.toLowerCase()}`,
  );
  return JSON.parse(text) as StateMachineDefinition;
}

/** Runs the ASL once with the given task handlers (flow tests pass their own; the runtime passes the real ones). */
export async function runAsl(
  handlers: TaskHandlers,
  input: Record<string, unknown>,
  opts: {
    name: string;
    now: string;
    account?: string;
    region?: string;
    /** RequestApproval's TimeoutSeconds (default: the file's, 72 h). */
    approvalTimeoutSeconds?: number;
    /** `$$.Task.Token` (default: a random one). */
    taskToken?: string;
    /** Aborts the execution (a paused approval is given up). */
    signal?: AbortSignal;
  },
): Promise<ExecutionResult> {
  const region = opts.region ?? 'us-east-1';
  const account = opts.account ?? '000000000000';
  const key = `${account}/${region}/${opts.approvalTimeoutSeconds ?? ''}`;
  let sm = machines.get(key);
  if (!sm) {
    // Building validates the whole definition (slow): once per account, region and approval timeout.
    sm = new StateMachine(loadDefinition(account, region, opts.approvalTimeoutSeconds), {
      validationOptions: { checkPaths: true },
    });
    machines.set(key, sm);
  }
  let lambdaInvocations = 0;
  const counted = Object.fromEntries(
    Object.entries(handlers).map(([state, fn]) => [
      state,
      async (i: unknown) => {
        lambdaInvocations++;
        return fn(i);
      },
    ]),
  );
  const execution = sm.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: counted as never,
      retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((k) => [k, 0])),
    },
    context: {
      Execution: {
        Id: `arn:aws:states:${region}:${account}:execution:lambda-guardrail:${opts.name}`,
        Name: opts.name,
      },
      State: { EnteredTime: opts.now },
      Task: { Token: opts.taskToken ?? localTaskToken() },
    },
  });
  opts.signal?.addEventListener('abort', () => execution.abort(), { once: true });
  const states: string[] = [];
  const collectEvents = (async () => {
    for await (const e of execution.eventLogs) if (e.type === 'StateEntered') states.push(e.state.name);
  })();
  try {
    const output = (await execution.result) as Record<string, unknown>;
    await collectEvents;
    return {
      executionName: opts.name,
      status: 'SUCCEEDED',
      output,
      states,
      transitions: states.length,
      lambdaInvocations,
    };
  } catch (err) {
    await collectEvents.catch(() => undefined);
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    return {
      executionName: opts.name,
      status: 'FAILED',
      error: cause,
      states,
      transitions: states.length,
      lambdaInvocations,
    };
  }
}

export interface LocalGuardrailOptions {
  endpoint: string;
  region?: string;
  config?: Partial<GuardrailConfig>;
  ledgerTable?: string;
  now?: () => string;
  /**
   * Recorded Access Advisor responses by role ARN (the emulator has none): Collect uses them instead of
   * the emulator's FAILED job for those roles. The demo says so when it uses one.
   */
  recordedEvidence?: Record<string, unknown>;
  /** Handler log level while this runtime runs (the demo keeps handler logs quiet). */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Approvals (when `config.approvers` is set): where emails go and where the endpoint listens. */
  approvals?: {
    /** Folder for one `.txt` and one `.html` file per email (default `.local/outbox/`). */
    outboxDir?: string;
    /** Loopback port of the approval endpoint (default: a free one). */
    port?: number;
    /** Called with each approval email after it was sent (the demo prints the link). */
    onEmail?: (message: EmailMessage) => void;
    approvalsTable?: string;
    keySecret?: string;
  };
}

interface PendingTask {
  executionName: string;
  resolve: (output: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

/** A deployed guardrail, in-process: ingest -> state machine -> ledger, against the emulator. */
export class LocalGuardrail {
  readonly clients: AwsClients;
  readonly deps: HandlerDeps;
  readonly executions = new Map<string, ExecutionResult>();
  /** Every approval email sent (also written to the outbox folder). */
  readonly outbox?: Outbox;
  /** The approval endpoint, once `setup()` started it. */
  server?: FunctionUrlServer;
  private readonly region: string;
  private readonly endpoint: string;
  private readonly approvalOptions: NonNullable<LocalGuardrailOptions['approvals']>;
  private readonly completions = new Map<string, Promise<ExecutionResult>>();
  private readonly waiting = new Map<string, () => void>();
  private readonly pending = new Map<string, PendingTask>();
  /** Tokens whose task ended (decided or timed out): a late result gets TaskTimedOut, as in AWS. */
  private readonly finishedTokens = new Set<string>();
  private readonly aborter = new AbortController();

  constructor(opts: LocalGuardrailOptions) {
    this.region = opts.region ?? 'us-east-1';
    this.endpoint = opts.endpoint;
    this.approvalOptions = opts.approvals ?? {};
    if (opts.logLevel) logger.setLogLevel(opts.logLevel);
    this.clients = createClients({
      endpoint: opts.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 2,
    });
    const config = parseConfig({ homeRegion: this.region, ...opts.config });
    this.deps = {
      clients: this.clients,
      config,
      homeRegion: this.region,
      ledgerTable: opts.ledgerTable ?? 'lambda-guardrail-ledger',
      excludedPrincipals: config.excludedPrincipals,
      now: opts.now ?? (() => new Date().toISOString()),
      startExecution: (event) => this.start(event),
      ...(opts.recordedEvidence ? { recordedEvidence: (arn: string) => opts.recordedEvidence?.[arn] } : {}),
    };
    if (config.approvers.length) {
      const outbox = new Outbox(this.approvalOptions.outboxDir);
      this.outbox = outbox;
      Object.assign(this.deps, {
        approvalsTable: this.approvalOptions.approvalsTable ?? 'lambda-guardrail-approvals',
        approvalKeySecret: this.approvalOptions.keySecret ?? 'lambda-guardrail/approval-keys',
        // SES in the emulator accepts and stores the message but delivers nothing: the outbox is
        // what a person reads locally.
        sendEmail: async (m: EmailMessage) => {
          await sendEmail(this.clients, this.region, m);
          outbox.write(m);
          this.approvalOptions.onEmail?.(m);
        },
        sendTaskResult: async (r: TaskResult) => this.settleTask(r),
      } satisfies Partial<HandlerDeps>);
    }
  }

  async setup() {
    await ensureLedgerTable(this.clients, this.region, this.deps.ledgerTable!);
    if (this.deps.approvalsTable) {
      await ensureApprovalsTable(this.clients, this.region, this.deps.approvalsTable);
      await seedApprovalResources(this.endpoint, this.region, {
        keySecret: this.deps.approvalKeySecret!,
        sender: this.deps.config.approvalSender,
      });
      this.server ??= await serveFunctionUrl(
        makeApprovalCallback(() => this.deps),
        {
          ...(this.approvalOptions.port ? { port: this.approvalOptions.port } : {}),
        },
      );
      this.deps.approvalBaseUrl = this.server.url;
    }
  }

  /** Stops the approval endpoint and gives up executions still waiting for a decision. */
  async close() {
    this.aborter.abort();
    for (const [token, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(named('Aborted', 'the local runtime was closed'));
      this.pending.delete(token);
    }
    await this.server?.close();
    this.server = undefined;
  }

  handlers(): TaskHandlers {
    const d = () => this.deps;
    return {
      Collect: makeCollect(d),
      Evaluate: makeEvaluate(d),
      // Locally Access Analyzer is unavailable (moto has none): every proof is UNAVAILABLE -> approval.
      Prove: makeProve(d),
      Remediate: makeRemediate(d),
      RequestApproval: (input) => this.requestApproval(input),
      ApprovalExpired: makeRequestApproval(d),
      RemediateAfterDecision: makeRemediate(d),
      Verify: makeVerify(d),
      Record: makeRecord(d),
      RecordFailure: makeRecord(d),
    };
  }

  /**
   * `lambda:invoke.waitForTaskToken`: Step Functions passes `{FunctionName, Payload}`; the function gets
   * the Payload. The real handler stores the approval and sends the emails, then the task waits for
   * the callback's result, or fails with States.Timeout after the approval timeout.
   */
  private async requestApproval(input: unknown): Promise<unknown> {
    const payload = (input as { Payload: Record<string, unknown> }).Payload;
    const token = String(payload.taskToken);
    const executionName = String(payload.executionName);
    const timeoutMs = approvalTimeoutSeconds(this.deps.config) * 1000;
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        this.finishedTokens.add(token);
        reject(named('States.Timeout', 'States.Timeout'));
      }, timeoutMs);
      this.pending.set(token, { executionName, resolve, reject, timer });
    });
    try {
      await makeRequestApproval(() => this.deps)(payload);
    } catch (err) {
      const p = this.pending.get(token);
      if (p) clearTimeout(p.timer);
      this.pending.delete(token);
      result.catch(() => undefined);
      throw err;
    }
    this.waiting.get(executionName)?.();
    return result;
  }

  /** What SendTaskSuccess/SendTaskFailure do to a waiting task, with the service's error names. */
  private async settleTask(r: TaskResult) {
    const p = this.pending.get(r.taskToken);
    if (!p) {
      throw this.finishedTokens.has(r.taskToken)
        ? named('TaskTimedOut', 'Task Timed Out')
        : named('TaskDoesNotExist', 'Task does not exist anymore');
    }
    clearTimeout(p.timer);
    this.pending.delete(r.taskToken);
    this.finishedTokens.add(r.taskToken);
    if (r.success) p.resolve(r.output);
    else p.reject(named(r.error, r.cause));
  }

  /** The execution's final result (it may be paused in RequestApproval until then). */
  completion(name: string): Promise<ExecutionResult> | undefined {
    return this.completions.get(name);
  }

  /** Executions paused in RequestApproval. */
  waitingExecutions(): string[] {
    return [...this.executions.values()].filter((e) => e.status === 'WAITING').map((e) => e.executionName);
  }

  /** Waits until every execution started so far has finished (decided, expired, failed or closed). */
  async settled(): Promise<ExecutionResult[]> {
    return Promise.all(this.completions.values());
  }

  /** Feeds one EventBridge event (or bare CloudTrail record) through the real ingest handler. */
  async ingest(raw: unknown) {
    return makeIngest(() => this.deps)(raw);
  }

  private async start(event: NormalizedEvent) {
    const name = executionName(event.eventId);
    if (this.executions.has(name)) return { started: false, executionName: name };
    const placeholder: ExecutionResult = {
      executionName: name,
      status: 'FAILED',
      states: [],
      transitions: 0,
      lambdaInvocations: 0,
    };
    this.executions.set(name, placeholder);
    const done = runAsl(
      this.handlers(),
      { event },
      {
        name,
        now: this.deps.now(),
        account: event.account,
        region: this.region,
        approvalTimeoutSeconds: approvalTimeoutSeconds(this.deps.config),
        taskToken: localTaskToken(),
        signal: this.aborter.signal,
      },
    ).then((result) => {
      this.executions.set(name, result);
      return result;
    });
    this.completions.set(name, done);
    // Ingest returns when the execution has finished, or is paused waiting for an approval.
    const paused = new Promise<'paused'>((resolve) => this.waiting.set(name, () => resolve('paused')));
    const first = await Promise.race([done.then(() => 'done' as const), paused]);
    this.waiting.delete(name);
    if (first === 'paused') this.executions.set(name, { ...placeholder, status: 'WAITING' });
    return { started: true, executionName: name };
  }

  async ledgerRecord(name: string): Promise<LedgerRecord | undefined> {
    return getLedgerRecord(this.clients, this.region, this.deps.ledgerTable!, name);
  }
}
