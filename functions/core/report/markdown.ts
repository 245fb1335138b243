import { SEVERITY_ORDER } from '../types.ts';
import {
  accountsLabel,
  formatDuration,
  RESOURCE_STATUSES,
  type ReportFinding,
  type ReportResource,
  type ScanReport,
} from './model.ts';

/**
 * GitHub-flavoured Markdown (a PR comment, a CI job summary, a wiki page). Every value from AWS or a
 * finding is escaped: Markdown renderers pass raw HTML through, so `<`, `>` and `&` become entities
 * and Markdown punctuation is backslash-escaped. JSON goes in fenced blocks whose fence is longer
 * than any backtick run inside.
 */

/** Escapes text for Markdown inline content and table cells. */
export function escapeMarkdown(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]#|~])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

const m = escapeMarkdown;

/** Inline code that survives any content: HTML `<code>` with entities (backticks can't be escaped inside code spans). */
export function mdCode(value: unknown): string {
  const s = String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '&#124;');
  return `<code>${s}</code>`;
}

/** A fenced code block whose fence cannot be closed by the content. */
export function fenced(text: string, lang = ''): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((x) => x[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${text}\n${fence}`;
}

export function mdTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((h) => (h.startsWith('#') || /^\d/.test(h) ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function findingMd(f: ReportFinding): string {
  const lines = [
    `#### ${m(f.severity)} · ${mdCode(f.ruleId)} ${m(f.title)}${f.exempt ? ' (exempt)' : ''}`,
    '',
    m(f.summary),
    '',
    `- resource: ${mdCode(f.resourceArn)}`,
    `- enforcement would be: **${m(f.enforcementMode)}** (${m(f.enforcementModeReason)})`,
  ];
  if (f.exemption) {
    const x = f.exemption;
    lines.push(
      `- exemption: ${m(x.status)}${x.reason ? `, ${m(x.reason)}` : ''}${x.until ? ` until ${m(x.until)}` : ''}${x.note ? ` (${m(x.note)})` : ''}`,
    );
  }
  lines.push('');
  if (!f.plan.steps.length) {
    lines.push('No automatic fix: see the summary.');
  } else {
    lines.push(
      f.exempt
        ? 'Planned fix (not applied while exempt):'
        : 'Planned fix, the exact calls enforcement would send:',
      '',
    );
    f.plan.steps.forEach((s, i) => {
      lines.push(
        `${i + 1}. ${mdCode(`${s.service}:${s.operation}`)}: ${m(s.reason)}`,
        '',
        fenced(JSON.stringify(s.parameters, null, 2), 'json')
          .split('\n')
          .map((l) => `   ${l}`)
          .join('\n'),
        '',
      );
    });
  }
  return lines.join('\n');
}

function resourceMd(r: ReportResource): string {
  return [
    `### ${m(r.kind)} ${mdCode(r.name)} (${m(r.region)})`,
    '',
    `${mdCode(r.arn)}${r.roleArn ? `, execution role ${mdCode(r.roleArn)}` : ''}`,
    '',
    ...r.findings.map(findingMd),
  ].join('\n');
}

export function renderMarkdown(report: ScanReport): string {
  const s = report.summary;
  const out: string[] = [
    `# Lambda Guardrail ${m(report.origin)} report`,
    '',
    `Account ${mdCode(accountsLabel(report))}, regions ${report.regions.map(mdCode).join(', ') || '(none)'}, finished ${m(report.finishedAt)} in ${m(formatDuration(report.startedAt, report.finishedAt))}. **Dry run**: computed in report mode, nothing was changed.`,
    '',
    '## Summary',
    '',
    mdTable(
      [
        'Resources',
        ...RESOURCE_STATUSES.map((st) => m(st)),
        'Findings (not exempt)',
        'Exempt findings',
        'Planned API calls',
      ],
      [
        [
          String(s.resources),
          ...RESOURCE_STATUSES.map((st) => String(s.byStatus[st])),
          String(s.liveFindings),
          String(s.exemptFindings),
          String(s.plannedSteps),
        ],
      ],
    ),
    '',
    mdTable(
      ['Severity', 'Findings'],
      SEVERITY_ORDER.map((sev) => [m(sev), String(s.bySeverity[sev])]),
    ),
    '',
    mdTable(
      ['Rule', 'Title', 'Severity', 'Findings', 'Exempt', 'Resources', 'Enforcement'],
      report.rules.map((r) => {
        const b = s.byRule[r.id] ?? { findings: 0, exempt: 0, resources: 0 };
        return [
          mdCode(r.id),
          m(r.title),
          m(r.severity),
          String(b.findings),
          String(b.exempt),
          String(b.resources),
          m(r.enforcementMode),
        ];
      }),
    ),
    '',
    '## Findings',
    '',
  ];
  const withFindings = report.resources.filter((r) => r.findings.length);
  out.push(withFindings.length ? withFindings.map(resourceMd).join('\n') : 'No findings.', '');
  if (report.notices?.length) {
    out.push(
      '## Notices',
      '',
      'Once per account and region: why a rule could not apply to any resource there.',
      '',
      mdTable(
        ['Region', 'Rule', 'Notice', 'Resources'],
        report.notices.map((n) => [
          m(`${n.account ? `${n.account} ` : ''}${n.region}`),
          mdCode(n.ruleId),
          m(n.message),
          String(n.resources),
        ]),
      ),
      '',
    );
  }
  if (report.errors.length) {
    out.push(
      '## Could not be read',
      '',
      'Reported and skipped; the scan went on.',
      '',
      mdTable(
        ['What', 'Region', 'Error', 'Message'],
        report.errors.map((x) => [
          `${m(x.scope)} ${x.name ? mdCode(x.name) : ''}`.trim(),
          m(x.region ?? ''),
          mdCode(x.error),
          m(x.message),
        ]),
      ),
      '',
    );
  }
  const deleted = report.resources.filter((r) => r.status === 'deleted');
  if (deleted.length) {
    out.push(
      '## Deleted while scanning',
      '',
      ...deleted.map((r) => `- ${m(r.kind)} ${mdCode(r.name)} (${m(r.region)})`),
      '',
    );
  }
  out.push(`<sub>${m(report.tool.name)} ${m(report.tool.version)}</sub>`, '');
  return out.join('\n');
}
