import { stepLine } from '../render.ts';
import { SEVERITY_ORDER } from '../types.ts';
import {
  accountsLabel,
  formatDuration,
  RESOURCE_STATUSES,
  type ReportFinding,
  type ReportResource,
  type ScanReport,
} from './model.ts';

/** Plain text for a terminal: the summary, one table of rules, then each finding with its plan. */

/** Left-aligned columns; the last column is not padded. */
export function columns(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) =>
        i === r.length - 1 && !rightAligned.has(i)
          ? cell
          : rightAligned.has(i)
            ? cell.padStart(widths[i])
            : cell.padEnd(widths[i]),
      )
      .join('  ')
      .trimEnd(),
  );
}

/** One line per finding header, e.g. `[CRITICAL] LAMBDA.URL.PUBLIC  function orders-api (us-east-1)`. */
export function findingHeadline(resource: ReportResource, f: ReportFinding): string {
  return `[${f.severity}] ${f.ruleId}  ${resource.kind} ${resource.name} (${resource.region})${f.exempt ? '  EXEMPT' : ''}`;
}

export function findingLines(resource: ReportResource, f: ReportFinding, indent = '  '): string[] {
  const lines = [
    findingHeadline(resource, f),
    `${indent}${f.summary}`,
    `${indent}resource: ${f.resourceArn}`,
  ];
  if (f.exemption) {
    const e = f.exemption;
    lines.push(
      `${indent}exemption: ${e.status}${e.reason ? `, "${e.reason}"` : ''}${e.until ? ` until ${e.until}` : ''}${e.note ? ` (${e.note})` : ''}`,
    );
  }
  lines.push(`${indent}enforcement would be: ${f.enforcementMode} (${f.enforcementModeReason})`);
  if (!f.plan.steps.length) {
    lines.push(`${indent}plan: no automatic fix; see the summary`);
  } else {
    lines.push(
      `${indent}${f.exempt ? 'plan (not applied while exempt):' : 'plan (the exact calls enforcement would send):'}`,
    );
    f.plan.steps.forEach((s, i) => {
      lines.push(`${indent}  ${i + 1}. ${stepLine(s)}`, `${indent}     why: ${s.reason}`);
    });
  }
  return lines;
}

export function renderTable(report: ScanReport): string {
  const s = report.summary;
  const out: string[] = [];
  out.push(
    `Lambda Guardrail ${report.origin} (dry run: nothing was changed)`,
    `account ${accountsLabel(report)}  regions ${report.regions.join(', ') || '(none)'}  ${report.finishedAt} (${formatDuration(report.startedAt, report.finishedAt)})`,
    '',
  );
  const kinds = Object.entries(s.byKind)
    .map(([k, n]) => `${n} ${k}${n === 1 ? '' : 's'}`)
    .join(', ');
  const statuses = RESOURCE_STATUSES.map((st) => `${s.byStatus[st]} ${st}`).join(', ');
  out.push(
    `resources  ${s.resources ? `${kinds}: ${statuses}` : 'none found'}`,
    `findings   ${s.findings} (${s.liveFindings} not exempt, ${s.exemptFindings} exempt); ${s.plannedSteps} planned API call(s)`,
    `severity   ${SEVERITY_ORDER.map((sev) => `${sev} ${s.bySeverity[sev]}`).join('  ')}`,
    '',
  );
  const header = ['RULE', 'SEVERITY', 'FINDINGS', 'EXEMPT', 'RESOURCES', 'ENFORCEMENT'];
  const rows = report.rules.map((r) => {
    const byRule = s.byRule[r.id] ?? { findings: 0, exempt: 0, resources: 0 };
    return [
      r.id,
      r.severity,
      String(byRule.findings),
      String(byRule.exempt),
      String(byRule.resources),
      r.enforcementMode,
    ];
  });
  out.push(...columns([header, ...rows], new Set([2, 3, 4])));

  const withFindings = report.resources.filter((r) => r.findings.length);
  if (withFindings.length) {
    out.push('', 'FINDINGS');
    for (const r of withFindings) {
      for (const f of r.findings) out.push('', ...findingLines(r, f));
    }
  }
  if (report.notices?.length) {
    out.push('', 'NOTICES (once per account and region)');
    for (const n of report.notices)
      out.push(
        `  ${n.account ? `${n.account} ` : ''}${n.region}: ${n.ruleId}: ${n.message} (${n.resources} resource(s))`,
      );
  }
  if (report.errors.length) {
    out.push('', 'COULD NOT BE READ (reported, the scan went on)');
    for (const e of report.errors) {
      const what =
        e.scope === 'region' || e.scope === 'account'
          ? `${e.scope} ${e.region ?? ''}`.trim()
          : `${e.scope} ${e.name ?? e.arn}`;
      out.push(
        `  ${what}${e.region && e.scope !== 'region' ? ` (${e.region})` : ''}: ${e.error}: ${e.message}`,
      );
    }
  }
  const deleted = report.resources.filter((r) => r.status === 'deleted');
  if (deleted.length) {
    out.push('', 'DELETED WHILE SCANNING');
    for (const r of deleted) out.push(`  ${r.kind} ${r.name} (${r.region})`);
  }
  out.push(
    '',
    s.liveFindings
      ? `${s.liveFindings} finding(s) need attention; nothing was changed.`
      : s.errors
        ? 'No findings in what could be read; some resources could not be read.'
        : 'No findings: compliant.',
  );
  return out.join('\n');
}
