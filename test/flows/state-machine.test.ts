/**
 * The real ASL (state-machines/guardrail.asl.json), run by aws-local-stepfunctions through
 * scripts/local/runtime.ts `runAsl`, with stub task handlers: plain async functions that record what
 * they received and return canned outputs of the right shape. Evaluations come from the real, pure
 * core `evaluate()` over snapshots from test/unit/helpers.ts; Record's outcome from the real, pure
 * `buildLedgerRecord()`. One test (the approve route) runs the real Remediate handler over a mocked
 * Lambda API, to show what that route applies.
 *
 * Every test asserts the exact sequence of states entered and what each task received. Collect
 * returns a redacted snapshot of a function whose environment holds a secret value; every test then
 * checks that no task input and no execution output carries that value (payloads carry only what
 * handlers return).
 */
import {
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  RemovePermissionCommand,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { type GuardrailConfig, parseConfig } from '../../functions/core/config.ts';
import { type Evaluation, evaluate } from '../../functions/core/evaluate.ts';
import { buildLedgerRecord, type WorkflowState } from '../../functions/core/ledger.ts';
import type { AppliedStep, Remediation, Verification } from '../../functions/core/outcome.ts';
import { redactSnapshot } from '../../functions/core/redact.ts';
import type { NormalizedEvent, Snapshot } from '../../functions/core/types.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeRemediate } from '../../functions/handlers/remediate.ts';
import { type ExecutionResult, runAsl } from '../../scripts/local/runtime.ts';
import { denyContextReads } from '../context-reads.ts';
import { PATH_NOT_APPLIED, PATH_RECORD_ONLY, PATH_REMEDIATED } from '../support/paths.ts';
import {
  ACCOUNT,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  NOW,
  publicInvokeStatement,
  publicUrlPair,
  REGION,
  serviceStatement,
} from '../unit/helpers.ts';

const SECRET = 'Sup3rS3cret!value';
const ENVIRONMENT = { DB_PASSWORD: SECRET, TABLE_NAME: 'orders' };

const EVENT: NormalizedEvent = {
  eventId: '6a7c5e2d-1f0b-4c8e-9d3a-2b4f6e8a0c1d',
  eventName: 'CreateFunctionUrlConfig',
  action: 'CreateFunctionUrlConfig',
  service: 'lambda',
  account: ACCOUNT,
  region: REGION,
  time: '2025-06-15T11:59:30.000Z',
  actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT },
  resources: { functionName: FUNCTION_NAME, functionArn: functionArn() },
  requestParameters: { functionName: FUNCTION_NAME, authType: 'NONE' },
  origin: 'event',
};

// ---- snapshots (raw: they hold the secret; Collect only ever returns them redacted) -----------------

const compliantSnapshot = () =>
  functionSnapshot({
    environment: ENVIRONMENT,
    urls: [{ authType: 'AWS_IAM' }],
    policies: {
      '': {
        statements: [
          serviceStatement('s3', 's3.amazonaws.com', {
            ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::uploads' },
          }),
        ],
      },
    },
  });

const publicSnapshot = (tags?: Record<string, string>) =>
  functionSnapshot({
    environment: ENVIRONMENT,
    ...(tags ? { tags } : {}),
    urls: [{ authType: 'NONE' }],
    policies: { '': { statements: [...publicUrlPair(), publicInvokeStatement('backdoor')] } },
  });

// ---- harness ----------------------------------------------------------------------------------------

type TaskName = 'Collect' | 'Evaluate' | 'Remediate' | 'Verify' | 'Record' | 'RecordFailure';
// biome-ignore lint/suspicious/noExplicitAny: task inputs are untyped JSON
type Input = any;
type Stub = (input: Input, attempt: number) => Promise<unknown>;

interface Scenario {
  raw: Snapshot;
  config?: Partial<GuardrailConfig>;
  killSwitch?: boolean;
}

