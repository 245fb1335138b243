/**
 * The approval paths of the real ASL (state-machines/guardrail.asl.json), run by aws-local-stepfunctions
 * through scripts/local/runtime.ts `runAsl`. RequestApproval is a `.waitForTaskToken` task: its stub
 * records what it received and returns a promise the test settles the way the callback would
 * (SendTaskSuccess -> resolve with the output; SendTaskFailure -> reject with the error name), or leaves
 * pending so the task's TimeoutSeconds (1 s here) fails it with States.Timeout. RemediateAfterDecision
 * is the real Remediate handler over a small stateful fake of the Lambda API, so each path shows what
 * is (and is not) written. Record's outcome comes from the real, pure buildLedgerRecord().
 */
import {
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  RemovePermissionCommand,
  ResourceNotFoundException,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { REJECTED_ERROR } from '../../functions/core/approval.ts';
import { type GuardrailConfig, parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { buildLedgerRecord, type LedgerRecord, type WorkflowState } from '../../functions/core/ledger.ts';
import type { Remediation } from '../../functions/core/outcome.ts';
import type { Statement } from '../../functions/core/policy.ts';
import { redactSnapshot } from '../../functions/core/redact.ts';
import type { NormalizedEvent, Snapshot } from '../../functions/core/types.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeRemediate } from '../../functions/handlers/remediate.ts';
import { type ExecutionResult, localTaskToken, runAsl } from '../../scripts/local/runtime.ts';
import { denyContextReads } from '../context-reads.ts';
import { PATH_APPROVED, PATH_NOT_APPLIED } from '../support/paths.ts';
import {
  ACCOUNT,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  NOW,
  publicInvokeStatement,
  publicUrlPair,
  REGION,
} from '../unit/helpers.ts';

const EVENT: NormalizedEvent = {
  eventId: '0b3c5e2d-1f0b-4c8e-9d3a-2b4f6e8a0c1d',
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

const CONFIG = parseConfig({
  rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } },
  approvers: ['alice@example.com', 'bob@example.com'],
  approvalSender: 'guardrail@example.com',
});

const APPROVAL_ID = '0123456789abcdef0123456789abcdef';

// ---- a stateful fake of the Lambda API the real Remediate handler talks to -------------------------

function fakeLambda(raw: Snapshot) {
  const r = raw.responses as Record<string, { Policy?: string; FunctionUrlConfigs?: { AuthType: string }[] }>;
  let statements = (JSON.parse(r.GetPolicy.Policy!) as { Statement: Statement[] }).Statement;
  let revision = 1;
  const urls = structuredClone(r.ListFunctionUrlConfigs.FunctionUrlConfigs!);
  const lambda = mockClient(LambdaClient);
  const ssm = mockClient(SSMClient);
  lambda
    .on(GetFunctionConfigurationCommand)
    .resolves(raw.responses.GetFunctionConfiguration as never)
    .on(ListTagsCommand)
    .resolves(raw.responses.ListTags as never)
    .on(ListAliasesCommand)
    .resolves(raw.responses.ListAliases as never)
    .on(ListFunctionUrlConfigsCommand)
    .callsFake(async () => ({ FunctionUrlConfigs: structuredClone(urls) }))
    .on(GetPolicyCommand)
    .callsFake(async () => {
      if (!statements.length) throw new ResourceNotFoundException({ message: 'no policy', $metadata: {} });
      return {
        Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }),
        RevisionId: revision === 1 ? 'rev-latest-0001' : `rev-${revision}`,
      };
    })
    .on(RemovePermissionCommand)
    .callsFake(async (input: { StatementId: string }) => {
      statements = statements.filter((s) => s.Sid !== input.StatementId);
      revision++;
      return {};
    })
    .on(UpdateFunctionUrlConfigCommand)
    .callsFake(async (input: { AuthType: string }) => {
      urls[0].AuthType = input.AuthType;
      return { ...urls[0] };
    });
  ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  // The collector's EC2/Logs/Inspector reads stay in the process (left out of the snapshot).
  const restoreContext = denyContextReads();
  const writes = () =>
    lambda
      .calls()
      .map((c) => c.args[0])
      .filter((c) => c instanceof RemovePermissionCommand || c instanceof UpdateFunctionUrlConfigCommand)
      .map((c) =>
        `${c.constructor.name.replace(/Command$/, '')} ${(c.input as { StatementId?: string }).StatementId ?? ''}`.trim(),
      );
  const restore = () => {
    lambda.restore();
    ssm.restore();
    restoreContext();
  };
  return { writes, restore };
}

