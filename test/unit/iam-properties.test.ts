/**
 * Property tests of the IAM analysis and rewrite over every AWS managed policy (1,643) and every test
 * policy (237) in test/fixtures/iam-policies, each with random usage evidence (fast-check):
 *   (a) the analyzer (the three rules through evaluate(), the policy attached inline, customer- or
 *       AWS-managed) never throws;
 *   (b) the rewrite never allows an action the original statement did not: every rewritten statement
 *       is a subset of the statement it came from (its actions, expanded against the catalog, are
 *       among the original's; Effect, Resource/NotResource, Principal and Condition are the original's);
 *   (c) Deny statements and every condition survive byte for byte (same JSON text, same order);
 *   (d) no rewritten Allow has `*` (or any wildcard) in an action, or a NotAction.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { grantedActions } from '../../functions/core/iam/analyze.ts';
import { catalogAction, expandPattern, serviceActions } from '../../functions/core/iam/catalog.ts';
import { parseIdentityPolicy, type RolePolicy, statementLists } from '../../functions/core/iam/document.ts';
import { readEvidence } from '../../functions/core/iam/evidence.ts';
import { rewriteDocument } from '../../functions/core/iam/rewrite.ts';
import type { Statement } from '../../functions/core/policy.ts';
import { IAM_NOW, lastAccessed, roleSnapshot, type TrackedInput } from './iam-helpers.ts';

interface Corpus {
  id: string;
  document: unknown;
}

const read = (file: string) =>
  readFileSync(new URL(`../fixtures/iam-policies/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean);
const MANAGED: Corpus[] = read('aws-managed-policies.jsonl').map((l) => {
  const r = JSON.parse(l) as { name: string; document: unknown };
  return { id: `aws-managed:${r.name}`, document: r.document };
});
const TESTS: Corpus[] = read('test-policies.jsonl').map((l) => {
  const r = JSON.parse(l) as { id: string; policy: unknown };
  return { id: r.id, document: r.policy };
});

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.parse(IAM_NOW) - days * DAY).toISOString();

/** Services a document grants (from its statements expanded against the catalog), plus one it does not. */
function servicesOf(document: unknown): string[] {
  const out = new Set<string>(['sqs']);
  try {
    for (const s of parseIdentityPolicy(document).document.Statement) {
      const l = statementLists(s);
      for (const p of l.hasNotAction ? ['*'] : l.actions) {
        const colon = p.indexOf(':');
        if (colon > 0 && !/[*?]/.test(p.slice(0, colon))) out.add(p.slice(0, colon).toLowerCase());
        else for (const a of expandPattern(p)) out.add(a.service);
      }
    }
  } catch {
    // An invalid document: the analyzer must still not throw (property a).
  }
  return [...out].sort();
}

/** Random IAM last-accessed data for these services: unused, used long ago, used at service level or with tracked actions. */
function evidenceArb(services: string[]) {
  const perService = (ns: string) => {
    const actions = serviceActions(ns).map((a) => a.action.slice(ns.length + 1));
    return fc.oneof(
      fc.constant<TrackedInput | null>(null),
      fc.constant<TrackedInput>({}),
      fc.integer({ min: 91, max: 400 }).map<TrackedInput>((d) => ({ last: ago(d) })),
      fc.integer({ min: 0, max: 89 }).map<TrackedInput>((d) => ({ last: ago(d) })),
      actions.length
        ? fc
            .tuple(
              fc.integer({ min: 0, max: 89 }),
              fc.subarray(actions, { minLength: 1, maxLength: Math.min(actions.length, 25) }),
              fc.array(fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 200 })), {
                minLength: 25,
                maxLength: 25,
              }),
            )
            .map<TrackedInput>(([d, tracked, times]) => ({
              last: ago(d),
              actions: Object.fromEntries(
                tracked.map((a, i) => [a, times[i] === null ? null : ago(times[i]!)]),
              ),
            }))
        : fc.constant<TrackedInput>({ last: ago(1) }),
    );
  };
  // Policies granting hundreds of services (AdministratorAccess, ReadOnlyAccess): a random subset gets data.
  const pool =
    services.length > 40 ? fc.shuffledSubarray(services, { maxLength: 40 }) : fc.constant(services);
  return pool.chain((chosen) =>
    fc.record({
      services: fc
        .tuple(...chosen.map(perService))
        .map((xs) => Object.fromEntries(chosen.flatMap((ns, i) => (xs[i] ? [[ns, xs[i]]] : [])))),
      status: fc.constantFrom('COMPLETED', 'COMPLETED', 'COMPLETED', 'IN_PROGRESS', 'FAILED'),
      roleAgeDays: fc.oneof(fc.constant(0.05), fc.integer({ min: 1, max: 500 })),
      kind: fc.constantFrom('inline', 'customer-managed', 'aws-managed'),
    }),
  );
}

const json = (v: unknown) => JSON.stringify(v);