/** What Collect returns and what Evaluate returns for that, computed with the real core. */
function canned(s: Scenario) {
  const collected = {
    snapshot: redactSnapshot(s.raw),
    killSwitch: s.killSwitch ?? false,
    killSwitchReason: s.killSwitch ? "kill switch /lambda-guardrail/kill-switch is 'on'" : 'off',
  };
  const evaluation = evaluate({
    snapshot: collected.snapshot,
    config: parseConfig(s.config ?? {}),
    now: NOW,
    killSwitch: collected.killSwitch,
    event: EVENT,
  });
  return { collected, evaluation };
}

/** The remediation the executor reports after applying every auto finding's steps. */
function applied(evaluation: Evaluation): Remediation {
  const steps: AppliedStep[] = evaluation.findings
    .filter((f) => !f.exempt && f.mode === 'auto')
    .flatMap((f) =>
      f.plan.steps.map((s) => ({
        ruleId: f.ruleId,
        resourceArn: f.resourceArn,
        service: s.service,
        operation: s.operation,
        parameters: s.parameters,
        status: 'applied' as const,
        before: null,
        after: null,
      })),
    );
  return { status: 'applied', steps };
}

const VERIFIED: Verification = { verified: true, remaining: [] };

/** Record as the real handler computes it, minus the DynamoDB write. */
const record: Stub = async (input) => {
  const r = buildLedgerRecord({
    executionName: input.executionName,
    recordedAt: NOW,
    state: input.state as WorkflowState,
  });
  return { outcome: r.outcome, pk: r.pk };
};

const unexpected =
  (state: string): Stub =>
  async () => {
    throw new Error(`${state} must not run on this path`);
  };

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });

interface Run {
  result: ExecutionResult;
  /** Inputs each task received, in call order (retries included). */
  inputs: Record<TaskName, Input[]>;
  name: string;
}

let counter = 0;

async function execute(s: Scenario, stubs: Partial<Record<TaskName, Stub>>): Promise<Run> {
  const { collected, evaluation } = canned(s);
  const defaults: Record<TaskName, Stub> = {
    Collect: async () => collected,
    Evaluate: async () => evaluation,
    Remediate: unexpected('Remediate'),
    Verify: unexpected('Verify'),
    Record: record,
    RecordFailure: record,
  };
  const inputs = Object.fromEntries(Object.keys(defaults).map((k) => [k, []])) as unknown as Record<
    TaskName,
    Input[]
  >;
  const handlers = Object.fromEntries(
    (Object.keys(defaults) as TaskName[]).map((state) => [
      state,
      async (input: unknown) => {
        inputs[state].push(structuredClone(input));
        return (stubs[state] ?? defaults[state])(input, inputs[state].length);
      },
    ]),
  );
  const name = `flow-${++counter}`;
  const result = await runAsl(
    handlers,
    { event: EVENT },
    { name, now: NOW, account: ACCOUNT, region: REGION },
  );
  // Payloads carry only what handlers return: the secret never travels, whatever the path.
  for (const [state, list] of Object.entries(inputs)) {
    expect(JSON.stringify(list).includes(SECRET), `secret value in the input of ${state}`).toBe(false);
  }
  expect(JSON.stringify(result).includes(SECRET), 'secret value in the execution result').toBe(false);
  return { result, inputs, name };
}

/** Record's input: execution identity from the context, and the whole state. */
function expectRecordInput(run: Run, state: string, whole: Record<string, unknown>) {
  const inputs = run.inputs[state as TaskName];
  expect(inputs).toHaveLength(1);
  expect(inputs[0]).toEqual({
    executionId: `arn:aws:states:${REGION}:${ACCOUNT}:execution:lambda-guardrail:${run.name}`,
    executionName: run.name,
    startedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/),
    state: whole,
  });
}

function expectCollectAndEvaluate(run: Run, s: Scenario) {
  const { collected } = canned(s);
  expect(run.inputs.Collect.at(-1)).toEqual({ event: EVENT });
  expect(run.inputs.Evaluate).toEqual([
    { event: EVENT, snapshot: collected.snapshot, killSwitch: collected.killSwitch, now: NOW },
  ]);
  // The snapshot Evaluate receives keeps environment names, not values.
  const cfg = run.inputs.Evaluate[0].snapshot.responses.GetFunctionConfiguration;
  expect(cfg.Environment.Variables).toEqual({ DB_PASSWORD: '[redacted]', TABLE_NAME: '[redacted]' });
}

