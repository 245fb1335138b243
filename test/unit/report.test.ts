import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIG,
  type GuardrailConfig,
  isScheduleExpression,
  parseConfig,
} from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { redactSnapshot } from '../../functions/core/redact.ts';
import { ASFF_BATCH_SIZE, asffBatches, asffId, toAsff } from '../../functions/core/report/asff.ts';
import { diffReports, digestMessage } from '../../functions/core/report/digest.ts';
import { escapeHtml, renderHtml } from '../../functions/core/report/html.ts';
import {
  buildScanReport,
  isScanFormat,
  renderScanReport,
  SCAN_FORMATS,
  type ScanReport,
  type ScanUnit,
  scanExitCode,
  TOOL_VERSION,
} from '../../functions/core/report/index.ts';
import {
  buildLedgerReport,
  CATEGORIES,
  LEDGER_FORMATS,
  renderLedgerReport,
} from '../../functions/core/report/ledger.ts';
import { escapeMarkdown, fenced, renderMarkdown } from '../../functions/core/report/markdown.ts';
import { SECURITY_SEVERITY, toSarif } from '../../functions/core/report/sarif.ts';
import { RULES, ruleById } from '../../functions/core/rules/index.ts';
import { minuteOf, sweepExecutionName, syntheticEvent } from '../../functions/core/sweep.ts';
import type { Snapshot } from '../../functions/core/types.ts';
import { eventSchema } from '../../functions/handlers/schemas.ts';
import { PROJECT_ROOT } from '../../lib/functions.ts';
import { asffProblems, validateSarif, validateScanReport } from '../report-validators.ts';
import {
  ACCOUNT,
  functionArn,
  functionSnapshot,
  NOW,
  publicInvokeStatement,
  REGION,
  urlFunctionInvokeStatement,
  urlInvokeStatement,
} from './helpers.ts';

/**
 * The report model and every format rendered from it, on evaluations of hand-built snapshots (the
 * same engine the scan uses). Emulator-backed scans are in test/integration/scan.test.ts.
 */

const SECRET = 'p4ss-W0rd!-do-not-print-8c1f2e';
const KEY = 'unit-test-fingerprint-key-0123456789';
const XSS = '<img src=x onerror=alert(1)>';

function unitOf(snapshot: Snapshot, config: GuardrailConfig = DEFAULT_CONFIG): ScanUnit {
  const cfg = snapshot.responses['GetFunctionConfiguration'] as {
    FunctionName: string;
    FunctionArn: string;
    Role: string;
  };
  return {
    kind: 'function',
    arn: cfg.FunctionArn,
    name: cfg.FunctionName,
    region: REGION,
    roleArn: cfg.Role,
    evaluation: evaluate({
      snapshot: redactSnapshot(snapshot, KEY),
      config: { ...config, mode: 'report' },
      now: NOW,
      event: syntheticEvent({
        origin: 'scan',
        id: `scan-${cfg.FunctionArn}`,
        account: ACCOUNT,
        region: REGION,
        time: NOW,
        resources: { functionName: cfg.FunctionName, functionArn: cfg.FunctionArn },
      }),
    }),
  };
}

const publicUrl = (name: string, tags?: Record<string, string>) =>
  functionSnapshot({
    name,
    ...(tags ? { tags } : {}),
    urls: [{ authType: 'NONE' }],
    policies: {
      '': {
        statements: [
          urlInvokeStatement(undefined, { Resource: functionArn(name) }),
          urlFunctionInvokeStatement(undefined, { Resource: functionArn(name) }),
        ],
      },
    },
  });

function units(config: GuardrailConfig = DEFAULT_CONFIG): ScanUnit[] {
  return [
    unitOf(publicUrl('orders-api'), config),
    unitOf(
      functionSnapshot({
        name: 'backdoor-fn',
        urls: [],
        policies: {
          '': {
            statements: [publicInvokeStatement('open|<b>pipe</b>', { Resource: functionArn('backdoor-fn') })],
          },
        },
      }),
      config,
    ),
    unitOf(
      publicUrl('webhook', {
        'guardrail:exempt': 'LAMBDA.URL.PUBLIC',
        'guardrail:exempt-reason': `verifies signatures ${XSS}`,
        'guardrail:exempt-until': '2099-12-31',
      }),
      config,
    ),
    unitOf(
      functionSnapshot({ name: 'quiet', urls: [{ authType: 'AWS_IAM' }], policies: { '': null } }),
      config,
    ),
    unitOf(
      functionSnapshot({
        name: 'env-secret',
        urls: [],
        policies: { '': null },
        environment: { DB_PASSWORD: SECRET, TABLE_NAME: 'orders' },
      }),
      config,
    ),
    {
      kind: 'function',
      arn: functionArn('locked'),
      name: 'locked',
      region: REGION,
      error: {
        error: 'AccessDeniedException',
        message: 'User is not authorized to perform: lambda:GetPolicy',
      },
    },
    { kind: 'function', arn: functionArn('gone'), name: 'gone', region: REGION, deleted: true },
  ];
}

