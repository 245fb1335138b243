/**
 * Approvals end to end against the emulator: the real ingest handler, the real ASL (run in-process by
 * scripts/local/runtime.ts), the real RequestApproval handler (approvals table in moto's DynamoDB, the
 * HMAC key in moto's Secrets Manager, mail through moto's SES v2 and the local outbox), and the real
 * approval endpoint handler served on a loopback port. Requests are made over HTTP, as a mail scanner
 * or an approver's browser would make them.
 *
 * Where the emulator differs from AWS: moto's SES accepts and stores mail but delivers nothing (the
 * outbox is what is read here), and the local runtime stands in for Step Functions' task tokens
 * (same error names: TaskTimedOut for a token whose task ended).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetFunctionUrlConfigCommand, GetPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getApproval } from '../../functions/aws/approvals-store.ts';
import { scanLedger } from '../../functions/aws/ledger.ts';
import { type ApprovalRecord, approvalUrl } from '../../functions/core/approval.ts';
import type { GuardrailConfig } from '../../functions/core/config.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { type EmulatorHandle, emulatorClientConfig, startEmulator } from '../../scripts/local/emulator.ts';
import { LocalGuardrail } from '../../scripts/local/runtime.ts';
import {
  lambdaEvent,
  PUBLIC_URL_PERMISSIONS,
  DEMO_REGION as REGION,
  seedFunction,
} from '../../scripts/local/seed.ts';

const APPROVERS = ['alice@example.com', 'bob@example.com'];
const BASE_CONFIG: Partial<GuardrailConfig> = {
  rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } },
  approvers: APPROVERS,
  approvalSender: 'guardrail@example.com',
};
const BACKDOOR = { StatementId: 'backdoor', Action: 'lambda:InvokeFunction', Principal: '*' };

let emu: EmulatorHandle;
let lambda: LambdaClient;
let outboxRoot: string;
const runtimes: LocalGuardrail[] = [];

beforeAll(async () => {
  emu = await startEmulator({ log: (s) => console.error(s) });
  lambda = new LambdaClient(emulatorClientConfig(emu.endpoint, REGION));
  outboxRoot = mkdtempSync(join(tmpdir(), 'guardrail-outbox-'));
}, 300_000);

afterAll(async () => {
  for (const g of runtimes) await g.close();
  logger.setLogLevel('INFO');
  lambda?.destroy();
  await emu?.stop();
  rmSync(outboxRoot, { recursive: true, force: true });
});

// ---- helpers --------------------------------------------------------------------------------------

async function guardrail(config: Partial<GuardrailConfig> = {}) {
  const g = new LocalGuardrail({
    endpoint: emu.endpoint,
    region: REGION,
    logLevel: 'SILENT',
    config: { ...BASE_CONFIG, ...config },
    approvals: { outboxDir: join(outboxRoot, randomUUID().slice(0, 8)) },
  });
  runtimes.push(g);
  await g.setup();
  return g;
}

const fnName = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;

/** A function with a public URL (a finding that needs approval) and, optionally, a backdoor (automatic). */
async function seedAndIngest(g: LocalGuardrail, prefix: string, backdoor = false) {
  const name = fnName(prefix);
  await seedFunction(emu.endpoint, {
    name,
    url: { authType: 'NONE' },
    permissions: [...PUBLIC_URL_PERMISSIONS, ...(backdoor ? [BACKDOOR] : [])],
  });
  const before = g.outbox!.messages.length;
  const r = await g.ingest(lambdaEvent('CreateFunctionUrlConfig', { functionName: name, authType: 'NONE' }));
  expect(r.status).toBe('started');
  const executionName = (r as { executionName: string }).executionName;
  expect(g.executions.get(executionName)?.status).toBe('WAITING');
  const mails = g.outbox!.messages.slice(before);
  expect(mails.map((m) => m.to)).toEqual(APPROVERS);
  const links = Object.fromEntries(mails.map((m) => [m.to, m.link!]));
  const approvalId = /\/approvals\/([0-9a-f]{32})\?/.exec(links[APPROVERS[0]])![1];
  return { name, executionName, links, approvalId };
}

const approval = (g: LocalGuardrail, id: string) =>
  getApproval(g.clients, REGION, g.deps.approvalsTable!, id) as Promise<ApprovalRecord>;

async function urlState(name: string) {
  const url = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: name }));
  let sids: string[] = [];
  try {
    const p = await lambda.send(new GetPolicyCommand({ FunctionName: name }));
    sids = (JSON.parse(p.Policy!) as { Statement: { Sid: string }[] }).Statement.map((s) => s.Sid).sort();
  } catch {
    // no policy left
  }
  return { authType: url.AuthType, sids };
}