// ---- paths ------------------------------------------------------------------------------------------

describe('state machine paths', () => {
  it('compliant: Collect > Evaluate > Route > Record > Done', async () => {
    const s = { raw: compliantSnapshot() };
    const { collected, evaluation } = canned(s);
    expect(evaluation.route).toBe('none');
    const run = await execute(s, {});

    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.states).toEqual(PATH_RECORD_ONLY);
    expectCollectAndEvaluate(run, s);
    expect(run.inputs.Remediate).toEqual([]);
    expectRecordInput(run, 'Record', { event: EVENT, collected, evaluation });
    expect(run.result.output).toEqual({
      event: EVENT,
      collected,
      evaluation,
      record: { outcome: 'compliant', pk: `EXEC#${run.name}` },
    });
    expect(run.result.lambdaInvocations).toBe(3);
  });

  it('report mode: findings and their plans are recorded, Remediate never runs', async () => {
    const s = { raw: publicSnapshot(), config: { mode: 'report' as const } };
    const { collected, evaluation } = canned(s);
    expect(evaluation.route).toBe('report');
    const run = await execute(s, {});

    expect(run.result.states).toEqual(PATH_RECORD_ONLY);
    expectCollectAndEvaluate(run, s);
    expectRecordInput(run, 'Record', { event: EVENT, collected, evaluation });
    const recorded: Evaluation = run.inputs.Record[0].state.evaluation;
    expect(recorded.findings.map((f) => [f.ruleId, f.mode, f.plan.steps.map((st) => st.operation)])).toEqual([
      ['LAMBDA.URL.PUBLIC', 'report', ['UpdateFunctionUrlConfig', 'RemovePermission', 'RemovePermission']],
      ['LAMBDA.POLICY.PUBLIC', 'report', ['RemovePermission']],
    ]);
    expect(run.result.output?.record).toEqual({ outcome: 'reported', pk: `EXEC#${run.name}` });
  });

  it('kill switch: Evaluate receives it from Collect and every finding is report-only', async () => {
    const s = { raw: publicSnapshot(), killSwitch: true };
    const { evaluation } = canned(s);
    const run = await execute(s, {});
    expect(run.result.states).toEqual(PATH_RECORD_ONLY);
    expectCollectAndEvaluate(run, s);
    expect(run.inputs.Evaluate[0].killSwitch).toBe(true);
    expect(evaluation.findings.map((f) => f.mode)).toEqual(['report', 'report']);
    expect(run.result.output?.record).toMatchObject({ outcome: 'reported' });
  });

  it('auto: Remediate applies, Verify re-checks, Record gets before/after and verification', async () => {
    const s = { raw: publicSnapshot() };
    const { collected, evaluation } = canned(s);
    expect(evaluation.route).toBe('auto');
    const remediation = applied(evaluation);
    const run = await execute(s, {
      Remediate: async () => remediation,
      Verify: async () => VERIFIED,
    });

    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.states).toEqual(PATH_REMEDIATED);
    expectCollectAndEvaluate(run, s);
    expect(run.inputs.Remediate).toEqual([
      { event: EVENT, evaluation, now: NOW, snapshot: collected.snapshot },
    ]);
    expect(run.inputs.Verify).toEqual([
      { event: EVENT, evaluation, remediation, now: NOW, snapshot: collected.snapshot },
    ]);
    expectRecordInput(run, 'Record', {
      event: EVENT,
      collected,
      evaluation,
      remediation,
      verification: VERIFIED,
    });
    expect(run.result.output?.record).toEqual({ outcome: 'remediated', pk: `EXEC#${run.name}` });
  });

  it('auto, verification fails: recorded as failed and the execution fails', async () => {
    const s = { raw: publicSnapshot() };
    const { evaluation } = canned(s);
    const remaining = [{ ruleId: 'LAMBDA.URL.PUBLIC', resourceArn: functionArn(), summary: 'still public' }];
    const run = await execute(s, {
      Remediate: async () => applied(evaluation),
      Verify: async () => ({ verified: false, remaining }),
    });
    expect(run.result.status).toBe('FAILED');
    expect(run.result.states).toEqual([...PATH_REMEDIATED.slice(0, -1), 'Failed']);
    expect(run.inputs.Record[0].state.verification).toEqual({ verified: false, remaining });
  });

  it('exempt: route none, Record only', async () => {
    const s = {
      raw: publicSnapshot({
        'guardrail:exempt': 'LAMBDA.URL.PUBLIC,LAMBDA.POLICY.PUBLIC',
        'guardrail:exempt-reason': 'public webhook, verifies signatures (SEC-123)',
        'guardrail:exempt-until': '2099-12-31',
      }),
    };
    const { collected, evaluation } = canned(s);
    expect(evaluation.route).toBe('none');
    expect(evaluation.findings.every((f) => f.exempt)).toBe(true);
    const run = await execute(s, {});
    expect(run.result.states).toEqual(PATH_RECORD_ONLY);
    expectRecordInput(run, 'Record', { event: EVENT, collected, evaluation });
    expect(run.result.output?.record).toMatchObject({ outcome: 'exempt' });
  });

  it('resource changed: Remediate reports it, no Verify, recorded as resource-changed', async () => {
    const s = { raw: publicSnapshot() };
    const { collected, evaluation } = canned(s);
    const remediation: Remediation = {
      status: 'resource-changed',
      steps: [],
      drift: ['the resource policy of the function is unchanged: expected "rev-latest-0001", found "rev-2"'],
    };
    const run = await execute(s, { Remediate: async () => remediation });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.states).toEqual(PATH_NOT_APPLIED);
    expect(run.inputs.Verify).toEqual([]);
    expectRecordInput(run, 'Record', { event: EVENT, collected, evaluation, remediation });
    expect(run.result.output?.record).toMatchObject({ outcome: 'resource-changed' });
  });

  it("Remediate returns 'failed': Record, then the execution fails", async () => {
    const s = { raw: publicSnapshot() };
    const { collected, evaluation } = canned(s);
    const [first] = applied(evaluation).steps;
    const remediation: Remediation = {
      status: 'failed',
      steps: [{ ...first, status: 'failed', error: 'InvalidParameterValueException: bad Cors' }],
      error: 'InvalidParameterValueException: bad Cors',
    };
    const run = await execute(s, { Remediate: async () => remediation });
    expect(run.result.status).toBe('FAILED');
    expect(run.result.error).toMatch(/see its ledger record/);
    expect(run.result.states).toEqual([
      'Collect',
      'Evaluate',
      'Route',
      'Remediate',
      'Remediated?',
      'Record',
      'Succeeded?',
      'Failed',
    ]);
    expect(run.inputs.Verify).toEqual([]);
    expect(run.inputs.RecordFailure).toEqual([]);
    expectRecordInput(run, 'Record', { event: EVENT, collected, evaluation, remediation });
  });
});

