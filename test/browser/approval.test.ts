/**
 * A real browser (Debian's chromium, driven by playwright-core) opens an approval link served on a
 * loopback port by the real approval endpoint handler, sees the plan, and clicks Approve; the local
 * workflow (the real ASL, against the emulator) then resumes and remediates. Before that, a browser
 * visit that loads the page with scripts enabled (what a link-scanning sandbox does) decides nothing.
 *
 * Needs /usr/bin/chromium: `npm test` installs Debian's package first when it is missing
 * (scripts/ensure-test-tools.sh). A missing browser fails the test; it is never skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetFunctionUrlConfigCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getApproval } from '../../functions/aws/approvals-store.ts';
import { type EmulatorHandle, emulatorClientConfig, startEmulator } from '../../scripts/local/emulator.ts';
import { LocalGuardrail } from '../../scripts/local/runtime.ts';
import {
  lambdaEvent,
  PUBLIC_URL_PERMISSIONS,
  DEMO_REGION as REGION,
  seedFunction,
} from '../../scripts/local/seed.ts';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../support/chromium.ts';

requireChromium();

describe('approving in a real browser (chromium)', () => {
  let emu: EmulatorHandle;
  let g: LocalGuardrail;
  let context: BrowserContext;
  let profile: string;
  let link: string;
  let executionName: string;
  let approvalId: string;
  const fn = `browser-${Date.now().toString(36)}`;

  beforeAll(async () => {
    emu = await startEmulator({ log: (s) => console.error(s) });
    profile = mkdtempSync(join(tmpdir(), 'guardrail-chromium-'));
    g = new LocalGuardrail({
      endpoint: emu.endpoint,
      region: REGION,
      logLevel: 'SILENT',
      config: {
        rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } },
        approvers: ['alice@example.com'],
        approvalSender: 'guardrail@example.com',
      },
      approvals: { outboxDir: join(profile, 'outbox') },
    });
    await g.setup();
    await seedFunction(emu.endpoint, {
      name: fn,
      url: { authType: 'NONE' },
      permissions: PUBLIC_URL_PERMISSIONS,
    });
    const r = await g.ingest(lambdaEvent('CreateFunctionUrlConfig', { functionName: fn, authType: 'NONE' }));
    executionName = (r as { executionName: string }).executionName;
    link = g.outbox!.messages[0].link!;
    approvalId = /approvals\/([0-9a-f]{32})/.exec(link)![1];
    context = await chromium.launchPersistentContext(join(profile, 'user-data'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await g?.close();
    await emu?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const status = async () =>
    (await getApproval(g.clients, REGION, g.deps.approvalsTable!, approvalId))?.status;

  it('a visit that loads the page (scripts enabled, as scanners do) decides nothing', async () => {
    const page = await context.newPage();
    const response = await page.goto(link);
    expect(response?.status()).toBe(200);
    const headers = response!.headers();
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    // The page has no script at all, so nothing runs on load.
    expect(await page.locator('script').count()).toBe(0);
    await page.waitForTimeout(500);
    expect(await status()).toBe('PENDING');
    expect(g.executions.get(executionName)?.status).toBe('WAITING');
    await page.close();
  });

  it('shows the plan; clicking Approve resumes the workflow, which remediates', async () => {
    const page = await context.newPage();
    await page.goto(link);
    await expect.poll(() => page.title()).toMatch(/^Approve or reject: LAMBDA\.URL\.PUBLIC on /);
    const text = await page.locator('body').textContent();
    expect(text).toContain('You are deciding as alice@example.com');
    expect(text).toContain('lambda:UpdateFunctionUrlConfig');
    expect(text).toContain('lambda:RemovePermission');
    expect(text).toContain('"AuthType": "AWS_IAM"');
    expect(text).toContain('What changes');
    await page.locator('#comment').fill('approved in the browser test');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: /^Approve/ }).click()]);
    expect(await page.locator('h1').textContent()).toBe('Approved');
    expect(await page.locator('body').textContent()).toContain('approved in the browser test');

    const done = await g.completion(executionName)!;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.states).toContain('RemediateAfterDecision');
    const record = await g.ledgerRecord(executionName);
    expect(record?.outcome).toBe('remediated');
    expect(record?.approval).toMatchObject({ decision: 'approved', decidedBy: 'alice@example.com' });
    const lambda = new LambdaClient(emulatorClientConfig(emu.endpoint, REGION));
    try {
      expect((await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: fn }))).AuthType).toBe(
        'AWS_IAM',
      );
    } finally {
      lambda.destroy();
    }

    // Back and submit again (a replay): the page says it was already decided.
    await page.goto(link);
    expect(await page.locator('h1').textContent()).toBe('Already decided');
    await page.close();
  });
});
