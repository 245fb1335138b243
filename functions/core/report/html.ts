import { SEVERITY_ORDER, type Severity } from '../types.ts';
import {
  accountsLabel,
  formatDuration,
  RESOURCE_STATUSES,
  type ReportFinding,
  type ReportResource,
  type ResourceStatus,
  type ScanReport,
} from './model.ts';

/**
 * A single-file HTML report: summary by severity and rule, per-resource details with the planned
 * fixes, unreadable resources, and the rules. No external resources and no scripts: CSS is inline and
 * the page's Content-Security-Policy forbids everything else, so it opens the same from an S3
 * download, a mail attachment or a CI artifact. Every value from AWS or the findings is escaped.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const e = escapeHtml;

/** The CSP every HTML page we render carries: inline styles only, nothing fetched, nothing run. */
export const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

export const SEVERITY_COLORS: Record<Severity, string> = {
  CRITICAL: '#8b0000',
  HIGH: '#c2410c',
  MEDIUM: '#a16207',
  LOW: '#1d4ed8',
  INFORMATIONAL: '#4b5563',
};

const STATUS_LABELS: Record<ResourceStatus, string> = {
  'non-compliant': 'Non-compliant',
  exempt: 'Exempt',
  unreadable: 'Could not be read',
  deleted: 'Deleted while scanning',
  compliant: 'Compliant',
};

export const BASE_CSS = `
:root{color-scheme:light;--fg:#111827;--muted:#4b5563;--line:#e5e7eb;--bg:#f9fafb;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:24px}
header{background:#0f172a;color:#f8fafc;padding:24px}
header .inner{max-width:1100px;margin:0 auto}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:#cbd5e1}
h2{margin:32px 0 12px;font-size:20px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{margin:20px 0 8px;font-size:16px}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:13px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .n{font-size:28px;font-weight:700}
.card .l{color:var(--muted);font-size:13px}
.bar{height:10px;border-radius:5px;min-width:2px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.badge.mode{background:#334155}
.badge.exempt{background:#6b7280}
details.resource{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:10px 0;padding:0 14px}
details.resource>summary{cursor:pointer;padding:10px 0;font-weight:600}
.finding{border-top:1px solid var(--line);padding:10px 0}
.finding h4{margin:0 0 4px;font-size:15px}
.muted{color:var(--muted)}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f3f4f6;border:1px solid var(--line);border-radius:6px;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-word;margin:4px 0}
ol.plan>li{margin:6px 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
.ok{color:#166534}
.warn{color:#b91c1c}
footer{color:var(--muted);font-size:13px;margin:32px 0 8px}
`;

