import type { GuardrailConfig } from './config.ts';
import { exemptionFor, resolveMode } from './mode.ts';
import { accountCeiling, ouChain } from './org.ts';
import { planDigest, sequencePlans } from './plan.ts';
import { RULES } from './rules/index.ts';
import { targetOf, targetTags } from './snapshot.ts';
import type { Finding, Mode, NormalizedEvent, Rule, Snapshot, TargetKind } from './types.ts';

export type Route = 'none' | 'report' | 'approve' | 'auto';

export interface RuleOutcome {
  ruleId: string;
  status: 'COMPLIANT' | 'NOT_APPLICABLE' | 'NON_COMPLIANT';
  reason?: string;
  /** The reason holds for the whole account and region (see RuleResult); reports state it once. */
  accountWide?: true;
}

export interface Evaluation {
  target?: { kind: TargetKind; arn: string };
  results: RuleOutcome[];
  findings: Finding[];
  /** Where the workflow goes next: `approve` if any finding needs a person, else `auto` if any is automatic. */
  route: Route;
  /** Digest of the plans that enforcement may apply (auto and approve findings), for drift checks. */
  planDigest: string;
  /**
   * Set when findings need approval and approvers are configured: the workflow then asks them
   * (RequestApproval). Without approvers, `approve` findings are only recorded (approval-required).
   */
  approval?: { planDigest: string; findings: number };
}

export interface EvaluateInput {
  snapshot: Snapshot;
  config: GuardrailConfig;
  /** ISO time; exemption expiry is judged against it. */
  now: string;
  killSwitch?: boolean;
  event?: NormalizedEvent;
  rules?: readonly Rule[];
}

/** Whether the configuration has the rule evaluated: `rules.<id>.enabled`, else on unless the rule is opt-in. */
export const ruleEnabled = (rule: Rule, config: GuardrailConfig) =>
  config.rules?.[rule.id]?.enabled ?? !rule.optIn;

/** Findings the workflow acts on in a given mode (exempt findings are never acted on). */
export const actionable = (findings: readonly Finding[], mode: Mode) =>
  findings.filter((f) => !f.exempt && f.mode === mode);

export function evaluate(input: EvaluateInput): Evaluation {
  const { snapshot, config, now, killSwitch = false, event } = input;
  const rules = input.rules ?? RULES;
  const target = targetOf(snapshot);
  const tagMap = targetTags(snapshot);
  // Organization mode: the account's (or its OU's) override is its mode ceiling.
  const ceiling = accountCeiling(config, snapshot.account, ouChain(snapshot, snapshot.account));
  const results: RuleOutcome[] = [];
  let findings: Finding[] = [];
  for (const rule of rules) {
    if (!target || rule.resource !== target.kind) {
      results.push({
        ruleId: rule.id,
        status: 'NOT_APPLICABLE',
        reason: `rule applies to ${rule.resource}s`,
      });
      continue;
    }
    if (!ruleEnabled(rule, config)) {
      results.push({
        ruleId: rule.id,
        status: 'NOT_APPLICABLE',
        reason: rule.optIn
          ? `opt-in rule: enable it with rules.${rule.id}.enabled`
          : `disabled by rules.${rule.id}.enabled`,
      });
      continue;
    }
    const r = rule.evaluate(snapshot, { now, config, ...(event ? { event } : {}) });
    if (r.status !== 'NON_COMPLIANT') {
      results.push({
        ruleId: rule.id,
        status: r.status,
        ...(r.status === 'NOT_APPLICABLE' ? { reason: r.reason } : {}),
        ...(r.status === 'NOT_APPLICABLE' && r.accountWide ? { accountWide: true as const } : {}),
      });
      continue;
    }
    results.push({ ruleId: rule.id, status: 'NON_COMPLIANT' });
    const { mode, reason } = resolveMode(rule, config, killSwitch, ceiling);
    const exemption = exemptionFor(rule.id, tagMap, now);
    for (const raw of r.findings) {
      // A finding may cap its own mode (e.g. an IAM rewrite without enough usage evidence).
      const capped = raw.modeCap && MODE_RANK[raw.modeCap.mode] < MODE_RANK[mode] ? raw.modeCap : undefined;
      findings.push({
        ruleId: rule.id,
        title: rule.title,
        severity: raw.severity ?? rule.severity,
        resourceArn: raw.resourceArn,
        summary: raw.summary,
        evidence: raw.evidence,
        mode: capped ? capped.mode : mode,
        modeReason: capped ? `${reason}; ${capped.reason}` : reason,
        exempt: exemption?.status === 'active',
        ...(exemption ? { exemption } : {}),
        plan: raw.plan,
      });
    }
  }
  findings = sequencePlans(findings);
  return { ...(target ? { target } : {}), results, findings, ...routeOf(findings, config) };
}

const MODE_RANK: Record<Mode, number> = { report: 0, approve: 1, auto: 2 };

/**
 * Where the workflow goes for these findings, the digest of the plans enforcement may apply and the
 * approval request: the one computation evaluate() and anything that changes findings' modes
 * afterwards (core/iam/proof.ts `applyProofs`) share.
 */
export function routeOf(
  findings: readonly Finding[],
  config: Pick<GuardrailConfig, 'approvers'>,
): Pick<Evaluation, 'route' | 'planDigest' | 'approval'> {
  const live = findings.filter((f) => !f.exempt);
  const route: Route = !live.length
    ? 'none'
    : live.some((f) => f.mode === 'approve')
      ? 'approve'
      : live.some((f) => f.mode === 'auto')
        ? 'auto'
        : 'report';
  const needApproval = live.filter((f) => f.mode === 'approve');
  return {
    route,
    planDigest: planDigest(live.filter((f) => f.mode !== 'report')),
    ...(needApproval.length && config.approvers?.length
      ? { approval: { planDigest: planDigest(needApproval), findings: needApproval.length } }
      : {}),
  };
}
