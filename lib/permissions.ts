import {
  type ConditionalPermission,
  READ_ACTIONS,
  READ_RESOURCES,
  type ResourceKind,
  WRITE_ACTIONS,
  type WriteAction,
} from '../functions/core/actions.ts';
import type { GuardrailConfig } from '../functions/core/config.ts';
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

/** A role tagged `lambda-guardrail:protected=true` is never written by remediation (an explicit deny). */
export const PROTECTED_ROLE_TAG = 'lambda-guardrail:protected';

/** The resource kinds the rules look at (`function`, later `role`). */
export function ruleResourceKinds(rules: readonly Rule[] = RULES): Rule['resource'][] {
  return sortedUnique(rules.map((r) => r.resource)) as Rule['resource'][];
}

/**
 * The write operations remediation may call (forward steps and their rollback inverses): an entry
 * that names the rules using it (`usedBy`) when one of them is deployed, an entry without `usedBy`
 * when a rule evaluates its resource kind.
 */
export function remediationWriteActions(rules: readonly Rule[] = RULES): WriteAction[] {
  const kinds = new Set<ResourceKind>(ruleResourceKinds(rules));
  const ids = new Set(rules.map((r) => r.id));
  return WRITE_ACTIONS.filter((a) => (a.usedBy ? a.usedBy.some((id) => ids.has(id)) : kinds.has(a.resource)));
}

/** A grant on exact resources named in the configuration (a KMS key, layer versions). */
export interface ConfiguredGrant {
  kind: 'key' | 'layer';
  actions: string[];
  resources: string[];
  why: string;
}

/**
 * The permissions remediation needs only with some `secrets` settings: kms:GenerateDataKey and
 * kms:Decrypt on a customer-managed key, lambda:GetLayerVersion on the extension layer versions.
 */
export function configuredGrants(
  settings: GuardrailConfig['secrets'],
  rules: readonly Rule[] = RULES,
): ConfiguredGrant[] {
  const out: ConfiguredGrant[] = [];
  const resourcesFor = (c: ConditionalPermission): string[] =>
    c.when === 'kmsKeyArn'
      ? settings.kmsKeyArn
        ? [settings.kmsKeyArn]
        : []
      : sortedUnique(Object.values(settings.extensionLayerArns ?? {}).filter((x): x is string => !!x));
  for (const a of remediationWriteActions(rules)) {
    for (const c of a.conditional ?? []) {
      const resources = resourcesFor(c);
      if (!resources.length) continue;
      if (c.resource !== 'key' && c.resource !== 'layer')
        throw new Error(`conditional permission of ${a.operation} on ${c.resource}: not supported`);
      out.push({ kind: c.resource, actions: sortedUnique(c.iamActions), resources, why: c.why });
    }
  }
  return out;
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

/**
 * Read-only grants the collectors need (collect, verify and remediate re-read resources), by the
 * resource each action is granted on: its target kind unless `READ_RESOURCES` says otherwise
 * (policy versions on policies; `iam:GetServiceLastAccessedDetails` on `*`, kind `any`).
 */
export function readGrants(rules: readonly Rule[] = RULES): ReadGrant[] {
  const byKind = new Map<ResourceKind, Set<string>>();
  for (const kind of ruleResourceKinds(rules)) {
    for (const a of READ_ACTIONS[kind]) {
      const k = READ_RESOURCES[a] ?? kind;
      const set = byKind.get(k) ?? new Set<string>();
      set.add(a);
      byKind.set(k, set);
    }
  }
  return [...byKind.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, set]) => ({ kind, actions: sortedUnique(set) }));
}

/** A read grant: like ActionGrant, and `any` (Resource `*`) for reads without resource-level permissions. */
export interface ReadGrant {
  kind: ResourceKind;
  actions: string[];
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
