import type { TargetKind } from './types.ts';

/**
 * Every AWS call the guardrail makes, declared as data with the IAM actions it needs. The CDK builds
 * the guardrail's roles from these lists (never `*`), and tests assert that the executor, the
 * collectors and the rules use nothing undeclared.
 */

/**
 * What an IAM action is granted on: a Lambda function, an IAM role, a Secrets Manager secret the
 * guardrail creates (under the configured name prefix), a KMS key or a Lambda layer version named in
 * the configuration.
 */
export type ResourceKind = 'function' | 'role' | 'policy' | 'secret' | 'key' | 'layer' | 'log-group' | 'any';

/** IAM actions an operation needs only with a given setting (a customer-managed key, an extension layer). */
export interface ConditionalPermission {
  /** The `secrets` setting that turns them on. */
  when: 'kmsKeyArn' | 'extensionLayerArns';
  iamActions: string[];
  resource: ResourceKind;
  why: string;
}

export interface WriteAction {
  service: string;
  operation: string;
  iamActions: string[];
  /** The kind of resource the IAM actions are granted on. */
  resource: ResourceKind;
  /**
   * Ids of the rules whose plans (or their rollback inverses) use this operation. Unset: every rule
   * that evaluates this resource kind may (the function-policy operations of the first rules).
   */
  usedBy?: string[];
  conditional?: ConditionalPermission[];
}

const ENV_SECRET = 'LAMBDA.ENV.SECRET';
const LOGS_UNMASKED = 'LAMBDA.LOGS.UNMASKED';
/** The execution-role rules (docs/iam-roles.md): their plans rewrite inline and managed policies. */
const ROLE_RULES = ['IAM.ROLE.ADMIN', 'IAM.ROLE.SERVICE_WILDCARD', 'IAM.ROLE.RESOURCE_WILDCARD'];

