/**
 * LAMBDA.ENV.SECRET through the real ASL (state-machines/guardrail.asl.json, run by
 * aws-local-stepfunctions via scripts/local/runtime.ts `runAsl`) with the real Collect, Evaluate,
 * Remediate, RemediateAfterDecision and Verify handlers, over the stateful SDK fake of
 * test/aws/env-secret-world.ts. Record's outcome comes from the real, pure buildLedgerRecord().
 * RequestApproval is a stub that answers the way the approval callback would (approved with the
 * plan digest, or rejected).
 *
 * Paths: auto (by config), report, approve without approvers (recorded as approval-required, nothing
 * applied), approve with approvers (approved -> moved; rejected -> nothing), and a move that hits a
 * concurrent update (resource-changed, undone). Every run checks that no task input and no execution
 * output carries a secret value.
 */

import { GetParameterCommand, ParameterNotFound } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { approvalDigest, REJECTED_ERROR } from '../../functions/core/approval.ts';
import type { GuardrailConfig } from '../../functions/core/config.ts';
import { buildLedgerRecord, type LedgerRecord, type WorkflowState } from '../../functions/core/ledger.ts';
import type { Finding } from '../../functions/core/types.ts';
import { makeCollect } from '../../functions/handlers/collect.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { makeEvaluate } from '../../functions/handlers/evaluate.ts';
import { makeRemediate } from '../../functions/handlers/remediate.ts';
import { makeVerify } from '../../functions/handlers/verify.ts';
import { type ExecutionResult, localTaskToken, runAsl } from '../../scripts/local/runtime.ts';
import {
  deps,
  ENV,
  EVENT,
  MOCKS,
  ORDINARY,
  serve,
  ssm,
  VALUES,
  type World,
  writes,
} from '../aws/env-secret-world.ts';
import {
  PATH_APPROVED,
  PATH_NOT_APPLIED,
  PATH_RECORD_ONLY,
  PATH_REJECTED,
  PATH_REMEDIATED,
} from '../support/paths.ts';
import { ACCOUNT, NOW, REGION } from '../unit/helpers.ts';

const APPROVERS = { approvers: ['alice@example.com'], approvalSender: 'guardrail@example.com' };
const rule = (mode: 'auto' | 'approve' | 'report') => ({ rules: { 'LAMBDA.ENV.SECRET': { mode } } });

// biome-ignore lint/suspicious/noExplicitAny: task inputs are untyped JSON
type Input = any;

let counter = 0;

beforeAll(() => logger.setLogLevel('SILENT'));
afterAll(() => {
  for (const m of Object.values(MOCKS)) m.restore();
  logger.setLogLevel('INFO');
});
beforeEach(() => {
  for (const m of Object.values(MOCKS)) m.reset();
  ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
});

async function execute(
  config: Partial<GuardrailConfig> | Record<string, unknown>,
  decide?: (payload: Input) => Promise<unknown>,
): Promise<{ result: ExecutionResult; inputs: Record<string, Input[]>; record: LedgerRecord }> {
  const d = deps(config);
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
    Collect: makeCollect(d),
    Evaluate: makeEvaluate(d),
    Remediate: makeRemediate(d),
    RemediateAfterDecision: makeRemediate(d),
    Verify: makeVerify(d),
    Record: recordStub,
    RecordFailure: recordStub,
    RequestApproval: async (i) => {
      if (!decide) throw new Error('RequestApproval must not run on this path');
      return decide(i.Payload);
    },
    ApprovalExpired: async () => ({ decision: 'expired', expiredAt: NOW, notified: 1 }),
  };
  const inputs: Record<string, Input[]> = {};
  const handlers = Object.fromEntries(
    Object.entries(stubs).map(([state, fn]) => [
      state,
      async (input: unknown) => {
        inputs[state] = [...(inputs[state] ?? []), structuredClone(input)];
        return fn(input);
      },
    ]),
  );
  const result = await runAsl(
    handlers,
    { event: EVENT },
    {
      name: `env-secret-flow-${++counter}`,
      now: NOW,
      account: ACCOUNT,
      region: REGION,
      taskToken: localTaskToken(),
    },
  );
  // Payloads carry only what handlers return: no secret value travels, whatever the path.
  for (const [state, list] of Object.entries(inputs)) {
    for (const v of VALUES)
      expect(JSON.stringify(list).includes(v), `a secret value in the input of ${state}`).toBe(false);
  }
  for (const v of VALUES)
    expect(JSON.stringify(result).includes(v), 'a secret value in the execution result').toBe(false);
  expect(record, 'the execution was recorded').toBeDefined();
  return { result, inputs, record: record! };
}