async function page(link: string, init: RequestInit = {}) {
  const r = await fetch(link, { redirect: 'manual', ...init });
  return { status: r.status, headers: r.headers, html: await r.text() };
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

/** What a person does: open the link, press a button (a POST of the page's own form). */
async function decide(link: string, decision: 'approve' | 'reject', comment = '', csrf?: string) {
  const form = csrf ?? csrfOf((await page(link)).html);
  return page(link, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: new URL(link).origin,
      'sec-fetch-site': 'same-origin',
    },
    body: new URLSearchParams({ ...(form ? { csrf: form } : {}), decision, comment }).toString(),
  });
}

async function keyOf(g: LocalGuardrail): Promise<string> {
  const sm = new SecretsManagerClient(emulatorClientConfig(emu.endpoint, REGION));
  try {
    const r = await sm.send(new GetSecretValueCommand({ SecretId: g.deps.approvalKeySecret! }));
    return (JSON.parse(r.SecretString!) as { current: string }).current;
  } finally {
    sm.destroy();
  }
}

function expectSecurityHeaders(h: Headers) {
  expect(h.get('cache-control')).toBe('no-store');
  expect(h.get('referrer-policy')).toBe('no-referrer');
  expect(h.get('content-security-policy')).toMatch(
    /default-src 'none'.*form-action 'self'.*frame-ancestors 'none'/,
  );
}

// ---- flows ----------------------------------------------------------------------------------------

describe('approve, reject, time out: through the real handlers and the real ASL', () => {
  it('approve: the workflow resumes and applies the approved plan and the automatic one; all recorded', async () => {
    const g = await guardrail();
    const { name, executionName, links, approvalId } = await seedAndIngest(g, 'approve', true);
    // While it waits, nothing has been changed: not even the automatic finding.
    expect(await urlState(name)).toEqual({
      authType: 'NONE',
      sids: ['FunctionURLAllowPublicAccess', 'FunctionURLInvokeAllowPublicAccess', 'backdoor'],
    });
    const res = await decide(links['alice@example.com'], 'approve', 'fine, ticket SEC-42');
    expect(res.status).toBe(200);
    expectSecurityHeaders(res.headers);
    expect(res.html).toContain('<h1>Approved</h1>');

    const done = await g.completion(executionName)!;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.states).toEqual([
      'Collect',
      'Evaluate',
      'Route',
      'RequestApproval',
      'RemediateAfterDecision',
      'Remediated?',
      'Verify',
      'Record',
      'Succeeded?',
      'Done',
    ]);
    expect(await urlState(name)).toEqual({ authType: 'AWS_IAM', sids: [] });
    const record = (await g.ledgerRecord(executionName))!;
    expect(record.outcome).toBe('remediated');
    expect(record.approval).toMatchObject({
      decision: 'approved',
      approvalId,
      decidedBy: 'alice@example.com',
      comment: 'fine, ticket SEC-42',
    });
    expect(record.verification).toEqual({ verified: true, remaining: [] });
    expect(await approval(g, approvalId)).toMatchObject({
      status: 'APPROVED',
      decidedBy: 'alice@example.com',
    });
  });

  it('reject: recorded with who and why; the public URL stays, only the automatic finding is fixed', async () => {
    const g = await guardrail();
    const { name, executionName, links, approvalId } = await seedAndIngest(g, 'reject', true);
    const res = await decide(links['bob@example.com'], 'reject', 'needed for the launch on Friday');
    expect(res.status).toBe(200);
    expect(res.html).toContain('<h1>Rejected</h1>');
    const done = await g.completion(executionName)!;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.states).toContain('ApprovalRejected');
    expect(await urlState(name)).toEqual({
      authType: 'NONE',
      sids: ['FunctionURLAllowPublicAccess', 'FunctionURLInvokeAllowPublicAccess'],
    });
    const record = (await g.ledgerRecord(executionName))!;
    expect(record.outcome).toBe('rejected');
    expect(record.approval).toMatchObject({
      decision: 'rejected',
      approvalId,
      decidedBy: 'bob@example.com',
      comment: 'needed for the launch on Friday',
    });
    expect(record.remediation?.steps.map((s) => [s.ruleId, s.operation])).toEqual([
      ['LAMBDA.POLICY.PUBLIC', 'RemovePermission'],
    ]);
    expect((await approval(g, approvalId)).status).toBe('REJECTED');
  });

  it('timeout: nothing changed, recorded as expired, approvers told; the link then says so (410)', async () => {
    const g = await guardrail({ approvalTimeoutHours: 2 / 3600 });
    const { name, executionName, links, approvalId } = await seedAndIngest(g, 'timeout');
    const done = await g.completion(executionName)!;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.states).toContain('ApprovalExpired');
    expect(await urlState(name)).toEqual({
      authType: 'NONE',
      sids: ['FunctionURLAllowPublicAccess', 'FunctionURLInvokeAllowPublicAccess'],
    });
    const record = (await g.ledgerRecord(executionName))!;
    expect(record.outcome).toBe('expired');
    expect(record.approval).toMatchObject({ decision: 'expired', approvalId, notified: 2 });
    expect(record.remediation).toEqual({ status: 'nothing-to-do', steps: [] });
    expect((await approval(g, approvalId)).status).toBe('EXPIRED');
    const notices = g.outbox!.messages.filter((m) => /Approval expired/.test(m.subject));
    expect(notices.map((m) => m.to)).toEqual(APPROVERS);
    // The outbox folder holds every email, as text and HTML.
    const files = readdirSync(g.outbox!.dir);
    expect(files.filter((f) => f.endsWith('.txt'))).toHaveLength(4);
    expect(readFileSync(join(g.outbox!.dir, files.find((f) => f.endsWith('.txt'))!), 'utf8')).toMatch(
      /^From: guardrail@example.com\nTo: /,
    );
    // A late click: 410 whether the link itself has expired or only the workflow's wait.
    const late = await page(links['alice@example.com']);
    expect(late.status).toBe(410);
    const latePost = await decide(links['alice@example.com'], 'approve', '', 'whatever');
    expect(latePost.status).toBe(410);
    expect((await approval(g, approvalId)).status).toBe('EXPIRED');
  });
});

