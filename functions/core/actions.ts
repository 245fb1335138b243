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
export type ResourceKind = 'function' | 'role' | 'secret' | 'key' | 'layer' | 'any';

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
    // Environment and (optionally) Layers only, never Role: so no iam:PassRole.
    service: 'lambda',
    operation: 'UpdateFunctionConfiguration',
    iamActions: ['lambda:UpdateFunctionConfiguration'],
    resource: 'function',
    usedBy: [ENV_SECRET],
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
    usedBy: [ENV_SECRET],
  },
  {
    service: 'iam',
    operation: 'DeleteRolePolicy',
    iamActions: ['iam:DeleteRolePolicy'],
    resource: 'role',
    usedBy: [ENV_SECRET],
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
  ],
  role: [],
  layer: [],
};

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
