import type { Severity } from '../types.ts';
import { escapeHtml as e, page, severityBadge } from './html.ts';
import { allFindings, compareFindings, type ScanReport } from './model.ts';

/**
 * The sweep's digest: which findings are new since the previous sweep and which are resolved. A finding
 * is identified by its key (rule and resource). Only live (not exempt) findings count. A finding of a
 * resource that could not be read this time (or of an account not entered, a region not listed) is
 * neither new nor resolved: nothing is known about it.
 */

export interface DigestItem {
  key: string;
  ruleId: string;
  severity: Severity;
  resourceArn: string;
  summary: string;
  /** For resolved findings: why (`no longer found`, `resource deleted`). */
  why?: string;
}

export interface ReportDigest {
  previousAt?: string;
  currentAt: string;
  new: DigestItem[];
  resolved: DigestItem[];
  /** Live findings in the current report. */
  open: number;
  /** Resources that could not be read this time. */
  unreadable: number;
}

const item = (
  f: { key: string; ruleId: string; severity: Severity; resourceArn: string; summary: string },
  why?: string,
): DigestItem => ({
  key: f.key,
  ruleId: f.ruleId,
  severity: f.severity,
  resourceArn: f.resourceArn,
  summary: f.summary,
  ...(why ? { why } : {}),
});

export function diffReports(previous: ScanReport | undefined, current: ScanReport): ReportDigest {
  const live = (r: ScanReport) => allFindings(r).filter(({ finding }) => !finding.exempt);
  const now = new Map(live(current).map(({ finding }) => [finding.key, finding]));
  const before = new Map(
    previous ? live(previous).map(({ resource, finding }) => [finding.key, { resource, finding }]) : [],
  );
  const status = new Map(current.resources.map((r) => [r.arn, r.status]));
  // An account that could not be entered, or a region that could not be listed, this time: its
  // resources are absent from the report, not fixed; their findings are neither resolved nor new.
  const notRead = (r: { account: string; region: string }) =>
    current.errors.some(
      (e) =>
        (e.scope === 'account' && e.account === r.account) ||
        (e.scope === 'region' && e.region === r.region && (e.account ?? current.account) === r.account),
    );
  const fresh = [...now.values()]
    .filter((f) => !before.has(f.key))
    .sort(compareFindings)
    .map((f) => item(f));
  const resolved = [...before.values()]
    .filter(
      ({ resource, finding }) =>
        !now.has(finding.key) && status.get(resource.arn) !== 'unreadable' && !notRead(resource),
    )
    .map(({ resource, finding }) =>
      item(
        finding,
        status.has(resource.arn) && status.get(resource.arn) !== 'deleted'
          ? 'no longer found'
          : 'resource deleted',
      ),
    )
    .sort(compareFindings);
  return {
    ...(previous ? { previousAt: previous.finishedAt } : {}),
    currentAt: current.finishedAt,
    new: fresh,
    resolved,
    open: now.size,
    unreadable: current.summary.byStatus.unreadable,
  };
}

export interface DigestMessage {
  subject: string;
  text: string;
  html: string;
}

/** The digest email: new and resolved findings, the totals, and where the full report is. */
export function digestMessage(d: ReportDigest, report: ScanReport, reportLocation?: string): DigestMessage {
  const subject = `Lambda Guardrail sweep ${report.account}: ${d.new.length} new, ${d.resolved.length} resolved, ${d.open} open`;
  const line = (x: DigestItem) =>
    `[${x.severity}] ${x.ruleId} ${x.resourceArn}: ${x.summary}${x.why ? ` (${x.why})` : ''}`;
  const text = [
    subject,
    '',
    `Sweep of ${report.account} (${report.regions.join(', ')}) at ${report.finishedAt}${d.previousAt ? `, compared with ${d.previousAt}` : ' (first sweep)'}.`,
    '',
    `New findings (${d.new.length}):`,
    ...(d.new.length ? d.new.map((x) => `- ${line(x)}`) : ['- none']),
    '',
    `Resolved findings (${d.resolved.length}):`,
    ...(d.resolved.length ? d.resolved.map((x) => `- ${line(x)}`) : ['- none']),
    '',
    `${d.open} finding(s) open; ${d.unreadable} resource(s) could not be read.`,
    ...(reportLocation ? ['', `Full report: ${reportLocation}`] : []),
    '',
    'Each finding is handled in its configured mode by the guardrail workflow; this digest changes nothing.',
  ].join('\n');
  const list = (xs: DigestItem[]) =>
    xs.length
      ? `<ul>${xs
          .map(
            (x) =>
              `<li>${severityBadge(x.severity)} <code>${e(x.ruleId)}</code> <code>${e(x.resourceArn)}</code><br>${e(x.summary)}${x.why ? ` <span class="muted">(${e(x.why)})</span>` : ''}</li>`,
          )
          .join('')}</ul>`
      : '<p class="muted">None.</p>';
  const html = page(
    subject,
    `<h1>Lambda Guardrail sweep</h1><p>Account ${e(report.account)} · ${e(report.regions.join(', '))} · ${e(report.finishedAt)}${d.previousAt ? ` · compared with ${e(d.previousAt)}` : ' · first sweep'}</p>`,
    [
      `<h2>New findings (${d.new.length})</h2>`,
      list(d.new),
      `<h2>Resolved findings (${d.resolved.length})</h2>`,
      list(d.resolved),
      `<p>${d.open} finding(s) open; ${d.unreadable} resource(s) could not be read.</p>`,
      reportLocation ? `<p>Full report: <code>${e(reportLocation)}</code></p>` : '',
      '<p class="muted">Each finding is handled in its configured mode by the guardrail workflow; this digest changes nothing.</p>',
    ].join('\n'),
  );
  return { subject, text, html };
}
