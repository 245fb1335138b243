import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../../functions/core/config.ts';
import { actionable, evaluate } from '../../functions/core/evaluate.ts';
import {
  EXEMPT_REASON_TAG,
  EXEMPT_TAG,
  EXEMPT_UNTIL_TAG,
  exemptionFor,
  resolveMode,
} from '../../functions/core/mode.ts';
import { lambdaPolicyPublic } from '../../functions/core/rules/lambda-policy-public.ts';
import { lambdaUrlPublic } from '../../functions/core/rules/lambda-url-public.ts';
import type { Mode, Rule } from '../../functions/core/types.ts';
import { functionSnapshot, NOW, publicInvokeStatement, publicUrlPair } from './helpers.ts';

const RULES_UNDER_TEST = [lambdaUrlPublic, lambdaPolicyPublic];
const withDefault = (mode: Mode): Rule => ({ ...lambdaUrlPublic, defaultMode: mode });

describe('resolveMode', () => {
  it('uses the rule default', () => {
    expect(resolveMode(lambdaUrlPublic, DEFAULT_CONFIG, false)).toEqual({
      mode: 'auto',
      reason: 'rule default auto',
    });
    expect(resolveMode(withDefault('approve'), DEFAULT_CONFIG, false).mode).toBe('approve');
  });

  it('applies a per-rule override, down or up to the global mode', () => {
    const down = parseConfig({ rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } } });
    expect(resolveMode(lambdaUrlPublic, down, false)).toEqual({
      mode: 'approve',
      reason: 'config sets LAMBDA.URL.PUBLIC to approve',
    });
    const up = parseConfig({ rules: { 'LAMBDA.URL.PUBLIC': { mode: 'auto' } } });
    expect(resolveMode(withDefault('report'), up, false).mode).toBe('auto');
    // An override for another rule changes nothing here.
    expect(resolveMode(lambdaPolicyPublic, down, false).mode).toBe('auto');
  });

  it('caps every rule at the global mode', () => {
    const approveAll = parseConfig({ mode: 'approve' });
    expect(resolveMode(lambdaUrlPublic, approveAll, false)).toEqual({
      mode: 'approve',
      reason: 'rule default auto, capped by global mode approve',
    });
    const reportAll = parseConfig({ mode: 'report', rules: { 'LAMBDA.URL.PUBLIC': { mode: 'auto' } } });
    const r = resolveMode(lambdaUrlPublic, reportAll, false);
    expect(r.mode).toBe('report');
    expect(r.reason).toMatch(/config sets LAMBDA.URL.PUBLIC to auto, capped by global mode report/);
    // A rule already below the ceiling is not raised.
    expect(resolveMode(withDefault('report'), parseConfig({ mode: 'approve' }), false).mode).toBe('report');
  });

  it.each<Mode>(['auto', 'approve'])('kill switch downgrades %s to report and says so', (mode) => {
    const r = resolveMode(withDefault(mode), DEFAULT_CONFIG, true);
    expect(r.mode).toBe('report');
    expect(r.reason).toMatch(/kill switch/);
  });

  it('kill switch leaves report as it is, without claiming a downgrade', () => {
    expect(resolveMode(withDefault('report'), DEFAULT_CONFIG, true)).toEqual({
      mode: 'report',
      reason: 'rule default report',
    });
  });
});

describe('exemptionFor', () => {
  const ID = 'LAMBDA.URL.PUBLIC';
  const tags = (until: string | undefined, extra: Record<string, string> = {}) => ({
    [EXEMPT_TAG]: `${ID}, LAMBDA.POLICY.PUBLIC`,
    [EXEMPT_REASON_TAG]: 'public webhook, HMAC-verified (SEC-123)',
    ...(until === undefined ? {} : { [EXEMPT_UNTIL_TAG]: until }),
    ...extra,
  });

  it('is active until the expiry', () => {
    expect(exemptionFor(ID, tags('2025-12-31'), NOW)).toEqual({
      status: 'active',
      ruleIds: [ID, 'LAMBDA.POLICY.PUBLIC'],
      reason: 'public webhook, HMAC-verified (SEC-123)',
      until: '2025-12-31',
    });
  });

  it('a date-only expiry lasts through the end of that day (UTC)', () => {
    expect(exemptionFor(ID, tags('2025-06-15'), '2025-06-15T23:59:59.000Z')?.status).toBe('active');
    expect(exemptionFor(ID, tags('2025-06-15'), '2025-06-16T00:00:00.000Z')?.status).toBe('expired');
  });

  it('an expired date-only exemption is ignored and says when it expired', () => {
    const e = exemptionFor(ID, tags('2025-06-14'), NOW);
    expect(e?.status).toBe('expired');
    expect(e?.note).toMatch(/expired on 2025-06-14/);
  });

  it('a datetime expiry is exact', () => {
    expect(exemptionFor(ID, tags('2025-06-15T12:00:01Z'), NOW)?.status).toBe('active');
    const e = exemptionFor(ID, tags('2025-06-15T11:59:59Z'), NOW);
    expect(e?.status).toBe('expired');
    expect(e?.note).toMatch(/expired/);
    expect(exemptionFor(ID, tags('2025-06-15T13:00:00+02:00'), NOW)?.status).toBe('expired');
  });

  it('is invalid without a reason', () => {
    const { [EXEMPT_REASON_TAG]: _r, ...noReason } = tags('2025-12-31');
    const e = exemptionFor(ID, noReason, NOW);
    expect(e?.status).toBe('invalid');
    expect(e?.note).toContain(EXEMPT_REASON_TAG);
    expect(exemptionFor(ID, tags('2025-12-31', { [EXEMPT_REASON_TAG]: '   ' }), NOW)?.status).toBe('invalid');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not a date', 'next quarter'],
    ['US format', '12/31/2025'],
    ['an impossible month', '2025-13-01'],
  ])('is invalid with a %s expiry', (_label, until) => {
    const e = exemptionFor(ID, tags(until), NOW);
    expect(e?.status).toBe('invalid');
    expect(e?.note).toContain(EXEMPT_UNTIL_TAG);
  });

  it('does not apply to a rule id that is not listed', () => {
    expect(exemptionFor('LAMBDA.ROLE.WILDCARD', tags('2025-12-31'), NOW)).toBeUndefined();
    expect(
      exemptionFor(ID, { ...tags('2025-12-31'), [EXEMPT_TAG]: 'LAMBDA.URL.PUBLIC.EXTRA' }, NOW),
    ).toBeUndefined();
    expect(exemptionFor(ID, {}, NOW)).toBeUndefined();
  });

  it('reads tag keys case-insensitively and trims list items', () => {
    const e = exemptionFor(
      ID,
      {
        'Guardrail:Exempt': ' LAMBDA.POLICY.PUBLIC ,LAMBDA.URL.PUBLIC ',
        'GUARDRAIL:EXEMPT-REASON': 'marketing site',
        'guardrail:Exempt-Until': '2025-07-01',
      },
      NOW,
    );
    expect(e).toEqual({
      status: 'active',
      ruleIds: ['LAMBDA.POLICY.PUBLIC', 'LAMBDA.URL.PUBLIC'],
      reason: 'marketing site',
      until: '2025-07-01',
    });
  });
});