function report(opts: { config?: GuardrailConfig; units?: ScanUnit[] } = {}): ScanReport {
  const config = opts.config ?? DEFAULT_CONFIG;
  return buildScanReport({
    origin: 'scan',
    account: ACCOUNT,
    regions: [REGION],
    startedAt: NOW,
    finishedAt: '2025-06-15T12:00:03.250Z',
    rules: RULES,
    config,
    units: opts.units ?? units(config),
  });
}

const hasSecretRule = !!ruleById('LAMBDA.ENV.SECRET');

describe('the report model', () => {
  const r = report();

  it('counts resources by status and findings by severity and rule', () => {
    expect(r.summary.resources).toBe(7);
    expect(r.summary.byKind).toEqual({ function: 7 });
    expect(r.summary.byStatus).toEqual({
      'non-compliant': hasSecretRule ? 3 : 2,
      exempt: 1,
      unreadable: 1,
      deleted: 1,
      compliant: hasSecretRule ? 1 : 2,
    });
    expect(r.summary.exemptFindings).toBe(1);
    expect(r.summary.liveFindings).toBe(r.summary.findings - 1);
    expect(r.summary.byRule['LAMBDA.URL.PUBLIC']).toEqual({ findings: 1, exempt: 1, resources: 2 });
    expect(r.summary.byRule['LAMBDA.POLICY.PUBLIC']).toEqual({ findings: 1, exempt: 0, resources: 1 });
    // Every rule of the scan has a row, also with nothing found (new rules show up by themselves).
    expect(Object.keys(r.summary.byRule).sort()).toEqual(RULES.map((x) => x.id).sort());
    expect(r.rules.map((x) => x.id)).toEqual(RULES.map((x) => x.id));
    const live = r.resources.flatMap((x) => x.findings).filter((f) => !f.exempt);
    expect(Object.values(r.summary.bySeverity).reduce((a, b) => a + b, 0)).toBe(live.length);
    expect(r.summary.plannedSteps).toBe(live.reduce((n, f) => n + f.plan.steps.length, 0));
    expect(r.summary.errors).toBe(1);
    expect(r.errors).toEqual([
      {
        scope: 'function',
        account: ACCOUNT,
        region: REGION,
        arn: functionArn('locked'),
        name: 'locked',
        error: 'AccessDeniedException',
        message: 'User is not authorized to perform: lambda:GetPolicy',
      },
    ]);
  });

  it('evaluates in report mode and says what enforcement would do with each finding', () => {
    for (const f of r.resources.flatMap((x) => x.findings)) {
      expect(f.mode).toBe('report');
      expect(f.enforcementMode).toBe(ruleById(f.ruleId)!.defaultMode);
    }
    const capped = report({ config: parseConfig({ mode: 'approve' }) });
    const url = capped.resources.flatMap((x) => x.findings).find((f) => f.ruleId === 'LAMBDA.URL.PUBLIC')!;
    expect(url.enforcementMode).toBe('approve');
    expect(url.enforcementModeReason).toMatch(/capped by global mode approve/);
    expect(capped.rules.find((x) => x.id === 'LAMBDA.URL.PUBLIC')!.enforcementMode).toBe('approve');
  });

  it('is deterministic: resource order does not depend on the order things were read', () => {
    const shuffled = report({ units: [...units()].reverse() });
    expect(JSON.stringify(shuffled)).toBe(JSON.stringify(r));
    expect(r.resources.map((x) => x.name)).toEqual(
      [...r.resources.map((x) => x.name)].sort((a, b) => functionArn(a).localeCompare(functionArn(b))),
    );
  });

  it('gives every finding a stable, unique key (rule and resource, then an ordinal)', () => {
    const keys = r.resources.flatMap((x) => x.findings.map((f) => f.key));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain(`LAMBDA.URL.PUBLIC|${functionArn('orders-api')}`);
    const base = units()[0];
    const twice: ScanUnit = {
      ...base,
      evaluation: {
        ...base.evaluation!,
        findings: [...base.evaluation!.findings, ...base.evaluation!.findings],
      },
    };
    const dup = report({ units: [twice] }).resources[0].findings.map((f) => f.key);
    expect(dup).toEqual([
      `LAMBDA.URL.PUBLIC|${functionArn('orders-api')}`,
      `LAMBDA.URL.PUBLIC|${functionArn('orders-api')}#2`,
    ]);
  });

  it('exit code as evaluate: 1 findings, 2 nothing found but something unreadable, 0 compliant', () => {
    expect(scanExitCode(r)).toBe(1);
    const [, , exempt, quiet, , locked] = units();
    expect(scanExitCode(report({ units: [quiet, locked] }))).toBe(2);
    expect(scanExitCode(report({ units: [quiet, exempt] }))).toBe(0);
    expect(scanExitCode(report({ units: [] }))).toBe(0);
  });

  it('the JSON form validates against docs/schemas/scan-report.schema.json', () => {
    expect(validateScanReport(JSON.parse(renderScanReport(r, 'json')))).toEqual([]);
    expect(validateScanReport(JSON.parse(renderScanReport(report({ units: [] }), 'json')))).toEqual([]);
    // The schema is not vacuous.
    expect(validateScanReport({ ...r, schemaVersion: 2 })).not.toEqual([]);
    expect(validateScanReport({ ...r, resources: [{ ...r.resources[0], status: 'fine' }] })).not.toEqual([]);
  });

  it('stamps the package version', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(TOOL_VERSION).toBe(pkg.version);
    expect(r.tool).toEqual({ name: 'lambda-guardrail', version: pkg.version });
  });
});

