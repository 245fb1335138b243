import type { GuardrailConfig } from './config.ts';
import type { Exemption, Mode, Rule } from './types.ts';

const RANK: Record<Mode, number> = { report: 0, approve: 1, auto: 2 };

export const EXEMPT_TAG = 'guardrail:exempt';
export const EXEMPT_REASON_TAG = 'guardrail:exempt-reason';
export const EXEMPT_UNTIL_TAG = 'guardrail:exempt-until';

/**
 * The mode a rule's findings get: rule default or per-rule config, capped by the global mode and the
 * kill switch. In organization mode an account's override (`organization.modeOverrides`, see
 * core/org.ts `accountCeiling`) takes the place of the global mode as the ceiling for that account.
 */
export function resolveMode(
  rule: Rule,
  config: GuardrailConfig,
  killSwitch: boolean,
  accountCeiling?: { mode: Mode; reason: string },
): { mode: Mode; reason: string } {
  const override = config.rules[rule.id]?.mode;
  let mode: Mode = override ?? rule.defaultMode;
  let reason = override ? `config sets ${rule.id} to ${override}` : `rule default ${rule.defaultMode}`;
  const ceiling = accountCeiling?.mode ?? config.mode;
  if (RANK[ceiling] < RANK[mode]) {
    mode = ceiling;
    reason = accountCeiling
      ? `${reason}, capped by ${accountCeiling.reason}`
      : `${reason}, capped by global mode ${config.mode}`;
  }
  if (killSwitch && mode !== 'report') {
    mode = 'report';
    reason = `${reason}; kill switch is on, downgraded to report`;
  }
  return { mode, reason };
}

/**
 * Reads exemption tags. An exemption needs rule ids, a reason and an ISO expiry date; one that has
 * expired, or lacks a reason or expiry, is not honoured and says why (so reports can show it).
 */
export function exemptionFor(
  ruleId: string,
  tagMap: Record<string, string>,
  now: string,
): Exemption | undefined {
  const lower = Object.fromEntries(Object.entries(tagMap).map(([k, v]) => [k.toLowerCase(), v]));
  const ids = (lower[EXEMPT_TAG] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!ids.includes(ruleId)) return undefined;
  const reason = lower[EXEMPT_REASON_TAG]?.trim() || undefined;
  const until = lower[EXEMPT_UNTIL_TAG]?.trim() || undefined;
  const base = { ruleIds: ids, ...(reason ? { reason } : {}), ...(until ? { until } : {}) };
  if (!reason)
    return { ...base, status: 'invalid', note: `exemption ignored: ${EXEMPT_REASON_TAG} is missing` };
  if (!until || !/^\d{4}-\d{2}-\d{2}/.test(until) || Number.isNaN(Date.parse(until))) {
    return { ...base, status: 'invalid', note: `exemption ignored: ${EXEMPT_UNTIL_TAG} must be an ISO date` };
  }
  // A date-only expiry is valid through the end of that day (UTC).
  const end = /^\d{4}-\d{2}-\d{2}$/.test(until) ? Date.parse(`${until}T23:59:59.999Z`) : Date.parse(until);
  if (end < Date.parse(now))
    return { ...base, status: 'expired', note: `exemption expired on ${until}; ignored` };
  return { ...base, status: 'active' };
}
