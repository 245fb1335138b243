import { analyzeRole, IAM_RULE_IDS, roleFinding } from '../iam/role.ts';
import type { Rule } from '../types.ts';

/** Triggers of the three IAM.ROLE rules: policy changes on the role, and a function (re)configured with a role. */
export const IAM_ROLE_TRIGGERS: Rule['triggers'] = [
  {
    service: 'iam',
    actions: ['PutRolePolicy', 'AttachRolePolicy', 'CreatePolicyVersion', 'SetDefaultPolicyVersion'],
  },
  { service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] },
];

/** Evaluates one of the IAM.ROLE rules through the shared role analysis. */
export function evaluateRoleRule(id: (typeof IAM_RULE_IDS)[keyof typeof IAM_RULE_IDS]): Rule['evaluate'] {
  return (s, ctx) => {
    const a = analyzeRole(s, ctx);
    if (!a.applicable) return { status: 'NOT_APPLICABLE', reason: a.reason };
    const f = roleFinding(id, a, ctx.config);
    if (f) return { status: 'NON_COMPLIANT', findings: [f] };
    // A policy that could not be read must not make the role look compliant.
    const unreadable = a.policies.filter((p) => p.error);
    if (unreadable.length)
      return {
        status: 'NOT_APPLICABLE',
        reason: `not judged: ${unreadable.map((p) => p.error).join('; ')}`,
      };
    return { status: 'COMPLIANT' };
  };
}

export const REWRITE_FIX =
  'Rewrites each offending Allow statement to the actions the role used within iamEvidence.lookbackDays (IAM last-accessed data, ACTION_LEVEL): ' +
  'explicit tracked actions that were used, the original grant of a used service written out without wildcards where only service-level data exists, ' +
  'nothing for unused services; Sids, conditions, resources and Deny statements are kept. Inline policy: PutRolePolicy; customer-managed: ' +
  'CreatePolicyVersion as default (first DeletePolicyVersion of the oldest non-default version at the five-version limit); AWS-managed: ' +
  'PutRolePolicy of an inline replacement, then DetachRolePolicy. Access Analyzer must prove the new document grants nothing new before any write.';

export const iamRoleAdmin: Rule = {
  id: IAM_RULE_IDS.admin,
  title: 'Lambda execution role allows every action',
  severity: 'CRITICAL',
  rationale:
    'An Allow with Action "*" or with NotAction (inline, customer-managed or AWS-managed such as AdministratorAccess and ' +
    'PowerUserAccess) lets the function, and anyone who runs code in it, do anything in the account.',
  knownFalsePositives: [
    'Functions that administer the account by design (account vending, break-glass automation). Exempt the role by tag, with a reason and an expiry.',
    'An Allow with NotAction that excludes nearly everything is flagged like "*": the rule does not weigh how much NotAction leaves.',
  ],
  triggers: IAM_ROLE_TRIGGERS,
  resource: 'role',
  defaultMode: 'approve',
  fix: REWRITE_FIX,
  evaluate: evaluateRoleRule(IAM_RULE_IDS.admin),
};