/** Mutating operations a plan step may use (forward steps and rollback inverses). */
export const WRITE_ACTIONS: readonly WriteAction[] = [
  {
    service: 'lambda',
    operation: 'UpdateFunctionUrlConfig',
    iamActions: ['lambda:UpdateFunctionUrlConfig'],
    resource: 'function',
  },
  {
    service: 'lambda',
    operation: 'RemovePermission',
    iamActions: ['lambda:RemovePermission'],
    resource: 'function',
  },
  {
    service: 'lambda',
    operation: 'AddPermission',
    iamActions: ['lambda:AddPermission'],
    resource: 'function',
  },
  {
    // LAMBDA.LAYER.PUBLIC: unshare a layer version; rollback re-shares it.
    service: 'lambda',
    operation: 'RemoveLayerVersionPermission',
    iamActions: ['lambda:RemoveLayerVersionPermission'],
    resource: 'layer',
    usedBy: ['LAMBDA.LAYER.PUBLIC'],
  },
  {
    service: 'lambda',
    operation: 'AddLayerVersionPermission',
    iamActions: ['lambda:AddLayerVersionPermission'],
    resource: 'layer',
    usedBy: ['LAMBDA.LAYER.PUBLIC'],
  },
  {
    // Environment and (optionally) Layers, or TracingConfig (LAMBDA.TRACING); never Role: so no iam:PassRole.
    service: 'lambda',
    operation: 'UpdateFunctionConfiguration',
    iamActions: ['lambda:UpdateFunctionConfiguration'],
    resource: 'function',
    usedBy: [ENV_SECRET, 'LAMBDA.TRACING'],
    conditional: [
      {
        when: 'extensionLayerArns',
        iamActions: ['lambda:GetLayerVersion'],
        resource: 'layer',
        why: 'adding a layer to a function needs lambda:GetLayerVersion on that layer version',
      },
    ],
  },
  {
    // LAMBDA.LOGS.UNMASKED: mask credentials in the function's log group (rollback puts the previous policy back).
    service: 'logs',
    operation: 'PutDataProtectionPolicy',
    iamActions: ['logs:PutDataProtectionPolicy'],
    resource: 'log-group',
    usedBy: [LOGS_UNMASKED],
  },
  {
    // Rollback of a policy the guardrail added where there was none.
    service: 'logs',
    operation: 'DeleteDataProtectionPolicy',
    iamActions: ['logs:DeleteDataProtectionPolicy'],
    resource: 'log-group',
    usedBy: [LOGS_UNMASKED],
  },
  {
    // Tags in the request need secretsmanager:TagResource as well.
    service: 'secretsmanager',
    operation: 'CreateSecret',
    iamActions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
    resource: 'secret',
    usedBy: [ENV_SECRET],
    conditional: [
      {
        when: 'kmsKeyArn',
        iamActions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resource: 'key',
        why: 'Secrets Manager encrypts with a customer-managed key on behalf of the caller, who needs both on the key',
      },
    ],
  },
  {
    // Undoing a failed move, and rollback.
    service: 'secretsmanager',
    operation: 'DeleteSecret',
    iamActions: ['secretsmanager:DeleteSecret'],
    resource: 'secret',
    usedBy: [ENV_SECRET],
  },
  {
    service: 'iam',
    operation: 'PutRolePolicy',
    iamActions: ['iam:PutRolePolicy'],
    resource: 'role',
    usedBy: [ENV_SECRET, ...ROLE_RULES],
  },
  {
    service: 'iam',
    operation: 'DeleteRolePolicy',
    iamActions: ['iam:DeleteRolePolicy'],
    resource: 'role',
    usedBy: [ENV_SECRET, ...ROLE_RULES],
  },
  {
    // A customer-managed policy rewritten in place: a new default version.
    service: 'iam',
    operation: 'CreatePolicyVersion',
    iamActions: ['iam:CreatePolicyVersion'],
    resource: 'policy',
    usedBy: ROLE_RULES,
  },
  {
    // At the five-version limit the oldest non-default version goes first; rollback removes the new one.
    service: 'iam',
    operation: 'DeletePolicyVersion',
    iamActions: ['iam:DeletePolicyVersion'],
    resource: 'policy',
    usedBy: ROLE_RULES,
  },
  {
    // Rollback: the original version becomes the default again.
    service: 'iam',
    operation: 'SetDefaultPolicyVersion',
    iamActions: ['iam:SetDefaultPolicyVersion'],
    resource: 'policy',
    usedBy: ROLE_RULES,
  },
  {
    // An AWS-managed policy is replaced by an inline one (put first), then detached.
    service: 'iam',
    operation: 'DetachRolePolicy',
    iamActions: ['iam:DetachRolePolicy'],
    resource: 'role',
    // LAMBDA.TRACING: rollback of the X-Ray policy it attached.
    usedBy: [...ROLE_RULES, 'LAMBDA.TRACING'],
  },
  {
    // Rollback only: re-attach the AWS-managed policy.
    service: 'iam',
    operation: 'AttachRolePolicy',
    iamActions: ['iam:AttachRolePolicy'],
    resource: 'role',
    // LAMBDA.TRACING: attach AWSXRayDaemonWriteAccess to the execution role.
    usedBy: [...ROLE_RULES, 'LAMBDA.TRACING'],
  },
];

export const actionKey = (service: string, operation: string) => `${service}:${operation}`;

export function writeAction(service: string, operation: string): WriteAction | undefined {
  return WRITE_ACTIONS.find((a) => a.service === service && a.operation === operation);
}

