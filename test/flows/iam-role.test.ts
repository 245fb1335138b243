/**
 * Execution-role paths through the real ASL (state-machines/guardrail.asl.json) run by
 * aws-local-stepfunctions (scripts/local/runtime.ts `runAsl`): the real Evaluate, Prove and Remediate
 * handlers, Access Analyzer and IAM mocked with aws-sdk-client-mock, Collect returning a role snapshot
 * with Access Advisor evidence (test/unit/iam-helpers.ts), Verify and Record stubbed.
 *
 * Paths: approve (the default) -> approval; auto with proof PASS -> Prove -> Remediate -> Verify;
 * proof FAIL -> approval; proof unavailable (access denied) -> approval.
 */
import {
  AccessAnalyzerClient,
  AccessDeniedException,
  CheckNoNewAccessCommand,
  ValidatePolicyCommand,
} from '@aws-sdk/client-accessanalyzer';
import {
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { EvidencePendingError } from '../../functions/aws/collect-role.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { buildLedgerRecord, type WorkflowState } from '../../functions/core/ledger.ts';
import type { Remediation } from '../../functions/core/outcome.ts';
import type { Finding, NormalizedEvent, Snapshot } from '../../functions/core/types.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeEvaluate } from '../../functions/handlers/evaluate.ts';
import { makeProve } from '../../functions/handlers/prove.ts';
import { makeRemediate } from '../../functions/handlers/remediate.ts';
import { runAsl, type TaskHandlers } from '../../scripts/local/runtime.ts';
import { PATH_APPROVED, PATH_NOT_APPLIED, PATH_REMEDIATED, proved } from '../support/paths.ts';
import { ACCOUNT, REGION } from '../unit/helpers.ts';
import { ADMIN_STATEMENT, doc, IAM_NOW, ROLE_ARN, ROLE_NAME, roleSnapshot } from '../unit/iam-helpers.ts';

logger.setLogLevel('SILENT');

const aa = mockClient(AccessAnalyzerClient);
const iam = mockClient(IAMClient);
const ssm = mockClient(SSMClient);
const META = { $metadata: {} };

const EVENT: NormalizedEvent = {
  eventId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  eventName: 'PutRolePolicy',
  action: 'PutRolePolicy',
  service: 'iam',
  account: ACCOUNT,
  region: REGION,
  time: '2025-06-15T11:55:00.000Z',
  actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT },
  resources: { roleName: ROLE_NAME, roleArn: ROLE_ARN },
  requestParameters: { roleName: ROLE_NAME, policyName: 'app' },
  origin: 'event',
};

const USED = {
  s3: {
    last: '2025-06-10T00:00:00.000Z',
    actions: { GetObject: '2025-06-10T00:00:00.000Z', PutObject: null },
  },
  dynamodb: { last: '2025-06-12T00:00:00.000Z', actions: { Query: '2025-06-12T00:00:00.000Z' } },
  ec2: {},
};
const snapshot = (): Snapshot => roleSnapshot({ inline: { app: doc(ADMIN_STATEMENT) }, usage: USED });

/** The IAM API serving the role as the snapshot holds it (Remediate re-reads it without evidence). */
function serveRole(s: Snapshot) {
  const r = s.responses;
  iam.on(GetRoleCommand).resolves({ ...META, ...(r['GetRole'] as object) });
  iam.on(ListRolePoliciesCommand).resolves({ ...META, ...(r['ListRolePolicies'] as object) });
  iam.on(GetRolePolicyCommand).callsFake(async (i: { PolicyName: string }) => ({
    ...META,
    ...(r[`GetRolePolicy:${i.PolicyName}`] as object),
  }));
  iam.on(ListAttachedRolePoliciesCommand).resolves({ ...META, ...(r['ListAttachedRolePolicies'] as object) });
  iam.on(PutRolePolicyCommand).resolves(META);
}

// biome-ignore lint/suspicious/noExplicitAny: task inputs are free-form JSON in these assertions.
type Input = Record<string, any>;
let counter = 0;