// ---- scanners and attackers -------------------------------------------------------------------------

describe('nothing but a real decision decides', () => {
  let g: LocalGuardrail;
  let target: Awaited<ReturnType<typeof seedAndIngest>>;
  let key: string;

  beforeAll(async () => {
    g = await guardrail();
    target = await seedAndIngest(g, 'scanned');
    key = await keyOf(g);
  });

  async function expectUndecided() {
    expect((await approval(g, target.approvalId)).status).toBe('PENDING');
    expect(g.executions.get(target.executionName)?.status).toBe('WAITING');
    expect(g.waitingExecutions()).toContain(target.executionName);
  }

  it('a mail scanner that only GETs (repeatedly, like Safe Links) decides nothing', async () => {
    for (const ua of ['Mozilla/5.0 (compatible; Microsoft Safe Links)', 'Proofpoint URL Defense', 'curl/8']) {
      const r = await page(target.links['alice@example.com'], { headers: { 'user-agent': ua } });
      expect(r.status).toBe(200);
      expectSecurityHeaders(r.headers);
      expect(r.html).toContain('Approve: apply this plan');
    }
    await expectUndecided();
  });

  it('a HEAD-only visit, and OPTIONS, decide nothing', async () => {
    const head = await fetch(target.links['bob@example.com'], { method: 'HEAD' });
    expect(head.status).toBe(200);
    expectSecurityHeaders(head.headers);
    expect(await head.text()).toBe('');
    const options = await fetch(target.links['bob@example.com'], { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
    expectSecurityHeaders(options.headers);
    await expectUndecided();
  });

  const link = () => target.links['alice@example.com'];
  const sign = (over: { expires?: number; approver?: string; approvalId?: string }) => {
    const u = new URL(link());
    return approvalUrl(u.origin, key, {
      approvalId: over.approvalId ?? target.approvalId,
      expires: over.expires ?? Number(u.searchParams.get('e')),
      approver: over.approver ?? 'alice@example.com',
    });
  };

  it.each([
    ['a forged signature', () => link().replace(/s=[^&]+/, `s=${'A'.repeat(43)}`), 403],
    ['a tampered expiry', () => link().replace(/e=(\d+)/, (_m, e) => `e=${Number(e) + 86_400}`), 403],
    [
      'an approver who is not on the list (validly signed)',
      () => sign({ approver: 'mallory@example.com' }),
      403,
    ],
    [
      "another approver's address on alice's signature",
      () => link().replace('a=alice%40example.com', 'a=bob%40example.com'),
      403,
    ],
    ['an expired link (validly signed)', () => sign({ expires: Math.floor(Date.now() / 1000) - 60 }), 410],
    ['a malformed id', () => link().replace(/approvals\/[0-9a-f]{32}/, 'approvals/not-an-id'), 400],
    ['an unknown id (validly signed)', () => sign({ approvalId: 'f'.repeat(32) }), 404],
    ['no signature at all', () => link().replace(/&s=[^&]+/, ''), 400],
  ])('%s: GET and POST are refused with a clear page, nothing decided', async (_label, make, status) => {
    const bad = make();
    const get = await page(bad);
    expect(get.status).toBe(status);
    expectSecurityHeaders(get.headers);
    expect(get.html).toMatch(/<h1>[^<]+<\/h1>/);
    expect(get.html).not.toContain('name="csrf"');
    const post = await decide(bad, 'approve', '', csrfOf((await page(link())).html));
    expect(post.status).toBe(status);
    await expectUndecided();
  });

  it('a POST without the CSRF token, or from another site, is refused; nothing decided', async () => {
    const noCsrf = await page(link(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'decision=approve',
    });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.html).toMatch(/could not be verified/);
    const csrf = csrfOf((await page(link())).html)!;
    const crossSite = await page(link(), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example.com',
        'sec-fetch-site': 'cross-site',
      },
      body: new URLSearchParams({ csrf, decision: 'approve' }).toString(),
    });
    expect(crossSite.status).toBe(403);
    // Bob's page token does not work on Alice's link.
    const bobs = csrfOf((await page(target.links['bob@example.com'])).html)!;
    expect((await decide(link(), 'approve', '', bobs)).status).toBe(403);
    await expectUndecided();
  });

  it('then a real decision wins once; replaying it, or deciding with the other link, is 409', async () => {
    const csrf = csrfOf((await page(link())).html)!;
    expect((await decide(link(), 'reject', 'not now', csrf)).status).toBe(200);
    const replay = await decide(link(), 'approve', '', csrf);
    expect(replay.status).toBe(409);
    expect(replay.html).toContain('Rejected by alice@example.com');
    expect((await decide(target.links['bob@example.com'], 'approve')).status).toBe(409);
    expect((await page(target.links['bob@example.com'])).status).toBe(409);
    const done = await g.completion(target.executionName)!;
    expect(done.status).toBe('SUCCEEDED');
    expect((await g.ledgerRecord(target.executionName))?.outcome).toBe('rejected');
  });
});

