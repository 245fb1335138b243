import type { LedgerRecord } from '../ledger.ts';
import { type Outcome, SEVERITY_ORDER, type Severity } from '../types.ts';
import { escapeHtml as e, page, severityBadge } from './html.ts';
import { escapeMarkdown as m, mdCode, mdTable } from './markdown.ts';
import { TOOL_NAME, TOOL_VERSION } from './model.ts';
import { columns } from './table.ts';

/**
 * `guardrail report`: what the deployed guardrail did over a period, from its ledger. What was found,
 * remediated, approved, rejected, expired, exempted and failed, and by whom: the actor of the change
 * (from the CloudTrail event, or the sweep) and the approver when a person decided. Built from ledger
 * records only, which never hold secret values.
 */

export const LEDGER_REPORT_KIND = 'lambda-guardrail.ledger-report';
export const LEDGER_FORMATS = ['table', 'json', 'markdown', 'html'] as const;
export type LedgerFormat = (typeof LEDGER_FORMATS)[number];
export const isLedgerFormat = (s: unknown): s is LedgerFormat => LEDGER_FORMATS.includes(s as LedgerFormat);

/** The categories the report is organised by, in the order people read them. */
export const CATEGORIES = [
  'found',
  'remediated',
  'approved',
  'rejected',
  'expired',
  'exempted',
  'failed',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_LABELS: Record<Category, string> = {
  found: 'Found (executions with findings)',
  remediated: 'Remediated',
  approved: 'Approved by a person',
  rejected: 'Rejected by a person',
  expired: 'Approval expired (nothing applied)',
  exempted: 'Exempted (finding under an active exemption)',
  failed: 'Failed (including resource changed and rejected input)',
};

export interface LedgerEntry {
  executionName: string;
  recordedAt: string;
  outcome: Outcome;
  origin?: string;
  eventName?: string;
  target?: string;
  /** Who made the change that started the run (or the sweep). */
  actor?: { type: string; arn?: string; sessionIssuerArn?: string; invokedBy?: string };
  /** Who decided, when a person was asked. */
  approval?: { decision: string; by?: string; at?: string; comment?: string };
  findings: {
    ruleId: string;
    severity: Severity;
    resourceArn: string;
    summary: string;
    mode: string;
    exempt: boolean;
  }[];
  steps: { ruleId: string; resourceArn: string; operation: string; status: string; error?: string }[];
  error?: { error: string; cause: string };
  categories: Category[];
}

export interface LedgerReport {
  kind: typeof LEDGER_REPORT_KIND;
  schemaVersion: 1;
  tool: { name: string; version: string };
  since: string;
  until: string;
  generatedAt: string;
  source: { table?: string; region?: string };
  summary: {
    executions: number;
    byOutcome: Record<string, number>;
    byCategory: Record<Category, number>;
    findings: number;
    findingsBySeverity: Record<Severity, number>;
    findingsByRule: Record<string, number>;
    stepsApplied: number;
  };
  entries: LedgerEntry[];
}

export function categoriesOf(r: LedgerRecord): Category[] {
  const out: Category[] = [];
  if (r.findings.length) out.push('found');
  if (r.outcome === 'remediated') out.push('remediated');
  if (r.approval?.decision === 'approved') out.push('approved');
  if (r.outcome === 'rejected' || r.approval?.decision === 'rejected') out.push('rejected');
  if (r.outcome === 'expired' || r.approval?.decision === 'expired') out.push('expired');
  if (r.outcome === 'exempt' || r.findings.some((f) => f.exempt)) out.push('exempted');
  if (r.outcome === 'failed' || r.outcome === 'resource-changed' || r.outcome === 'rejected-input')
    out.push('failed');
  return out;
}

export function ledgerEntry(r: LedgerRecord): LedgerEntry {
  const a = r.event?.actor;
  return {
    executionName: r.executionName,
    recordedAt: r.recordedAt,
    outcome: r.outcome,
    ...(r.event?.origin ? { origin: r.event.origin } : {}),
    ...(r.event?.eventName ? { eventName: r.event.eventName } : {}),
    ...(r.target?.arn || r.event?.resources.functionArn || r.event?.resources.roleArn
      ? { target: r.target?.arn ?? r.event?.resources.functionArn ?? r.event?.resources.roleArn }
      : {}),
    ...(a
      ? {
          actor: {
            type: a.type,
            ...(a.arn ? { arn: a.arn } : {}),
            ...(a.sessionIssuerArn ? { sessionIssuerArn: a.sessionIssuerArn } : {}),
            ...(a.invokedBy ? { invokedBy: a.invokedBy } : {}),
          },
        }
      : {}),
    ...(r.approval
      ? {
          approval: {
            decision: r.approval.decision,
            ...(r.approval.decidedBy ? { by: r.approval.decidedBy } : {}),
            ...((r.approval.decidedAt ?? r.approval.expiredAt)
              ? { at: r.approval.decidedAt ?? r.approval.expiredAt }
              : {}),
            ...(r.approval.comment ? { comment: r.approval.comment } : {}),
          },
        }
      : {}),
    findings: r.findings.map((f) => ({
      ruleId: f.ruleId,
      severity: f.severity,
      resourceArn: f.resourceArn,
      summary: f.summary,
      mode: f.mode,
      exempt: f.exempt,
    })),
    steps: (r.remediation?.steps ?? []).map((s) => ({
      ruleId: s.ruleId,
      resourceArn: s.resourceArn,
      operation: `${s.service}:${s.operation}`,
      status: s.status,
      ...(s.error ? { error: s.error } : {}),
    })),
    ...(r.error ? { error: r.error } : {}),
    categories: categoriesOf(r),
  };
}

export function buildLedgerReport(
  records: readonly LedgerRecord[],
  opts: { since: string; until: string; generatedAt: string; table?: string; region?: string },
): LedgerReport {
  const inRange = records
    .filter((r) => r.recordedAt >= opts.since && r.recordedAt <= opts.until)
    .sort(
      (a, b) => a.recordedAt.localeCompare(b.recordedAt) || a.executionName.localeCompare(b.executionName),
    );
  const entries = inRange.map(ledgerEntry);
  const byOutcome: Record<string, number> = {};
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const findingsBySeverity = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0])) as Record<
    Severity,
    number
  >;
  const findingsByRule: Record<string, number> = {};
  let findings = 0;
  let stepsApplied = 0;
  for (const x of entries) {
    byOutcome[x.outcome] = (byOutcome[x.outcome] ?? 0) + 1;
    for (const c of x.categories) byCategory[c]++;
    for (const f of x.findings) {
      findings++;
      findingsBySeverity[f.severity] = (findingsBySeverity[f.severity] ?? 0) + 1;
      findingsByRule[f.ruleId] = (findingsByRule[f.ruleId] ?? 0) + 1;
    }
    stepsApplied += x.steps.filter((s) => s.status === 'applied').length;
  }
  return {
    kind: LEDGER_REPORT_KIND,
    schemaVersion: 1,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    since: opts.since,
    until: opts.until,
    generatedAt: opts.generatedAt,
    source: { ...(opts.table ? { table: opts.table } : {}), ...(opts.region ? { region: opts.region } : {}) },
    summary: {
      executions: entries.length,
      byOutcome,
      byCategory,
      findings,
      findingsBySeverity,
      findingsByRule,
      stepsApplied,
    },
    entries,
  };
}

