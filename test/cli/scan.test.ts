import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetRoleCommand, IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import {
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListFunctionUrlConfigsCommand,
  ListLayersCommand,
  ListTagsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import { progressPrinter, scanCommand } from '../../bin/scan-commands.ts';
import type { ScanProgress } from '../../functions/aws/scan.ts';
import { SCAN_FORMATS } from '../../functions/core/report/index.ts';
import { asffProblems, validateSarif, validateScanReport } from '../report-validators.ts';

/**
 * `guardrail scan` and `guardrail report` flags, exit codes and output, with SDK mocks (the emulator
 * runs are in test/integration/scan.test.ts).
 */

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const NOW = '2025-06-15T12:00:00.000Z';
const arn = (n: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${n}`;
const lambda = mockClient(LambdaClient);
const sts = mockClient(STSClient);
const hub = mockClient(SecurityHubClient);
// The functions' execution role (IAM.ROLE rules read each role once): absent in this account.
const iam = mockClient(IAMClient);
const tmp = mkdtempSync(join(tmpdir(), 'guardrail-scan-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) }, () => NOW);
  return { code, out, err, stdout: out.join('\n'), stderr: err.join('\n') };
}

const notFound = () =>
  new ResourceNotFoundException({ message: 'not found', $metadata: { httpStatusCode: 404 } });

function account(fns: Record<string, { public?: boolean; denied?: boolean }>) {
  lambda.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
  iam.reset();
  iam
    .on(GetRoleCommand)
    .rejects(new NoSuchEntityException({ message: 'no role', $metadata: { httpStatusCode: 404 } }));
  lambda.on(ListFunctionsCommand).resolves({
    Functions: Object.keys(fns).map((n) => ({
      FunctionName: n,
      FunctionArn: arn(n),
      Role: `arn:aws:iam::${ACCOUNT}:role/r`,
    })),
  });
  lambda
    .on(GetFunctionConfigurationCommand)
    .callsFake(({ FunctionName }) => ({ FunctionName, FunctionArn: arn(FunctionName) }));
  lambda.on(ListTagsCommand).resolves({ Tags: {} });
  lambda.on(ListAliasesCommand).resolves({ Aliases: [] });
  lambda.on(ListFunctionUrlConfigsCommand).resolves({ FunctionUrlConfigs: [] });
  // No layers in this account (test/aws/layer.test.ts scans layers).
  lambda.on(ListLayersCommand).resolves({ Layers: [] });
  lambda.on(GetPolicyCommand).callsFake(({ FunctionName }) => {
    if (fns[FunctionName]?.denied)
      throw Object.assign(new Error('not authorized'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 403 },
      });
    if (!fns[FunctionName]?.public) throw notFound();
    return {
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'open',
            Effect: 'Allow',
            Principal: '*',
            Action: 'lambda:InvokeFunction',
            Resource: arn(FunctionName),
          },
        ],
      }),
      RevisionId: 'r1',
    };
  });
}

beforeEach(() => account({ a: {}, b: { public: true } }));

describe('guardrail scan: usage', () => {
  it.each([
    [
      ['scan', '--format', 'yaml', '--region', REGION],
      /--format must be one of table, json, sarif, markdown, html, asff, got yaml/,
    ],
    [['scan', '--region', REGION, '--all-regions'], /either --region or --all-regions/],
    [
      ['scan', '--region', REGION, '--rules', 'LAMBDA.URL.PUBLC'],
      /unknown rule id\(s\) LAMBDA\.URL\.PUBLC; known: LAMBDA\.URL\.PUBLIC/,
    ],
    [['scan', '--region', REGION, '--concurrency', '0'], /--concurrency must be an integer from 1 to 64/],
    [['scan', '--region', 'Ireland'], /not a region name: Ireland/],
    [['scan', '--region', REGION, '--bogus'], /Unknown option '--bogus'/],
  ])('%j -> exit 2, one line', async (argv, message) => {
    const r = await run(...(argv as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(message as RegExp);
    expect(lambda).not.toHaveReceivedAnyCommand();
  });

  it('no region anywhere -> exit 2', async () => {
    const out: string[] = [];
    const code = await scanCommand([], { out: (s) => out.push(s), err: () => {} }, () => NOW, {
      env: {},
    }).catch((e) => e);
    expect((code as Error).message).toMatch(/no region/);
  });

  it('is listed in --help', async () => {
    const r = await run('--help');
    expect(r.stdout).toMatch(/scan \[--region r1,r2\|--all-regions\]/);
    expect(r.stdout).toMatch(/report --since <date>/);
  });
});

describe('guardrail scan: exit codes and formats', () => {
  it('exit 1 with findings, 0 without, 2 when nothing was found but something was unreadable', async () => {
    expect((await run('scan', '--region', REGION)).code).toBe(1);
    account({ a: {}, c: {} });
    expect((await run('scan', '--region', REGION)).code).toBe(0);
    account({ a: {}, c: { denied: true } });
    const denied = await run('scan', '--region', REGION);
    expect(denied.code).toBe(2);
    expect(denied.stdout).toContain('AccessDeniedException');
  });

  it('--rules narrows the scan to those rules', async () => {
    const r = await run('scan', '--region', REGION, '--rules', 'LAMBDA.URL.PUBLIC', '--format', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.rules.map((x: { id: string }) => x.id)).toEqual(['LAMBDA.URL.PUBLIC']);
  });

  it.each(SCAN_FORMATS)('--format %s writes a valid document to --output', async (format) => {
    const file = join(tmp, `report.${format}`);
    const r = await run('scan', '--region', REGION, '--format', format, '--output', file);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err[0]).toBe(`wrote ${file}`);
    expect(r.err[1]).toMatch(
      // Two functions and their (shared, absent) execution role.
      /^scanned 3 resource\(s\) in 1 region\(s\): 1 finding\(s\), 0 exempt, 0 unreadable$/,
    );
    const text = readFileSync(file, 'utf8');
    if (format === 'json') expect(validateScanReport(JSON.parse(text))).toEqual([]);
    if (format === 'sarif') expect(validateSarif(JSON.parse(text))).toEqual([]);
    if (format === 'asff') for (const f of JSON.parse(text).Findings) expect(asffProblems(f)).toEqual([]);
    if (format === 'html') expect(text).toMatch(/^<!DOCTYPE html>/);
  });

  it('--import sends the findings to Security Hub; refusals make it exit 2', async () => {
    hub.reset();
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 1, FailedCount: 0, FailedFindings: [] });
    const ok = await run('scan', '--region', REGION, '--format', 'json', '--import');
    expect(ok.code).toBe(1);
    expect(hub).toHaveReceivedCommandTimes(BatchImportFindingsCommand, 1);
    expect(ok.stderr).toContain('imported 1 of 1 finding(s) into Security Hub in 1 call(s)');
    hub.on(BatchImportFindingsCommand).resolves({
      SuccessCount: 0,
      FailedCount: 1,
      FailedFindings: [
        { Id: 'x', ErrorCode: 'InvalidInput', ErrorMessage: 'Finding does not adhere to ASFF' },
      ],
    });
    const refused = await run('scan', '--region', REGION, '--import');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Security Hub refused x: InvalidInput');
  });

  it('an AWS error before anything is read (credentials) is one line and exit 2', async () => {
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error('The security token included in the request is invalid.'), {
        name: 'InvalidClientTokenId',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const r = await run('scan', '--region', REGION);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      'guardrail: AWS error: InvalidClientTokenId: The security token included in the request is invalid.',
    ]);
  });
});

describe('progress', () => {
  const p = (over: Partial<ScanProgress>): ScanProgress => ({
    phase: 'reading',
    total: 10,
    done: 0,
    errors: 0,
    findings: 0,
    startedAtMs: 0,
    ...over,
  });

  it('on a TTY: done/total, rate, errors and findings, redrawn in place, cleared at the end', () => {
    const writes: string[] = [];
    let t = 0;
    const pr = progressPrinter({ isTTY: true, write: (s) => writes.push(s) }, () => t);
    t = 2000;
    pr.update(p({ done: 4, errors: 1, findings: 2 }));
    t = 2050; // throttled: less than 100 ms later
    pr.update(p({ done: 5 }));
    t = 3000;
    pr.update(p({ done: 10, phase: 'done' }));
    pr.end();
    expect(writes[0]).toBe('\r\x1b[2Kguardrail scan: 4/10 read · 2.0/s · 1 error(s) · 2 finding(s)');
    expect(writes).toHaveLength(3);
    expect(writes[1]).toContain('10/10 read · 3.3/s');
    expect(writes[2]).toBe('\r\x1b[2K');
  });

  it('quiet when not a TTY', () => {
    const writes: string[] = [];
    const pr = progressPrinter({ isTTY: false, write: (s) => writes.push(s) }, () => 0);
    pr.update(p({ done: 10, phase: 'done' }));
    pr.end();
    expect(writes).toEqual([]);
  });
});

describe('guardrail report: usage', () => {
  it.each([
    [['report'], /report needs --since <date>/],
    [
      ['report', '--since', 'yesterday', '--table', 't', '--region', REGION],
      /--since must be an ISO date or time/,
    ],
    [
      ['report', '--since', '2025-06-10', '--format', 'sarif', '--table', 't', '--region', REGION],
      /--format must be one of table, json, markdown, html/,
    ],
    [
      ['report', '--since', '2025-06-10', '--until', '2025-06-01', '--table', 't', '--region', REGION],
      /is after --until/,
    ],
  ])('%j -> exit 2', async (argv, message) => {
    const r = await run(...(argv as string[]));
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(message as RegExp);
  });

  it('needs a table', async () => {
    const prev = process.env.GUARDRAIL_LEDGER_TABLE;
    delete process.env.GUARDRAIL_LEDGER_TABLE;
    try {
      const r = await run('report', '--since', '2025-06-10', '--region', REGION);
      expect(r.code).toBe(2);
      expect(r.err[0]).toMatch(/pass --table/);
    } finally {
      if (prev !== undefined) process.env.GUARDRAIL_LEDGER_TABLE = prev;
    }
    expect(existsSync(tmp)).toBe(true);
  });
});
