import {
  AddPermissionCommand,
  type AddPermissionCommandInput,
  GetPolicyCommand,
  LambdaClient,
  RemovePermissionCommand,
  type RemovePermissionCommandInput,
  UpdateFunctionUrlConfigCommand,
  type UpdateFunctionUrlConfigCommandInput,
} from '@aws-sdk/client-lambda';
import type { AppliedStep, Remediation } from '../core/outcome.ts';
import { actionKeyOf, canonicalJson } from '../core/plan.ts';
import { parsePolicyDocument, type Statement } from '../core/policy.ts';
import { functionUrlConfigs, keyFor, policyFor } from '../core/snapshot.ts';
import type { Finding, PlanStep, Snapshot } from '../core/types.ts';
import { type AwsClients, body, errorName } from './clients.ts';

/**
 * Plan executors: the write side. Each supported operation maps to exactly one SDK command; the
 * operations and the IAM actions they need are declared in core/actions.ts.
 */

type Exec = (
  clients: AwsClients,
  region: string,
  params: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

export const EXECUTORS: Readonly<Record<string, Exec>> = {
  'lambda:UpdateFunctionUrlConfig': async (c, r, p) =>
    body(
      await c
        .get(LambdaClient, r)
        .send(new UpdateFunctionUrlConfigCommand(p as unknown as UpdateFunctionUrlConfigCommandInput)),
    ),
  'lambda:RemovePermission': async (c, r, p) =>
    body(
      await c
        .get(LambdaClient, r)
        .send(new RemovePermissionCommand(p as unknown as RemovePermissionCommandInput)),
    ),
  'lambda:AddPermission': async (c, r, p) =>
    body(
      await c.get(LambdaClient, r).send(new AddPermissionCommand(p as unknown as AddPermissionCommandInput)),
    ),
};

/** Errors that mean "nothing was written, try the whole remediation again later". */
const RETRYABLE = new Set(['ResourceConflictException', 'ThrottlingException', 'TooManyRequestsException']);

export class PolicyDriftError extends Error {
  override name = 'PolicyDriftError';
}

/** Tracks what each resource policy should look like as this plan's steps are applied. */
class PolicyLedger {
  private expected = new Map<string, Statement[]>();
  constructor(private readonly fresh: Snapshot) {}
  private key(p: Record<string, unknown>) {
    return keyFor('GetPolicy', p['Qualifier'] as string | undefined);
  }
  statements(p: Record<string, unknown>): Statement[] {
    const k = this.key(p);
    if (!this.expected.has(k)) {
      this.expected.set(k, [
        ...(policyFor(this.fresh, p['Qualifier'] as string | undefined)?.document.Statement ?? []),
      ]);
    }
    return this.expected.get(k)!;
  }
  statement(p: Record<string, unknown>): Statement | undefined {
    return this.statements(p).find((s) => s.Sid === p['StatementId']);
  }
  removed(p: Record<string, unknown>) {
    this.expected.set(
      this.key(p),
      this.statements(p).filter((s) => s.Sid !== p['StatementId']),
    );
  }
  added(p: Record<string, unknown>, st: Statement) {
    this.expected.set(this.key(p), [...this.statements(p).filter((s) => s.Sid !== st.Sid), st]);
  }
}

const sortedStatements = (list: Statement[]) =>
  canonicalJson([...list].sort((a, b) => String(a.Sid).localeCompare(String(b.Sid))));

/** Resolves deferred parameter values at apply time; returns the request to send. */
async function resolveParameters(
  clients: AwsClients,
  region: string,
  step: PlanStep,
  policies: PolicyLedger,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(step.parameters)) {
    if (v && typeof v === 'object' && 'fromPolicyRevision' in v) {
      const ref = (v as { fromPolicyRevision: { FunctionName: string; Qualifier?: string } })
        .fromPolicyRevision;
      const r = await clients.get(LambdaClient, region).send(new GetPolicyCommand(ref));
      const actual = parsePolicyDocument(r.Policy ?? '{"Statement":[]}').Statement;
      // Only this plan's earlier steps may have changed the policy since it was evaluated.
      if (sortedStatements(actual) !== sortedStatements(policies.statements(ref))) {
        throw new PolicyDriftError(
          `the resource policy of ${ref.FunctionName}${ref.Qualifier ? `:${ref.Qualifier}` : ''} changed during remediation`,
        );
      }
      out[k] = r.RevisionId;
    } else {
      out[k] = v;
    }
  }
  return out;
}