export function page(title: string, headerHtml: string, bodyHtml: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${e(HTML_CSP)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${e(title)}</title>`,
    `<style>${BASE_CSS}</style>`,
    '</head>',
    '<body>',
    `<header><div class="inner">${headerHtml}</div></header>`,
    `<main>${bodyHtml}</main>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export const severityBadge = (s: Severity) =>
  `<span class="badge sev" style="background:${SEVERITY_COLORS[s] ?? '#4b5563'}">${e(s)}</span>`;

const json = (v: unknown) => `<pre>${e(JSON.stringify(v, null, 2))}</pre>`;

function card(n: number | string, label: string, id: string): string {
  return `<div class="card" id="${e(id)}"><div class="n">${e(n)}</div><div class="l">${e(label)}</div></div>`;
}

function findingHtml(f: ReportFinding): string {
  const ex = f.exemption;
  const facts: [string, string][] = [
    ['Resource', `<code>${e(f.resourceArn)}</code>`],
    ['Mode in this report', `${e(f.mode)} <span class="muted">(${e(f.modeReason)})</span>`],
    [
      'Enforcement would be',
      `<strong>${e(f.enforcementMode)}</strong> <span class="muted">(${e(f.enforcementModeReason)})</span>`,
    ],
  ];
  if (ex) {
    facts.push([
      'Exemption',
      `${e(ex.status)}${ex.reason ? `: ${e(ex.reason)}` : ''}${ex.until ? ` (until ${e(ex.until)})` : ''}${ex.note ? ` <span class="muted">${e(ex.note)}</span>` : ''}`,
    ]);
  }
  const steps = f.plan.steps.length
    ? `<h5>${f.exempt ? 'Planned fix (not applied while exempt)' : 'Planned fix: the exact calls enforcement would send'}</h5><ol class="plan">${f.plan.steps
        .map(
          (s) =>
            `<li><code>${e(`${s.service}:${s.operation}`)}</code> <span class="muted">${e(s.reason)}</span>${json(s.parameters)}${
              s.inverse
                ? `<div class="muted">undo: <code>${e(`${s.inverse.service}:${s.inverse.operation}`)}</code></div>`
                : ''
            }</li>`,
        )
        .join('')}</ol>`
    : '<p class="muted">No automatic fix: see the summary.</p>';
  const pre = f.plan.preconditions.length
    ? `<p class="muted">Checked before writing: ${f.plan.preconditions.map((p) => e(p.description)).join('; ')}.</p>`
    : '';
  return [
    `<article class="finding" data-rule="${e(f.ruleId)}" data-key="${e(f.key)}">`,
    `<h4>${severityBadge(f.severity)} ${e(f.ruleId)}: ${e(f.title)}${f.exempt ? ' <span class="badge exempt">EXEMPT</span>' : ''}</h4>`,
    `<p class="summary">${e(f.summary)}</p>`,
    `<dl class="facts">${facts.map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join('')}</dl>`,
    steps,
    pre,
    `<details><summary>Evidence</summary>${json(f.evidence)}</details>`,
    '</article>',
  ].join('\n');
}

function resourceHtml(r: ReportResource): string {
  const worst = SEVERITY_ORDER.find((s) => r.findings.some((f) => !f.exempt && f.severity === s));
  const live = r.findings.filter((f) => !f.exempt).length;
  const label = `${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}${live < r.findings.length ? `, ${r.findings.length - live} exempt` : ''}`;
  return [
    `<details class="resource" open data-arn="${e(r.arn)}">`,
    `<summary>${worst ? severityBadge(worst) : '<span class="badge exempt">EXEMPT</span>'} ${e(r.kind)} <code>${e(r.name)}</code> <span class="muted">${e(r.region)} · ${e(label)}</span></summary>`,
    `<p class="muted">${e(r.arn)}${r.roleArn ? `<br>execution role ${e(r.roleArn)}` : ''}</p>`,
    ...r.findings.map(findingHtml),
    '</details>',
  ].join('\n');
}

export function renderHtml(report: ScanReport): string {
  const s = report.summary;
  const title = `Lambda Guardrail ${report.origin}: account ${accountsLabel(report)}`;
  const header = [
    `<h1>Lambda Guardrail ${e(report.origin)} report</h1>`,
    `<p>Account <strong>${e(accountsLabel(report))}</strong> · regions ${e(report.regions.join(', ') || '(none)')} · finished ${e(report.finishedAt)} in ${e(formatDuration(report.startedAt, report.finishedAt))}</p>`,
    '<p>Dry run: computed in report mode, nothing was changed.</p>',
  ].join('\n');

  const maxSev = Math.max(1, ...SEVERITY_ORDER.map((sev) => s.bySeverity[sev]));
  const sevRows = SEVERITY_ORDER.map(
    (sev) =>
      `<tr data-severity="${e(sev)}"><td>${severityBadge(sev)}</td><td class="num">${s.bySeverity[sev]}</td><td style="width:60%">${s.bySeverity[sev] ? `<div class="bar" style="width:${((100 * s.bySeverity[sev]) / maxSev).toFixed(1)}%;background:${SEVERITY_COLORS[sev]}"></div>` : ''}</td></tr>`,
  ).join('\n');
  const ruleRows = report.rules
    .map((r) => {
      const b = s.byRule[r.id] ?? { findings: 0, exempt: 0, resources: 0 };
      return `<tr data-rule="${e(r.id)}"><td><code>${e(r.id)}</code></td><td>${e(r.title)}</td><td>${severityBadge(r.severity)}</td><td class="num">${b.findings}</td><td class="num">${b.exempt}</td><td class="num">${b.resources}</td><td><span class="badge mode">${e(r.enforcementMode)}</span></td></tr>`;
    })
    .join('\n');

  const withFindings = report.resources.filter((r) => r.findings.length);
  const compliant = report.resources.filter((r) => r.status === 'compliant');
  const deleted = report.resources.filter((r) => r.status === 'deleted');
  const body = [
    '<section id="summary">',
    '<h2>Summary</h2>',
    '<div class="cards">',
    card(s.resources, 'resources scanned', 'card-resources'),
    ...RESOURCE_STATUSES.map((st) => card(s.byStatus[st], STATUS_LABELS[st], `card-${st}`)),
    card(s.liveFindings, 'findings (not exempt)', 'card-findings'),
    card(s.plannedSteps, 'planned API calls', 'card-steps'),
    '</div>',
    '<h3>Findings by severity</h3>',
    `<table id="by-severity"><thead><tr><th>Severity</th><th class="num">Findings</th><th></th></tr></thead><tbody>${sevRows}</tbody></table>`,
    '<h3>Findings by rule</h3>',
    `<table id="by-rule"><thead><tr><th>Rule</th><th>Title</th><th>Severity</th><th class="num">Findings</th><th class="num">Exempt</th><th class="num">Resources</th><th>Enforcement</th></tr></thead><tbody>${ruleRows}</tbody></table>`,
    '</section>',
    '<section id="findings">',
    '<h2>Resources with findings</h2>',
    withFindings.length ? withFindings.map(resourceHtml).join('\n') : '<p class="ok">No findings.</p>',
    '</section>',
    report.errors.length
      ? [
          '<section id="errors">',
          '<h2>Could not be read</h2>',
          '<p class="muted">Reported and skipped; the scan went on. Nothing is known about these.</p>',
          `<table><thead><tr><th>What</th><th>Region</th><th>Error</th><th>Message</th></tr></thead><tbody>${report.errors
            .map(
              (x) =>
                `<tr><td>${e(x.scope)} ${x.name ? `<code>${e(x.name)}</code>` : ''}</td><td>${e(x.region ?? '')}</td><td><code>${e(x.error)}</code></td><td>${e(x.message)}</td></tr>`,
            )
            .join('\n')}</tbody></table>`,
          '</section>',
        ].join('\n')
      : '',
    deleted.length
      ? `<section id="deleted"><h2>Deleted while scanning</h2><ul>${deleted.map((r) => `<li><code>${e(r.name)}</code> <span class="muted">${e(r.region)}</span></li>`).join('')}</ul></section>`
      : '',
    '<section id="compliant">',
    `<h2>Compliant (${compliant.length})</h2>`,
    compliant.length
      ? `<details><summary>Show the ${compliant.length} compliant resource${compliant.length === 1 ? '' : 's'}</summary><ul>${compliant
          .map(
            (r) =>
              `<li>${e(r.kind)} <code>${e(r.name)}</code> <span class="muted">${e(r.region)}</span></li>`,
          )
          .join('')}</ul></details>`
      : '<p class="muted">None.</p>',
    '</section>',
    '<section id="rules">',
    '<h2>Rules</h2>',
    report.rules
      .map(
        (r) =>
          `<article class="rule" id="rule-${e(r.id)}"><h3>${severityBadge(r.severity)} <code>${e(r.id)}</code> ${e(r.title)}</h3><p>${e(r.rationale)}</p><p><strong>Fix:</strong> ${e(r.fix)}</p><p class="muted">Default mode ${e(r.defaultMode)}; enforcement here: ${e(r.enforcementMode)}. Known false positives: ${r.knownFalsePositives.map(e).join(' ') || 'none'}</p></article>`,
      )
      .join('\n'),
    '</section>',
    `<footer>${e(report.tool.name)} ${e(report.tool.version)} · report schema ${e(report.kind)}/${e(report.schemaVersion)} · started ${e(report.startedAt)}</footer>`,
  ].join('\n');
  return page(title, header, body);
}
