/**
 * The rewrite planner (pure): replaces each offending Allow statement (`*`, NotAction, wildcard
 * actions) with what the role used, and plans the IAM calls that write the result.
 *
 * Per service the statement grants (its actions expanded against the catalog):
 * - a service not used within the lookback: nothing;
 * - a used service with action-level data: the tracked actions used within the lookback, plus the
 *   actions the data does not track (they may have been used: nothing says otherwise);
 * - a used service with service-level data only: every catalog action of that service the original
 *   statement granted, written out explicitly. "The service" is thus expressed without a wildcard and
 *   never beyond the original grant (a statement with `s3:Get*` keeps the s3 Get actions, not all of s3);
 * - an action the catalog does not know, written without a wildcard, stays when its service was used.
 * The new statement keeps its Sid, Condition, Resource/NotResource and key order; only `Action`
 * changes (and `NotAction` goes). Statements that need no rewrite, Deny statements among them, are
 * kept as the same objects, so they serialize exactly as before. A statement left with no action is
 * removed.
 */
import type { Plan, PlanStep, PolicyProof, Precondition } from '../types.ts';
import { grantedActions, needsRewrite, statementIssues } from './analyze.ts';
import { catalogAction, isWildcardPattern } from './catalog.ts';
import {
  INLINE_POLICIES_PER_ROLE_LIMIT,
  MANAGED_POLICY_LIMIT,
  MAX_POLICY_VERSIONS,
  type PolicyDocument,
  policySize,
  type RoleInfo,
  type RolePolicy,
  type Statement,
  statementLists,
} from './document.ts';
import type { Evidence } from './evidence.ts';

export interface StatementRewrite {
  /** Index of the statement in the original document. */
  index: number;
  sid?: string;
  /** The replacement, or null when nothing of it was used (the statement is removed). */
  statement: Statement | null;
  /** Services the original granted that were not used (dropped entirely). */
  droppedServices: string[];
  /** Services kept at service level (no action-level data). */
  serviceLevel: string[];
}

/** Rewrites one statement against the evidence. */
export function rewriteStatement(s: Statement, index: number, evidence: Evidence): StatementRewrite {
  const granted = grantedActions(s);
  const byService = new Map<string, string[]>();
  for (const a of granted) {
    const list = byService.get(a.service) ?? [];
    list.push(a.action);
    byService.set(a.service, list);
  }
  const kept = new Set<string>();
  const dropped: string[] = [];
  const serviceLevel: string[] = [];
  for (const [service, actions] of byService) {
    const usage = evidence.services.get(service);
    if (!usage?.used) {
      dropped.push(service);
      continue;
    }
    if (usage.tracked) {
      for (const a of actions) {
        const k = a.toLowerCase();
        if (usage.usedActions?.has(k) || !usage.tracked.has(k)) kept.add(a);
      }
    } else {
      serviceLevel.push(service);
      for (const a of actions) kept.add(a);
    }
  }
  // Actions written without a wildcard that the catalog does not know (new, retired or misspelled).
  const l = statementLists(s);
  if (!l.hasNotAction) {
    for (const p of l.actions) {
      if (isWildcardPattern(p) || catalogAction(p)) continue;
      const service = p.slice(0, p.indexOf(':')).toLowerCase();
      const usage = evidence.services.get(service);
      if (usage?.used && !usage.tracked?.has(p.toLowerCase())) kept.add(p);
      else if (usage?.usedActions?.has(p.toLowerCase())) kept.add(p);
    }
  }
  const actions = [...kept].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const base = {
    index,
    ...(s.Sid !== undefined ? { sid: s.Sid } : {}),
    droppedServices: dropped.sort(),
    serviceLevel: serviceLevel.sort(),
  };
  if (!actions.length) return { ...base, statement: null };
  const out: Record<string, unknown> = {};
  let placed = false;
  for (const [k, v] of Object.entries(s)) {
    if (k === 'Action' || k === 'NotAction') {
      if (!placed) out['Action'] = actions;
      placed = true;
    } else out[k] = v;
  }
  return { ...base, statement: out as unknown as Statement };
}

export interface DocumentRewrite {
  policy: RolePolicy;
  statements: StatementRewrite[];
  document: PolicyDocument;
  /** Compact JSON text of the new document, exactly as the plan writes it. */
  text: string;
  size: number;
}