function before(step: PlanStep, fresh: Snapshot, policies: PolicyLedger): unknown {
  const p = step.parameters;
  switch (actionKeyOf(step)) {
    case 'lambda:UpdateFunctionUrlConfig': {
      const url = functionUrlConfigs(fresh).find(
        (u) => u.qualifier === (p['Qualifier'] as string | undefined),
      );
      return url
        ? { AuthType: url.AuthType, Cors: url.Cors ?? null, InvokeMode: url.InvokeMode ?? null }
        : null;
    }
    case 'lambda:RemovePermission':
    case 'lambda:AddPermission':
      return policies.statement(p) ?? null;
    default:
      return null;
  }
}

function after(step: PlanStep, response: Record<string, unknown>): unknown {
  switch (actionKeyOf(step)) {
    case 'lambda:UpdateFunctionUrlConfig':
      return {
        AuthType: response['AuthType'],
        Cors: response['Cors'] ?? null,
        InvokeMode: response['InvokeMode'] ?? null,
      };
    case 'lambda:AddPermission':
      return typeof response['Statement'] === 'string' ? JSON.parse(response['Statement']) : null;
    default:
      return null;
  }
}

/**
 * Applies the findings' plan steps in order against a fresh snapshot. Stops at the first failure.
 * A retryable error before anything was written is rethrown so Step Functions retries the state;
 * after the first write, a failure is returned with the steps applied so far (rollback can undo them).
 */
export async function applyPlan(
  clients: AwsClients,
  region: string,
  findings: readonly Finding[],
  fresh: Snapshot,
): Promise<Remediation> {
  const policies = new PolicyLedger(fresh);
  const steps: AppliedStep[] = [];
  for (const finding of findings) {
    for (const step of finding.plan.steps) {
      const exec = EXECUTORS[actionKeyOf(step)];
      const record: AppliedStep = {
        ruleId: finding.ruleId,
        resourceArn: finding.resourceArn,
        service: step.service,
        operation: step.operation,
        parameters: step.parameters,
        status: 'failed',
        before: before(step, fresh, policies),
        ...(step.inverse
          ? {
              inverse: {
                service: step.inverse.service,
                operation: step.inverse.operation,
                parameters: step.inverse.parameters,
              },
            }
          : {}),
      };
      try {
        if (!exec) throw new Error(`no executor for ${actionKeyOf(step)}`);
        const params = await resolveParameters(clients, region, step, policies);
        const response = await exec(clients, region, params);
        record.status = 'applied';
        record.after = after(step, response);
        if (step.operation === 'RemovePermission') policies.removed(step.parameters);
        if (step.operation === 'AddPermission' && record.after)
          policies.added(step.parameters, record.after as Statement);
        steps.push(record);
      } catch (err) {
        const nothingWritten = steps.length === 0;
        if (nothingWritten && RETRYABLE.has(errorName(err))) throw err;
        record.error = `${errorName(err)}: ${(err as Error).message}`.slice(0, 500);
        steps.push(record);
        const drift = errorName(err) === 'PreconditionFailedException' || err instanceof PolicyDriftError;
        return {
          status: drift && nothingWritten ? 'resource-changed' : 'failed',
          steps,
          ...(drift ? { drift: [record.error] } : {}),
          error: record.error,
        };
      }
    }
  }
  return { status: steps.length ? 'applied' : 'nothing-to-do', steps };
}
