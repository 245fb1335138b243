import { exemptionFor } from '../mode.ts';
import { functionArnOf, functionConfiguration, functionUrlConfigs, tags } from '../snapshot.ts';
import type { PlanStep, Precondition, RawFinding, Rule, Severity } from '../types.ts';

/**
 * LAMBDA.URL.CORS: a function URL whose CORS configuration allows any origin (`*`)
 * - together with AllowCredentials (browsers then send cookies and auth headers from any site), or
 * - on a URL that is not public by design.
 *
 * "Public by design" means AuthType NONE *and* an active LAMBDA.URL.PUBLIC exemption on the function
 * (a person has recorded why the URL is public, see the exemption tags). Any other URL is either
 * AWS_IAM already, or will be made AWS_IAM by LAMBDA.URL.PUBLIC: a page on any origin has no business
 * calling it from a browser.
 *
 * Plan, only when `allowedCorsOrigins` is configured: UpdateFunctionUrlConfig with the same Cors
 * and AllowOrigins replaced by the configured origins. Without it the finding reports only.
 */

export const RULE_ID = 'LAMBDA.URL.CORS';
const URL_PUBLIC = 'LAMBDA.URL.PUBLIC';

interface Cors {
  AllowOrigins?: string[];
  AllowCredentials?: boolean;
  [k: string]: unknown;
}

export const lambdaUrlCors: Rule = {
  id: RULE_ID,
  title: 'Function URL CORS allows any origin',
  severity: 'MEDIUM',
  rationale:
    'CORS AllowOrigins "*" lets scripts on any website call the URL from a visitor\'s browser and read the response. With AllowCredentials the ' +
    "browser also sends the visitor's cookies and authorization headers. Only URLs meant to be called from any site should allow any origin, and never with credentials.",
  knownFalsePositives: [
    'Public APIs meant to be called from any website that are not exempted from LAMBDA.URL.PUBLIC (an exemption from LAMBDA.URL.PUBLIC marks the URL public by design). Exempt them from this rule by tag, with a reason and an expiry.',
  ],
  triggers: [
    {
      service: 'lambda',
      actions: [
        'CreateFunctionUrlConfig',
        'UpdateFunctionUrlConfig',
        'CreateFunction',
        'UpdateFunctionConfiguration',
      ],
    },
  ],
  resource: 'function',
  defaultMode: 'report',
  fix: 'With allowedCorsOrigins configured: UpdateFunctionUrlConfig setting Cors.AllowOrigins to those origins (every other CORS setting kept). Without it: report only.',
  evaluate(s, ctx) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    if (s.responses['ListFunctionUrlConfigs'] === undefined) {
      return { status: 'NOT_APPLICABLE', reason: 'function URL configs were not read' };
    }
    const name = config.FunctionName;
    const baseArn = functionArnOf(s) ?? config.FunctionArn;
    const publicByDesign = exemptionFor(URL_PUBLIC, tags(s), ctx.now)?.status === 'active';
    const allowed = ctx.config?.allowedCorsOrigins ?? [];
    const findings: RawFinding[] = [];
    for (const url of functionUrlConfigs(s)) {
      const cors = url.Cors as Cors | undefined;
      const origins = cors?.AllowOrigins ?? [];
      if (!cors || !origins.includes('*')) continue;
      const credentials = cors.AllowCredentials === true;
      const isPublic = url.AuthType === 'NONE' && publicByDesign;
      if (!credentials && isPublic) continue;
      const where = url.qualifier ? `alias ${url.qualifier}` : '$LATEST';
      const severity: Severity = credentials ? 'HIGH' : 'MEDIUM';
      const why = credentials
        ? 'allows any origin with credentials'
        : `allows any origin on a URL that is not public by design (AuthType ${url.AuthType}${
            url.AuthType === 'NONE' ? ', no active LAMBDA.URL.PUBLIC exemption' : ''
          })`;
      const target = { FunctionName: name, ...(url.qualifier ? { Qualifier: url.qualifier } : {}) };
      const canFix = allowed.length > 0 && !allowed.includes('*');
      const steps: PlanStep[] = canFix
        ? [
            {
              service: 'lambda',
              operation: 'UpdateFunctionUrlConfig',
              parameters: { ...target, Cors: { ...cors, AllowOrigins: [...allowed] } },
              reason: `allow only the configured origins on the function URL of ${where}`,
              inverse: {
                service: 'lambda',
                operation: 'UpdateFunctionUrlConfig',
                parameters: { ...target, Cors: cors },
                reason: `restore the CORS configuration of the function URL of ${where}`,
              },
            },
          ]
        : [];
      const preconditions: Precondition[] = canFix
        ? [
            {
              read: 'ListFunctionUrlConfigs',
              path: `FunctionUrlConfigs[FunctionArn=${url.FunctionArn}].Cors.AllowOrigins`,
              equals: origins,
              description: `the URL of ${where} still allows the same origins`,
            },
          ]
        : [];
      findings.push({
        resourceArn: url.qualifier ? `${baseArn}:${url.qualifier}` : baseArn,
        severity,
        summary: `The CORS configuration of function URL ${url.FunctionUrl} (${where}) ${why}.`,
        evidence: {
          functionUrl: url.FunctionUrl,
          qualifier: url.qualifier ?? null,
          authType: url.AuthType,
          allowOrigins: origins,
          allowCredentials: credentials,
          publicByDesign: isPublic,
          ...(canFix
            ? {}
            : {
                remediation: `Set allowedCorsOrigins in the guardrail config for an automatic plan, or run: aws lambda update-function-url-config --function-name ${name}${
                  url.qualifier ? ` --qualifier ${url.qualifier}` : ''
                } --cors 'AllowOrigins=<your origins>' (the --cors value replaces the whole CORS configuration: repeat the other settings).`,
              }),
        },
        plan: { steps, preconditions },
      });
    }
    return findings.length ? { status: 'NON_COMPLIANT', findings } : { status: 'COMPLIANT' };
  },
};