/** Rewrites the offending statements of one document; undefined when none needs it. */
export function rewriteDocument(policy: RolePolicy, evidence: Evidence): DocumentRewrite | undefined {
  if (!policy.document) return undefined;
  const rewrites: StatementRewrite[] = [];
  const statements: Statement[] = [];
  policy.document.Statement.forEach((s, i) => {
    if (!needsRewrite(statementIssues(s))) {
      statements.push(s);
      return;
    }
    const r = rewriteStatement(s, i, evidence);
    rewrites.push(r);
    if (r.statement) statements.push(r.statement);
  });
  if (!rewrites.length) return undefined;
  const document = { ...policy.document, Statement: statements };
  const text = JSON.stringify(document);
  return { policy, statements: rewrites, document, text, size: policySize(text) };
}

export interface RolePlan {
  /** One entry per rewritten document. */
  documents: DocumentRewrite[];
  /** The plan; no steps when a reason below prevents writing. */
  plan: Plan;
  /** Why the proposal cannot be applied as planned (size, empty document, missing version data). */
  blockers: string[];
}

const MAX_POLICY_NAME = 128;

/** The inline policy name that replaces an AWS-managed policy, unique among the role's inline policies. */
export function replacementName(managedName: string, taken: ReadonlySet<string>): string {
  const base = `guardrail-${managedName}`.slice(0, MAX_POLICY_NAME);
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const suffix = `-${i}`;
    const name = `${base.slice(0, MAX_POLICY_NAME - suffix.length)}${suffix}`;
    if (!taken.has(name)) return name;
  }
}

const byDate = (a?: string, b?: string) => (Date.parse(a ?? '') || 0) - (Date.parse(b ?? '') || 0);

/**
 * Plans the rewrite of every offending document of the role. Evidence must come from a completed
 * job (the caller checks); sizes and version limits are checked here. All or nothing: if any
 * document cannot be written, the plan has no steps and `blockers` says why.
 */