describe('approve route', () => {
  const config = { rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' as const } } };

  it('goes to Remediate, which applies only the automatic findings (real handler, mocked Lambda API)', async () => {
    const s = { raw: publicSnapshot(), config };
    const { collected, evaluation } = canned(s);
    expect(evaluation.route).toBe('approve');
    expect(evaluation.findings.map((f) => [f.ruleId, f.mode])).toEqual([
      ['LAMBDA.URL.PUBLIC', 'approve'],
      ['LAMBDA.POLICY.PUBLIC', 'auto'],
    ]);

    // The Lambda API serves the raw snapshot (secret included, as GetFunctionConfiguration does).
    const r = s.raw.responses;
    const lambda = mockClient(LambdaClient);
    const ssm = mockClient(SSMClient);
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolves(r.GetFunctionConfiguration as never)
      .on(ListTagsCommand)
      .resolves(r.ListTags as never)
      .on(ListAliasesCommand)
      .resolves(r.ListAliases as never)
      .on(ListFunctionUrlConfigsCommand)
      .resolves(r.ListFunctionUrlConfigs as never)
      .on(GetPolicyCommand)
      .resolves(r.GetPolicy as never)
      .on(RemovePermissionCommand)
      .resolves({});
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    // The collector's EC2/Logs/Inspector reads stay in the process (left out of the snapshot).
    const restoreContext = denyContextReads();
    const deps = {
      clients: createClients({ credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }),
      config: parseConfig(config),
      homeRegion: REGION,
      now: () => NOW,
    } as HandlerDeps;
    logger.setLogLevel('SILENT');
    let run: Run;
    try {
      run = await execute(s, {
        Remediate: makeRemediate(() => deps),
        Verify: async () => VERIFIED,
      });
    } finally {
      lambda.restore();
      ssm.restore();
      restoreContext();
      logger.setLogLevel('INFO');
    }

    expect(run.result.states).toEqual(PATH_REMEDIATED);
    expect(run.inputs.Remediate).toEqual([
      { event: EVENT, evaluation, now: NOW, snapshot: collected.snapshot },
    ]);
    // Only the auto finding's step was sent; the URL (approve) was left alone.
    const writes = lambda
      .calls()
      .map((c) => c.args[0])
      .filter((c) => c instanceof RemovePermissionCommand || c instanceof UpdateFunctionUrlConfigCommand);
    expect(
      writes.map((c) => [c.constructor.name, (c.input as { StatementId?: string }).StatementId]),
    ).toEqual([['RemovePermissionCommand', 'backdoor']]);
    const remediation = run.inputs.Verify[0].remediation as Remediation;
    expect(remediation.status).toBe('applied');
    expect(remediation.steps.map((st) => [st.ruleId, st.operation, st.parameters.StatementId])).toEqual([
      ['LAMBDA.POLICY.PUBLIC', 'RemovePermission', 'backdoor'],
    ]);
    // The finding that needs a person reaches the ledger with its mode. The outcome is not pinned:
    // core/outcome.ts currently says 'remediated' for this mix although a finding still waits for
    // approval, which is an open question rather than a contract.
    expectRecordInput(run, 'Record', {
      event: EVENT,
      collected,
      evaluation,
      remediation,
      verification: VERIFIED,
    });
    expect(run.inputs.Record[0].state.evaluation.findings[0]).toMatchObject({
      ruleId: 'LAMBDA.URL.PUBLIC',
      mode: 'approve',
    });
  });

  it('with only findings that need approval, Remediate has nothing to do: approval-required', async () => {
    const raw = functionSnapshot({
      environment: ENVIRONMENT,
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: publicUrlPair() } },
    });
    const s = { raw, config };
    const { evaluation } = canned(s);
    expect(evaluation.route).toBe('approve');
    const deps = {
      clients: createClients(),
      config: parseConfig(config),
      homeRegion: REGION,
      now: () => NOW,
    };
    logger.setLogLevel('SILENT');
    let run: Run;
    try {
      // No auto finding: the real handler returns before any AWS call.
      run = await execute(s, { Remediate: makeRemediate(() => deps as HandlerDeps) });
    } finally {
      logger.setLogLevel('INFO');
    }
    expect(run.result.states).toEqual(PATH_NOT_APPLIED);
    expect(run.inputs.Record[0].state.remediation).toEqual({ status: 'nothing-to-do', steps: [] });
    expect(run.result.output?.record).toMatchObject({ outcome: 'approval-required' });
  });
});

