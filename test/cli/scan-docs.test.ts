import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASFF_REQUIRED_FIELDS } from '../../functions/core/report/asff.ts';
import { SCAN_FORMATS } from '../../functions/core/report/index.ts';
import { CATEGORIES, LEDGER_FORMATS } from '../../functions/core/report/ledger.ts';
import { RESOURCE_STATUSES } from '../../functions/core/report/model.ts';
import { PROJECT_ROOT } from '../../lib/functions.ts';

/** docs/scan-report.md cannot drift from the code: formats, fields, statuses and categories. */

const DOC = readFileSync(join(PROJECT_ROOT, 'docs', 'scan-report.md'), 'utf8');
const SCHEMA = JSON.parse(
  readFileSync(join(PROJECT_ROOT, 'docs', 'schemas', 'scan-report.schema.json'), 'utf8'),
);
const README = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

describe('docs/scan-report.md', () => {
  it('documents every top-level field of the JSON schema', () => {
    for (const key of Object.keys(SCHEMA.properties)) {
      expect(DOC, key).toMatch(new RegExp(`\`${key}\``));
    }
    expect(SCHEMA.required.sort()).toEqual(Object.keys(SCHEMA.properties).sort());
  });

  it('documents every format, resource status, ledger category and required ASFF attribute', () => {
    for (const f of SCAN_FORMATS) expect(DOC).toContain(`--format ${f}`);
    for (const f of LEDGER_FORMATS) expect(DOC).toContain(f);
    for (const s of RESOURCE_STATUSES) expect(DOC).toContain(`\`${s}\``);
    for (const c of CATEGORIES) expect(DOC).toContain(`**${c}**`);
    for (const a of ASFF_REQUIRED_FIELDS) expect(DOC).toContain(`\`${a}\``);
  });

  it('the README shows both commands and links the page', () => {
    expect(README).toContain('npx guardrail scan [--region r1,r2|--all-regions]');
    expect(README).toContain('npx guardrail report --since <date>');
    expect(README).toContain('docs/scan-report.md');
  });
});
