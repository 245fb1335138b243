import { createHash } from 'node:crypto';
import { IAMClient, paginateListEntitiesForPolicy } from '@aws-sdk/client-iam';
import { roleEvent } from '../core/event.ts';
import type { NormalizedEvent } from '../core/types.ts';
import type { AwsClients } from './clients.ts';
import { roleNameOfArn } from './collect-role.ts';

/**
 * The executions one CloudTrail event starts (docs/iam-roles.md, "Triggers"):
 *
 * - an event about a role (PutRolePolicy, AttachRolePolicy): that event;
 * - CreateFunction* / UpdateFunctionConfiguration* naming a role: the function's event, plus one
 *   for the role (event id `<eventId>-role`), when role rules are deployed;
 * - CreatePolicyVersion / SetDefaultPolicyVersion name a managed policy, not a role: one execution per
 *   role the policy is attached to (`iam:ListEntitiesForPolicy`, roles only), event id
 *   `<eventId>-<12 hex of sha256(role name)>`. Roles Lambda cannot assume are then NOT_APPLICABLE.
 *   A policy attached to no role starts nothing.
 */
export async function executionEvents(
  clients: AwsClients,
  event: NormalizedEvent,
  roleRules: boolean,
): Promise<NormalizedEvent[]> {
  const { functionName, roleArn, roleName, policyArn } = event.resources;
  if (!roleRules) return [event];
  if (event.service === 'lambda' && functionName && roleArn)
    return [event, roleEvent(event, { roleName: roleNameOfArn(roleArn), roleArn }, 'role')];
  if (event.service === 'iam' && !roleName && policyArn) {
    const roles = await rolesOfPolicy(clients, event.region, policyArn);
    return roles.map((name) => roleEvent(event, { roleName: name }, suffixOf(name)));
  }
  return [event];
}

const suffixOf = (roleName: string) => createHash('sha256').update(roleName).digest('hex').slice(0, 12);

/** Names of the roles a managed policy is attached to (all pages). */
export async function rolesOfPolicy(
  clients: AwsClients,
  region: string,
  policyArn: string,
): Promise<string[]> {
  const iam = clients.get(IAMClient, region);
  const out: string[] = [];
  for await (const page of paginateListEntitiesForPolicy(
    { client: iam },
    { PolicyArn: policyArn, EntityFilter: 'Role' },
  ))
    for (const r of page.PolicyRoles ?? []) if (r.RoleName) out.push(r.RoleName);
  return [...new Set(out)].sort();
}
