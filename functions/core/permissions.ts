import { asArray, conditionValues, principals, type Statement } from './policy.ts';
import type { PlanStep } from './types.ts';

/**
 * Lambda resource-policy statements <-> AddPermission/RemovePermission requests, so a removal can
 * carry its exact inverse for rollback.
 */

/**
 * The AddPermission request that recreates `stmt`, or undefined when the statement uses something
 * AddPermission cannot express (several actions, NotAction, unknown condition keys).
 */
export function addPermissionFromStatement(
  stmt: Statement,
  functionName: string,
  qualifier?: string,
): Record<string, unknown> | undefined {
  if (!stmt.Sid || stmt.NotAction !== undefined || stmt.Effect !== 'Allow') return undefined;
  const actions = asArray(stmt.Action);
  if (actions.length !== 1) return undefined;
  const aws = principals(stmt, 'AWS');
  const service = principals(stmt, 'Service');
  const all = [...aws, ...service];
  if (all.length !== 1) return undefined;
  const params: Record<string, unknown> = {
    FunctionName: functionName,
    ...(qualifier ? { Qualifier: qualifier } : {}),
    StatementId: stmt.Sid,
    Action: actions[0],
    Principal: all[0],
  };
  const known: Record<string, [string, (v: unknown) => unknown]> = {
    'aws:sourcearn': ['SourceArn', String],
    'aws:sourceaccount': ['SourceAccount', String],
    'aws:principalorgid': ['PrincipalOrgID', String],
    'lambda:functionurlauthtype': ['FunctionUrlAuthType', String],
    'lambda:invokedviafunctionurl': ['InvokedViaFunctionUrl', (v) => v === true || v === 'true'],
    'lambda:eventsourcetoken': ['EventSourceToken', String],
  };
  for (const [operator, block] of Object.entries(stmt.Condition ?? {})) {
    for (const [key, value] of Object.entries(block ?? {})) {
      const k = known[key.toLowerCase()];
      const values = asArray(value as unknown);
      if (!k || values.length !== 1 || /not|ifexists/i.test(operator)) return undefined;
      params[k[0]] = k[1](values[0]);
    }
  }
  return params;
}

export function removePermissionStep(
  stmt: Statement,
  functionName: string,
  qualifier: string | undefined,
  revisionId: string | undefined,
  reason: string,
): PlanStep {
  const inverse = addPermissionFromStatement(stmt, functionName, qualifier);
  return {
    service: 'lambda',
    operation: 'RemovePermission',
    parameters: {
      FunctionName: functionName,
      ...(qualifier ? { Qualifier: qualifier } : {}),
      StatementId: stmt.Sid,
      ...(revisionId ? { RevisionId: revisionId } : {}),
    },
    reason,
    ...(inverse
      ? {
          inverse: {
            service: 'lambda',
            operation: 'AddPermission',
            parameters: inverse,
            reason: `restore statement ${stmt.Sid}`,
          },
        }
      : {}),
  };
}

/** Condition keys that restrict who can call (matched case-insensitively). */
export const RESTRICTING_KEYS = [
  'aws:SourceArn',
  'aws:SourceAccount',
  'aws:PrincipalOrgID',
  'aws:SourceOrgID',
  'aws:PrincipalAccount',
] as const;

/** Public-URL statements: the pair AWS requires since October 2025 for an AuthType NONE URL. */
export function isUrlInvokeStatement(stmt: Statement): boolean {
  const actions = asArray(stmt.Action).map((a) => a.toLowerCase());
  const authType = conditionValues(stmt, 'lambda:FunctionUrlAuthType').map(String);
  const viaUrl = conditionValues(stmt, 'lambda:InvokedViaFunctionUrl').map((v) => String(v).toLowerCase());
  return (
    (actions.includes('lambda:invokefunctionurl') && authType.includes('NONE')) ||
    (actions.includes('lambda:invokefunction') && viaUrl.includes('true'))
  );
}
