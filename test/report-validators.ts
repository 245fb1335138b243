import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import AjvDraft04 from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import { ASFF_REQUIRED_FIELDS, type AsffFinding } from '../functions/core/report/asff.ts';
import { PROJECT_ROOT } from '../lib/functions.ts';

/**
 * Validators for the report formats, shared by the unit, SDK-mock and emulator tests:
 * - SARIF against the published SARIF 2.1.0 JSON schema (vendored in test/fixtures/sarif, draft-04,
 *   so validated with ajv-draft-04 and ajv-formats);
 * - the JSON report against docs/schemas/scan-report.schema.json (draft-07);
 * - ASFF: every required top-level attribute, with the documented limits.
 */

type Formats = (ajv: unknown) => unknown;
const addFormats = ((addFormatsModule as unknown as { default?: Formats }).default ??
  addFormatsModule) as Formats;
type Validator = ((data: unknown) => boolean) & { errors?: unknown[] | null };

const json = (...path: string[]) => JSON.parse(readFileSync(join(PROJECT_ROOT, ...path), 'utf8'));

export const SARIF_SCHEMA_FILE = join('test', 'fixtures', 'sarif', 'sarif-schema-2.1.0-rtm.5.json');

let sarif: Validator | undefined;
export function validateSarif(doc: unknown): string[] {
  if (!sarif) {
    const Ctor = ((AjvDraft04 as unknown as { default?: unknown }).default ?? AjvDraft04) as new (
      o: object,
    ) => { compile(s: unknown): Validator };
    // unicodeRegExp off: the published schema has a pattern (`language`) that is invalid with the u flag.
    const ajv = new Ctor({ allErrors: true, strict: false, validateFormats: true, unicodeRegExp: false });
    addFormats(ajv);
    sarif = ajv.compile(json(SARIF_SCHEMA_FILE));
  }
  return sarif(doc) ? [] : (sarif.errors ?? []).map((e) => JSON.stringify(e));
}

let report: Validator | undefined;
export function validateScanReport(doc: unknown): string[] {
  if (!report) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    report = ajv.compile(json('docs', 'schemas', 'scan-report.schema.json')) as Validator;
  }
  return report(doc) ? [] : (report.errors ?? []).map((e) => JSON.stringify(e));
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Problems with one ASFF finding (empty when it has every required field, well formed). */
export function asffProblems(f: AsffFinding | Record<string, unknown>): string[] {
  const x = f as Record<string, unknown>;
  const out: string[] = [];
  for (const k of ASFF_REQUIRED_FIELDS)
    if (x[k] === undefined || x[k] === null || x[k] === '') out.push(`missing ${k}`);
  if (x.SchemaVersion !== '2018-10-08') out.push('SchemaVersion must be 2018-10-08');
  if (typeof x.AwsAccountId !== 'string' || !/^\d{12}$/.test(x.AwsAccountId)) out.push('AwsAccountId');
  for (const k of ['CreatedAt', 'UpdatedAt'] as const)
    if (!ISO.test(String(x[k]))) out.push(`${k} not ISO 8601`);
  if (!/^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:product\/\d{12}\/default$/.test(String(x.ProductArn)))
    out.push('ProductArn');
  if (String(x.Title).length > 256) out.push('Title > 256');
  if (String(x.Description).length > 1024) out.push('Description > 1024');
  if (String(x.Id).length > 512) out.push('Id > 512');
  const sev = x.Severity as { Label?: string } | undefined;
  if (!sev || !['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].includes(String(sev.Label)))
    out.push('Severity.Label');
  const types = x.Types as string[] | undefined;
  if (
    !Array.isArray(types) ||
    !types.length ||
    types.some((t) => t.split('/').length < 2 || t.split('/').length > 3)
  )
    out.push('Types must be namespace/category[/classifier]');
  const resources = x.Resources as { Type?: string; Id?: string }[] | undefined;
  if (!Array.isArray(resources) || !resources.length || resources.length > 32) out.push('Resources: 1..32');
  for (const r of resources ?? []) if (!r.Type || !r.Id) out.push('Resource without Type or Id');
  const rec = (x.Remediation as { Recommendation?: { Text?: string } } | undefined)?.Recommendation?.Text;
  if (rec && rec.length > 512) out.push('Recommendation.Text > 512');
  if (Buffer.byteLength(JSON.stringify(x)) > 240 * 1024) out.push('finding > 240 KB');
  return out;
}