/** `alice (arn:aws:sts::1:assumed-role/dev/alice)`-style label for whoever started a run. */
export function actorLabel(a: LedgerEntry['actor']): string {
  if (!a) return 'unknown';
  const who = a.arn ?? a.sessionIssuerArn ?? a.type;
  return a.invokedBy ? `${who} via ${a.invokedBy}` : who;
}

const approverLabel = (x: LedgerEntry) =>
  x.approval
    ? `${x.approval.decision}${x.approval.by ? ` by ${x.approval.by}` : ''}${x.approval.at ? ` at ${x.approval.at}` : ''}`
    : '';

function entryLine(x: LedgerEntry): string[] {
  const lines = [
    `${x.recordedAt}  ${x.outcome.padEnd(17)} ${x.target ?? '(no target)'}`,
    `  run ${x.executionName}${x.eventName ? ` (${x.eventName}${x.origin && x.origin !== 'event' ? `, ${x.origin}` : ''})` : ''} by ${actorLabel(x.actor)}`,
  ];
  if (x.approval)
    lines.push(`  decision: ${approverLabel(x)}${x.approval.comment ? `: "${x.approval.comment}"` : ''}`);
  for (const f of x.findings)
    lines.push(`  [${f.severity}] ${f.ruleId}${f.exempt ? ' (exempt)' : ''} mode=${f.mode}: ${f.summary}`);
  for (const s of x.steps) lines.push(`  ${s.status}: ${s.operation}${s.error ? ` (${s.error})` : ''}`);
  if (x.error) lines.push(`  error: ${x.error.error}: ${x.error.cause}`);
  return lines;
}

export function renderLedgerTable(r: LedgerReport): string {
  const s = r.summary;
  const out = [
    `Lambda Guardrail ledger ${r.since} .. ${r.until}${r.source.table ? ` (table ${r.source.table}${r.source.region ? `, ${r.source.region}` : ''})` : ''}`,
    '',
    `executions ${s.executions}; findings ${s.findings}; API calls applied ${s.stepsApplied}`,
    `severity   ${SEVERITY_ORDER.map((sev) => `${sev} ${s.findingsBySeverity[sev]}`).join('  ')}`,
    '',
    ...columns(
      [['CATEGORY', 'EXECUTIONS'], ...CATEGORIES.map((c) => [c, String(s.byCategory[c])])],
      new Set([1]),
    ),
  ];
  for (const c of CATEGORIES) {
    const xs = r.entries.filter((x) => x.categories.includes(c));
    if (!xs.length) continue;
    out.push('', `${CATEGORY_LABELS[c].toUpperCase()} (${xs.length})`);
    for (const x of xs) out.push(...entryLine(x).map((l) => `  ${l}`));
  }
  if (!r.entries.length) out.push('', 'Nothing recorded in this period.');
  return out.join('\n');
}

