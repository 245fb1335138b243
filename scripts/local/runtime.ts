import { readFileSync } from 'node:fs';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { type AwsClients, createClients } from '../../functions/aws/clients.ts';
import { ensureLedgerTable, getLedgerRecord } from '../../functions/aws/ledger.ts';
import { type GuardrailConfig, parseConfig } from '../../functions/core/config.ts';
import { executionName } from '../../functions/core/event.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { makeCollect } from '../../functions/handlers/collect.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeEvaluate } from '../../functions/handlers/evaluate.ts';
import { makeIngest } from '../../functions/handlers/ingest.ts';
import { makeRecord } from '../../functions/handlers/record.ts';
import { makeRemediate } from '../../functions/handlers/remediate.ts';
import { makeVerify } from '../../functions/handlers/verify.ts';

/**
 * The local runtime: the real ASL from state-machines/, executed in-process by aws-local-stepfunctions,
 * with every Task state calling the real handler, whose SDK clients point at the emulator.
 * Differences from the service, kept small and explicit:
 * - `$$.State.EnteredTime` is the execution's start time (the library does not set it per state);
 * - execution names are deduplicated in memory for the runtime's lifetime (the service keeps them 90 days);
 * - Retry intervals are shortened so tests do not sleep.
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
  status: 'SUCCEEDED' | 'FAILED';
  output?: Record<string, unknown>;
  error?: string;
  /** States entered, in order. */
  states: string[];
  transitions: number;
  lambdaInvocations: number;
}

const machines = new Map<string, StateMachine>();

export type TaskHandlers = Record<string, (input: unknown) => Promise<unknown>>;

/**
 * The ASL with its `${Name}` placeholders substituted, as CloudFormation does on deploy
 * (`definitionSubstitutions`). Locally each placeholder becomes a well-formed Lambda ARN.
 */
export function loadDefinition(account = '000000000000', region = 'us-east-1'): StateMachineDefinition {
  const text = readFileSync(ASL_PATH, 'utf8').replace(
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
  opts: { name: string; now: string; account?: string; region?: string },
): Promise<ExecutionResult> {
  const region = opts.region ?? 'us-east-1';
  const account = opts.account ?? '000000000000';
  const key = `${account}/${region}`;
  let sm = machines.get(key);
  if (!sm) {
    // Building validates the whole definition (slow): once per account and region.
    sm = new StateMachine(loadDefinition(account, region), { validationOptions: { checkPaths: true } });
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
    },
  });
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
  /** Handler log level while this runtime runs (the demo keeps handler logs quiet). */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
}

/** A deployed guardrail, in-process: ingest -> state machine -> ledger, against the emulator. */
export class LocalGuardrail {
  readonly clients: AwsClients;
  readonly deps: HandlerDeps;
  readonly executions = new Map<string, ExecutionResult>();
  private readonly region: string;

  constructor(opts: LocalGuardrailOptions) {
    this.region = opts.region ?? 'us-east-1';
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
    };
  }

  async setup() {
    await ensureLedgerTable(this.clients, this.region, this.deps.ledgerTable!);
  }

  handlers(): TaskHandlers {
    const d = () => this.deps;
    return {
      Collect: makeCollect(d),
      Evaluate: makeEvaluate(d),
      Remediate: makeRemediate(d),
      Verify: makeVerify(d),
      Record: makeRecord(d),
      RecordFailure: makeRecord(d),
    };
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
    const result = await runAsl(
      this.handlers(),
      { event },
      { name, now: this.deps.now(), account: event.account, region: this.region },
    );
    this.executions.set(name, result);
    return { started: true, executionName: name };
  }

  async ledgerRecord(name: string): Promise<LedgerRecord | undefined> {
    return getLedgerRecord(this.clients, this.region, this.deps.ledgerTable!, name);
  }
}