function checkRewrite(
  document: unknown,
  services: Record<string, TrackedInput>,
  status: string,
  roleAgeDays: number,
) {
  let parsed: ReturnType<typeof parseIdentityPolicy>;
  try {
    parsed = parseIdentityPolicy(document);
  } catch {
    return;
  }
  const evidence = readEvidence(
    lastAccessed(services, { status }),
    { CreateDate: ago(roleAgeDays) },
    IAM_NOW,
    90,
  );
  const policy: RolePolicy = {
    kind: 'inline',
    name: 'p',
    replaces: 'inline:p',
    key: 'GetRolePolicy:p',
    document: parsed.document,
    text: parsed.text,
  };
  const r = rewriteDocument(policy, evidence);
  if (!r) return;
  const original = parsed.document.Statement;
  const rewritten = new Map(r.statements.map((s) => [s.index, s]));
  // The new document is the original with rewritten statements replaced (or removed), in order.
  const expected = original.flatMap((s, i) => {
    const rw = rewritten.get(i);
    return rw ? (rw.statement ? [rw.statement] : []) : [s];
  });
  expect(r.document.Statement).toEqual(expected);
  original.forEach((s, i) => {
    const rw = rewritten.get(i);
    if (!rw) return;
    // (c) Deny statements are never rewritten.
    expect(s.Effect).toBe('Allow');
    if (!rw.statement) return;
    const n = rw.statement as Statement & Record<string, unknown>;
    // (d) explicit actions only.
    expect(n.NotAction).toBeUndefined();
    expect(Array.isArray(n.Action) && (n.Action as string[]).length > 0).toBe(true);
    for (const a of n.Action as string[]) expect(a).not.toMatch(/[*?]/);
    // (b) a subset of the original statement: same everything but Action, and no action beyond its grant.
    const { Action: _a, ...rest } = n;
    const { Action: _b, NotAction: _c, ...origRest } = s as Statement & Record<string, unknown>;
    expect(json(rest)).toBe(json(origRest));
    const granted = grantedActions(s);
    const literals = new Set(statementLists(s).actions.map((x) => x.toLowerCase()));
    for (const a of n.Action as string[]) {
      const c = catalogAction(a);
      if (c) expect(granted.has(c), `${a} not granted by the original`).toBe(true);
      else expect(literals.has(a.toLowerCase()), `${a} not in the original`).toBe(true);
    }
    // Nothing for services never used within the lookback.
    for (const a of n.Action as string[])
      expect(
        evidence.services.get(a.slice(0, a.indexOf(':')).toLowerCase())?.used,
        `${a}: service unused`,
      ).toBe(true);
    // (c) conditions byte for byte.
    expect(json(n.Condition)).toBe(json(s.Condition));
  });
  // (c) every Deny statement, byte for byte, in the same order.
  const denies = (xs: Statement[]) => xs.filter((s) => s.Effect !== 'Allow').map(json);
  expect(denies(r.document.Statement)).toEqual(denies(original));
  expect(JSON.parse(r.text)).toEqual(r.document);
}

function checkAnalyzer(
  document: unknown,
  kind: string,
  services: Record<string, TrackedInput>,
  status: string,
  roleAgeDays: number,
) {
  const arn =
    kind === 'aws-managed' ? 'arn:aws:iam::aws:policy/Corpus' : 'arn:aws:iam::123456789012:policy/corpus';
  const snapshot = roleSnapshot({
    createDate: ago(roleAgeDays),
    ...(kind === 'inline' ? { inline: { corpus: document } } : { managed: [{ arn, document }] }),
    usage: services,
    jobStatus: status,
  });
  // (a) never throws; every result is a known status and every finding's plan writes valid JSON.
  const e = evaluate({ snapshot, config: DEFAULT_CONFIG, now: IAM_NOW });
  for (const f of e.findings) {
    for (const step of f.plan.steps) {
      const d = step.parameters['PolicyDocument'];
      if (typeof d === 'string') expect(() => JSON.parse(d)).not.toThrow();
    }
  }
  return e;
}

function runCorpus(corpus: Corpus[], seed: number) {
  const stats = { findings: 0, plans: 0 };
  corpus.forEach((p, i) => {
    const services = servicesOf(p.document);
    fc.assert(
      fc.property(evidenceArb(services), (ev) => {
        checkRewrite(p.document, ev.services, ev.status, ev.roleAgeDays);
        const e = checkAnalyzer(p.document, ev.kind, ev.services, ev.status, ev.roleAgeDays);
        stats.findings += e.findings.length;
        stats.plans += e.findings.filter((f) => f.plan.steps.length).length;
      }),
      { numRuns: 2, seed: seed + i, endOnFailure: true },
    );
  });
  return stats;
}

describe('IAM rewrite properties over the policy corpus', () => {
  it('covers every policy of the corpus', () => {
    expect(MANAGED).toHaveLength(1643);
    expect(TESTS).toHaveLength(237);
    expect(MANAGED.map((m) => m.id)).toContain('aws-managed:AdministratorAccess');
  });

  it('AWS managed policies: never throws, never grants more, keeps Deny and conditions, no wildcards', {
    timeout: 120_000,
  }, () => {
    const stats = runCorpus(MANAGED, 20250615);
    // The properties were exercised on real findings and real plans, not vacuously.
    expect(stats.findings).toBeGreaterThan(1000);
    expect(stats.plans).toBeGreaterThan(100);
  });

  it('test policies (parliament, cloudsplaining, Stratus): the same properties', { timeout: 60_000 }, () => {
    const stats = runCorpus(TESTS, 31337);
    expect(stats.findings).toBeGreaterThan(50);
  });
});
