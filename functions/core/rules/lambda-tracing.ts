import { functionArnOf, functionConfiguration } from '../snapshot.ts';
import type { PlanStep, Rule } from '../types.ts';

/**
 * LAMBDA.TRACING: X-Ray active tracing is off (TracingConfig.Mode is not `Active`).
 *
 * The fix is two writes, in this order (all or nothing):
 * 1. `iam:AttachRolePolicy` of the AWS managed policy AWSXRayDaemonWriteAccess to the execution role
 *    (it allows xray:PutTraceSegments and xray:PutTelemetryRecords, what the function needs to send
 *    traces), unless that policy or AWSXrayWriteOnlyAccess is already attached. Lambda adds these
 *    permissions itself only when the console creates the role; for an existing role it does not, and
 *    a function with tracing Active and no grant loses its traces silently. Inverse: DetachRolePolicy.
 * 2. `lambda:UpdateFunctionConfiguration` with TracingConfig {Mode: Active} and the RevisionId read
 *    (sequencePlans turns it into `{fromFunctionRevision}` when an earlier plan wrote the function).
 *    Inverse: the previous mode.
 *
 * The plan needs the role's attached policies (`ListAttachedRolePolicies:<role name>`, read by the
 * collector for a function whose tracing is not Active). Without them, or for a role in another
 * account, the finding has no plan and carries the two commands instead. Default mode `report`;
 * `rules.LAMBDA.TRACING.mode` may make it `auto` (the rule is opt-in: `rules.LAMBDA.TRACING.enabled`).
 */

export const RULE_ID = 'LAMBDA.TRACING';
export const XRAY_MANAGED_POLICY = 'AWSXRayDaemonWriteAccess';
/** AWS managed policies that already grant what tracing needs. */
const XRAY_POLICIES = [XRAY_MANAGED_POLICY, 'AWSXrayWriteOnlyAccess'];

const roleNameOf = (arn: string | undefined) => (arn ? /:role\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1] : undefined);
const partitionOf = (arn: string | undefined) =>
  (arn ? /^arn:(aws[a-z-]*):/.exec(arn)?.[1] : undefined) ?? 'aws';

export const lambdaTracing: Rule = {
  id: RULE_ID,
  title: 'X-Ray active tracing is off',
  severity: 'LOW',
  rationale:
    'Without active tracing there is no per-request record of what the function called, which slows down investigating an incident or abuse.',
  knownFalsePositives: [
    'Functions traced by another system (OpenTelemetry to a non-X-Ray backend). Exempt them by tag, with a reason and an expiry.',
    'Functions whose traffic is too high for the tracing cost to be worth it.',
  ],
  triggers: [{ service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] }],
  resource: 'function',
  defaultMode: 'report',
  // Most functions run without active tracing: on by default, this rule would turn nearly every
  // function of an account into a finding and bury the ones that matter. Enable it with
  // rules["LAMBDA.TRACING"].enabled = true.
  optIn: true,
  fix: 'AttachRolePolicy of the AWS managed policy AWSXRayDaemonWriteAccess to the execution role (unless it or AWSXrayWriteOnlyAccess is attached), then UpdateFunctionConfiguration with TracingConfig Mode=Active and the RevisionId read; all or nothing, undone by DetachRolePolicy and the previous mode. Report by default; rules.LAMBDA.TRACING.mode may make it auto.',
  evaluate(s) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const mode = (config['TracingConfig'] as { Mode?: string } | undefined)?.Mode ?? 'PassThrough';
    if (mode === 'Active') return { status: 'COMPLIANT' };
    const fn = config.FunctionName;
    const role = roleNameOf(config.Role);
    const policyArn = `arn:${partitionOf(config.Role)}:iam::aws:policy/${XRAY_MANAGED_POLICY}`;
    const roleAccount = config.Role ? /^arn:[^:]+:iam::(\d{12}):/.exec(config.Role)?.[1] : undefined;
    const attached = role
      ? (s.responses[`ListAttachedRolePolicies:${role}`] as
          | { AttachedPolicies?: { PolicyName?: string; PolicyArn?: string }[] }
          | null
          | undefined)
      : undefined;
    const canPlan = !!role && roleAccount === s.account && !!attached;
    const hasXray = (attached?.AttachedPolicies ?? []).some(
      (p) =>
        XRAY_POLICIES.includes(p.PolicyName ?? '') &&
        (p.PolicyArn ?? '').startsWith(`arn:${partitionOf(config.Role)}:iam::aws:policy/`),
    );
    const steps: PlanStep[] = [];
    if (canPlan && !hasXray) {
      steps.push({
        service: 'iam',
        operation: 'AttachRolePolicy',
        parameters: { RoleName: role, PolicyArn: policyArn },
        reason: `let ${fn}'s execution role send traces (xray:PutTraceSegments, xray:PutTelemetryRecords)`,
        inverse: {
          service: 'iam',
          operation: 'DetachRolePolicy',
          parameters: { RoleName: role, PolicyArn: policyArn },
          reason: `detach ${XRAY_MANAGED_POLICY} from the execution role again`,
        },
      });
    }
    if (canPlan) {
      steps.push({
        service: 'lambda',
        operation: 'UpdateFunctionConfiguration',
        parameters: {
          FunctionName: fn,
          TracingConfig: { Mode: 'Active' },
          ...(config.RevisionId ? { RevisionId: config.RevisionId } : {}),
        },
        reason: `turn on X-Ray active tracing of ${fn}`,
        inverse: {
          service: 'lambda',
          operation: 'UpdateFunctionConfiguration',
          parameters: {
            FunctionName: fn,
            TracingConfig: { Mode: mode },
            RevisionId: { fromFunctionRevision: { FunctionName: fn } },
          },
          reason: `set X-Ray tracing of ${fn} back to ${mode}`,
        },
      });
    }
    return {
      status: 'NON_COMPLIANT',
      findings: [
        {
          resourceArn: functionArnOf(s) ?? config.FunctionArn,
          summary: `X-Ray tracing of ${fn} is ${mode}, not Active.`,
          evidence: {
            tracingMode: mode,
            executionRole: config.Role ?? null,
            remediation: [
              `aws iam attach-role-policy --role-name ${role ?? '<execution role>'} --policy-arn ${policyArn}`,
              `aws lambda update-function-configuration --function-name ${fn} --tracing-config Mode=Active`,
            ],
            ...(canPlan ? { xrayPolicyAttached: hasXray } : {}),
            note: 'Grant the role first: with tracing Active and no xray:PutTraceSegments/PutTelemetryRecords permission the traces are lost. Set the same in the function template so the next deployment keeps it.',
          },
          plan: steps.length ? { steps, preconditions: [], atomic: true } : { steps: [], preconditions: [] },
        },
      ],
    };
  },
};
