import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidConfigError, parseConfig } from '../../functions/core/config.ts';
import { cdkJsonContext, createGuardrailApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/functions.ts';
import { synth } from './helpers.ts';

function configError(guardrail: unknown): Error {
  try {
    createGuardrailApp({ context: { guardrail, 'aws:cdk:bundling-stacks': [] }, nag: false });
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the app to reject the config');
}

describe('cdk.json', () => {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8'));

  it('runs bin/app.ts with tsx, offline (no notices, no CLI telemetry)', () => {
    expect(cdkJson.app).toBe('npx tsx bin/app.ts');
    expect(cdkJson.notices).toBe(false);
    expect(cdkJson.context['cli-telemetry']).toBe(false);
  });

  it('holds a valid guardrail config with every key written out', () => {
    const config = cdkJsonContext().guardrail;
    // Every key of the configuration (its defaults name them all), so cdk.json documents them all.
    expect(Object.keys(config as object).sort()).toEqual(Object.keys(parseConfig({})).sort());
    expect(parseConfig(config)).toEqual(config);
  });
});

describe('the guardrail context is validated', () => {
  it('an invalid mode fails with the readable InvalidConfigError message', () => {
    const err = configError({ mode: 'yolo' });
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toMatch(/^invalid guardrail config: mode: /);
    expect(err.message).not.toContain('\n');
  });

  it('unknown keys, rule ids and malformed values are rejected too', () => {
    expect(configError({ mdoe: 'auto' }).message).toMatch(/invalid guardrail config/);
    expect(configError({ rules: { 'NO.SUCH.RULE': { mode: 'auto' } } }).message).toMatch(/unknown rule id/);
    expect(configError({ homeRegion: 'Ireland' }).message).toMatch(/homeRegion/);
    expect(configError({ killSwitchParameter: 'no-slash' }).message).toMatch(/killSwitchParameter/);
    expect(configError({ excludedPrincipals: ['alice'] }).message).toMatch(/excludedPrincipals/);
  });

  it('`-c guardrail=<json>` (a string) is parsed; a broken string is a readable error', () => {
    const s = synth({ guardrail: JSON.stringify({ mode: 'report' }) });
    expect(s.config.mode).toBe('report');
    const err = configError('{mode: report');
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toBe('invalid guardrail config: context "guardrail" is not valid JSON');
  });

  it('a missing guardrail context means the defaults', () => {
    const { config } = createGuardrailApp({ context: { 'aws:cdk:bundling-stacks': [] }, nag: false });
    expect(config).toEqual(parseConfig({}));
  });
});

describe('bin/app.ts', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'guardrail-app-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('prints one line and exits 1 for an invalid config (no stack trace)', () => {
    // The CDK CLI hands context to the app in CDK_CONTEXT_JSON, as here.
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ guardrail: { mode: 'yolo' } }),
        CDK_OUTDIR: outdir,
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^invalid guardrail config: mode: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
