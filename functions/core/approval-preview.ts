import type { ApprovalFinding, DocumentDiff, StepPreview } from './approval.ts';
import type { Statement } from './policy.ts';
import { functionConfiguration, functionUrlConfigs, policyFor } from './snapshot.ts';
import type { Finding, Snapshot } from './types.ts';

/**
 * What the plan changes, before and after, for people deciding it: each step with the setting or
 * statement it changes, and a line diff of every whole document it touches. Computed from the
 * (redacted) snapshot the findings were evaluated on, so it shows exactly the evaluated state; the
 * executor re-reads and refuses to write if the resource has changed since.
 */

type Json = unknown;
const pretty = (v: Json) => JSON.stringify(v, null, 2) ?? 'null';

/** A line diff (longest common subsequence); large inputs fall back to "all removed, all added". */
export function diffLines(before: string, after: string): DocumentDiff['lines'] {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > 250_000) {
    return [
      ...a.map((text) => ({ op: '-' as const, text })),
      ...b.map((text) => ({ op: '+' as const, text })),
    ];
  }
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: DocumentDiff['lines'] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: '-', text: a[i++] });
    else out.push({ op: '+', text: b[j++] });
  }
  while (i < n) out.push({ op: '-', text: a[i++] });
  while (j < m) out.push({ op: '+', text: b[j++] });
  return out;
}

interface Doc {
  title: string;
  before: Json;
  current: Json;
  /** Set when a step touched the document in a way this preview cannot model. */
  unknown?: string;
  /** Policies are diffed statement by statement (a line diff mixes up similar statements). */
  kind?: 'policy';
}

const indent = (text: string, by: string) => text.split('\n').map((l) => `${by}${l}`);

/** A policy diff by statement: kept statements as context, removed ones `-`, added ones `+`. */
function policyDiff(before: Json, after: Json): DocumentDiff['lines'] {
  const list = (d: Json) => ((d as { Statement?: Statement[] } | null)?.Statement ?? []) as Statement[];
  const key = (st: Statement) => JSON.stringify(st);
  const b = list(before);
  const a = list(after);
  const kept = new Set(a.map(key));
  const old = new Set(b.map(key));
  const out: DocumentDiff['lines'] = [];
  if (!b.length && !a.length) return [{ op: ' ', text: '(none)' }];
  out.push(
    { op: ' ', text: '{' },
    { op: ' ', text: '  "Version": "2012-10-17",' },
    { op: ' ', text: '  "Statement": [' },
  );
  for (const st of b) {
    const op = kept.has(key(st)) ? ' ' : '-';
    for (const text of indent(pretty(st), '    ')) out.push({ op, text });
  }
  for (const st of a)
    if (!old.has(key(st))) for (const text of indent(pretty(st), '    ')) out.push({ op: '+', text });
  out.push({ op: ' ', text: '  ]' }, { op: ' ', text: '}' });
  if (!a.length) out.push({ op: '+', text: '(no statements left: the function has no resource policy)' });
  return out;
}

const where = (fn: string, qualifier?: string) => (qualifier ? `${fn}:${qualifier}` : `${fn} ($LATEST)`);

function pick(source: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = source?.[k] ?? null;
  return out;
}

const policyDoc = (statements: Statement[]) =>
  statements.length ? { Version: '2012-10-17', Statement: statements } : null;

