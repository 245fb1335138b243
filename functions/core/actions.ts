/**
 * Every AWS call the guardrail makes, declared as data with the IAM actions it needs. The CDK builds
 * the guardrail's roles from these lists (never `*`), and tests assert that the executor, the
 * collectors and the rules use nothing undeclared.
 */

export type ResourceKind = 'function' | 'role' | 'any';

export interface WriteAction {
  service: string;
  operation: string;
  iamActions: string[];
  resource: ResourceKind;
}

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
];

export const actionKey = (service: string, operation: string) => `${service}:${operation}`;

export function writeAction(service: string, operation: string): WriteAction | undefined {
  return WRITE_ACTIONS.find((a) => a.service === service && a.operation === operation);
}

/** Read-only calls the collectors make, per resource kind. */
export const READ_ACTIONS: Readonly<Record<'function' | 'role', readonly string[]>> = {
  function: [
    'lambda:GetFunctionConfiguration',
    'lambda:ListFunctionUrlConfigs',
    'lambda:GetFunctionUrlConfig',
    'lambda:GetPolicy',
    'lambda:ListTags',
    'lambda:ListAliases',
  ],
  role: [],
};