// ---- secrecy -------------------------------------------------------------------------------------

describe('the task token and the link signature stay secret', () => {
  it('neither appears in logs, the ledger, the pages or (the token) the emails', async () => {
    const out: string[] = [];
    const capture = (s: unknown) => {
      out.push(String(s));
      return true;
    };
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const g = new LocalGuardrail({
      endpoint: emu.endpoint,
      region: REGION,
      logLevel: 'DEBUG',
      config: BASE_CONFIG,
      approvals: { outboxDir: join(outboxRoot, 'secrecy') },
    });
    runtimes.push(g);
    const pages: string[] = [];
    let t: Awaited<ReturnType<typeof seedAndIngest>>;
    try {
      await g.setup();
      t = await seedAndIngest(g, 'secrecy', true);
      for (const l of Object.values(t.links)) pages.push((await page(l)).html);
      pages.push((await page(t.links['alice@example.com'].replace(/s=[^&]+/, `s=${'B'.repeat(43)}`))).html);
      const decided = await decide(t.links['alice@example.com'], 'approve', 'ok');
      pages.push(decided.html);
      pages.push((await decide(t.links['alice@example.com'], 'approve')).html);
      await g.completion(t.executionName);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      logger.setLogLevel('SILENT');
    }
    const logs = out.join('');
    expect(logs).toContain('approval requested'); // the handlers did log, at DEBUG
    expect(logs).toContain('approval decided');
    const token = (await approval(g, t!.approvalId)).taskToken;
    expect(token.length).toBeGreaterThan(100);
    const signatures = Object.values(t!.links).map((l) => new URL(l).searchParams.get('s')!);
    const ledger = JSON.stringify(await scanLedger(g.clients, REGION, g.deps.ledgerTable!));
    const record = (await g.ledgerRecord(t!.executionName)) as LedgerRecord;
    expect(record.outcome).toBe('remediated');
    const emails = g.outbox!.messages.map((m) => `${m.subject}${m.text}${m.html}`).join('');
    for (const secret of [token, ...signatures]) {
      expect(logs).not.toContain(secret);
      expect(ledger).not.toContain(secret);
      for (const html of pages) expect(html).not.toContain(secret);
    }
    expect(emails).not.toContain(token);
    const execution = JSON.stringify(g.executions.get(t!.executionName)?.output ?? {});
    expect(execution).not.toContain(token);
  });
});