/** Read-only calls the collectors make, per resource kind. */
export const READ_ACTIONS: Readonly<Record<TargetKind, readonly string[]>> = {
  function: [
    'lambda:GetFunctionConfiguration',
    'lambda:ListFunctionUrlConfigs',
    'lambda:GetFunctionUrlConfig',
    'lambda:GetPolicy',
    'lambda:ListTags',
    'lambda:ListAliases',
    'lambda:GetFunctionEventInvokeConfig',
    // functions/aws/collect-context.ts: the function's security groups, log group and Inspector findings.
    'ec2:DescribeSecurityGroups',
    'logs:GetDataProtectionPolicy',
    'inspector2:BatchGetAccountStatus',
    'inspector2:ListFindings',
    // LAMBDA.TRACING's plan, when that rule is enabled: is an X-Ray policy attached to the execution role?
    'iam:ListAttachedRolePolicies',
  ],
  role: [
    'iam:GetRole',
    'iam:ListRolePolicies',
    'iam:GetRolePolicy',
    'iam:ListAttachedRolePolicies',
    'iam:ListPolicyVersions',
    'iam:GetPolicyVersion',
    'iam:GenerateServiceLastAccessedDetails',
    'iam:GetServiceLastAccessedDetails',
  ],
  // functions/aws/collect-layer.ts: GetLayerVersionByArn needs lambda:GetLayerVersion.
  layer: ['lambda:GetLayerVersion', 'lambda:GetLayerVersionPolicy'],
};

/**
 * Read actions granted on something other than their target kind's own resources (the default):
 * policy versions live on policies (the account's and AWS-managed ones), and
 * `iam:GetServiceLastAccessedDetails` has no resource-level permissions (it reads a job by id), so
 * it needs Resource `*` (checked against the catalog in test/aws/iam-actions tests).
 */
export const READ_RESOURCES: Readonly<Record<string, ResourceKind>> = {
  'iam:ListPolicyVersions': 'policy',
  'iam:GetPolicyVersion': 'policy',
  'iam:GetServiceLastAccessedDetails': 'any',
  // No resource-level permissions either (the catalog lists no resource type for these).
  'ec2:DescribeSecurityGroups': 'any',
  'inspector2:BatchGetAccountStatus': 'any',
  'inspector2:ListFindings': 'any',
  // On the function's log group (any log group of the account: names are per function or configured).
  'logs:GetDataProtectionPolicy': 'log-group',
  // A function snapshot reads its execution role's attached policies (LAMBDA.TRACING): granted on roles.
  'iam:ListAttachedRolePolicies': 'role',
};

/** The proof step's calls (functions/aws/prove.ts): Access Analyzer checks take no resource (`*`). */
export const PROOF_ACTIONS: readonly string[] = [
  'access-analyzer:ValidatePolicy',
  'access-analyzer:CheckNoNewAccess',
];

/**
 * Ingest's read for events that name a managed policy rather than a role (CreatePolicyVersion,
 * SetDefaultPolicyVersion): the roles it is attached to.
 */
export const INGEST_READS: readonly { iamAction: string; resource: ResourceKind }[] = [
  { iamAction: 'iam:ListEntitiesForPolicy', resource: 'policy' },
];

/**
 * Reads the executor makes while it applies a plan, to resolve a deferred value or to wait for an
 * update. Those on functions are already collector reads; `rollbackOnly` ones are made only by
 * `guardrail rollback`, which runs with the operator's credentials: no deployed role gets them (so
 * the guardrail can never read a secret it moved).
 */
export const APPLY_READS: readonly {
  deferred: string;
  iamAction: string;
  resource: ResourceKind;
  rollbackOnly?: boolean;
}[] = [
  { deferred: 'fromPolicyRevision', iamAction: 'lambda:GetPolicy', resource: 'function' },
  { deferred: 'fromFunctionRevision', iamAction: 'lambda:GetFunctionConfiguration', resource: 'function' },
  { deferred: 'fromLayerPolicyRevision', iamAction: 'lambda:GetLayerVersionPolicy', resource: 'layer' },
  {
    deferred: 'waitForFunctionUpdated',
    iamAction: 'lambda:GetFunctionConfiguration',
    resource: 'function',
  },
  {
    deferred: 'fromSecretValue',
    iamAction: 'secretsmanager:GetSecretValue',
    resource: 'secret',
    rollbackOnly: true,
  },
];
