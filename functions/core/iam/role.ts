/**
 * The analysis of a role snapshot shared by the three IAM.ROLE rules: which statements of which
 * policies each rule matches, the usage evidence, and the one rewrite plan for the role.
 *
 * Design: one finding per rule per role (resourceArn = the role ARN). The rewrite covers every
 * offending document of the role at once and rides on the finding of the most severe rule that has a
 * rewrite to carry (IAM.ROLE.ADMIN, else IAM.ROLE.SERVICE_WILDCARD); the other findings carry an empty
 * plan and `evidence.fixedBy`. Reasons: the 10,240-character inline limit is per role, so inline
 * rewrites cannot be judged one document at a time; and Verify matches findings by rule id and
 * resource ARN, which per-document findings on the same role could not tell apart.
 * IAM.ROLE.RESOURCE_WILDCARD never carries the plan: last-accessed data names no resources, so a
 * rewrite narrows actions but leaves `Resource: "*"`.
 */
import type { GuardrailConfig } from '../config.ts';
import type { Mode, RawFinding, RuleContext, Snapshot } from '../types.ts';
import { needsRewrite, type StatementIssues, statementIssues } from './analyze.ts';
import {
  parseIdentityPolicy,
  type RoleInfo,
  type RolePolicy,
  roleInfo,
  rolePolicies,
  statementLists,
  trustsLambda,
} from './document.ts';
import { type Evidence, type LastAccessedDetails, readEvidence } from './evidence.ts';
import { planRoleRewrite, type RolePlan } from './rewrite.ts';

export const IAM_RULE_IDS = {
  admin: 'IAM.ROLE.ADMIN',
  serviceWildcard: 'IAM.ROLE.SERVICE_WILDCARD',
  resourceWildcard: 'IAM.ROLE.RESOURCE_WILDCARD',
} as const;
export type IamRuleId = (typeof IAM_RULE_IDS)[keyof typeof IAM_RULE_IDS];

export const DEFAULT_LOOKBACK_DAYS = 90;
export const DEFAULT_MIN_EVIDENCE_DAYS = 30;

export interface StatementMatch {
  /** `inline:<name>` or the managed policy ARN. */
  policy: string;
  kind: RolePolicy['kind'];
  index: number;
  sid?: string;
  issues: StatementIssues;
}

export type RoleAnalysis =
  | { applicable: false; reason: string }
  | {
      applicable: true;
      role: RoleInfo;
      policies: RolePolicy[];
      matches: Record<IamRuleId, StatementMatch[]>;
      evidence: Evidence;
      /** Present when the evidence is rewritable (a completed job read in full) and some statement needs a rewrite. */
      rewrite?: RolePlan;
      /** The rule whose finding carries the rewrite plan. */
      planOwner?: IamRuleId;
    };

/**
 * The three rules ask for the same analysis of the same snapshot: memoized per snapshot object, and
 * keyed by the responses' JSON text too, so a snapshot changed in place is analysed again.
 */
const memo = new WeakMap<Snapshot, { key: string; result: RoleAnalysis }>();

export const lookbackDaysOf = (config?: GuardrailConfig) =>
  config?.iamEvidence?.lookbackDays ?? DEFAULT_LOOKBACK_DAYS;

export function analyzeRole(s: Snapshot, ctx: Pick<RuleContext, 'now' | 'config'>): RoleAnalysis {
  const lookback = lookbackDaysOf(ctx.config);
  const key = `${ctx.now}|${lookback}|${JSON.stringify(s.responses)}`;
  const cached = memo.get(s);
  if (cached?.key === key) return cached.result;
  const result = analyze(s, ctx.now, lookback);
  memo.set(s, { key, result });
  return result;
}