describe('secret values never appear in any format', () => {
  const r = report();
  it.each(SCAN_FORMATS)('%s', (format) => {
    const text = renderScanReport(r, format);
    expect(text.length).toBeGreaterThan(200);
    expect(text.includes(SECRET)).toBe(false);
    // Not even a piece of it.
    expect(text.includes(SECRET.slice(0, 10))).toBe(false);
    if (hasSecretRule && format !== 'table') expect(text).toContain('DB_PASSWORD');
  });
  it.skipIf(!hasSecretRule)('while the secret is found, by name', () => {
    const f = r.resources.flatMap((x) => x.findings).find((x) => x.ruleId === 'LAMBDA.ENV.SECRET');
    expect(f?.resourceArn).toBe(functionArn('env-secret'));
    expect(JSON.stringify(f)).toContain('DB_PASSWORD');
  });
});

describe('SARIF 2.1.0', () => {
  const r = report();
  const sarif = toSarif(r);

  it('validates against the published SARIF 2.1.0 schema', () => {
    expect(validateSarif(sarif)).toEqual([]);
    expect(validateSarif(JSON.parse(renderScanReport(report({ units: [] }), 'sarif')))).toEqual([]);
    // The validator is not vacuous.
    expect(validateSarif({ ...sarif, version: '2.0.0' })).not.toEqual([]);
    expect(
      validateSarif({ ...sarif, runs: [{ ...sarif.runs[0], results: [{ message: 'not an object' }] }] }),
    ).not.toEqual([]);
  });

  it('one rule per registry rule, one result per finding, with a location code scanning accepts', () => {
    const run = sarif.runs[0];
    expect(run.tool.driver.rules.map((x) => x.id)).toEqual(RULES.map((x) => x.id));
    for (const rule of run.tool.driver.rules) {
      expect(rule.properties['security-severity']).toBe(SECURITY_SEVERITY[rule.properties.severity]);
    }
    const findings = r.resources.flatMap((x) => x.findings);
    expect(run.results).toHaveLength(findings.length);
    for (const res of run.results) {
      expect(run.tool.driver.rules[res.ruleIndex!].id).toBe(res.ruleId);
      const uri = res.locations[0].physicalLocation.artifactLocation.uri;
      expect(uri).toMatch(/^aws\/\d{12}\/[a-z0-9-]+\/function\/[^/:]+$/); // relative, no scheme
      expect(res.locations[0].logicalLocations[0].fullyQualifiedName).toMatch(/^arn:aws:lambda:/);
      expect(res.partialFingerprints['guardrailFinding/v1']).toMatch(/^[0-9a-f]{64}$/);
    }
    const exempt = run.results.filter((x) => 'suppressions' in x && x.suppressions);
    expect(exempt).toHaveLength(1);
    expect(exempt[0].suppressions![0]).toMatchObject({ kind: 'external', status: 'accepted' });
  });

  it('an unreadable resource is a tool execution notification and the run is not successful', () => {
    const inv = sarif.runs[0].invocations[0];
    expect(inv.executionSuccessful).toBe(false);
    expect(inv.toolExecutionNotifications).toHaveLength(1);
    expect(inv.toolExecutionNotifications[0].message.text).toMatch(/locked.*AccessDeniedException/);
    expect(toSarif(report({ units: [units()[3]] })).runs[0].invocations[0].executionSuccessful).toBe(true);
  });

  it('fingerprints are stable across scans', () => {
    const again = toSarif(report());
    expect(again.runs[0].results.map((x) => x.partialFingerprints)).toEqual(
      sarif.runs[0].results.map((x) => x.partialFingerprints),
    );
  });
});

