/**
 * The scan's single-file HTML report, opened in a real browser (Debian's chromium, driven by
 * playwright-core) from disk, with JavaScript disabled: everything is there without a script, nothing
 * is fetched, the numbers match the JSON report of the same scan, and no secret value shows.
 *
 * Needs /usr/bin/chromium: `npm test` installs it when missing (scripts/ensure-test-tools.sh). A
 * missing browser fails the test; it is never skipped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { scanAccount } from '../../functions/aws/scan.ts';
import { renderHtml } from '../../functions/core/report/html.ts';
import type { ScanReport } from '../../functions/core/report/model.ts';
import { SEVERITY_ORDER } from '../../functions/core/types.ts';
import { type EmulatorHandle, startEmulator } from '../../scripts/local/emulator.ts';
import { DEMO_REGION as REGION } from '../../scripts/local/seed.ts';
import { type MixedAccount, seedMixedAccount } from '../../scripts/local/seed-account.ts';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../support/chromium.ts';

requireChromium();

describe('the HTML scan report in a real browser (chromium)', () => {
  let emu: EmulatorHandle;
  let acct: MixedAccount;
  let report: ScanReport;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const requests: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    emu = await startEmulator({ log: (s) => console.error(s) });
    acct = await seedMixedAccount(emu.endpoint, { prefix: 'html', fillers: 2 });
    report = await scanAccount({
      clients: createClients({
        endpoint: emu.endpoint,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      }),
      regions: [REGION],
      now: () => new Date().toISOString(),
    });
    dir = mkdtempSync(join(tmpdir(), 'guardrail-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ javaScriptEnabled: false });
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(pathToFileURL(file).href);
    if (process.env.GUARDRAIL_SCREENSHOT)
      await page.screenshot({ path: process.env.GUARDRAIL_SCREENSHOT, fullPage: true });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await emu?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads nothing but itself, runs no script, and the browser reports no error', async () => {
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatch(/^file:\/\/.*report\.html$/);
    expect(await page.locator('script, link, img, iframe').count()).toBe(0);
    expect(consoleErrors).toEqual([]);
    expect(await page.title()).toBe(`Lambda Guardrail scan: account ${report.account}`);
  });

  it('the summary shows the same numbers as the report', async () => {
    const n = async (id: string) => Number(await page.locator(`#${id} .n`).textContent());
    expect(await n('card-resources')).toBe(report.summary.resources);
    expect(await n('card-non-compliant')).toBe(report.summary.byStatus['non-compliant']);
    expect(await n('card-exempt')).toBe(report.summary.byStatus.exempt);
    expect(await n('card-findings')).toBe(report.summary.liveFindings);
    expect(await n('card-steps')).toBe(report.summary.plannedSteps);
    for (const sev of SEVERITY_ORDER) {
      const cell = page.locator(`#by-severity tr[data-severity="${sev}"] td.num`);
      expect(Number(await cell.textContent()), sev).toBe(report.summary.bySeverity[sev]);
    }
    for (const rule of report.rules) {
      const cells = await page.locator(`#by-rule tr[data-rule="${rule.id}"] td.num`).allTextContents();
      const b = report.summary.byRule[rule.id];
      expect(cells.map(Number), rule.id).toEqual([b.findings, b.exempt, b.resources]);
    }
  });

  it('every resource with findings is shown, open, with each finding and its planned calls', async () => {
    const withFindings = report.resources.filter((r) => r.findings.length);
    expect(withFindings.length).toBeGreaterThan(2);
    for (const r of withFindings) {
      const section = page.locator(`details.resource[data-arn="${r.arn}"]`);
      await expect.poll(() => section.isVisible()).toBe(true);
      expect(await section.getAttribute('open')).not.toBeNull();
      for (const f of r.findings) {
        const article = section.locator(`article.finding[data-key="${f.key}"]`);
        expect(await article.isVisible(), f.key).toBe(true);
        expect(await article.locator('.summary').textContent()).toBe(f.summary);
        expect(await article.locator('ol.plan > li').count()).toBe(f.plan.steps.length);
        for (const s of f.plan.steps)
          expect(await article.textContent()).toContain(`${s.service}:${s.operation}`);
      }
    }
    const exempt = page.locator(`details.resource[data-arn$=":function:${acct.prefix}-exempt"]`);
    expect(await exempt.locator('.badge.exempt').count()).toBeGreaterThan(0);
    expect(await exempt.textContent()).toContain('webhook verifies signatures itself SEC-42');
  });

  it('the compliant resources are listed, and the page text holds no secret value', async () => {
    expect(await page.locator('#compliant h2').textContent()).toBe(
      `Compliant (${report.summary.byStatus.compliant})`,
    );
    const text = await page.locator('body').textContent();
    expect(text?.includes(acct.secretValue)).toBe(false);
    expect(await page.content()).not.toContain(acct.secretValue);
  });
});
