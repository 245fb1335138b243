import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import {
  bundlingOptions,
  CREDENTIAL_CHAIN_PACKAGE,
  HANDLER_NAMES,
  handlerEntry,
  LAMBDA_CREDENTIALS_MODULE,
} from '../../lib/functions.ts';
import { startEmulator } from '../local/emulator.ts';
import { LocalGuardrail } from '../local/runtime.ts';
import { DEMO_REGION, lambdaEvent, PUBLIC_URL_PERMISSIONS, seedFunction } from '../local/seed.ts';
import { benchIam } from './iam.ts';
import { benchOrgScan } from './org-scan.ts';
import { benchScan } from './scan.ts';
import { benchSecrets } from './secrets.ts';

/**
 * `npm run bench`: prints numbers, asserts nothing (targets live in the closing notes, not in tests).
 * 1. Per deployed function: minified bundle size and cold import time (median of 15 fresh processes).
 * 2. Per event, compliant and remediation paths: AWS API calls, state transitions, Lambda invocations.
 */

const HANDLERS = HANDLER_NAMES;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function bundles() {
  const dir = mkdtempSync(join(tmpdir(), 'guardrail-bench-'));
  const rows: { handler: string; kb: number; importMs: number }[] = [];
  try {
    for (const h of HANDLERS) {
      const outfile = join(dir, `${h}.mjs`);
      // The deployed functions' settings (lib/functions.ts): minified ESM, module-first resolution,
      // AWS SDK v3 bundled, env-only credentials.
      const opts = bundlingOptions();
      await build({
        entryPoints: [handlerEntry(h)],
        bundle: true,
        minify: opts.minify,
        platform: 'node',
        target: opts.target,
        format: 'esm',
        mainFields: opts.mainFields,
        outfile,
        banner: { js: opts.banner ?? '' },
        alias: { [CREDENTIAL_CHAIN_PACKAGE]: LAMBDA_CREDENTIALS_MODULE },
        logLevel: 'silent',
      });
      const times: number[] = [];
      for (let i = 0; i < 15; i++) {
        const out = execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const t=performance.now();await import(${JSON.stringify(outfile)});console.log(performance.now()-t)`,
          ],
          {
            env: { ...process.env, AWS_REGION: 'us-east-1', GUARDRAIL_CONFIG: '{}' },
            stdio: ['ignore', 'pipe', 'ignore'],
          },
        );
        times.push(Number(out.toString().trim()));
      }
      rows.push({ handler: h, kb: statSync(outfile).size / 1024, importMs: median(times) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\n## Bundles (minified, SDK bundled; cold import = median of 15 fresh node processes)');
  console.log('handler     size KB   cold import ms   (targets: < 300 KB, < 150 ms)');
  for (const r of rows) {
    console.log(
      `${r.handler.padEnd(10)} ${r.kb.toFixed(1).padStart(8)}   ${r.importMs.toFixed(1).padStart(14)}`,
    );
  }
}

async function perEvent() {
  const emulator = await startEmulator();
  try {
    const g = new LocalGuardrail({ endpoint: emulator.endpoint, region: DEMO_REGION, logLevel: 'SILENT' });
    await g.setup();
    await seedFunction(emulator.endpoint, { name: 'bench-compliant', url: { authType: 'AWS_IAM' } });
    await seedFunction(emulator.endpoint, {
      name: 'bench-public',
      url: { authType: 'NONE', cors: { AllowOrigins: ['https://example.com'] } },
      permissions: [
        ...PUBLIC_URL_PERMISSIONS,
        { StatementId: 'open', Action: 'lambda:InvokeFunction', Principal: '*' },
      ],
    });
    console.log('\n## Per event (local runtime: real ingest, real ASL, real handlers, emulator)');
    console.log('path          API calls   state transitions   Lambda invocations');
    for (const [label, fn] of [
      ['compliant', 'bench-compliant'],
      ['remediation', 'bench-public'],
    ] as const) {
      g.clients.calls.clear();
      const r = await g.ingest(
        lambdaEvent('CreateFunctionUrlConfig', { functionName: fn, authType: 'NONE' }),
      );
      const exec = g.executions.get((r as { executionName: string }).executionName)!;
      const calls = [...g.clients.calls.entries()];
      const total = calls.reduce((n, [, c]) => n + c, 0);
      const detail = calls.map(([k, c]) => `${k.split(':')[1]}x${c}`).join(' ');
      console.log(
        `${label.padEnd(12)} ${String(total).padStart(10)} ${String(exec.transitions).padStart(19)} ${String(exec.lambdaInvocations).padStart(20)}`,
      );
      console.log(`             calls: ${detail}`);
      console.log(`             states: ${exec.states.join(' > ')}`);
    }
  } finally {
    await emulator.stop();
  }
}

await bundles();
await perEvent();
await benchSecrets();
await benchIam();
if (!process.argv.includes('--no-scan')) await benchScan();
if (!process.argv.includes('--no-scan')) await benchOrgScan();