describe('ASFF', () => {
  const r = report();
  const findings = toAsff(r);

  it('every finding has every required attribute, within the documented limits', () => {
    expect(findings).toHaveLength(r.summary.findings);
    for (const f of findings) expect(asffProblems(f), f.Id).toEqual([]);
    const url = findings.find(
      (f) =>
        f.GeneratorId === 'lambda-guardrail/LAMBDA.URL.PUBLIC' &&
        f.Resources[0].Id === functionArn('orders-api'),
    )!;
    expect(url).toMatchObject({
      AwsAccountId: ACCOUNT,
      ProductArn: `arn:aws:securityhub:${REGION}:${ACCOUNT}:product/${ACCOUNT}/default`,
      Severity: { Label: 'CRITICAL' },
      Resources: [
        { Type: 'AwsLambdaFunction', Id: functionArn('orders-api'), Partition: 'aws', Region: REGION },
      ],
      Compliance: { Status: 'FAILED' },
      RecordState: 'ACTIVE',
    });
    expect(url.Remediation.Recommendation.Text).toMatch(/UpdateFunctionUrlConfig/);
  });

  it('ids are stable (a later import updates instead of duplicating)', () => {
    expect(toAsff(report()).map((f) => f.Id)).toEqual(findings.map((f) => f.Id));
    expect(asffId({ key: 'X|arn', region: 'eu-west-1' })).toBe('lambda-guardrail/eu-west-1/X|arn');
  });

  it('long texts are clipped to the limits', () => {
    const base = units()[0];
    const long: ScanUnit = {
      ...base,
      evaluation: {
        ...base.evaluation!,
        findings: base.evaluation!.findings.map((f) => ({
          ...f,
          summary: 'x'.repeat(5000),
          title: 'y'.repeat(400),
        })),
      },
    };
    for (const f of toAsff(report({ units: [long] }))) expect(asffProblems(f)).toEqual([]);
  });

  it('batches: at most 100 findings per call, one region per call', () => {
    const many = Array.from({ length: 250 }, (_, i) => ({
      ...findings[0],
      Id: `id-${i}`,
      Region: i < 230 ? 'us-east-1' : 'eu-west-1',
    }));
    const batches = asffBatches(many);
    expect(batches.map((b) => [b.region, b.findings.length])).toEqual([
      ['eu-west-1', 20],
      ['us-east-1', 100],
      ['us-east-1', 100],
      ['us-east-1', 30],
    ]);
    expect(ASFF_BATCH_SIZE).toBe(100);
    expect(batches.flatMap((b) => b.findings.map((f) => f.Id)).sort()).toEqual(many.map((f) => f.Id).sort());
  });
});