const envFinding = (r: LedgerRecord) => r.findings.find((f: Finding) => f.ruleId === 'LAMBDA.ENV.SECRET')!;
const moved = (w: World) => {
  expect(w.secrets.size).toBe(2);
  expect(w.rolePolicies.size).toBe(2);
  expect(Object.keys(w.env).sort()).toEqual(
    [...Object.keys(ORDINARY), 'API_TOKEN_SECRET_ARN', 'DB_PASSWORD_SECRET_ARN'].sort(),
  );
};
const untouched = (w: World) => {
  expect(writes()).toEqual([]);
  expect(w.env).toEqual(ENV);
  expect(w.secrets.size).toBe(0);
};

describe('LAMBDA.ENV.SECRET through the real ASL', () => {
  it('auto (by config): Remediate moves the secrets, Verify finds them gone, recorded as remediated', async () => {
    const w = serve();
    const { result, inputs, record } = await execute(rule('auto'));
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual(PATH_REMEDIATED);
    // Collect handed Evaluate markers, never values.
    const vars = inputs.Evaluate[0].snapshot.responses.GetFunctionConfiguration.Environment.Variables;
    expect(vars.DB_PASSWORD).toMatch(/^\[redacted:named-password:high:hmac-sha256:[0-9a-f]{32}\]$/);
    expect(vars.TABLE_NAME).toBe('[redacted]');
    expect(record.outcome).toBe('remediated');
    expect(record.remediation?.steps.map((s) => s.operation)).toEqual([
      'CreateSecret',
      'CreateSecret',
      'PutRolePolicy',
      'PutRolePolicy',
      'UpdateFunctionConfiguration',
    ]);
    expect(record.verification).toEqual({ verified: true, remaining: [] });
    moved(w);
  });

  it('report: the plan is recorded, Remediate never runs, nothing is written', async () => {
    const w = serve();
    const { result, inputs, record } = await execute(rule('report'));
    expect(result.states).toEqual(PATH_RECORD_ONLY);
    expect(inputs.Remediate).toBeUndefined();
    expect(record.outcome).toBe('reported');
    expect(envFinding(record).plan.steps).toHaveLength(5);
    untouched(w);
  });

  it('approve (the default) without approvers: Route -> Remediate applies nothing; approval-required', async () => {
    const w = serve();
    const { result, record } = await execute({});
    expect(result.states).toEqual(PATH_NOT_APPLIED);
    expect(record.route).toBe('approve');
    expect(record.remediation).toEqual({ status: 'nothing-to-do', steps: [] });
    expect(record.outcome).toBe('approval-required');
    untouched(w);
  });

  it('approve with approvers, approved: RequestApproval -> RemediateAfterDecision moves the secrets', async () => {
    const w = serve();
    let asked: Input;
    const { result, record } = await execute(APPROVERS, async (payload) => {
      asked = payload;
      return {
        decision: 'approved',
        approvalId: '0123456789abcdef0123456789abcdef',
        decidedBy: 'alice@example.com',
        decidedAt: NOW,
        planDigest: approvalDigest(payload.evaluation.findings),
      };
    });
    expect(result.states).toEqual(PATH_APPROVED);
    // The approver is shown the plan with references and markers only.
    expect(JSON.stringify(asked)).toContain('"fromEnvironment":"DB_PASSWORD"');
    expect(record.outcome).toBe('remediated');
    expect(record.approval).toMatchObject({ decision: 'approved', decidedBy: 'alice@example.com' });
    moved(w);
  });

  it('approve with approvers, rejected: nothing is written; recorded as rejected', async () => {
    const w = serve();
    const { result, record } = await execute(APPROVERS, async () => {
      throw Object.assign(
        new Error(JSON.stringify({ approvalId: 'x', decidedBy: 'alice@example.com', decidedAt: NOW })),
        {
          name: REJECTED_ERROR,
        },
      );
    });
    expect(result.states).toEqual(PATH_REJECTED);
    expect(record.outcome).toBe('rejected');
    untouched(w);
  });

  it('auto, a concurrent update before UpdateFunctionConfiguration: resource-changed, everything undone, no Verify', async () => {
    const w = serve();
    w.beforeUpdate = () => {
      w.env = { ...w.env, LOG_LEVEL: 'debug' };
      w.revision++;
      w.beforeUpdate = undefined;
    };
    const { result, record } = await execute(rule('auto'));
    expect(result.states).toEqual(PATH_NOT_APPLIED);
    expect(record.outcome).toBe('resource-changed');
    expect(record.remediation?.undo?.every((u) => u.status === 'applied')).toBe(true);
    expect(w.secrets.size).toBe(0);
    expect(w.rolePolicies.size).toBe(0);
    expect(w.env).toEqual({ ...ENV, LOG_LEVEL: 'debug' });
  });
});
