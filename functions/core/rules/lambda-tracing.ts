import { functionArnOf, functionConfiguration } from '../snapshot.ts';
import type { Rule } from '../types.ts';

/**
 * LAMBDA.TRACING: X-Ray active tracing is off (TracingConfig.Mode is not `Active`).
 *
 * Report only for now: a working fix is two writes, UpdateFunctionConfiguration with
 * TracingConfig {Mode: Active} and a grant on the execution role so the function may send traces
 * (the AWS managed policy AWSXRayDaemonWriteAccess, which allows xray:PutTraceSegments and
 * xray:PutTelemetryRecords). Enabling tracing without the grant makes the function fail to send
 * segments silently, so the guardrail does not plan half of it; the finding carries both commands.
 */

export const RULE_ID = 'LAMBDA.TRACING';
export const XRAY_MANAGED_POLICY = 'AWSXRayDaemonWriteAccess';

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
  fix: 'None automatic yet. A person runs UpdateFunctionConfiguration with TracingConfig Mode=Active and attaches the AWS managed policy AWSXRayDaemonWriteAccess to the execution role.',
  evaluate(s) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const mode = (config['TracingConfig'] as { Mode?: string } | undefined)?.Mode ?? 'PassThrough';
    if (mode === 'Active') return { status: 'COMPLIANT' };
    const fn = config.FunctionName;
    const role = roleNameOf(config.Role);
    const policyArn = `arn:${partitionOf(config.Role)}:iam::aws:policy/${XRAY_MANAGED_POLICY}`;
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
            note: 'Grant the role first: with tracing Active and no xray:PutTraceSegments/PutTelemetryRecords permission the traces are lost. Set the same in the function template so the next deployment keeps it.',
          },
          plan: { steps: [], preconditions: [] },
        },
      ],
    };
  },
};
