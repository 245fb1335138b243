import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import {
  accountCeiling,
  accountDecision,
  foreignAccounts,
  isMemberRoleActor,
  listParentsKey,
  memberRoleArn,
  ouChain,
  roleSessionName,
} from '../../functions/core/org.ts';
import { toAsff } from '../../functions/core/report/asff.ts';
import { renderScanReport } from '../../functions/core/report/index.ts';
import { buildScanReport, mergeScanReports, scanExitCode } from '../../functions/core/report/model.ts';
import { lambdaUrlPublic } from '../../functions/core/rules/lambda-url-public.ts';
import { validateScanReport } from '../report-validators.ts';
import { ACCOUNT, functionSnapshot, NOW, OTHER_ACCOUNT, publicUrlPair } from './helpers.ts';

const ORG = {
  enabled: true,
  orgId: 'o-a1b2c3d4e5',
  externalId: 'guardrail-ext-1',
  targets: { organizationalUnitIds: ['r-ab12'] },
  regions: ['us-east-1'],
};
const orgConfig = (extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}) =>
  parseConfig({ ...top, organization: { ...ORG, ...extra } });

const OU = 'ou-ab12-11111111';
const PARENT_OU = 'ou-ab12-22222222';
/** ListParents responses in the SDK shape: account -> OU -> parent OU -> root. */
const chainResponses = {
  [listParentsKey(ACCOUNT)]: { Parents: [{ Id: OU, Type: 'ORGANIZATIONAL_UNIT' }] },
  [listParentsKey(OU)]: { Parents: [{ Id: PARENT_OU, Type: 'ORGANIZATIONAL_UNIT' }] },
  [listParentsKey(PARENT_OU)]: { Parents: [{ Id: 'r-ab12', Type: 'ROOT' }] },
};

describe('organization config', () => {
  it('requires the org id, external id, targets and regions once enabled', () => {
    expect(() => parseConfig({ organization: { enabled: true } })).toThrow(
      /organization\.orgId: is required.*organization\.externalId: is required.*organizationalUnitIds.*organization\.regions/,
    );
    expect(orgConfig().organization.memberRoleNames).toEqual({
      collector: 'lambda-guardrail-collector',
      remediation: 'lambda-guardrail-remediation',
    });
  });

  it('rejects malformed OU ids, account ids and equal role names', () => {
    expect(() => orgConfig({ targets: { organizationalUnitIds: ['ou-x'] } })).toThrow(/OU id/);
    expect(() => orgConfig({ accounts: { deny: ['12345'] } })).toThrow(/12-digit/);
    expect(() => orgConfig({ memberRoleNames: { collector: 'same', remediation: 'same' } })).toThrow(
      /different names/,
    );
  });
});

