import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../functions/core/config.ts';
import { lambdaRuntimeDeprecated } from '../../functions/core/rules/lambda-runtime-deprecated.ts';
import {
  RUNTIME_DEPRECATIONS,
  RUNTIME_DEPRECATIONS_SOURCE,
  runtimeDeprecation,
} from '../../functions/core/rules/runtime-deprecations.ts';
import { functionSnapshot } from './helpers.ts';

/** The day the table was looked up: what it says about "today" is checked against that day. */
const LOOKED_UP = `${RUNTIME_DEPRECATIONS_SOURCE.lookedUp}T00:00:00Z`;

function evaluateRuntime(runtime: string, now = LOOKED_UP) {
  const s = functionSnapshot();
  Object.assign(s.responses['GetFunctionConfiguration'] as object, { Runtime: runtime });
  return lambdaRuntimeDeprecated.evaluate(s, { now, config: DEFAULT_CONFIG });
}

describe('runtime deprecation table', () => {
  it('lists every managed runtime family of the AWS tables, supported and deprecated', () => {
    const ids = RUNTIME_DEPRECATIONS.map((r) => r.runtime);
    for (const id of [
      'python3.14',
      'python3.13',
      'python3.12',
      'python3.11',
      'python3.10',
      'python3.9',
      'python3.8',
      'python3.7',
      'nodejs24.x',
      'nodejs22.x',
      'nodejs20.x',
      'nodejs18.x',
      'nodejs16.x',
      'nodejs14.x',
      'java21',
      'java17',
      'java11',
      'java8.al2',
      'java8',
      'dotnet10',
      'dotnet8',
      'dotnet6',
      'ruby3.4',
      'ruby3.3',
      'ruby3.2',
      'provided.al2023',
      'provided.al2',
      'go1.x',
    ]) {
      expect(ids, id).toContain(id);
    }
  });

  it('gives every deprecated runtime a block-update date (AWS publishes one for each)', () => {
    const deprecated = RUNTIME_DEPRECATIONS.filter(
      (r) => r.deprecation <= RUNTIME_DEPRECATIONS_SOURCE.lookedUp,
    );
    expect(deprecated.length).toBeGreaterThanOrEqual(14);
    for (const r of deprecated) expect(r.blockUpdate, r.runtime).not.toBeNull();
  });

  it('only suggests moving to runtimes that were not deprecated when the table was looked up', () => {
    for (const r of RUNTIME_DEPRECATIONS) {
      const named = [
        ...r.upgradeTo.matchAll(
          /\b(nodejs\d+\.x|python3\.\d+|java\d+(?:\.al2)?|dotnet\d+|ruby\d\.\d|provided\.al2023)\b/g,
        ),
      ].map((m) => m[1]);
      for (const target of named) {
        const entry = runtimeDeprecation(target);
        if (entry)
          expect(entry.deprecation > RUNTIME_DEPRECATIONS_SOURCE.lookedUp, `${r.runtime} -> ${target}`).toBe(
            true,
          );
        expect(target, r.runtime).not.toBe(r.runtime);
      }
    }
  });

  it('python3.10 to 3.12: 3.12 is compliant, 3.11 warns inside the window, 3.10 is deprecated', () => {
    expect(evaluateRuntime('python3.12').status).toBe('COMPLIANT');
    expect(evaluateRuntime('python3.11').status).toBe('COMPLIANT');
    const warn = evaluateRuntime('python3.11', '2027-05-01T00:00:00Z');
    expect(warn.status === 'NON_COMPLIANT' && warn.findings[0].severity).toBe('LOW');
    const r = evaluateRuntime('python3.10');
    expect(r.status).toBe('NON_COMPLIANT');
    if (r.status !== 'NON_COMPLIANT') return;
    expect(r.findings[0]).toMatchObject({
      severity: 'MEDIUM',
      evidence: { runtime: 'python3.10', deprecation: '2026-10-31', blockCreate: '2027-07-29' },
    });
    expect(r.findings[0].summary).toContain('move it to python3.13 or python3.14');
  });

  it('old runtimes whose updates are blocked are HIGH (python3.7, nodejs14.x after 2027-08-31; nodejs12.x now)', () => {
    for (const rt of ['nodejs12.x']) {
      const r = evaluateRuntime(rt);
      expect(r.status === 'NON_COMPLIANT' && r.findings[0].severity, rt).toBe('HIGH');
    }
    for (const rt of ['python3.7', 'nodejs14.x', 'go1.x']) {
      const now = evaluateRuntime(rt);
      // Creation blocked long ago, updates still allowed on the day the table was read.
      expect(now.status === 'NON_COMPLIANT' && now.findings[0].severity, rt).toBe('MEDIUM');
      const later = evaluateRuntime(rt, '2027-09-01T00:00:00Z');
      expect(later.status === 'NON_COMPLIANT' && later.findings[0].severity, rt).toBe('HIGH');
    }
  });

  it('records the source on every finding, with the per-entry note where there is one', () => {
    const r = evaluateRuntime('dotnet8');
    expect(r.status).toBe('NON_COMPLIANT');
    if (r.status !== 'NON_COMPLIANT') return;
    expect(r.findings[0].evidence['source']).toMatchObject({
      url: RUNTIME_DEPRECATIONS_SOURCE.url,
      lookedUp: RUNTIME_DEPRECATIONS_SOURCE.lookedUp,
      note: expect.stringContaining('October 2026'),
    });
  });
});
