import {
  READ_ACTIONS,
  type ResourceKind,
  WRITE_ACTIONS,
  type WriteAction,
} from '../functions/core/actions.ts';
import { RULES } from '../functions/core/rules/index.ts';
import type { Rule } from '../functions/core/types.ts';

/**
 * The guardrail's IAM permissions as data, derived from `functions/core/actions.ts` and the rule
 * list. The stack turns these into policy statements; `test/infra` asserts that the deployed roles
 * equal exactly these lists, so a role can never drift to `*`.
 */

/** IAM actions granted on one kind of resource. */
export interface ActionGrant {
  kind: Exclude<ResourceKind, 'any'>;
  actions: string[];
}

const sortedUnique = (xs: Iterable<string>) => [...new Set(xs)].sort();

/** The resource kinds the rules look at (`function`, later `role`). */
export function ruleResourceKinds(rules: readonly Rule[] = RULES): Exclude<ResourceKind, 'any'>[] {
  return sortedUnique(rules.map((r) => r.resource)) as Exclude<ResourceKind, 'any'>[];
}

/**
 * The write operations remediation may call: every `WRITE_ACTIONS` entry on a resource kind some rule
 * evaluates (forward steps and their rollback inverses). This is the one place to narrow the list
 * once rules declare the operations their plans use.
 */
export function remediationWriteActions(rules: readonly Rule[] = RULES): WriteAction[] {
  const kinds = new Set<ResourceKind>(ruleResourceKinds(rules));
  return WRITE_ACTIONS.filter((a) => kinds.has(a.resource));
}

/** The IAM actions of `remediationWriteActions()`, sorted and de-duplicated. */
export function remediationActions(rules: readonly Rule[] = RULES): string[] {
  return sortedUnique(remediationWriteActions(rules).flatMap((a) => a.iamActions));
}

/** Remediation write grants grouped by resource kind (one policy statement each). */
export function remediationGrants(rules: readonly Rule[] = RULES): ActionGrant[] {
  return groupByKind(
    remediationWriteActions(rules).map((a) => ({ kind: a.resource, actions: a.iamActions })),
  );
}

/** Read-only grants the collectors need (collect, verify and remediate re-read resources). */
export function readGrants(rules: readonly Rule[] = RULES): ActionGrant[] {
  return ruleResourceKinds(rules)
    .map((kind) => ({ kind, actions: sortedUnique(READ_ACTIONS[kind]) }))
    .filter((g) => g.actions.length > 0);
}

function groupByKind(entries: { kind: ResourceKind; actions: readonly string[] }[]): ActionGrant[] {
  const byKind = new Map<Exclude<ResourceKind, 'any'>, Set<string>>();
  for (const e of entries) {
    if (e.kind === 'any') {
      // An action without resource-level permissions would need Resource "*": refuse it here so it
      // is a deliberate decision (and a specific cdk-nag acknowledgement), never an accident.
      throw new Error(
        `write action(s) ${e.actions.join(', ')} declare resource 'any'; give them a resource kind`,
      );
    }
    const set = byKind.get(e.kind) ?? new Set<string>();
    for (const a of e.actions) set.add(a);
    byKind.set(e.kind, set);
  }
  return [...byKind.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, set]) => ({ kind, actions: sortedUnique(set) }));
}

/** True for `*`, `service:*` and partial patterns such as `lambda:Get*`: every action is named exactly. */
export function isWildcardAction(action: string): boolean {
  return action.includes('*') || action.includes('?');
}

/** Throws if any action is a wildcard pattern. Called on every statement the stack builds. */
export function assertNoWildcardActions(actions: readonly string[]): void {
  const bad = actions.filter(isWildcardAction);
  if (bad.length) throw new Error(`wildcard IAM actions are not allowed: ${bad.join(', ')}`);
}