describe('HTML', () => {
  const html = renderHtml(report());

  it('is one self-contained page: inline CSS, no script, nothing fetched', () => {
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="${escapeHtml("default-src 'none'; style-src 'unsafe-inline'")}`,
    );
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed|form)\b/i);
    expect(html).not.toMatch(/<[^>]+\s(src|href|action)=/i);
    expect(html).not.toMatch(/url\(|@import/i);
  });

  it('escapes everything that comes from AWS or a finding', () => {
    expect(html).not.toContain(XSS);
    expect(html).toContain(escapeHtml(XSS));
    expect(html).not.toContain('<b>pipe</b>');
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;',
    );
  });

  it('has the summary by severity and rule, each resource with its plan, and the unreadable ones', () => {
    for (const id of [
      'summary',
      'by-severity',
      'by-rule',
      'findings',
      'errors',
      'deleted',
      'compliant',
      'rules',
    ]) {
      expect(html).toContain(`id="${id}"`);
    }
    expect(html).toContain('lambda:UpdateFunctionUrlConfig');
    expect(html).toContain('AccessDeniedException');
  });
});

describe('Markdown', () => {
  const md = renderMarkdown(report());

  it('escapes table cells and inline text (fenced code shows raw text, which renderers never interpret)', () => {
    const prose = md.replace(/^\s*(`{3,})[^\n]*\n[\s\S]*?^\s*\1\s*$/gm, '');
    expect(prose).not.toContain(XSS);
    expect(prose).not.toContain('<b>pipe</b>');
    expect(md).toContain('<b>pipe</b>'); // in a fenced JSON block: the exact parameters
    expect(escapeMarkdown('a|b <c> *d* _e_ `f`')).toBe('a\\|b &lt;c&gt; \\*d\\* \\_e\\_ \\`f\\`');
    for (const line of md.split('\n').filter((l) => l.startsWith('|'))) {
      // every row of a table has as many unescaped cell separators as its header
      expect(line.replace(/\\\|/g, '').match(/\|/g)!.length).toBeGreaterThan(1);
    }
  });

  it('fences code so the content cannot close the block', () => {
    expect(fenced('a ``` b')).toBe('````\na ``` b\n````');
    expect(fenced('{}', 'json')).toBe('```json\n{}\n```');
  });

  it('has the summary, the findings with their plans and what could not be read', () => {
    expect(md).toContain('## Summary');
    expect(md).toContain('## Findings');
    expect(md).toContain('## Could not be read');
    expect(md).toContain('lambda:UpdateFunctionUrlConfig');
  });
});

describe('table', () => {
  it('lists rules, findings with their exact planned calls, and unreadable resources', () => {
    const t = renderScanReport(report(), 'table');
    expect(t).toMatch(/^Lambda Guardrail scan \(dry run: nothing was changed\)/);
    expect(t).toContain('RULE');
    expect(t).toContain('lambda:UpdateFunctionUrlConfig {"FunctionName":"orders-api"');
    expect(t).toContain('COULD NOT BE READ');
    expect(t).toContain('DELETED WHILE SCANNING');
    expect(isScanFormat('yaml')).toBe(false);
  });
});

describe('sweep digest', () => {
  const prev = report();
  it('first sweep: every live finding is new', () => {
    const d = diffReports(undefined, prev);
    expect(d.new).toHaveLength(prev.summary.liveFindings);
    expect(d.resolved).toEqual([]);
  });

  it('new and resolved findings; an unreadable resource resolves nothing; a deleted one does', () => {
    const [orders, backdoor, webhook, quiet, secret] = units();
    const fixedOrders = unitOf(
      functionSnapshot({ name: 'orders-api', urls: [{ authType: 'AWS_IAM' }], policies: { '': null } }),
    );
    const newOne = unitOf(publicUrl('new-public'));
    const cur = report({
      units: [
        fixedOrders,
        {
          kind: 'function',
          arn: backdoor.arn,
          name: backdoor.name,
          region: REGION,
          error: { error: 'ThrottlingException', message: 'Rate exceeded' },
        },
        webhook,
        quiet,
        { ...secret, deleted: true, evaluation: undefined },
        newOne,
      ],
    });
    const d = diffReports(prev, cur);
    expect(d.new.map((x) => x.resourceArn)).toEqual([functionArn('new-public')]);
    const resolved = Object.fromEntries(d.resolved.map((x) => [x.resourceArn, x.why]));
    expect(resolved[functionArn('orders-api')]).toBe('no longer found');
    expect(resolved[functionArn('backdoor-fn')]).toBeUndefined(); // unreadable: unknown, not resolved
    if (hasSecretRule) expect(resolved[functionArn('env-secret')]).toBe('resource deleted');
    expect(d.unreadable).toBe(1);
    expect(orders).toBeDefined();

    const m = digestMessage(d, cur, 's3://bucket/reports/x.html');
    expect(m.subject).toBe(
      `Lambda Guardrail sweep ${ACCOUNT}: 1 new, ${d.resolved.length} resolved, ${d.open} open`,
    );
    expect(m.text).toContain('New findings (1):');
    expect(m.text).toContain('s3://bucket/reports/x.html');
    expect(m.html).not.toMatch(/<script/);
    expect(`${m.text}${m.html}`.includes(SECRET)).toBe(false);
  });
});

describe('sweep execution names and events', () => {
  const arn = functionArn('orders-api');
  it('sweep-<yyyymmddThhmm>-<16 hex>, at most 80 characters of [A-Za-z0-9-_], never a UUID', () => {
    const name = sweepExecutionName('2025-06-15T11:58:31.123Z', arn);
    expect(name).toMatch(/^sweep-20250615T1158-[0-9a-f]{16}$/);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).not.toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // the same minute and resource give the same name (a retried sweep starts nothing twice)...
    expect(sweepExecutionName('2025-06-15T11:58:59.999Z', arn)).toBe(name);
    // ...another resource or minute another
    expect(sweepExecutionName('2025-06-15T11:58:00Z', functionArn('other'))).not.toBe(name);
    expect(sweepExecutionName('2025-06-15T11:59:00Z', arn)).not.toBe(name);
    expect(minuteOf('2025-06-15T11:58:31.123Z')).toBe('2025-06-15T11:58:00.000Z');
  });

  it('a synthesized sweep event passes the task-state schema', () => {
    const e = syntheticEvent({
      origin: 'sweep',
      id: sweepExecutionName(NOW, arn),
      account: ACCOUNT,
      region: REGION,
      time: NOW,
      resources: { functionName: 'orders-api', functionArn: arn },
      actor: { type: 'GuardrailSweep', arn: `arn:aws:iam::${ACCOUNT}:role/sweep` },
    });
    expect(eventSchema.safeParse(e).success).toBe(true);
    expect(e).toMatchObject({ origin: 'sweep', action: 'Sweep', service: 'lambda', requestParameters: {} });
  });
});

describe('sweepSchedule', () => {
  it.each(['rate(1 day)', 'rate(12 hours)', 'rate(30 minutes)', 'rate(1 minute)', 'cron(0 6 * * ? *)'])(
    'accepts %s',
    (s) => {
      expect(isScheduleExpression(s)).toBe(true);
      expect(parseConfig({ sweepSchedule: s }).sweepSchedule).toBe(s);
    },
  );
  it.each(['rate(1 days)', 'rate(2 day)', 'rate(0 days)', 'daily', 'cron(0 6 * * ?)', 'rate(1 week)'])(
    'rejects %s',
    (s) => {
      expect(isScheduleExpression(s)).toBe(false);
      expect(() => parseConfig({ sweepSchedule: s })).toThrow(
        /sweepSchedule: must be an EventBridge Scheduler expression/,
      );
    },
  );
  it('defaults to daily', () => {
    expect(DEFAULT_CONFIG.sweepSchedule).toBe('rate(1 day)');
  });
});

describe('ledger report', () => {
  const fn = functionArn('orders-api');
  const finding = report().resources.find((x) => x.name === 'orders-api')!.findings[0];
  const base = (
    over: Partial<LedgerRecord> & Pick<LedgerRecord, 'executionName' | 'outcome' | 'recordedAt'>,
  ): LedgerRecord => ({
    pk: `EXEC#${over.executionName}`,
    sk: 'RECORD',
    day: over.recordedAt.slice(0, 10),
    findings: [],
    ...over,
  });
  const actor = {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/dev/alice`,
    sessionIssuerArn: `arn:aws:iam::${ACCOUNT}:role/dev`,
  };
  const event = (id: string, origin: 'event' | 'sweep' = 'event') => ({
    ...syntheticEvent({
      origin: 'sweep',
      id,
      account: ACCOUNT,
      region: REGION,
      time: NOW,
      resources: { functionName: 'orders-api', functionArn: fn },
    }),
    eventName: 'CreateFunctionUrlConfig',
    origin,
    actor,
  });
  const f = {
    ...finding,
    mode: 'auto' as const,
    plan: finding.plan,
  } as unknown as LedgerRecord['findings'][number];
  const records: LedgerRecord[] = [
    base({
      executionName: 'e1',
      outcome: 'remediated',
      recordedAt: '2025-06-10T10:00:00.000Z',
      event: event('e1'),
      target: { kind: 'function', arn: fn },
      findings: [f],
      remediation: {
        status: 'applied',
        steps: [
          {
            ruleId: f.ruleId,
            resourceArn: fn,
            service: 'lambda',
            operation: 'UpdateFunctionUrlConfig',
            parameters: {},
            status: 'applied',
          },
        ],
      },
    }),
    base({
      executionName: 'e2',
      outcome: 'remediated',
      recordedAt: '2025-06-11T10:00:00.000Z',
      event: event('e2'),
      findings: [{ ...f, mode: 'approve' }],
      approval: {
        decision: 'approved',
        decidedBy: 'security-lead@example.com',
        decidedAt: '2025-06-11T09:59:00.000Z',
      },
    }),
    base({
      executionName: 'e3',
      outcome: 'rejected',
      recordedAt: '2025-06-12T10:00:00.000Z',
      event: event('e3'),
      findings: [{ ...f, mode: 'approve' }],
      approval: { decision: 'rejected', decidedBy: 'oncall@example.com', comment: `known ${XSS}` },
    }),
    base({
      executionName: 'e4',
      outcome: 'expired',
      recordedAt: '2025-06-12T11:00:00.000Z',
      findings: [{ ...f, mode: 'approve' }],
      approval: { decision: 'expired', expiredAt: '2025-06-12T11:00:00.000Z' },
    }),
    base({
      executionName: 'e5',
      outcome: 'exempt',
      recordedAt: '2025-06-13T10:00:00.000Z',
      event: event('e5', 'sweep'),
      findings: [{ ...f, exempt: true }],
    }),
    base({
      executionName: 'e6',
      outcome: 'failed',
      recordedAt: '2025-06-13T11:00:00.000Z',
      error: { error: 'States.TaskFailed', cause: 'boom' },
    }),
    base({ executionName: 'e7', outcome: 'rejected-input', recordedAt: '2025-06-13T12:00:00.000Z' }),
    base({
      executionName: 'e8',
      outcome: 'compliant',
      recordedAt: '2025-06-14T10:00:00.000Z',
      event: event('e8'),
    }),
    base({
      executionName: 'old',
      outcome: 'remediated',
      recordedAt: '2025-05-01T10:00:00.000Z',
      findings: [f],
    }),
  ];
  const r = buildLedgerReport(records, {
    since: '2025-06-10T00:00:00.000Z',
    until: '2025-06-30T23:59:59.999Z',
    generatedAt: NOW,
    table: 'ledger',
  });

  it('sorts records into what was found, remediated, approved, rejected, expired, exempted and failed', () => {
    expect(r.summary.executions).toBe(8);
    expect(r.summary.byCategory).toEqual({
      found: 5,
      remediated: 2,
      approved: 1,
      rejected: 1,
      expired: 1,
      exempted: 1,
      failed: 2,
    });
    expect(Object.keys(r.summary.byCategory)).toEqual([...CATEGORIES]);
    expect(r.summary.byOutcome).toMatchObject({
      remediated: 2,
      rejected: 1,
      expired: 1,
      exempt: 1,
      failed: 1,
      'rejected-input': 1,
      compliant: 1,
    });
    expect(r.summary.stepsApplied).toBe(1);
    expect(r.entries.map((x) => x.executionName)).not.toContain('old');
  });

  it('says by whom: the actor of the change, and the approver', () => {
    const e2 = r.entries.find((x) => x.executionName === 'e2')!;
    expect(e2.actor?.arn).toBe(actor.arn);
    expect(e2.approval).toEqual({
      decision: 'approved',
      by: 'security-lead@example.com',
      at: '2025-06-11T09:59:00.000Z',
    });
    const table = renderLedgerReport(r, 'table');
    expect(table).toContain('approved by security-lead@example.com');
    expect(table).toContain(`by ${actor.arn}`);
    expect(table).toContain('rejected by oncall@example.com');
  });

  it.each(LEDGER_FORMATS)('renders as %s, escaped', (format) => {
    const text = renderLedgerReport(r, format);
    expect(text).toContain('security-lead@example.com');
    if (format === 'html' || format === 'markdown') expect(text).not.toContain(XSS);
    if (format === 'json') expect(JSON.parse(text).kind).toBe('lambda-guardrail.ledger-report');
  });
});