async function run(config: Record<string, unknown>, extra: Partial<TaskHandlers> = {}) {
  const deps: HandlerDeps = {
    clients: createClients({ maxAttempts: 1 }),
    config: parseConfig(config),
    homeRegion: REGION,
    now: () => IAM_NOW,
  };
  const inputs: Record<string, Input[]> = {};
  const record = async (i: unknown) => ({
    outcome: buildLedgerRecord({
      executionName: 'x',
      recordedAt: IAM_NOW,
      state: (i as { state: WorkflowState }).state,
    }).outcome,
  });
  const handlers: TaskHandlers = {
    Collect: async () => ({ snapshot: snapshot(), killSwitch: false, killSwitchReason: '' }),
    Evaluate: makeEvaluate(() => deps),
    Prove: makeProve(() => deps),
    Remediate: makeRemediate(() => deps),
    RemediateAfterDecision: makeRemediate(() => deps),
    Verify: async () => ({ verified: true, remaining: [] }),
    Record: record,
    RecordFailure: record,
    ...extra,
  };
  const recorded = Object.fromEntries(
    Object.entries(handlers).map(([k, fn]) => [
      k,
      async (i: unknown) => {
        inputs[k] = [...(inputs[k] ?? []), i as Input];
        return fn!(i);
      },
    ]),
  );
  const result = await runAsl(
    recorded,
    { event: EVENT },
    { name: `iam-flow-${++counter}`, now: IAM_NOW, account: ACCOUNT, region: REGION },
  );
  return { result, inputs };
}

const adminFinding = (e: { findings: Finding[] }) => e.findings.find((f) => f.ruleId === 'IAM.ROLE.ADMIN')!;
const AUTO = { rules: { 'IAM.ROLE.ADMIN': { mode: 'auto', minEvidenceDays: 1 } } };

beforeEach(() => {
  aa.reset();
  iam.reset();
  ssm.reset();
  ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'none', $metadata: {} }));
  serveRole(snapshot());
});

