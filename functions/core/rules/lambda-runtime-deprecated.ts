import { functionArnOf, functionConfiguration } from '../snapshot.ts';
import type { Rule, Severity } from '../types.ts';
import {
  RUNTIME_DEPRECATIONS_SOURCE,
  type RuntimeDeprecation,
  runtimeDeprecation,
} from './runtime-deprecations.ts';

/**
 * LAMBDA.RUNTIME.DEPRECATED: the function's managed runtime is past its deprecation date, or
 * within `runtimeDeprecationWarningDays` (default 90) of it. Dates are data
 * (runtime-deprecations.ts, with their source). No plan: changing the runtime needs the code to be
 * tested on the new one, so the finding carries the exact command a person runs.
 */

export const RULE_ID = 'LAMBDA.RUNTIME.DEPRECATED';
export const DEFAULT_WARNING_DAYS = 90;

const DAY_MS = 86_400_000;
const dayOf = (iso: string) => Date.parse(`${iso.slice(0, 10)}T00:00:00Z`);

export const lambdaRuntimeDeprecated: Rule = {
  id: RULE_ID,
  title: 'Deprecated or soon-deprecated Lambda runtime',
  severity: 'MEDIUM',
  rationale:
    'A deprecated runtime no longer receives security patches, and after its block dates the function can no longer be created or updated ' +
    '(not even to ship a fix). Moving early leaves time to test the code on the new runtime.',
  knownFalsePositives: [
    'Functions that are being retired before the block date. Exempt them by tag, with a reason and an expiry.',
    'Dates in runtime-deprecations.ts that AWS has since moved: update the table from the AWS Lambda runtimes page.',
  ],
  triggers: [{ service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] }],
  resource: 'function',
  defaultMode: 'report',
  fix: 'None automatic (the code must be tested on the new runtime). A person runs UpdateFunctionConfiguration with the newer Runtime named in the finding, after testing.',
  evaluate(s, ctx) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const runtime = config.Runtime;
    if (!runtime)
      return { status: 'NOT_APPLICABLE', reason: 'the function has no managed runtime (container image)' };
    const entry = runtimeDeprecation(runtime);
    if (!entry) return { status: 'COMPLIANT' };
    const warningDays = ctx.config?.runtimeDeprecationWarningDays ?? DEFAULT_WARNING_DAYS;
    const today = dayOf(ctx.now);
    const daysLeft = Math.round((dayOf(entry.deprecation) - today) / DAY_MS);
    if (daysLeft > warningDays) return { status: 'COMPLIANT' };
    const blocked = (d: string | null) => d !== null && dayOf(d) <= today;
    const severity: Severity = blocked(entry.blockUpdate) ? 'HIGH' : daysLeft <= 0 ? 'MEDIUM' : 'LOW';
    const fn = config.FunctionName;
    return {
      status: 'NON_COMPLIANT',
      findings: [
        {
          resourceArn: functionArnOf(s) ?? config.FunctionArn,
          severity,
          summary:
            daysLeft <= 0
              ? `${fn} runs on ${runtime}, deprecated since ${entry.deprecation}${statusText(entry, today)}: move it to ${entry.upgradeTo}.`
              : `${fn} runs on ${runtime}, which is deprecated on ${entry.deprecation} (in ${daysLeft} day(s)): move it to ${entry.upgradeTo}.`,
          evidence: {
            runtime,
            deprecation: entry.deprecation,
            blockCreate: entry.blockCreate,
            blockUpdate: entry.blockUpdate,
            daysUntilDeprecation: daysLeft,
            warningDays,
            upgradeTo: entry.upgradeTo,
            source: { ...RUNTIME_DEPRECATIONS_SOURCE, ...(entry.note ? { note: entry.note } : {}) },
            remediation: `Test the code on ${entry.upgradeTo}, then: aws lambda update-function-configuration --function-name ${fn} --runtime <new runtime> (and update the runtime in the function's template or infrastructure code, or the next deployment reverts it). Published versions keep their runtime.`,
          },
          plan: { steps: [], preconditions: [] },
        },
      ],
    };
  },
};

function statusText(entry: RuntimeDeprecation, today: number): string {
  if (entry.blockUpdate && dayOf(entry.blockUpdate) <= today) return '; it can no longer be updated';
  if (entry.blockCreate && dayOf(entry.blockCreate) <= today)
    return `; functions can no longer be created with it, updates are blocked from ${entry.blockUpdate ?? 'a date AWS has not set here'}`;
  return entry.blockCreate ? `; creation is blocked from ${entry.blockCreate}` : '';
}
