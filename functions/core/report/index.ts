import { toAsff } from './asff.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import type { ScanReport } from './model.ts';
import { toSarif } from './sarif.ts';
import { renderTable } from './table.ts';

/** Every output format of `guardrail scan`, all rendered from the same report model. */
export const SCAN_FORMATS = ['table', 'json', 'sarif', 'markdown', 'html', 'asff'] as const;
export type ScanFormat = (typeof SCAN_FORMATS)[number];

export const isScanFormat = (s: unknown): s is ScanFormat => SCAN_FORMATS.includes(s as ScanFormat);

/** The report as text in a format (JSON formats are pretty-printed and end with a newline). */
export function renderScanReport(report: ScanReport, format: ScanFormat): string {
  switch (format) {
    case 'table':
      return `${renderTable(report)}\n`;
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'sarif':
      return `${JSON.stringify(toSarif(report), null, 2)}\n`;
    case 'markdown':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    case 'asff':
      return `${JSON.stringify({ Findings: toAsff(report) }, null, 2)}\n`;
  }
}

export * from './model.ts';