function analyze(s: Snapshot, now: string, lookbackDays: number): RoleAnalysis {
  const role = roleInfo(s);
  if (!role) return { applicable: false, reason: 'no role in the snapshot' };
  if (typeof role.AssumeRolePolicyDocument !== 'string')
    return { applicable: false, reason: 'the role has no trust policy in the snapshot' };
  try {
    if (!trustsLambda(parseIdentityPolicy(role.AssumeRolePolicyDocument).document))
      return {
        applicable: false,
        reason: 'the trust policy does not let lambda.amazonaws.com assume the role',
      };
  } catch (e) {
    return { applicable: false, reason: `the trust policy cannot be read: ${(e as Error).message}` };
  }
  const policies = rolePolicies(s);
  const matches: Record<IamRuleId, StatementMatch[]> = {
    'IAM.ROLE.ADMIN': [],
    'IAM.ROLE.SERVICE_WILDCARD': [],
    'IAM.ROLE.RESOURCE_WILDCARD': [],
  };
  let rewriteNeeded = false;
  for (const p of policies) {
    p.document?.Statement.forEach((st, index) => {
      const issues = statementIssues(st);
      const m: StatementMatch = {
        policy: p.replaces,
        kind: p.kind,
        index,
        ...(typeof st.Sid === 'string' ? { sid: st.Sid } : {}),
        issues,
      };
      if (issues.admin) matches['IAM.ROLE.ADMIN'].push(m);
      if (issues.serviceWildcards.length) matches['IAM.ROLE.SERVICE_WILDCARD'].push(m);
      if (issues.resourceWildcard) matches['IAM.ROLE.RESOURCE_WILDCARD'].push(m);
      if (needsRewrite(issues)) rewriteNeeded = true;
    });
  }
  const evidence = readEvidence(
    s.responses['GetServiceLastAccessedDetails'] as LastAccessedDetails | null | undefined,
    role,
    now,
    lookbackDays,
  );
  const planOwner: IamRuleId | undefined = matches['IAM.ROLE.ADMIN'].length
    ? 'IAM.ROLE.ADMIN'
    : matches['IAM.ROLE.SERVICE_WILDCARD'].length
      ? 'IAM.ROLE.SERVICE_WILDCARD'
      : undefined;
  const lists = {
    policyNames: (s.responses['ListRolePolicies'] as { PolicyNames?: unknown } | null)?.PolicyNames,
    attachedPolicies: (s.responses['ListAttachedRolePolicies'] as { AttachedPolicies?: unknown } | null)
      ?.AttachedPolicies,
  };
  return {
    applicable: true,
    role,
    policies,
    matches,
    evidence,
    ...(rewriteNeeded && evidence.rewritable
      ? { rewrite: planRoleRewrite(role, policies, evidence, lists) }
      : {}),
    ...(planOwner ? { planOwner } : {}),
  };
}

const MAX_LISTED = 20;

function describeStatement(a: Extract<RoleAnalysis, { applicable: true }>, m: StatementMatch) {
  const p = a.policies.find((x) => x.replaces === m.policy);
  const st = p?.document?.Statement[m.index];
  const l = st ? statementLists(st) : undefined;
  const actions = l ? (l.hasNotAction ? l.notActions : l.actions) : [];
  return {
    policy: m.policy,
    kind: m.kind,
    statement: m.index,
    ...(m.sid ? { sid: m.sid } : {}),
    ...(l?.hasNotAction
      ? { notAction: actions.slice(0, MAX_LISTED) }
      : { action: actions.slice(0, MAX_LISTED) }),
    ...(actions.length > MAX_LISTED ? { moreActions: actions.length - MAX_LISTED } : {}),
    resource: l ? (l.hasNotResource ? { notResource: l.notResources } : l.resources) : [],
    ...(st?.Condition ? { hasCondition: true } : {}),
    ...(m.issues.serviceWildcards.length
      ? { wildcards: m.issues.serviceWildcards.slice(0, MAX_LISTED) }
      : {}),
    ...(m.issues.resourceWildcard ? { resourceLevelActionsOnStar: m.issues.resourceWildcard } : {}),
  };
}

const RULE_WORDS: Record<IamRuleId, string> = {
  'IAM.ROLE.ADMIN': 'allow every action (Action "*" or NotAction)',
  'IAM.ROLE.SERVICE_WILDCARD': 'allow wildcard actions (service:* or partial wildcards)',
  'IAM.ROLE.RESOURCE_WILDCARD': 'allow actions that support resource-level permissions on Resource "*"',
};

const RANK: Record<Mode, number> = { report: 0, approve: 1, auto: 2 };