export function planRoleRewrite(
  role: RoleInfo,
  policies: RolePolicy[],
  evidence: Evidence,
  /** The snapshot's ListRolePolicies.PolicyNames and ListAttachedRolePolicies.AttachedPolicies, as read. */
  lists: { policyNames: unknown; attachedPolicies: unknown },
): RolePlan {
  const documents = policies.flatMap((p) => {
    const r = rewriteDocument(p, evidence);
    return r ? [r] : [];
  });
  const blockers: string[] = [];
  const inlineNames = new Set(policies.filter((p) => p.kind === 'inline').map((p) => p.name));
  const replacement = new Map<DocumentRewrite, string>();
  for (const d of documents) {
    if (d.policy.kind === 'aws-managed') {
      const name = replacementName(d.policy.name, inlineNames);
      inlineNames.add(name);
      replacement.set(d, name);
    }
  }
  // Sizes: every inline policy of the role after the rewrite, generated replacements included.
  let inlineTotal = 0;
  for (const p of policies.filter((x) => x.kind === 'inline')) {
    const d = documents.find((x) => x.policy === p);
    inlineTotal += d ? d.size : policySize(p.text ?? '');
  }
  for (const d of documents) if (d.policy.kind === 'aws-managed') inlineTotal += d.size;
  if (inlineTotal > INLINE_POLICIES_PER_ROLE_LIMIT)
    blockers.push(
      `the role's inline policies would total ${inlineTotal} characters (limit ${INLINE_POLICIES_PER_ROLE_LIMIT}, whitespace not counted)`,
    );
  for (const d of documents) {
    if (!d.document.Statement.length)
      blockers.push(
        `${d.policy.replaces}: nothing it grants was used, so no statement is left; an empty policy cannot be written (detach or delete it by hand)`,
      );
    if (d.policy.kind === 'customer-managed' && d.size > MANAGED_POLICY_LIMIT)
      blockers.push(
        `${d.policy.replaces}: the rewritten version has ${d.size} characters (limit ${MANAGED_POLICY_LIMIT})`,
      );
  }
  const steps: PlanStep[] = [];
  const proofs: PolicyProof[] = [];
  const preconditions: Precondition[] = [];
  const roleName = role.RoleName;
  for (const d of documents) {
    const p = d.policy;
    const existing = p.text ?? '';
    if (p.kind === 'inline') {
      steps.push({
        service: 'iam',
        operation: 'PutRolePolicy',
        parameters: { RoleName: roleName, PolicyName: p.name, PolicyDocument: d.text },
        reason: `rewrite inline policy ${p.name} to the actions the role used`,
        inverse: {
          service: 'iam',
          operation: 'PutRolePolicy',
          parameters: { RoleName: roleName, PolicyName: p.name, PolicyDocument: existing },
          reason: `restore inline policy ${p.name}`,
        },
      });
      preconditions.push({
        read: p.key,
        path: 'PolicyDocument',
        equals: p.raw,
        description: `inline policy ${p.name} is unchanged`,
      });
    } else if (p.kind === 'customer-managed') {
      const arn = p.arn!;
      const versions = p.versions;
      if (!versions || !p.defaultVersionId) {
        blockers.push(`${arn}: its versions were not read (ListPolicyVersions)`);
        continue;
      }
      if (versions.length >= MAX_POLICY_VERSIONS) {
        const oldest = versions
          .filter((v) => !v.IsDefaultVersion)
          .sort((a, b) => byDate(a.CreateDate, b.CreateDate))[0];
        if (!oldest?.Document) {
          blockers.push(
            `${arn}: at the ${MAX_POLICY_VERSIONS}-version limit and the document of its oldest non-default version was not read, so deleting it could not be undone`,
          );
          continue;
        }
        let oldText: string;
        try {
          oldText = decodeURIComponent(oldest.Document);
        } catch {
          oldText = oldest.Document;
        }
        steps.push({
          service: 'iam',
          operation: 'DeletePolicyVersion',
          parameters: { PolicyArn: arn, VersionId: oldest.VersionId },
          reason: `${arn} has ${versions.length} versions (the limit): delete the oldest non-default one, ${oldest.VersionId} (its document is kept in the inverse step)`,
          inverse: {
            service: 'iam',
            operation: 'CreatePolicyVersion',
            parameters: { PolicyArn: arn, PolicyDocument: oldText, SetAsDefault: false },
            reason: `re-create the deleted version ${oldest.VersionId} of ${arn} (as a new, non-default version)`,
          },
        });
        preconditions.push({
          read: `ListPolicyVersions:${arn}`,
          path: `Versions[VersionId=${oldest.VersionId}].VersionId`,
          equals: oldest.VersionId,
          description: `version ${oldest.VersionId} of ${arn} still exists`,
        });
      }
      steps.push({
        service: 'iam',
        operation: 'CreatePolicyVersion',
        parameters: { PolicyArn: arn, PolicyDocument: d.text, SetAsDefault: true },
        reason: `make a version of ${arn} with the actions the role used the default`,
        inverse: {
          service: 'iam',
          operation: 'SetDefaultPolicyVersion',
          parameters: { PolicyArn: arn, VersionId: p.defaultVersionId },
          reason: `make ${p.defaultVersionId} the default version of ${arn} again`,
        },
      });
      preconditions.push(
        {
          read: p.key,
          path: 'PolicyVersion.VersionId',
          equals: p.defaultVersionId,
          description: `the default version of ${arn} is still ${p.defaultVersionId}`,
        },
        {
          read: p.key,
          path: 'PolicyVersion.Document',
          equals: p.raw,
          description: `the default version of ${arn} is unchanged`,
        },
      );
    } else {
      const arn = p.arn!;
      const name = replacement.get(d)!;
      steps.push(
        {
          service: 'iam',
          operation: 'PutRolePolicy',
          parameters: { RoleName: roleName, PolicyName: name, PolicyDocument: d.text },
          reason: `replace AWS-managed ${p.name} with inline policy ${name} holding the actions the role used (before detaching)`,
          inverse: {
            service: 'iam',
            operation: 'DeleteRolePolicy',
            parameters: { RoleName: roleName, PolicyName: name },
            reason: `remove the generated inline policy ${name}`,
          },
        },
        {
          service: 'iam',
          operation: 'DetachRolePolicy',
          parameters: { RoleName: roleName, PolicyArn: arn },
          reason: `detach AWS-managed ${p.name}, now replaced by inline policy ${name}`,
          inverse: {
            service: 'iam',
            operation: 'AttachRolePolicy',
            parameters: { RoleName: roleName, PolicyArn: arn },
            reason: `re-attach AWS-managed ${p.name}`,
          },
        },
      );
      if (p.defaultVersionId)
        preconditions.push({
          read: p.key,
          path: 'PolicyVersion.VersionId',
          equals: p.defaultVersionId,
          description: `the default version of ${arn} is still ${p.defaultVersionId}`,
        });
    }
    proofs.push({ replaces: p.replaces, existingPolicyDocument: existing, newPolicyDocument: d.text });
  }
  if (steps.length) {
    preconditions.push(
      {
        read: 'ListRolePolicies',
        path: 'PolicyNames',
        equals: lists.policyNames,
        description: `role ${roleName} has the same inline policies`,
      },
      {
        read: 'ListAttachedRolePolicies',
        path: 'AttachedPolicies',
        equals: lists.attachedPolicies,
        description: `role ${roleName} has the same managed policies attached`,
      },
    );
  }
  if (blockers.length || !documents.length)
    return { documents, plan: { steps: [], preconditions: [] }, blockers };
  return { documents, plan: { steps, preconditions, proofs, atomic: true }, blockers };
}
