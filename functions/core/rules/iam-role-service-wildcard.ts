import { IAM_RULE_IDS } from '../iam/role.ts';
import type { Rule } from '../types.ts';
import { evaluateRoleRule, IAM_ROLE_TRIGGERS, REWRITE_FIX } from './iam-role-admin.ts';

export const iamRoleServiceWildcard: Rule = {
  id: IAM_RULE_IDS.serviceWildcard,
  title: 'Lambda execution role allows wildcard actions',
  severity: 'HIGH',
  rationale:
    'An Allow with "service:*" or a partial wildcard ("s3:Put*") grants every action that matches today and every one AWS adds ' +
    'later, far more than a function uses.',
  knownFalsePositives: [
    'Read-only wildcards from AWS-managed policies (ReadOnlyAccess, "*:Describe*") are flagged too: they are broad, but lower risk than write wildcards.',
    'When IAM.ROLE.ADMIN matches the same role, its finding carries the rewrite and this one names it (evidence.fixedBy).',
  ],
  triggers: IAM_ROLE_TRIGGERS,
  resource: 'role',
  defaultMode: 'approve',
  fix: REWRITE_FIX,
  evaluate: evaluateRoleRule(IAM_RULE_IDS.serviceWildcard),
};