export function renderLedgerMarkdown(r: LedgerReport): string {
  const s = r.summary;
  const out = [
    `# Lambda Guardrail ledger report`,
    '',
    `${m(r.since)} to ${m(r.until)}${r.source.table ? `, table ${mdCode(r.source.table)}` : ''}. ${s.executions} execution(s), ${s.findings} finding(s), ${s.stepsApplied} API call(s) applied.`,
    '',
    mdTable(
      ['Category', 'Executions'],
      CATEGORIES.map((c) => [m(CATEGORY_LABELS[c]), String(s.byCategory[c])]),
    ),
    '',
  ];
  for (const c of CATEGORIES) {
    const xs = r.entries.filter((x) => x.categories.includes(c));
    if (!xs.length) continue;
    out.push(
      `## ${m(CATEGORY_LABELS[c])} (${xs.length})`,
      '',
      mdTable(
        ['When', 'Outcome', 'Resource', 'Findings', 'By', 'Decision'],
        xs.map((x) => [
          m(x.recordedAt),
          m(x.outcome),
          x.target ? mdCode(x.target) : '',
          x.findings.map((f) => `${mdCode(f.ruleId)}${f.exempt ? ' (exempt)' : ''}`).join(', '),
          mdCode(actorLabel(x.actor)),
          m(approverLabel(x)),
        ]),
      ),
      '',
    );
  }
  if (!r.entries.length) out.push('Nothing recorded in this period.', '');
  return out.join('\n');
}

export function renderLedgerHtml(r: LedgerReport): string {
  const s = r.summary;
  const header = [
    '<h1>Lambda Guardrail ledger report</h1>',
    `<p>${e(r.since)} to ${e(r.until)}${r.source.table ? ` · table ${e(r.source.table)}` : ''}${r.source.region ? ` · ${e(r.source.region)}` : ''} · generated ${e(r.generatedAt)}</p>`,
  ].join('\n');
  const cards = `<div class="cards">${[
    [s.executions, 'executions'],
    [s.findings, 'findings'],
    [s.stepsApplied, 'API calls applied'],
    ...CATEGORIES.map((c) => [s.byCategory[c], c] as const),
  ]
    .map(
      ([n, l]) =>
        `<div class="card" id="card-${e(l).replace(/\s+/g, '-')}"><div class="n">${e(n)}</div><div class="l">${e(l)}</div></div>`,
    )
    .join('')}</div>`;
  const sections = CATEGORIES.map((c) => {
    const xs = r.entries.filter((x) => x.categories.includes(c));
    if (!xs.length) return '';
    const rows = xs
      .map(
        (x) =>
          `<tr><td>${e(x.recordedAt)}</td><td>${e(x.outcome)}</td><td><code>${e(x.target ?? '')}</code></td><td>${x.findings
            .map(
              (f) => `${severityBadge(f.severity)} <code>${e(f.ruleId)}</code>${f.exempt ? ' (exempt)' : ''}`,
            )
            .join(
              '<br>',
            )}</td><td>${x.steps.map((st) => `${e(st.status)}: <code>${e(st.operation)}</code>`).join('<br>')}</td><td><code>${e(actorLabel(x.actor))}</code></td><td>${e(approverLabel(x))}${x.approval?.comment ? `<br><span class="muted">${e(x.approval.comment)}</span>` : ''}</td></tr>`,
      )
      .join('\n');
    return `<section id="cat-${e(c)}"><h2>${e(CATEGORY_LABELS[c])} (${xs.length})</h2><table><thead><tr><th>When</th><th>Outcome</th><th>Resource</th><th>Findings</th><th>API calls</th><th>By</th><th>Decision</th></tr></thead><tbody>${rows}</tbody></table></section>`;
  }).join('\n');
  const body = [
    `<section id="summary"><h2>Summary</h2>${cards}</section>`,
    sections || '<p class="muted">Nothing recorded in this period.</p>',
    `<footer>${e(r.tool.name)} ${e(r.tool.version)} · ${e(r.kind)}/${e(r.schemaVersion)}</footer>`,
  ].join('\n');
  return page(`Lambda Guardrail ledger ${r.since} to ${r.until}`, header, body);
}

export function renderLedgerReport(r: LedgerReport, format: LedgerFormat): string {
  switch (format) {
    case 'table':
      return `${renderLedgerTable(r)}\n`;
    case 'json':
      return `${JSON.stringify(r, null, 2)}\n`;
    case 'markdown':
      return renderLedgerMarkdown(r);
    case 'html':
      return renderLedgerHtml(r);
  }
}
