import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import { normalizeEvent } from '../../functions/core/event.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FX = join(ROOT, 'test', 'fixtures', 'cli');
const fx = (name: string) => join(FX, name);
const NOW = '2024-08-02T00:00:00.000Z';

const EVENT = fx('event-addpermission.json');
const PUBLIC = fx('snapshot-public.json');
const FUNCTION_ARN =
  'arn:aws:lambda:ca-centralnorth-1r:880896431042:function:stratus-red-team-backdoor-f-func';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) }, () => NOW);
  return { code, out, err, stdout: out.join('\n') };
}
const evaluateJson = (...extra: string[]) =>
  run('evaluate', '--event', EVENT, '--snapshot', PUBLIC, '--format', 'json', ...extra);

const tmp = mkdtempSync(join(tmpdir(), 'guardrail-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tmpFile = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

describe('guardrail evaluate: a real CloudTrail event against a snapshot', () => {
  it('findings -> exit 1, JSON in the documented shape', async () => {
    const r = await evaluateJson();
    expect(r.code).toBe(1);
    expect(r.err).toEqual([]);
    expect(r.out).toHaveLength(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.event).toEqual(normalizeEvent(JSON.parse(readFileSync(EVENT, 'utf8'))));
    expect(doc.event).toMatchObject({
      eventId: 'b67a9bba-d9da-4980-bf74-baed881b117d',
      action: 'AddPermission',
      account: '880896431042',
    });
    expect(doc.findings).toEqual([
      expect.objectContaining({
        ruleId: 'LAMBDA.POLICY.PUBLIC',
        severity: 'CRITICAL',
        resourceArn: FUNCTION_ARN,
        summary: expect.stringContaining('backdoor'),
        mode: 'auto',
        exempt: false,
        plan: expect.objectContaining({
          steps: [
            expect.objectContaining({
              service: 'lambda',
              operation: 'RemovePermission',
              parameters: {
                FunctionName: 'stratus-red-team-backdoor-f-func',
                StatementId: 'backdoor',
                RevisionId: '6a0e2f3c-8d1b-4c5e-9f7a-2b3c4d5e6f70',
              },
              reason: expect.any(String),
            }),
          ],
        }),
      }),
    ]);
    // Every step carries exactly the contract fields (plus the optional inverse).
    for (const f of doc.findings) {
      for (const s of f.plan.steps) {
        expect(Object.keys(s).filter((k) => k !== 'inverse')).toEqual([
          'service',
          'operation',
          'parameters',
          'reason',
        ]);
      }
    }
    expect(doc.findings[0].plan.steps[0].inverse).toEqual({
      service: 'lambda',
      operation: 'AddPermission',
      parameters: {
        FunctionName: 'stratus-red-team-backdoor-f-func',
        StatementId: 'backdoor',
        Action: 'lambda:InvokeFunction',
        Principal: '*',
      },
      reason: 'restore statement backdoor',
    });
  });

  it('compliant snapshot (the statement has since been removed) -> exit 0', async () => {
    const r = await run(
      'evaluate',
      '--event',
      EVENT,
      '--snapshot',
      fx('snapshot-compliant.json'),
      '--format',
      'json',
    );
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    const doc = JSON.parse(r.stdout);
    expect(doc.findings).toEqual([]);
    expect(doc.route).toBe('none');
  });

  it('compliant, table format -> exit 0 and says so', async () => {
    const r = await run('evaluate', '--event', EVENT, '--snapshot', fx('snapshot-compliant.json'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No findings: compliant.');
  });

  it('table format (the default) shows the rule id, the mode and the plan, call by call', async () => {
    const r = await run('evaluate', '--event', EVENT, '--snapshot', PUBLIC);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[CRITICAL] LAMBDA.POLICY.PUBLIC  mode=auto');
    expect(r.stdout).toContain(`Resource ${FUNCTION_ARN}`);
    expect(r.stdout).toContain('plan:');
    expect(r.stdout).toContain(
      '1. lambda:RemovePermission {"FunctionName":"stratus-red-team-backdoor-f-func","StatementId":"backdoor","RevisionId":"6a0e2f3c-8d1b-4c5e-9f7a-2b3c4d5e6f70"}',
    );
    expect(r.stdout).toContain('why: statement backdoor lets Principal * invoke');
    expect(r.stdout).toContain('1 finding(s), 1 not exempt; route: auto');
  });

  it('--config with mode report changes the mode (and the exit code stays 1: findings are findings)', async () => {
    const r = await evaluateJson('--config', fx('config-report.json'));
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.route).toBe('report');
    expect(doc.findings.map((f: { mode: string }) => f.mode)).toEqual(['report']);
    expect(doc.findings[0].modeReason).toMatch(/capped by global mode report/);
    // The plan is unchanged: a dry run shows exactly what enforcement would do.
    const auto = JSON.parse((await evaluateJson()).stdout);
    expect(doc.findings[0].plan).toEqual(auto.findings[0].plan);
  });

  it('an active exemption tag -> exempt finding, exit 0', async () => {
    const r = await run(
      'evaluate',
      '--event',
      EVENT,
      '--snapshot',
      fx('snapshot-exempt.json'),
      '--format',
      'json',
    );
    expect(r.code).toBe(0);
    const [f] = JSON.parse(r.stdout).findings;
    expect(f).toMatchObject({
      ruleId: 'LAMBDA.POLICY.PUBLIC',
      exempt: true,
      exemption: { status: 'active' },
    });
  });

  it('--now decides exemption expiry (expired -> not exempt, exit 1)', async () => {
    const r = await run(
      'evaluate',
      '--event',
      EVENT,
      '--snapshot',
      fx('snapshot-exempt.json'),
      '--format',
      'json',
      '--now',
      '2025-01-01T00:00:00Z',
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).findings[0]).toMatchObject({
      exempt: false,
      exemption: { status: 'expired' },
    });
  });

  it('the EventBridge envelope form of the event works the same', async () => {
    const rec = JSON.parse(readFileSync(EVENT, 'utf8'));
    const env = tmpFile(
      'envelope.json',
      JSON.stringify({
        version: '0',
        id: 'c0ffee00-0000-4000-8000-000000000000',
        'detail-type': 'AWS API Call via CloudTrail',
        source: 'aws.lambda',
        account: rec.recipientAccountId,
        time: rec.eventTime,
        region: rec.awsRegion,
        resources: [],
        detail: rec,
      }),
    );
    const r = await run('evaluate', '--event', env, '--snapshot', PUBLIC, '--format', 'json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).findings).toEqual(JSON.parse((await evaluateJson()).stdout).findings);
  });

  it('--help prints the usage and exits 0; no command prints it and exits 2', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: guardrail/);
    expect((await run()).code).toBe(2);
  });
});

describe('guardrail evaluate: bad input -> exit 2, one line on stderr, no stack trace', () => {
  const invalidJson = tmpFile('broken.json', '{"eventID": "x",');
  const arrayJson = tmpFile('array.json', '[]');
  const cases: [string, string[], RegExp][] = [
    [
      'missing event file',
      ['--event', fx('nope.json'), '--snapshot', PUBLIC],
      /cannot read event file .*nope\.json: ENOENT/,
    ],
    ['missing snapshot file', ['--event', EVENT, '--snapshot', fx('nope.json')], /cannot read snapshot file/],
    [
      'invalid JSON',
      ['--event', invalidJson, '--snapshot', PUBLIC],
      /event file .*broken\.json is not valid JSON/,
    ],
    [
      'not a CloudTrail event',
      ['--event', fx('not-cloudtrail.json'), '--snapshot', PUBLIC],
      /not a CloudTrail record: eventID/,
    ],
    ['a JSON array as the event', ['--event', arrayJson, '--snapshot', PUBLIC], /CloudTrail record/],
    [
      'snapshot without account',
      ['--event', EVENT, '--snapshot', fx('snapshot-no-account.json')],
      /invalid snapshot: account/,
    ],
    ['a JSON array as the snapshot', ['--event', EVENT, '--snapshot', arrayJson], /invalid snapshot/],
    [
      'config with an unknown rule id',
      ['--event', EVENT, '--snapshot', PUBLIC, '--config', fx('config-unknown-rule.json')],
      /invalid guardrail config: rules.*unknown rule id/,
    ],
    [
      'unknown flag',
      ['--event', EVENT, '--snapshot', PUBLIC, '--frobnicate'],
      /Unknown option '--frobnicate'/,
    ],
    [
      'event/snapshot account mismatch',
      ['--event', EVENT, '--snapshot', fx('snapshot-other-account.json')],
      /the event is from account 880896431042 but the snapshot is of account 111122223333/,
    ],
    ['no --snapshot', ['--event', EVENT], /evaluate needs --event <file> and --snapshot <file>/],
    [
      'bad --format',
      ['--event', EVENT, '--snapshot', PUBLIC, '--format', 'xml'],
      /--format must be json or table/,
    ],
    [
      'bad --now',
      ['--event', EVENT, '--snapshot', PUBLIC, '--now', 'yesterday'],
      /--now must be an ISO time/,
    ],
    [
      'a failed call (errorCode) as the event',
      [
        '--event',
        join(ROOT, 'test/fixtures/cloudtrail/panther-analysis__AttachRolePolicy__2.json'),
        '--snapshot',
        PUBLIC,
      ],
      /NoSuchEntity/,
    ],
  ];

  it.each(cases)('%s', async (_label, args, message) => {
    const r = await run('evaluate', ...args);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^guardrail: /);
    expect(r.err[0]).not.toMatch(/\n/);
    expect(r.err[0]).not.toMatch(/\bat .*\(.*:\d+:\d+\)|node_modules|\.ts:\d+/);
    expect(r.err[0]).toMatch(message);
  });

  it('function name mismatch between event and snapshot', async () => {
    const snap = JSON.parse(readFileSync(PUBLIC, 'utf8'));
    snap.responses.GetFunctionConfiguration.FunctionName = 'some-other-function';
    const r = await run(
      'evaluate',
      '--event',
      EVENT,
      '--snapshot',
      tmpFile('other-fn.json', JSON.stringify(snap)),
    );
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      'guardrail: the event names function stratus-red-team-backdoor-f-func but the snapshot is of some-other-function',
    ]);
  });

  it('unknown command', async () => {
    const r = await run('evalute');
    expect(r).toMatchObject({
      code: 2,
      err: ["guardrail: unknown command 'evalute' (try: guardrail --help)"],
    });
  });
});