describe('errors, retries and catches', () => {
  it('a non-retryable error in Collect is caught: RecordFailure gets $.error, then Failed', async () => {
    const s = { raw: compliantSnapshot() };
    const run = await execute(s, {
      Collect: async () => {
        throw awsError('AccessDeniedException', 'not authorized to perform lambda:GetFunctionConfiguration');
      },
    });
    expect(run.result.status).toBe('FAILED');
    expect(run.result.states).toEqual(['Collect', 'RecordFailure', 'Failed']);
    expect(run.inputs.Collect).toHaveLength(1); // not retried
    expect(run.inputs.Record).toEqual([]);
    expectRecordInput(run, 'RecordFailure', {
      event: EVENT,
      error: {
        Error: 'AccessDeniedException',
        Cause: 'not authorized to perform lambda:GetFunctionConfiguration',
      },
    });
  });

  it('a ThrottlingException in Collect is retried, then the execution continues', async () => {
    const s = { raw: compliantSnapshot() };
    const { collected } = canned(s);
    const run = await execute(s, {
      Collect: async (_i, attempt) => {
        if (attempt === 1) throw awsError('ThrottlingException', 'Rate exceeded');
        return collected;
      },
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.states).toEqual(PATH_RECORD_ONLY);
    expect(run.inputs.Collect).toEqual([{ event: EVENT }, { event: EVENT }]);
    expect(run.inputs.RecordFailure).toEqual([]);
    expect(run.inputs.Record[0].state).not.toHaveProperty('error');
  });

  it('a ThrottlingException that persists exhausts the retries (1 + 5 attempts) and is recorded', async () => {
    const s = { raw: compliantSnapshot() };
    const run = await execute(s, {
      Collect: async () => {
        throw awsError('ThrottlingException', 'Rate exceeded');
      },
    });
    expect(run.result.status).toBe('FAILED');
    expect(run.result.states).toEqual(['Collect', 'RecordFailure', 'Failed']);
    expect(run.inputs.Collect).toHaveLength(6);
    expect(run.inputs.RecordFailure[0].state.error).toEqual({
      Error: 'ThrottlingException',
      Cause: 'Rate exceeded',
    });
  });

  it('an error in Evaluate (a mis-wired input) is not retried and is recorded', async () => {
    const s = { raw: compliantSnapshot() };
    const { collected } = canned(s);
    const run = await execute(s, {
      Evaluate: async () => {
        throw awsError('ZodError', 'now: must be an ISO time');
      },
    });
    expect(run.result.states).toEqual(['Collect', 'Evaluate', 'RecordFailure', 'Failed']);
    expect(run.inputs.Evaluate).toHaveLength(1);
    expectRecordInput(run, 'RecordFailure', {
      event: EVENT,
      collected,
      error: { Error: 'ZodError', Cause: 'now: must be an ISO time' },
    });
  });

  it('a ResourceConflictException in Remediate is retried, then the remediation applies', async () => {
    const s = { raw: publicSnapshot() };
    const { evaluation } = canned(s);
    const remediation = applied(evaluation);
    const run = await execute(s, {
      Remediate: async (_i, attempt) => {
        if (attempt === 1) throw awsError('ResourceConflictException', 'An update is in progress');
        return remediation;
      },
      Verify: async () => VERIFIED,
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.states).toEqual(PATH_REMEDIATED);
    expect(run.inputs.Remediate).toHaveLength(2);
    expect(run.inputs.Remediate[1]).toEqual(run.inputs.Remediate[0]); // same input on retry
    expect(run.inputs.Record[0].state.remediation).toEqual(remediation);
  });

  it('an error in Verify is caught and recorded with the remediation it was checking', async () => {
    const s = { raw: publicSnapshot() };
    const { collected, evaluation } = canned(s);
    const remediation = applied(evaluation);
    const run = await execute(s, {
      Remediate: async () => remediation,
      Verify: async () => {
        throw awsError('AccessDeniedException', 'denied');
      },
    });
    expect(run.result.status).toBe('FAILED');
    expect(run.result.states).toEqual([
      'Collect',
      'Evaluate',
      'Route',
      'Remediate',
      'Remediated?',
      'Verify',
      'RecordFailure',
      'Failed',
    ]);
    expectRecordInput(run, 'RecordFailure', {
      event: EVENT,
      collected,
      evaluation,
      remediation,
      error: { Error: 'AccessDeniedException', Cause: 'denied' },
    });
  });

  it('Record is retried on any error, so an execution is not left unrecorded', async () => {
    const s = { raw: compliantSnapshot() };
    const run = await execute(s, {
      Record: async (input, attempt) => {
        if (attempt === 1) throw awsError('ProvisionedThroughputExceededException');
        return record(input, attempt);
      },
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.states).toEqual(PATH_RECORD_ONLY);
    expect(run.inputs.Record).toHaveLength(2);
    expect(run.result.output?.record).toMatchObject({ outcome: 'compliant' });
  });
});
