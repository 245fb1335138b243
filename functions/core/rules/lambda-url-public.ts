import { isUrlInvokeStatement, RESTRICTING_KEYS, removePermissionStep } from '../permissions.ts';
import { hasConditionKey, isPublicPrincipal, type Statement } from '../policy.ts';
import {
  type FunctionUrlConfig,
  functionArnOf,
  functionConfiguration,
  functionUrlConfigs,
  policyFor,
  policyUnchanged,
} from '../snapshot.ts';
import type { PlanStep, Precondition, RawFinding, Rule, Snapshot } from '../types.ts';

/**
 * The statements that make a URL with AuthType NONE public: Principal `*`, and either
 * `lambda:InvokeFunctionUrl` conditioned on `lambda:FunctionUrlAuthType = NONE` or
 * `lambda:InvokeFunction` conditioned on `lambda:InvokedViaFunctionUrl = true`, with no restricting
 * condition (`aws:PrincipalOrgID`, ...).
 * `LAMBDA.POLICY.PUBLIC` leaves exactly these to this rule, so no statement is planned twice.
 */
export function publicUrlStatements(s: Snapshot): { qualifier?: string; statements: Statement[] }[] {
  return functionUrlConfigs(s)
    .filter((u) => u.AuthType === 'NONE')
    .map((u) => ({
      ...(u.qualifier ? { qualifier: u.qualifier } : {}),
      statements: (policyFor(s, u.qualifier)?.document.Statement ?? []).filter(
        (st) =>
          st.Effect === 'Allow' &&
          isPublicPrincipal(st) &&
          isUrlInvokeStatement(st) &&
          // An org- or account-restricted statement did not make the URL public, and it still
          // grants signed callers access once the URL is AWS_IAM: keep it.
          !hasConditionKey(st, RESTRICTING_KEYS),
      ),
    }));
}

function urlParams(functionName: string, url: FunctionUrlConfig & { qualifier?: string }, authType: string) {
  return {
    FunctionName: functionName,
    ...(url.qualifier ? { Qualifier: url.qualifier } : {}),
    AuthType: authType,
    ...(url.Cors !== undefined ? { Cors: url.Cors } : {}),
    ...(url.InvokeMode !== undefined ? { InvokeMode: url.InvokeMode } : {}),
  };
}

export const lambdaUrlPublic: Rule = {
  id: 'LAMBDA.URL.PUBLIC',
  title: 'Function URL without authentication',
  severity: 'CRITICAL',
  rationale:
    'A function URL with AuthType NONE lets anyone on the internet invoke the function, bypassing every IAM control. ' +
    'AWS_IAM auth requires a SigV4-signed caller with lambda:InvokeFunctionUrl permission.',
  knownFalsePositives: [
    'Public webhooks and websites that authenticate requests themselves (for example by HMAC signature). Exempt them by tag, with a reason and an expiry.',
  ],
  triggers: [
    { service: 'lambda', actions: ['CreateFunctionUrlConfig', 'UpdateFunctionUrlConfig', 'AddPermission'] },
  ],
  resource: 'function',
  defaultMode: 'auto',
  fix: 'UpdateFunctionUrlConfig to AuthType AWS_IAM (keeping Cors and InvokeMode), then RemovePermission of the statements that made the URL public.',
  evaluate(s) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    if (s.responses['ListFunctionUrlConfigs'] === undefined) {
      return { status: 'NOT_APPLICABLE', reason: 'function URL configs were not read' };
    }
    const name = config.FunctionName;
    const baseArn = functionArnOf(s) ?? config.FunctionArn;
    const owned = publicUrlStatements(s);
    const findings: RawFinding[] = [];
    for (const url of functionUrlConfigs(s).filter((u) => u.AuthType === 'NONE')) {
      const policy = policyFor(s, url.qualifier);
      const statements = owned.find((o) => o.qualifier === url.qualifier)?.statements ?? [];
      const where = url.qualifier ? `alias ${url.qualifier}` : '$LATEST';
      const steps: PlanStep[] = [
        {
          service: 'lambda',
          operation: 'UpdateFunctionUrlConfig',
          parameters: urlParams(name, url, 'AWS_IAM'),
          reason: `require SigV4-signed callers on the function URL of ${where}`,
          inverse: {
            service: 'lambda',
            operation: 'UpdateFunctionUrlConfig',
            parameters: urlParams(name, url, 'NONE'),
            reason: `restore AuthType NONE on the function URL of ${where}`,
          },
        },
        ...statements
          .filter((st) => st.Sid)
          .map((st) =>
            removePermissionStep(
              st,
              name,
              url.qualifier,
              policy?.revisionId,
              `statement ${st.Sid} grants Principal * invoke access through the function URL`,
            ),
          ),
      ];
      const preconditions: Precondition[] = [
        {
          read: 'ListFunctionUrlConfigs',
          path: `FunctionUrlConfigs[FunctionArn=${url.FunctionArn}].AuthType`,
          equals: 'NONE',
          description: `the URL of ${where} still has AuthType NONE`,
        },
      ];
      if (policy && statements.length) preconditions.push(...policyUnchanged(policy, where));
      findings.push({
        resourceArn: url.qualifier ? `${baseArn}:${url.qualifier}` : baseArn,
        summary: `Function URL ${url.FunctionUrl} (${where}) has AuthType NONE${
          statements.length ? ` and ${statements.length} public invoke statement(s)` : ''
        }: anyone on the internet can invoke it.`,
        evidence: {
          functionUrl: url.FunctionUrl,
          qualifier: url.qualifier ?? null,
          authType: url.AuthType,
          publicStatementIds: statements.map((st) => st.Sid ?? null),
        },
        plan: { steps, preconditions },
      });
    }
    return findings.length ? { status: 'NON_COMPLIANT', findings } : { status: 'COMPLIANT' };
  },
};