/** The one finding of a rule on the role, or undefined when the rule matches nothing. */
export function roleFinding(
  ruleId: IamRuleId,
  a: Extract<RoleAnalysis, { applicable: true }>,
  config?: GuardrailConfig,
): RawFinding | undefined {
  const matches = a.matches[ruleId];
  if (!matches.length) return undefined;
  const policies = [...new Set(matches.map((m) => m.policy))];
  const unreadable = a.policies.filter((p) => p.error).map((p) => ({ policy: p.replaces, error: p.error }));
  const owner = a.planOwner === ruleId;
  const rewrite = a.rewrite;
  const hasSteps = !!rewrite?.plan.steps.length;
  const evidence: Record<string, unknown> = {
    role: a.role.RoleName,
    statements: matches.slice(0, MAX_LISTED).map((m) => describeStatement(a, m)),
    ...(matches.length > MAX_LISTED ? { moreStatements: matches.length - MAX_LISTED } : {}),
    ...(unreadable.length ? { unreadablePolicies: unreadable } : {}),
    usage: a.evidence.summary,
  };
  if (ruleId === 'IAM.ROLE.RESOURCE_WILDCARD') {
    evidence['passRoleOnStar'] = matches.some((m) => m.issues.resourceWildcard?.passRole);
    evidence['note'] =
      'IAM last-accessed data names no resources, so no rewrite narrows Resource "*": scope these statements to the resources the function uses' +
      (hasSteps && a.planOwner ? ` (the rewrite of ${a.planOwner} narrows their actions)` : '');
  } else if (!owner && a.planOwner) {
    evidence['fixedBy'] = a.planOwner;
  }
  if (owner && rewrite) {
    evidence['rewrite'] = {
      documents: rewrite.documents.map((d) => ({
        policy: d.policy.replaces,
        kind: d.policy.kind,
        size: d.size,
        statements: d.statements.map((r) => ({
          statement: r.index,
          ...(r.sid ? { sid: r.sid } : {}),
          removed: r.statement === null,
          ...(r.statement ? { actions: (r.statement.Action as string[]).length } : {}),
          // Unused services can be hundreds (Action "*"): a count and the first few.
          droppedServices: r.droppedServices.length,
          ...(r.droppedServices.length ? { droppedServicesSample: r.droppedServices.slice(0, 10) } : {}),
          serviceLevel: r.serviceLevel,
        })),
        // Without steps the approver still sees the proposal.
        ...(hasSteps ? {} : { proposedPolicyDocument: d.text }),
      })),
      ...(rewrite.blockers.length ? { blockers: rewrite.blockers } : {}),
    };
  }
  // The mode cap: what keeps a finding from being applied automatically (evaluate() lowers the mode).
  const minDays = config?.rules?.[ruleId]?.minEvidenceDays ?? DEFAULT_MIN_EVIDENCE_DAYS;
  let modeCap: { mode: Mode; reason: string } | undefined;
  if (ruleId === 'IAM.ROLE.RESOURCE_WILDCARD') {
    modeCap = { mode: 'report', reason: 'no automatic fix for Resource "*" (nothing to approve): reported' };
  } else {
    const why: string[] = [];
    if (!a.evidence.usable) why.push(...a.evidence.problems);
    else if (a.evidence.coverageDays < minDays)
      why.push(
        `the evidence covers ${a.evidence.summary.coverageDays} days, less than rules.${ruleId}.minEvidenceDays (${minDays})`,
      );
    const carrier = owner || !a.planOwner;
    if (carrier && !hasSteps)
      why.push(rewrite?.blockers.length ? rewrite.blockers.join('; ') : 'no rewrite can be planned');
    if (why.length) modeCap = { mode: 'approve', reason: `needs approval: ${why.join('; ')}` };
  }
  const plan = owner && rewrite ? rewrite.plan : { steps: [], preconditions: [] };
  const where = policies.length === 1 ? `policy ${policies[0]}` : `${policies.length} policies`;
  let summary = `Role ${a.role.RoleName} (assumable by Lambda) has ${matches.length} statement(s) in ${where} that ${RULE_WORDS[ruleId]}.`;
  if (owner)
    summary += hasSteps
      ? ` The plan rewrites ${rewrite!.documents.length} document(s) to the actions used in the last ${a.evidence.lookbackDays} days.`
      : ` No rewrite is applied: ${rewrite?.blockers.join('; ') || a.evidence.problems.join('; ') || 'no usable evidence'}.`;
  else if (evidence['fixedBy']) summary += ` Fixed by the rewrite of ${a.planOwner}.`;
  return {
    resourceArn: a.role.Arn,
    summary,
    evidence,
    plan,
    ...(modeCap ? { modeCap } : {}),
  };
}

/** Whether a mode cap lowers a mode. */
export const capLowers = (cap: Mode, mode: Mode) => RANK[cap] < RANK[mode];