// ---- harness ----------------------------------------------------------------------------------------

const publicSnapshot = (withBackdoor: boolean) =>
  functionSnapshot({
    urls: [{ authType: 'NONE' }],
    policies: {
      '': { statements: [...publicUrlPair(), ...(withBackdoor ? [publicInvokeStatement('backdoor')] : [])] },
    },
  });

// biome-ignore lint/suspicious/noExplicitAny: task inputs are untyped JSON
type Input = any;

interface Run {
  result: ExecutionResult;
  inputs: Record<string, Input[]>;
  record?: LedgerRecord;
  token: string;
}

let counter = 0;
let fake: ReturnType<typeof fakeLambda> | undefined;

beforeEach(() => logger.setLogLevel('SILENT'));
afterEach(() => {
  fake?.restore();
  fake = undefined;
  logger.setLogLevel('INFO');
});

/**
 * Runs the ASL. `decide` gets RequestApproval's payload and returns what the task does: a promise the
 * callback settles (resolve = SendTaskSuccess, reject = SendTaskFailure) or one that never settles.
 */
async function execute(opts: {
  raw: Snapshot;
  config?: GuardrailConfig;
  decide: (payload: Input) => Promise<unknown>;
  expire?: (input: Input) => Promise<unknown>;
  approvalTimeoutSeconds?: number;
}): Promise<Run> {
  const config = opts.config ?? CONFIG;
  const collected = { snapshot: redactSnapshot(opts.raw), killSwitch: false, killSwitchReason: 'off' };
  const evaluation = evaluate({ snapshot: collected.snapshot, config, now: NOW, event: EVENT });
  fake = fakeLambda(opts.raw);
  const deps = {
    clients: createClients({ credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }),
    config,
    homeRegion: REGION,
    now: () => NOW,
  } as HandlerDeps;
  const inputs: Record<string, Input[]> = {};
  let record: LedgerRecord | undefined;
  const recordStub = async (i: Input) => {
    record = buildLedgerRecord({
      executionName: i.executionName,
      recordedAt: NOW,
      state: i.state as WorkflowState,
    });
    return { outcome: record.outcome, pk: record.pk };
  };
  const stubs: Record<string, (i: Input) => Promise<unknown>> = {
    Collect: async () => collected,
    Evaluate: async () => evaluation,
    Remediate: async () => {
      throw new Error('Remediate must not run on an approval path');
    },
    RequestApproval: async (i) => opts.decide(i.Payload),
    ApprovalExpired:
      opts.expire ??
      (async () => ({ decision: 'expired', approvalId: APPROVAL_ID, expiredAt: NOW, notified: 2 })),
    RemediateAfterDecision: makeRemediate(() => deps),
    Verify: async () => ({ verified: true, remaining: [] }),
    Record: recordStub,
    RecordFailure: recordStub,
  };
  const handlers = Object.fromEntries(
    Object.entries(stubs).map(([state, fn]) => [
      state,
      async (input: unknown) => {
        inputs[state] = [...(inputs[state] ?? []), structuredClone(input)];
        return fn(input);
      },
    ]),
  );
  const token = localTaskToken();
  const result = await runAsl(
    handlers,
    { event: EVENT },
    {
      name: `approval-flow-${++counter}`,
      now: NOW,
      account: ACCOUNT,
      region: REGION,
      taskToken: token,
      ...(opts.approvalTimeoutSeconds ? { approvalTimeoutSeconds: opts.approvalTimeoutSeconds } : {}),
    },
  );
  // The task token goes to RequestApproval and nowhere else in the workflow.
  for (const [state, list] of Object.entries(inputs)) {
    if (state !== 'RequestApproval') expect(JSON.stringify(list), state).not.toContain(token);
  }
  expect(JSON.stringify(result.output ?? {})).not.toContain(token);
  expect(JSON.stringify(record ?? {})).not.toContain(token);
  return { result, inputs, record, token };
}

