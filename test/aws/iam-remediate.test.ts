/**
 * Remediate for execution roles (functions/aws/workflow.ts remediateStep), over a mocked IAM API:
 * defence in depth (an automatic rewrite is never applied without a passing proof, even if the Prove
 * state was skipped), and the re-read without evidence that reuses the evaluated evidence.
 */
import {
  GenerateServiceLastAccessedDetailsCommand,
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
import { remediateStep } from '../../functions/aws/workflow.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { applyProofs } from '../../functions/core/iam/proof.ts';
import type { NormalizedEvent, Snapshot } from '../../functions/core/types.ts';
import { ACCOUNT, REGION } from '../unit/helpers.ts';
import { ADMIN_STATEMENT, doc, IAM_NOW, ROLE_ARN, ROLE_NAME, roleSnapshot } from '../unit/iam-helpers.ts';

const iam = mockClient(IAMClient);
const ssm = mockClient(SSMClient);
const config = parseConfig({ rules: { 'IAM.ROLE.ADMIN': { mode: 'auto', minEvidenceDays: 1 } } });
const deps = () => ({ clients: createClients({ maxAttempts: 1 }), config });
const EVENT: NormalizedEvent = {
  eventId: 'e1',
  eventName: 'PutRolePolicy',
  action: 'PutRolePolicy',
  service: 'iam',
  account: ACCOUNT,
  region: REGION,
  time: IAM_NOW,
  actor: { type: 'IAMUser' },
  resources: { roleName: ROLE_NAME, roleArn: ROLE_ARN },
  requestParameters: {},
  origin: 'event',
};
const snapshot = (): Snapshot =>
  roleSnapshot({
    inline: { app: doc(ADMIN_STATEMENT) },
    usage: { sqs: { last: '2025-06-10T00:00:00.000Z' } },
  });

function serve(s: Snapshot) {
  const r = s.responses;
  iam.on(GetRoleCommand).resolves(r['GetRole'] as never);
  iam.on(ListRolePoliciesCommand).resolves(r['ListRolePolicies'] as never);
  iam.on(GetRolePolicyCommand).resolves(r['GetRolePolicy:app'] as never);
  iam.on(ListAttachedRolePoliciesCommand).resolves(r['ListAttachedRolePolicies'] as never);
  iam.on(PutRolePolicyCommand).resolves({});
}

beforeEach(() => {
  iam.reset();
  ssm.reset();
  ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'none', $metadata: {} }));
  serve(snapshot());
});

describe('remediateStep for execution roles', () => {
  const evaluated = () => evaluate({ snapshot: snapshot(), config, now: IAM_NOW });

  it('refuses an automatic rewrite that was never proved (no proof on the finding); writes nothing', async () => {
    const evaluation = evaluated();
    const admin = evaluation.findings.find((f) => f.ruleId === 'IAM.ROLE.ADMIN')!;
    expect(admin.mode).toBe('auto');
    expect(admin.plan.proofs?.length).toBeGreaterThan(0);
    const r = await remediateStep(deps(), { event: EVENT, evaluation, now: IAM_NOW, snapshot: snapshot() });
    expect(r.status).toBe('nothing-to-do');
    expect(r.drift?.[0]).toMatch(/IAM\.ROLE\.ADMIN .* without a passing proof \(not proved\)/);
    expect(iam).not.toHaveReceivedCommand(PutRolePolicyCommand);
    expect(iam).not.toHaveReceivedCommand(GetRoleCommand);
  });

  it('with a PASS proof: re-reads the role without evidence, reuses the evaluated evidence, applies', async () => {
    const e = evaluated();
    const i = e.findings.findIndex((f) => f.ruleId === 'IAM.ROLE.ADMIN');
    const evaluation = applyProofs(e, { [i]: { status: 'PASS', checks: [] } }, config);
    const r = await remediateStep(deps(), { event: EVENT, evaluation, now: IAM_NOW, snapshot: snapshot() });
    expect(r.drift).toBeUndefined();
    expect(r.status).toBe('applied');
    expect(iam).toHaveReceivedCommandTimes(PutRolePolicyCommand, 1);
    expect(iam).not.toHaveReceivedCommand(GenerateServiceLastAccessedDetailsCommand);
  });

  it('without the evaluated snapshot the re-read has no evidence, the plan differs: resource-changed', async () => {
    const e = evaluated();
    const i = e.findings.findIndex((f) => f.ruleId === 'IAM.ROLE.ADMIN');
    const evaluation = applyProofs(e, { [i]: { status: 'PASS', checks: [] } }, config);
    const r = await remediateStep(deps(), { event: EVENT, evaluation, now: IAM_NOW });
    expect(r.status).toBe('resource-changed');
    expect(iam).not.toHaveReceivedCommand(PutRolePolicyCommand);
  });
});