/** Previews the steps of `findings` (in plan order) against the snapshot they were evaluated on. */
export function previewApproval(
  findings: readonly Finding[],
  snapshot: Snapshot,
): { findings: ApprovalFinding[]; diffs: DocumentDiff[] } {
  const docs = new Map<string, Doc>();
  const config = functionConfiguration(snapshot);
  const urls = functionUrlConfigs(snapshot);

  const urlDoc = (fn: string, qualifier?: string) => {
    const key = `url:${qualifier ?? ''}`;
    let d = docs.get(key);
    if (!d) {
      const u = urls.find((x) => x.qualifier === qualifier);
      const state = u
        ? { AuthType: u.AuthType, Cors: u.Cors ?? null, InvokeMode: u.InvokeMode ?? null }
        : null;
      d = { title: `Function URL configuration of ${where(fn, qualifier)}`, before: state, current: state };
      docs.set(key, d);
    }
    return d;
  };
  const policy = (fn: string, qualifier?: string) => {
    const key = `policy:${qualifier ?? ''}`;
    let d = docs.get(key);
    if (!d) {
      const statements = [...(policyFor(snapshot, qualifier)?.document.Statement ?? [])];
      d = {
        title: `Resource policy of ${where(fn, qualifier)}`,
        before: policyDoc(statements),
        current: policyDoc(statements),
        kind: 'policy',
      };
      docs.set(key, d);
    }
    return d;
  };
  const statementsOf = (d: Doc) => [...((d.current as { Statement?: Statement[] } | null)?.Statement ?? [])];

  const previewStep = (step: Finding['plan']['steps'][number]): StepPreview => {
    const p = step.parameters;
    const fn = String(p['FunctionName'] ?? config?.FunctionName ?? '');
    const qualifier = typeof p['Qualifier'] === 'string' ? p['Qualifier'] : undefined;
    const base: StepPreview = {
      service: step.service,
      operation: step.operation,
      parameters: p,
      reason: step.reason,
    };
    switch (`${step.service}:${step.operation}`) {
      case 'lambda:UpdateFunctionUrlConfig': {
        const d = urlDoc(fn, qualifier);
        const before = d.current;
        const after = before
          ? {
              ...(before as Record<string, unknown>),
              ...Object.fromEntries(
                ['AuthType', 'Cors', 'InvokeMode'].filter((k) => k in p).map((k) => [k, p[k] ?? null]),
              ),
            }
          : null;
        d.current = after;
        return { ...base, before, after };
      }
      case 'lambda:RemovePermission': {
        const d = policy(fn, qualifier);
        const list = statementsOf(d);
        const before = list.find((s) => s.Sid === p['StatementId']) ?? null;
        d.current = policyDoc(list.filter((s) => s.Sid !== p['StatementId']));
        return { ...base, before, after: null };
      }
      case 'lambda:UpdateFunctionConfiguration': {
        const keys = Object.keys(p).filter((k) => k !== 'FunctionName' && k !== 'RevisionId');
        const key = 'configuration';
        let d = docs.get(key);
        if (!d) {
          const state = pick(config, keys);
          d = { title: `Configuration of ${fn}`, before: state, current: state };
          docs.set(key, d);
        }
        const before = pick(d.current as Record<string, unknown>, keys);
        const after = { ...before, ...Object.fromEntries(keys.map((k) => [k, p[k]])) };
        d.current = { ...(d.current as Record<string, unknown>), ...after };
        return { ...base, before, after };
      }
      default: {
        if (step.operation === 'AddPermission') {
          const d = policy(fn, qualifier);
          d.unknown = 'AddPermission is not previewed; see the step parameters';
        }
        return base;
      }
    }
  };

  const out: ApprovalFinding[] = findings.map((f) => ({
    ruleId: f.ruleId,
    title: f.title,
    severity: f.severity,
    resourceArn: f.resourceArn,
    summary: f.summary,
    modeReason: f.modeReason,
    steps: f.plan.steps.map(previewStep),
  }));
  const diffs: DocumentDiff[] = [...docs.values()].map((d) => ({
    title: d.unknown ? `${d.title} (partly: ${d.unknown})` : d.title,
    lines:
      d.kind === 'policy'
        ? policyDiff(d.before, d.current)
        : diffLines(
            d.before === null ? '(none)' : pretty(d.before),
            d.current === null ? '(none)' : pretty(d.current),
          ),
  }));
  return { findings: out, diffs };
}