describe('the real bin (what `npx guardrail` runs)', () => {
  const bin = (...args: string[]) =>
    spawnSync(process.execPath, [join(ROOT, 'bin', 'guardrail.mjs'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });

  it('node bin/guardrail.mjs evaluate ... --format json -> exit 1, JSON on stdout', () => {
    const p = bin('evaluate', '--event', EVENT, '--snapshot', PUBLIC, '--format', 'json', '--now', NOW);
    expect(p.error).toBeUndefined();
    expect(p.status).toBe(1);
    const doc = JSON.parse(p.stdout);
    expect(doc.findings.map((f: { ruleId: string }) => f.ruleId)).toEqual(['LAMBDA.POLICY.PUBLIC']);
    expect(p.stderr).not.toMatch(/guardrail:/);
  }, 60_000);

  it('bad input through the bin -> exit 2, one line on stderr, nothing on stdout', () => {
    const p = bin('evaluate', '--event', fx('not-cloudtrail.json'), '--snapshot', PUBLIC);
    expect(p.status).toBe(2);
    expect(p.stdout).toBe('');
    expect(p.stderr.trimEnd().split('\n')).toEqual([
      'guardrail: not a CloudTrail record: eventID: Invalid input: expected string, received undefined',
    ]);
  }, 60_000);
});