describe('execution-role paths', () => {
  it('auto with proof PASS: Evaluate > Route > Prove > Route > Remediate (PutRolePolicy) > Verify > Record', async () => {
    aa.on(ValidatePolicyCommand).resolves({ ...META, findings: [] });
    aa.on(CheckNoNewAccessCommand).resolves({ ...META, result: 'PASS', message: 'no new access' });
    const { result, inputs } = await run(AUTO);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual(proved(PATH_REMEDIATED));
    expect(inputs.Evaluate![0]).toBeTruthy();
    const evaluated = result.output!.evaluation as {
      needsProof: boolean;
      route: string;
      findings: Finding[];
    };
    expect(evaluated.needsProof).toBe(false);
    expect(evaluated.route).toBe('auto');
    expect(adminFinding(evaluated).proof?.status).toBe('PASS');
    // What was proved is exactly what was written.
    const proof = adminFinding(evaluated).plan.proofs![0]!;
    expect(aa.commandCalls(CheckNoNewAccessCommand)[0]!.args[0].input).toMatchObject({
      policyType: 'IDENTITY_POLICY',
      newPolicyDocument: proof.newPolicyDocument,
      existingPolicyDocument: proof.existingPolicyDocument,
    });
    const puts = iam.commandCalls(PutRolePolicyCommand).map((c) => c.args[0].input);
    expect(puts).toEqual([
      { RoleName: ROLE_NAME, PolicyName: 'app', PolicyDocument: proof.newPolicyDocument },
    ]);
    const written = JSON.parse(puts[0]!.PolicyDocument!);
    expect(JSON.stringify(written)).not.toContain('"Action":"*"');
    // Remediate re-read the role without evidence and used the evaluated evidence (same plan).
    expect(inputs.Remediate![0]!.snapshot.responses.GetServiceLastAccessedDetails).toBeTruthy();
    const remediation = result.output!.remediation as Remediation;
    expect(remediation.status).toBe('applied');
    expect(remediation.steps[0]!.before).toEqual({ PolicyName: 'app', PolicyDocument: doc(ADMIN_STATEMENT) });
    expect(result.output!.record).toEqual({ outcome: 'remediated' });
  });

  it('approve (the default mode): Prove runs, the finding stays approve; without approvers nothing is written', async () => {
    aa.on(ValidatePolicyCommand).resolves({ ...META, findings: [] });
    aa.on(CheckNoNewAccessCommand).resolves({ ...META, result: 'PASS' });
    const { result } = await run({});
    expect(result.states).toEqual(proved(PATH_NOT_APPLIED));
    const f = adminFinding(result.output!.evaluation as { findings: Finding[] });
    expect(f.mode).toBe('approve');
    expect(f.proof?.status).toBe('PASS');
    expect(iam).not.toHaveReceivedCommand(PutRolePolicyCommand);
    expect(result.output!.record).toEqual({ outcome: 'approval-required' });
  });

  it('approve with approvers: RequestApproval, approved -> the proved rewrite is applied', async () => {
    aa.on(ValidatePolicyCommand).resolves({ ...META, findings: [] });
    aa.on(CheckNoNewAccessCommand).resolves({ ...META, result: 'PASS' });
    const { result } = await run(
      { approvers: ['secops@example.com'], approvalSender: 'guardrail@example.com' },
      {
        RequestApproval: async (i) => {
          const e = (i as { Payload: { evaluation: { approval: { planDigest: string } } } }).Payload
            .evaluation;
          return {
            decision: 'approved',
            approvalId: 'a1',
            decidedBy: 'secops@example.com',
            decidedAt: IAM_NOW,
            planDigest: e.approval.planDigest,
          };
        },
      },
    );
    expect(result.states).toEqual(proved(PATH_APPROVED));
    expect(iam).toHaveReceivedCommandTimes(PutRolePolicyCommand, 1);
    expect(result.output!.record).toEqual({ outcome: 'remediated' });
  });

  it('auto, but CheckNoNewAccess FAIL: the finding goes to approval with the reason; nothing is written', async () => {
    aa.on(ValidatePolicyCommand).resolves({ ...META, findings: [] });
    aa.on(CheckNoNewAccessCommand).resolves({
      ...META,
      result: 'FAIL',
      message: 'The modified permissions grant new access compared to your existing policy.',
      reasons: [{ description: 'New access in the statement with index: 0.', statementIndex: 0 }],
    });
    const { result } = await run(AUTO);
    const e = result.output!.evaluation as { route: string; findings: Finding[] };
    const f = adminFinding(e);
    expect(e.route).toBe('approve');
    expect(f.mode).toBe('approve');
    expect(f.proof?.status).toBe('FAIL');
    expect(f.modeReason).toContain('CheckNoNewAccess');
    expect(iam).not.toHaveReceivedCommand(PutRolePolicyCommand);
    expect(result.output!.record).toEqual({ outcome: 'approval-required' });
  });

  it('auto, but Access Analyzer denied: the proof is UNAVAILABLE with its reason, the finding is kept for approval', async () => {
    aa.on(ValidatePolicyCommand).rejects(
      new AccessDeniedException({
        message: 'not authorized to perform: access-analyzer:ValidatePolicy',
        $metadata: {},
      }),
    );
    const { result } = await run(AUTO);
    const f = adminFinding(result.output!.evaluation as { findings: Finding[] });
    expect(f.mode).toBe('approve');
    expect(f.proof?.status).toBe('UNAVAILABLE');
    expect(f.proof!.checks[0]!.reason).toContain('AccessDeniedException');
    expect(iam).not.toHaveReceivedCommand(PutRolePolicyCommand);
    expect(result.output!.record).toEqual({ outcome: 'approval-required' });
  });

  it('Access Advisor still generating: Collect throws EvidencePendingError, the state retries it, then goes on', async () => {
    aa.on(ValidatePolicyCommand).resolves({ ...META, findings: [] });
    aa.on(CheckNoNewAccessCommand).resolves({ ...META, result: 'PASS' });
    let attempts = 0;
    const { result } = await run(AUTO, {
      Collect: async () => {
        attempts++;
        if (attempts < 3) throw new EvidencePendingError('the last-accessed report is still IN_PROGRESS');
        return { snapshot: snapshot(), killSwitch: false, killSwitchReason: '' };
      },
    });
    expect(attempts).toBe(3);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states[0]).toBe('Collect');
    expect(result.states).toContain('Prove');
    expect(iam).toHaveReceivedCommandTimes(PutRolePolicyCommand, 1);
  });

  it('a role without wildcards never enters Prove (no plan with proofs): Route goes straight on', async () => {
    const { result } = await run(AUTO, {
      Collect: async () => ({
        snapshot: roleSnapshot({
          inline: { app: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }) },
          usage: USED,
        }),
        killSwitch: false,
        killSwitchReason: '',
      }),
    });
    expect(result.states).not.toContain('Prove');
    expect(aa).not.toHaveReceivedCommand(ValidatePolicyCommand);
  });
});
