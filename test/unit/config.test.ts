import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, InvalidConfigError, parseConfig } from '../../functions/core/config.ts';

function rejection(input: unknown): InvalidConfigError {
  try {
    parseConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    return err as InvalidConfigError;
  }
  throw new Error('expected parseConfig to reject the input');
}

describe('parseConfig', () => {
  it('fills defaults for an empty, undefined or null config', () => {
    const expected = {
      mode: 'auto',
      rules: {},
      excludedPrincipals: [],
      killSwitchParameter: '/lambda-guardrail/kill-switch',
      homeRegion: 'us-east-1',
      sweepSchedule: 'rate(1 day)',
      approvers: [],
      approvalTimeoutHours: 72,
      approvalSender: null,
      secrets: { namePrefix: 'lambda-guardrail/', kmsKeyArn: null, extensionLayerArns: null },
      runtimeDeprecationWarningDays: 90,
      allowedCorsOrigins: [],
      vpcRequired: { tags: {}, namePrefixes: [] },
      trustedLayerAccounts: [],
      iamEvidence: { lookbackDays: 90 },
      organization: {
        enabled: false,
        delegatedAdmin: true,
        memberRoleNames: {
          collector: 'lambda-guardrail-collector',
          remediation: 'lambda-guardrail-remediation',
        },
        targets: { organizationalUnitIds: [] },
        regions: [],
        accounts: { allow: [], deny: [] },
        modeOverrides: { accounts: {}, ous: {} },
      },
    };
    expect(parseConfig({})).toEqual(expected);
    expect(parseConfig(undefined)).toEqual(expected);
    expect(parseConfig(null)).toEqual(expected);
    expect(DEFAULT_CONFIG).toEqual(expected);
  });

  it('accepts a full config', () => {
    const input = {
      mode: 'approve',
      rules: {
        'LAMBDA.URL.PUBLIC': { mode: 'report' },
        'LAMBDA.POLICY.PUBLIC': {},
        'IAM.ROLE.ADMIN': { mode: 'auto', minEvidenceDays: 60 },
      },
      excludedPrincipals: [
        'arn:aws:iam::123456789012:role/ci/Deployer',
        'arn:aws:sts::123456789012:assumed-role/Deployer/session',
      ],
      killSwitchParameter: '/security/guardrail/kill',
      homeRegion: 'eu-west-1',
      sweepSchedule: 'rate(12 hours)',
      approvers: ['security-lead@example.com', 'oncall@example.com'],
      approvalTimeoutHours: 24,
      approvalSender: 'guardrail@example.com',
      secrets: {
        namePrefix: 'prod/lambda/',
        kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        extensionLayerArns: {
          arm64:
            'arn:aws:lambda:eu-west-1:015030872274:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:12',
        },
      },
      runtimeDeprecationWarningDays: 30,
      allowedCorsOrigins: ['https://app.example.com'],
      vpcRequired: { tags: { 'data-class': 'restricted' }, namePrefixes: ['payments-'] },
      trustedLayerAccounts: ['015030872274'],
      iamEvidence: { lookbackDays: 180 },
      organization: {
        enabled: true,
        orgId: 'o-a1b2c3d4e5',
        managementAccountId: '111111111111',
        delegatedAdmin: false,
        memberRoleNames: { collector: 'sec-collector', remediation: 'sec-remediation' },
        externalId: 'lambda-guardrail-7f3a',
        targets: { organizationalUnitIds: ['ou-ab12-cdef3456', 'r-ab12'] },
        regions: ['us-east-1', 'eu-west-1'],
        accounts: { allow: [], deny: ['222222222222'] },
        modeOverrides: { accounts: { '333333333333': 'report' }, ous: { 'ou-ab12-cdef3456': 'approve' } },
      },
    };
    expect(parseConfig(input)).toEqual(input);
  });

  it('rejects an unknown rule id and names it', () => {
    const err = rejection({ rules: { 'LAMBDA.URL.PUBLC': { mode: 'auto' } } });
    expect(err.message).toMatch(/^invalid guardrail config: /);
    expect(err.message).toContain('LAMBDA.URL.PUBLC');
    expect(err.message).toContain('unknown rule id');
  });

  it('rejects a bad global mode with a readable message naming the field', () => {
    const err = rejection({ mode: 'enforce' });
    expect(err.message).toContain('mode');
    expect(err.message).toMatch(/report|approve|auto/);
    expect(err.message).not.toMatch(/[{[]\s*"/); // not a JSON dump of zod issues
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('rejects a bad per-rule mode and names the rule', () => {
    const err = rejection({ rules: { 'LAMBDA.URL.PUBLIC': { mode: 'AUTO' } } });
    expect(err.message).toContain('rules.LAMBDA.URL.PUBLIC.mode');
  });

  it.each([
    ['top level', { mode: 'auto', dryRun: true }, 'dryRun'],
    ['rule level', { rules: { 'LAMBDA.URL.PUBLIC': { mode: 'auto', severity: 'LOW' } } }, 'severity'],
  ])('rejects extra keys at %s', (_label, input, key) => {
    expect(rejection(input).message).toContain(key);
  });

  it.each([
    ['excludedPrincipals', { excludedPrincipals: ['deployer'] }, /excludedPrincipals\.0: must be an IAM ARN/],
    ['killSwitchParameter', { killSwitchParameter: 'kill-switch' }, /killSwitchParameter: must be an SSM/],
    ['homeRegion', { homeRegion: 'US East' }, /homeRegion: must be a region name/],
    ['rules', { rules: [] }, /rules/],
    ['secrets.namePrefix', { secrets: { namePrefix: '/leading-slash' } }, /secrets\.namePrefix: must be/],
    [
      'secrets.kmsKeyArn',
      { secrets: { kmsKeyArn: 'alias/aws/secretsmanager' } },
      /secrets\.kmsKeyArn: must be a KMS key ARN/,
    ],
    [
      'secrets.extensionLayerArns',
      { secrets: { extensionLayerArns: { arm64: 'AWS-Parameters-and-Secrets' } } },
      /secrets\.extensionLayerArns\.arm64: must be a layer version ARN/,
    ],
    ['secrets (unknown key)', { secrets: { kmsKeyId: 'x' } }, /kmsKeyId/],
  ])('rejects a bad %s', (_label, input, pattern) => {
    expect(rejection(input).message).toMatch(pattern);
  });

  it('reports every problem, not just the first', () => {
    const err = rejection({ mode: 'x', homeRegion: 'nowhere' });
    expect(err.message).toContain('mode');
    expect(err.message).toContain('homeRegion');
  });
});