describe('accounts and roles', () => {
  it('deny beats allow; an empty allow list allows every account', () => {
    expect(accountDecision(orgConfig().organization, ACCOUNT)).toEqual({ allowed: true });
    const o = orgConfig({ accounts: { allow: [ACCOUNT], deny: [OTHER_ACCOUNT] } }).organization;
    expect(accountDecision(o, ACCOUNT)).toEqual({ allowed: true });
    expect(accountDecision(o, OTHER_ACCOUNT)).toEqual({
      allowed: false,
      reason: `account ${OTHER_ACCOUNT} is on organization.accounts.deny`,
    });
    expect(accountDecision(o, '333333333333').allowed).toBe(false);
  });

  it('builds member role ARNs and session names STS accepts', () => {
    expect(memberRoleArn(ACCOUNT, 'lambda-guardrail-collector')).toBe(
      `arn:aws:iam::${ACCOUNT}:role/lambda-guardrail-collector`,
    );
    expect(() => memberRoleArn('not-an-account', 'x')).toThrow();
    const s = roleSessionName(`${'e'.repeat(80)}/with:odd chars`);
    expect(s.length).toBe(64);
    expect(s).toMatch(/^guardrail-[\w+=,.@-]+$/);
  });

  it("recognises the member roles' own calls in any account", () => {
    const o = orgConfig().organization;
    const actor = (arn?: string, sessionIssuerArn?: string) => ({
      actor: {
        type: 'AssumedRole',
        ...(arn ? { arn } : {}),
        ...(sessionIssuerArn ? { sessionIssuerArn } : {}),
      },
    });
    expect(
      isMemberRoleActor(
        actor(undefined, `arn:aws:iam::${OTHER_ACCOUNT}:role/lambda-guardrail-remediation`),
        o,
      ),
    ).toBe(true);
    expect(
      isMemberRoleActor(
        actor(`arn:aws:sts::${ACCOUNT}:assumed-role/lambda-guardrail-collector/guardrail-x`),
        o,
      ),
    ).toBe(true);
    expect(isMemberRoleActor(actor(`arn:aws:sts::${ACCOUNT}:assumed-role/deployer/x`), o)).toBe(false);
    expect(
      isMemberRoleActor(actor(undefined, `arn:aws:iam::${ACCOUNT}:role/lambda-guardrail-remediation-x`), o),
    ).toBe(false);
  });

  it('finds the accounts a step targets other than the event account', () => {
    const arn = (acct: string) => `arn:aws:lambda:us-east-1:${acct}:function:f`;
    expect(foreignAccounts(ACCOUNT, arn(ACCOUNT), { FunctionName: 'f' })).toEqual([]);
    expect(foreignAccounts(ACCOUNT, arn(ACCOUNT), { FunctionName: arn(OTHER_ACCOUNT) })).toEqual([
      OTHER_ACCOUNT,
    ]);
    expect(foreignAccounts(ACCOUNT, arn(OTHER_ACCOUNT), { FunctionName: 'f' })).toEqual([OTHER_ACCOUNT]);
    // Data of the change (a principal in a statement, layers) is not a target.
    expect(foreignAccounts(ACCOUNT, arn(ACCOUNT), { FunctionName: 'f', Principal: OTHER_ACCOUNT })).toEqual(
      [],
    );
  });
});

describe('mode overrides per account and OU', () => {
  it('reads the OU chain from ListParents responses, nearest first, up to the root', () => {
    const snap = { account: ACCOUNT, region: 'us-east-1', responses: chainResponses };
    expect(ouChain(snap, ACCOUNT)).toEqual([OU, PARENT_OU, 'r-ab12']);
    expect(ouChain({ ...snap, responses: {} }, ACCOUNT)).toEqual([]);
  });

  it('an account override beats an OU override; the nearest OU wins; none without organization mode', () => {
    const c = orgConfig({
      modeOverrides: {
        accounts: { [OTHER_ACCOUNT]: 'auto' },
        ous: { [PARENT_OU]: 'report', [OU]: 'approve' },
      },
    });
    expect(accountCeiling(c, ACCOUNT, [OU, PARENT_OU])).toEqual({
      mode: 'approve',
      reason: `OU ${OU} override approve`,
    });
    expect(accountCeiling(c, ACCOUNT, [PARENT_OU])?.mode).toBe('report');
    expect(accountCeiling(c, OTHER_ACCOUNT, [OU])?.mode).toBe('auto');
    expect(accountCeiling(c, '333333333333', [])).toBeUndefined();
    expect(accountCeiling(parseConfig({}), ACCOUNT, [OU])).toBeUndefined();
  });

  it('evaluate caps a finding by the override of the snapshot account, and the kill switch still wins', () => {
    const snapshot = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: publicUrlPair() } },
    });
    snapshot.responses = { ...snapshot.responses, ...chainResponses };
    const run = (config: ReturnType<typeof parseConfig>, killSwitch = false) =>
      evaluate({ snapshot, config, now: NOW, rules: [lambdaUrlPublic], killSwitch }).findings[0];
    expect(run(orgConfig()).mode).toBe('auto');
    const f = run(orgConfig({ modeOverrides: { ous: { [PARENT_OU]: 'report' } } }));
    expect(f.mode).toBe('report');
    expect(f.modeReason).toContain(`capped by OU ${PARENT_OU} override report`);
    // An override replaces the global ceiling for that account: a pilot account can run auto while
    // the rest of the organization is in report.
    expect(
      run(orgConfig({ modeOverrides: { accounts: { [ACCOUNT]: 'auto' } } }, { mode: 'report' })).mode,
    ).toBe('auto');
    expect(run(orgConfig({ modeOverrides: { accounts: { [ACCOUNT]: 'auto' } } }), true).mode).toBe('report');
  });
});

