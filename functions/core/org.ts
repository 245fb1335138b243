import type { GuardrailConfig } from './config.ts';
import type { Mode, NormalizedEvent, Snapshot } from './types.ts';

/**
 * Organization mode, the pure part (docs/organization.md): which accounts the guardrail acts in,
 * the mode ceiling of an account (per-account and per-OU overrides), the member roles it assumes,
 * and the rule that nothing read or planned for one account names another.
 */

export type OrgSettings = GuardrailConfig['organization'];

export const orgEnabled = (config: Pick<GuardrailConfig, 'organization'>): boolean =>
  config.organization?.enabled === true;

export type MemberRolePurpose = 'collector' | 'remediation';

/** `arn:<partition>:iam::<account>:role/<name>` of a member role. */
export function memberRoleArn(account: string, roleName: string, partition = 'aws'): string {
  if (!/^\d{12}$/.test(account)) throw new Error(`not an account id: ${JSON.stringify(account)}`);
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

/**
 * RoleSessionName of an assumed member role: names the execution (CloudTrail in the member account
 * shows it). STS allows 2-64 characters of `[\w+=,.@-]`.
 */
export function roleSessionName(executionName: string): string {
  const clean = `guardrail-${executionName}`.replace(/[^\w+=,.@-]/g, '_');
  return clean.slice(0, 64);
}

/** Whether the guardrail acts on events of this account: the deny list wins, then the allow list (empty: all). */
export function accountDecision(
  org: OrgSettings,
  account: string,
): { allowed: true } | { allowed: false; reason: string } {
  if (org.accounts.deny.includes(account))
    return { allowed: false, reason: `account ${account} is on organization.accounts.deny` };
  if (org.accounts.allow.length && !org.accounts.allow.includes(account))
    return { allowed: false, reason: `account ${account} is not on organization.accounts.allow` };
  return { allowed: true };
}

/** True when the event was caused by one of the guardrail's member roles, in any account. */
export function isMemberRoleActor(event: Pick<NormalizedEvent, 'actor'>, org: OrgSettings): boolean {
  const names = new Set([org.memberRoleNames.collector, org.memberRoleNames.remediation]);
  const issuer = event.actor.sessionIssuerArn
    ? /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(event.actor.sessionIssuerArn)?.[1]
    : undefined;
  const assumed = event.actor.arn
    ? /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([^/]+)\//.exec(event.actor.arn)?.[1]
    : undefined;
  return [issuer, assumed].some((n) => n !== undefined && names.has(n));
}

/** The snapshot key of Organizations ListParents for a child (account or OU id). */
export const listParentsKey = (childId: string) => `ListParents:${childId}`;

/**
 * The account's OUs, nearest first, from the `ListParents:<child>` responses Collect stores (see
 * docs/snapshot.md). Stops at the root (included, so a root-level override applies to every account)
 * or where a response is missing.
 */
export function ouChain(snapshot: Snapshot, account: string): string[] {
  const out: string[] = [];
  let child = account;
  for (let depth = 0; depth < 8; depth++) {
    const r = snapshot.responses[listParentsKey(child)] as {
      Parents?: { Id?: string; Type?: string }[];
    } | null;
    const parent = r?.Parents?.[0];
    if (!parent?.Id || out.includes(parent.Id)) break;
    out.push(parent.Id);
    if (parent.Type === 'ROOT') break;
    child = parent.Id;
  }
  return out;
}

/** True when the configuration has OU overrides, i.e. Collect must read the account's OU chain. */
export const needsOuChain = (config: Pick<GuardrailConfig, 'organization'>): boolean =>
  orgEnabled(config) && Object.keys(config.organization.modeOverrides.ous).length > 0;

/**
 * The global mode ceiling for an account: `modeOverrides.accounts[account]`, else the override of
 * its nearest OU, else none (the configured global `mode` applies).
 */
export function accountCeiling(
  config: Pick<GuardrailConfig, 'organization'>,
  account: string,
  ous: readonly string[],
): { mode: Mode; reason: string } | undefined {
  if (!orgEnabled(config)) return undefined;
  const o = config.organization.modeOverrides;
  const byAccount = o.accounts[account];
  if (byAccount) return { mode: byAccount, reason: `account ${account} override ${byAccount}` };
  for (const ou of ous) {
    const m = o.ous[ou];
    if (m) return { mode: m, reason: `OU ${ou} override ${m}` };
  }
  return undefined;
}

const ARN_ACCOUNT = /arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/g;

/**
 * The accounts other than `account` that a plan step's target names: ARNs in the parameters that
 * identify what is written (function, secret, role, resource), and the finding's resource ARN.
 * Values that are data of the change (a policy document, layer ARNs, an inverse's principal) are not
 * targets and are not inspected.
 */
export const TARGET_PARAMETERS = [
  'FunctionName',
  'SecretId',
  'Resource',
  'RoleArn',
  'ResourceArn',
  'Arn',
] as const;

export function foreignAccounts(
  account: string,
  resourceArn: string,
  parameters: Record<string, unknown>,
): string[] {
  const values = [resourceArn, ...TARGET_PARAMETERS.map((k) => parameters[k])].filter(
    (v): v is string => typeof v === 'string',
  );
  const found = new Set<string>();
  for (const v of values) for (const m of v.matchAll(ARN_ACCOUNT)) if (m[1] !== account) found.add(m[1]);
  return [...found].sort();
}