describe('evaluate() with modes and exemptions', () => {
  const openSnapshot = (tagMap: Record<string, string> = {}) =>
    functionSnapshot({
      tags: tagMap,
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: [...publicUrlPair(), publicInvokeStatement('backdoor')] } },
    });
  const run = (tagMap: Record<string, string> = {}, config = DEFAULT_CONFIG, killSwitch = false) =>
    evaluate({ snapshot: openSnapshot(tagMap), config, now: NOW, killSwitch, rules: RULES_UNDER_TEST });
  const exemptTags = (until: string, ids = 'LAMBDA.URL.PUBLIC,LAMBDA.POLICY.PUBLIC') => ({
    [EXEMPT_TAG]: ids,
    [EXEMPT_REASON_TAG]: 'public webhook',
    [EXEMPT_UNTIL_TAG]: until,
  });

  it('an active exemption makes findings exempt and routes to none', () => {
    const e = run(exemptTags('2025-12-31'));
    expect(e.findings).toHaveLength(2);
    for (const f of e.findings) {
      expect(f.exempt).toBe(true);
      expect(f.exemption?.status).toBe('active');
    }
    expect(e.route).toBe('none');
    expect(actionable(e.findings, 'auto')).toEqual([]);
    // Nothing is to be applied, so the digest is that of an empty plan set.
    expect(e.planDigest).toBe(run({}, parseConfig({ mode: 'report' })).planDigest);
  });

  it('an exemption for one rule leaves the other rule live', () => {
    const e = run(exemptTags('2025-12-31', 'LAMBDA.URL.PUBLIC'));
    expect(e.findings.map((f) => [f.ruleId, f.exempt])).toEqual([
      ['LAMBDA.URL.PUBLIC', true],
      ['LAMBDA.POLICY.PUBLIC', false],
    ]);
    expect(e.route).toBe('auto');
    expect(actionable(e.findings, 'auto').map((f) => f.ruleId)).toEqual(['LAMBDA.POLICY.PUBLIC']);
  });

  it('an expired exemption is ignored: not exempt, note mentions the expiry', () => {
    const e = run(exemptTags('2025-06-01'));
    expect(e.route).toBe('auto');
    for (const f of e.findings) {
      expect(f.exempt).toBe(false);
      expect(f.exemption?.status).toBe('expired');
      expect(f.exemption?.note).toMatch(/expired/);
    }
    expect(actionable(e.findings, 'auto')).toHaveLength(2);
  });

  it('without exemption tags findings carry no exemption', () => {
    const e = run();
    expect(e.findings.every((f) => f.exemption === undefined && !f.exempt)).toBe(true);
  });

  it('report mode routes to report and leaves nothing to enforce', () => {
    const e = run({}, parseConfig({ mode: 'report' }));
    expect(e.route).toBe('report');
    expect(e.findings.every((f) => f.mode === 'report')).toBe(true);
    expect(e.findings[0].modeReason).toMatch(/capped by global mode report/);
    // The plan is still computed, so the dry run shows exactly what enforcement would do.
    expect(e.findings[0].plan.steps.length).toBeGreaterThan(0);
    expect(e.planDigest).not.toBe(run().planDigest);
  });

  it('the kill switch routes to report', () => {
    const e = run({}, DEFAULT_CONFIG, true);
    expect(e.route).toBe('report');
    expect(e.findings.every((f) => f.mode === 'report' && /kill switch/.test(f.modeReason))).toBe(true);
  });

  it('approve wins over auto when findings differ', () => {
    const e = run({}, parseConfig({ rules: { 'LAMBDA.POLICY.PUBLIC': { mode: 'approve' } } }));
    expect(e.findings.map((f) => f.mode)).toEqual(['auto', 'approve']);
    expect(e.route).toBe('approve');
  });
});