describe('one report over several accounts (scan --org)', () => {
  const unitIn = (account: string) => {
    const snapshot = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: publicUrlPair() } },
    });
    const arn = `arn:aws:lambda:us-east-1:${account}:function:orders-api`;
    snapshot.account = account;
    const config = snapshot.responses.GetFunctionConfiguration as Record<string, unknown>;
    config.FunctionArn = arn;
    const evaluation = evaluate({
      snapshot,
      config: parseConfig({ mode: 'report' }),
      now: NOW,
      rules: [lambdaUrlPublic],
    });
    return { kind: 'function' as const, arn, name: 'orders-api', region: 'us-east-1', evaluation };
  };
  const accountReport = (account: string) =>
    buildScanReport({
      origin: 'scan',
      account,
      regions: ['us-east-1'],
      startedAt: NOW,
      finishedAt: NOW,
      rules: [lambdaUrlPublic],
      config: parseConfig({}),
      units: [unitIn(account)],
    });
  const merged = mergeScanReports([accountReport(OTHER_ACCOUNT), accountReport(ACCOUNT)], {
    account: '999999999999',
    accounts: [OTHER_ACCOUNT, ACCOUNT, '333333333333'],
    regions: ['us-east-1'],
    startedAt: NOW,
    finishedAt: NOW,
    rules: [lambdaUrlPublic],
    config: parseConfig({}),
    errors: [{ scope: 'account', account: '333333333333', error: 'AccessDenied', message: 'not authorized' }],
  });

  it('keeps every resource, finding and error with its account, and counts them all', () => {
    expect(merged.account).toBe('999999999999');
    expect(merged.accounts).toEqual([ACCOUNT, OTHER_ACCOUNT, '333333333333'].sort());
    expect(merged.resources.map((r) => r.account)).toEqual([ACCOUNT, OTHER_ACCOUNT].sort());
    for (const r of merged.resources) for (const f of r.findings) expect(f.account).toBe(r.account);
    expect(merged.summary.resources).toBe(2);
    expect(merged.summary.liveFindings).toBe(2);
    expect(merged.summary.errors).toBe(1);
    expect(merged.errors[0]).toMatchObject({ scope: 'account', account: '333333333333' });
    expect(scanExitCode(merged)).toBe(1);
    expect(validateScanReport(JSON.parse(renderScanReport(merged, 'json')))).toEqual([]);
  });

  it('every format carries the account: SARIF locations, ASFF account and product, the human formats', () => {
    const sarif = JSON.parse(renderScanReport(merged, 'sarif'));
    const uris = sarif.runs[0].results.map(
      (r: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) =>
        r.locations[0].physicalLocation.artifactLocation.uri,
    );
    expect(uris.sort()).toEqual(
      [
        `aws/${ACCOUNT}/us-east-1/function/orders-api`,
        `aws/${OTHER_ACCOUNT}/us-east-1/function/orders-api`,
      ].sort(),
    );
    for (const f of toAsff(merged)) {
      expect(f.Resources[0].Id).toContain(`:${f.AwsAccountId}:`);
      expect(f.ProductArn).toContain(`:${f.AwsAccountId}:product/${f.AwsAccountId}/default`);
    }
    for (const format of ['table', 'markdown', 'html'] as const)
      expect(renderScanReport(merged, format)).toContain('3 accounts (');
  });
});
