import { RESTRICTING_KEYS, removePermissionStep } from '../permissions.ts';
import { allowsAnyAction, hasConditionKey, isPublicPrincipal, type Statement } from '../policy.ts';
import { functionArnOf, functionConfiguration, policyUnchanged, resourcePolicies } from '../snapshot.ts';
import type { RawFinding, Rule } from '../types.ts';
import { publicUrlStatements } from './lambda-url-public.ts';

export { RESTRICTING_KEYS };

const INVOKE_ACTIONS = ['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl'];

/** Principal `*` allowed to invoke, with no condition that narrows the caller. */
export function isUnrestrictedPublicInvoke(st: Statement): boolean {
  return (
    st.Effect === 'Allow' &&
    isPublicPrincipal(st) &&
    allowsAnyAction(st, INVOKE_ACTIONS) &&
    !hasConditionKey(st, RESTRICTING_KEYS)
  );
}

export const lambdaPolicyPublic: Rule = {
  id: 'LAMBDA.POLICY.PUBLIC',
  title: 'Resource policy lets anyone invoke the function',
  severity: 'CRITICAL',
  rationale:
    'A resource-policy statement with Principal "*" that allows lambda:InvokeFunction (or lambda:*) and no ' +
    'aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceOrgID or aws:PrincipalAccount condition lets ' +
    'any AWS account invoke the function.',
  knownFalsePositives: [
    'Functions deliberately shared with every AWS account. Exempt them by tag, with a reason and an expiry.',
  ],
  triggers: [{ service: 'lambda', actions: ['AddPermission'] }],
  resource: 'function',
  defaultMode: 'auto',
  fix: 'RemovePermission of exactly the unrestricted public statements; restricted statements, service principals and named accounts are kept.',
  evaluate(s) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const urlOwned = new Set(
      publicUrlStatements(s).flatMap((o) => o.statements.map((st) => `${o.qualifier ?? ''}/${st.Sid}`)),
    );
    const baseArn = functionArnOf(s) ?? config.FunctionArn;
    const findings: RawFinding[] = [];
    for (const policy of resourcePolicies(s)) {
      const open = policy.document.Statement.filter(
        (st) => isUnrestrictedPublicInvoke(st) && !urlOwned.has(`${policy.qualifier ?? ''}/${st.Sid}`),
      );
      if (!open.length) continue;
      const where = policy.qualifier ? `alias/version ${policy.qualifier}` : 'the function';
      const removable = open.filter((st) => st.Sid);
      findings.push({
        resourceArn: policy.qualifier ? `${baseArn}:${policy.qualifier}` : baseArn,
        summary: `The resource policy of ${where} has ${open.length} statement(s) that let any AWS principal invoke it: ${open
          .map((st) => st.Sid ?? '(no Sid)')
          .join(', ')}.`,
        evidence: {
          qualifier: policy.qualifier ?? null,
          statements: open,
          ...(removable.length < open.length
            ? {
                note: 'statements without a Sid cannot be removed through the Lambda API; remove them by hand',
              }
            : {}),
        },
        plan: {
          steps: removable.map((st) =>
            removePermissionStep(
              st,
              config.FunctionName,
              policy.qualifier,
              policy.revisionId,
              `statement ${st.Sid} lets Principal * invoke with no restricting condition`,
            ),
          ),
          preconditions: policyUnchanged(policy, where),
        },
      });
    }
    return findings.length ? { status: 'NON_COMPLIANT', findings } : { status: 'COMPLIANT' };
  },
};