const approved = (payload: Input) => ({
  decision: 'approved',
  approvalId: APPROVAL_ID,
  decidedBy: 'alice@example.com',
  decidedAt: NOW,
  comment: 'go ahead',
  planDigest: payload.evaluation.approval.planDigest,
});

describe('approval paths through the real ASL', () => {
  it('RequestApproval gets the task token, the event, the evaluation and the snapshot, via lambda:invoke.waitForTaskToken', async () => {
    let seen: Input;
    const run = await execute({
      raw: publicSnapshot(true),
      decide: async (p) => {
        seen = p;
        return approved(p);
      },
    });
    const [input] = run.inputs.RequestApproval;
    expect(Object.keys(input).sort()).toEqual(['FunctionName', 'Payload']);
    expect(input.FunctionName).toBe(
      `arn:aws:lambda:${REGION}:${ACCOUNT}:function:lambda-guardrail-requestapproval`,
    );
    expect(seen).toEqual({
      action: 'request',
      taskToken: run.token,
      executionId: expect.stringContaining(':execution:lambda-guardrail:approval-flow-'),
      executionName: expect.stringMatching(/^approval-flow-/),
      now: NOW,
      event: EVENT,
      evaluation: expect.objectContaining({
        route: 'approve',
        approval: expect.objectContaining({ findings: 1 }),
      }),
      snapshot: expect.objectContaining({ account: ACCOUNT }),
    });
  });

  it('approve -> RemediateAfterDecision applies the approved plan and the automatic one -> remediated', async () => {
    const run = await execute({ raw: publicSnapshot(true), decide: async (p) => approved(p) });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.states).toEqual(PATH_APPROVED);
    expect(run.inputs.RemediateAfterDecision[0].approval).toMatchObject({
      decision: 'approved',
      decidedBy: 'alice@example.com',
    });
    expect(fake!.writes()).toEqual([
      'UpdateFunctionUrlConfig',
      ...publicUrlPair().map((st) => `RemovePermission ${st.Sid}`),
      'RemovePermission backdoor',
    ]);
    expect(run.record?.outcome).toBe('remediated');
    expect(run.record?.approval).toEqual({
      decision: 'approved',
      approvalId: APPROVAL_ID,
      decidedBy: 'alice@example.com',
      decidedAt: NOW,
      comment: 'go ahead',
      planDigest: expect.stringMatching(/^sha256:/),
    });
  });

  it('an approval for a different plan than the evaluated one applies nothing (resource-changed)', async () => {
    const run = await execute({
      raw: publicSnapshot(false),
      decide: async (p) => ({ ...approved(p), planDigest: 'sha256:something-else' }),
    });
    expect(run.result.states).toEqual([
      'Collect',
      'Evaluate',
      'Route',
      'RequestApproval',
      'RemediateAfterDecision',
      'Remediated?',
      'Record',
      'Succeeded?',
      'Done',
    ]);
    expect(fake!.writes()).toEqual([]);
    expect(run.record?.outcome).toBe('resource-changed');
  });

  it('reject -> the decision is recorded, only the automatic finding is applied -> rejected', async () => {
    const cause = {
      approvalId: APPROVAL_ID,
      decidedBy: 'bob@example.com',
      decidedAt: NOW,
      comment: 'change freeze',
    };
    const run = await execute({
      raw: publicSnapshot(true),
      decide: async () => {
        throw Object.assign(new Error(JSON.stringify(cause)), { name: REJECTED_ERROR });
      },
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.states).toEqual([
      'Collect',
      'Evaluate',
      'Route',
      'RequestApproval',
      'ApprovalRejected',
      'RemediateAfterDecision',
      'Remediated?',
      'Verify',
      'Record',
      'Succeeded?',
      'Done',
    ]);
    expect(run.inputs.RemediateAfterDecision[0].approval).toEqual({
      decision: 'rejected',
      cause: JSON.stringify(cause),
    });
    expect(fake!.writes()).toEqual(['RemovePermission backdoor']);
    expect(run.record?.outcome).toBe('rejected');
    expect(run.record?.approval).toEqual({ decision: 'rejected', ...cause });
  });

  it('reject with nothing automatic next to it: nothing is written', async () => {
    const run = await execute({
      raw: publicSnapshot(false),
      decide: async () => {
        throw Object.assign(new Error('{"decidedBy":"bob@example.com"}'), { name: REJECTED_ERROR });
      },
    });
    expect(fake!.writes()).toEqual([]);
    expect(run.inputs.Verify).toBeUndefined();
    expect((run.inputs.Record[0].state.remediation as Remediation).status).toBe('nothing-to-do');
    expect(run.record?.outcome).toBe('rejected');
  });

  it('timeout -> States.Timeout after TimeoutSeconds -> ApprovalExpired -> nothing changed -> expired', async () => {
    const started = Date.now();
    const run = await execute({
      raw: publicSnapshot(false),
      approvalTimeoutSeconds: 1,
      decide: () => new Promise(() => undefined),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.states).toEqual([
      'Collect',
      'Evaluate',
      'Route',
      'RequestApproval',
      'ApprovalExpired',
      'RemediateAfterDecision',
      'Remediated?',
      'Record',
      'Succeeded?',
      'Done',
    ]);
    expect(run.inputs.ApprovalExpired[0]).toEqual({
      action: 'expire',
      executionName: expect.stringMatching(/^approval-flow-/),
      event: EVENT,
      evaluation: expect.objectContaining({ route: 'approve' }),
    });
    expect(run.inputs.Record[0].state.approvalError).toEqual({
      Error: 'States.Timeout',
      Cause: expect.any(String),
    });
    expect(fake!.writes()).toEqual([]);
    expect(run.record?.outcome).toBe('expired');
    expect(run.record?.approval).toEqual({
      decision: 'expired',
      approvalId: APPROVAL_ID,
      expiredAt: NOW,
      notified: 2,
    });
  });

  it('RequestApproval failing (e.g. SES refuses the sender) is recorded and fails the execution', async () => {
    const run = await execute({
      raw: publicSnapshot(false),
      decide: async () => {
        throw Object.assign(new Error('Email address is not verified'), { name: 'MessageRejected' });
      },
    });
    expect(run.result.status).toBe('FAILED');
    expect(run.result.states).toEqual([
      'Collect',
      'Evaluate',
      'Route',
      'RequestApproval',
      'RecordFailure',
      'Failed',
    ]);
    expect(run.record?.outcome).toBe('failed');
    expect(fake!.writes()).toEqual([]);
  });

  it('without approvers the approve route still goes to Remediate (only automatic findings), never RequestApproval', async () => {
    const config = parseConfig({ rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } } });
    const raw = publicSnapshot(false);
    const evaluation = evaluate({ snapshot: redactSnapshot(raw), config, now: NOW, event: EVENT });
    expect(evaluation.route).toBe('approve');
    const result = await runAsl(
      {
        Collect: async () => ({ snapshot: redactSnapshot(raw), killSwitch: false, killSwitchReason: 'off' }),
        Evaluate: async () => evaluation,
        Remediate: async () => ({ status: 'nothing-to-do', steps: [] }),
        RequestApproval: async () => {
          throw new Error('must not run');
        },
        Record: async (i) => ({
          outcome: buildLedgerRecord({ executionName: 'x', recordedAt: NOW, state: (i as Input).state })
            .outcome,
        }),
      },
      { event: EVENT },
      { name: `approval-flow-${++counter}`, now: NOW, account: ACCOUNT, region: REGION },
    );
    expect(result.states).toEqual(PATH_NOT_APPLIED);
    expect(result.output?.record).toEqual({ outcome: 'approval-required' });
  });
});
