import type { GuardrailConfig } from './config.ts';
import { exemptionFor, resolveMode } from './mode.ts';
import { planDigest, sequencePlans } from './plan.ts';
import { RULES } from './rules/index.ts';
import { targetOf, targetTags } from './snapshot.ts';
import type { Finding, Mode, NormalizedEvent, Rule, Snapshot, TargetKind } from './types.ts';

export type Route = 'none' | 'report' | 'approve' | 'auto';

export interface RuleOutcome {
  ruleId: string;
  status: 'COMPLIANT' | 'NOT_APPLICABLE' | 'NON_COMPLIANT';
  reason?: string;
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
      });
      continue;
    }
    results.push({ ruleId: rule.id, status: 'NON_COMPLIANT' });
    const { mode, reason } = resolveMode(rule, config, killSwitch);
    const exemption = exemptionFor(rule.id, tagMap, now);
    for (const raw of r.findings) {
      findings.push({
        ruleId: rule.id,
        title: rule.title,
        severity: raw.severity ?? rule.severity,
        resourceArn: raw.resourceArn,
        summary: raw.summary,
        evidence: raw.evidence,
        mode,
        modeReason: reason,
        exempt: exemption?.status === 'active',
        ...(exemption ? { exemption } : {}),
        plan: raw.plan,
      });
    }
  }
  findings = sequencePlans(findings);
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
    ...(target ? { target } : {}),
    results,
    findings,
    route,
    planDigest: planDigest(live.filter((f) => f.mode !== 'report')),
    ...(needApproval.length && config.approvers?.length
      ? { approval: { planDigest: planDigest(needApproval), findings: needApproval.length } }
      : {}),
  };
}
