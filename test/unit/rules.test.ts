import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { addPermissionFromStatement } from '../../functions/core/permissions.ts';
import type { Statement } from '../../functions/core/policy.ts';
import { RULES, ruleById, triggerPrefixes } from '../../functions/core/rules/index.ts';
import { lambdaPolicyPublic } from '../../functions/core/rules/lambda-policy-public.ts';
import { lambdaUrlPublic } from '../../functions/core/rules/lambda-url-public.ts';
import type { PlanStep, RawFinding, Rule, Snapshot } from '../../functions/core/types.ts';
import {
  ACCOUNT,
  accountStatement,
  DEFAULT_CORS,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  functionUrl,
  NOW,
  OTHER_ACCOUNT,
  policyRevision,
  publicInvokeStatement,
  publicUrlPair,
  serviceStatement,
  urlFunctionInvokeStatement,
  urlInvokeStatement,
} from './helpers.ts';

const ARN = functionArn();
/** The rules this file covers; passed explicitly so rules added later do not change these results. */
const RULES_UNDER_TEST = [lambdaUrlPublic, lambdaPolicyPublic];

function findingsOf(rule: Rule, s: Snapshot): RawFinding[] {
  const r = rule.evaluate(s, { now: NOW });
  return r.status === 'NON_COMPLIANT' ? r.findings : [];
}
const statusOf = (rule: Rule, s: Snapshot) => rule.evaluate(s, { now: NOW }).status;
const removedSids = (steps: PlanStep[]) =>
  steps.filter((st) => st.operation === 'RemovePermission').map((st) => st.parameters['StatementId']);
const policyOnly = (statements: Statement[], extra: Parameters<typeof functionSnapshot>[0] = {}) =>
  functionSnapshot({ urls: [], policies: { '': { statements } }, ...extra });

describe('rule registry', () => {
  it('has both rules with stable ids, URL rule first, auto by default', () => {
    const ids = RULES.map((r) => r.id);
    expect(ids.indexOf('LAMBDA.URL.PUBLIC')).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf('LAMBDA.URL.PUBLIC')).toBeLessThan(ids.indexOf('LAMBDA.POLICY.PUBLIC'));
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of RULES_UNDER_TEST) {
      expect(r).toMatchObject({ defaultMode: 'auto', resource: 'function', severity: 'CRITICAL' });
      expect(ruleById(r.id)).toBe(r);
    }
    expect(ruleById('NOPE')).toBeUndefined();
  });

  it('triggers on the bare action names (matched by prefix, so suffixed names fire too)', () => {
    expect(triggerPrefixes(RULES_UNDER_TEST)).toEqual({
      lambda: ['AddPermission', 'CreateFunctionUrlConfig', 'UpdateFunctionUrlConfig'],
    });
    expect(triggerPrefixes()['lambda']).toEqual(
      expect.arrayContaining(['AddPermission', 'CreateFunctionUrlConfig', 'UpdateFunctionUrlConfig']),
    );
  });
});

describe('LAMBDA.URL.PUBLIC', () => {
  describe('public URL on $LATEST with both public statements', () => {
    const s = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: publicUrlPair() } },
    });
    const [f] = findingsOf(lambdaUrlPublic, s);

    it('is one finding on the unqualified function', () => {
      expect(findingsOf(lambdaUrlPublic, s)).toHaveLength(1);
      expect(f.resourceArn).toBe(ARN);
      expect(f.evidence).toEqual({
        functionUrl: functionUrl(FUNCTION_NAME),
        qualifier: null,
        authType: 'NONE',
        publicStatementIds: ['FunctionURLAllowPublicAccess', 'FunctionURLAllowInvokeAction'],
      });
      expect(f.summary).toContain('2 public invoke statement(s)');
    });

    it('first switches the URL to AWS_IAM, keeping Cors and InvokeMode', () => {
      const [update] = f.plan.steps;
      expect(update).toMatchObject({ service: 'lambda', operation: 'UpdateFunctionUrlConfig' });
      expect(update.parameters).toEqual({
        FunctionName: FUNCTION_NAME,
        AuthType: 'AWS_IAM',
        Cors: DEFAULT_CORS,
        InvokeMode: 'BUFFERED',
      });
      expect(update.inverse).toMatchObject({ service: 'lambda', operation: 'UpdateFunctionUrlConfig' });
      expect(update.inverse?.parameters).toEqual({
        FunctionName: FUNCTION_NAME,
        AuthType: 'NONE',
        Cors: DEFAULT_CORS,
        InvokeMode: 'BUFFERED',
      });
    });

    it('then removes exactly the two public statements with the policy RevisionId', () => {
      expect(f.plan.steps.map((st) => st.operation)).toEqual([
        'UpdateFunctionUrlConfig',
        'RemovePermission',
        'RemovePermission',
      ]);
      expect(f.plan.steps[1].parameters).toEqual({
        FunctionName: FUNCTION_NAME,
        StatementId: 'FunctionURLAllowPublicAccess',
        RevisionId: policyRevision(),
      });
      expect(f.plan.steps[2].parameters).toEqual({
        FunctionName: FUNCTION_NAME,
        StatementId: 'FunctionURLAllowInvokeAction',
        RevisionId: policyRevision(),
      });
    });

    it('carries AddPermission inverses that recreate each statement', () => {
      expect(f.plan.steps[1].inverse).toEqual({
        service: 'lambda',
        operation: 'AddPermission',
        parameters: {
          FunctionName: FUNCTION_NAME,
          StatementId: 'FunctionURLAllowPublicAccess',
          Action: 'lambda:InvokeFunctionUrl',
          Principal: '*',
          FunctionUrlAuthType: 'NONE',
        },
        reason: expect.stringContaining('FunctionURLAllowPublicAccess'),
      });
      expect(f.plan.steps[2].inverse?.parameters).toEqual({
        FunctionName: FUNCTION_NAME,
        StatementId: 'FunctionURLAllowInvokeAction',
        Action: 'lambda:InvokeFunction',
        Principal: '*',
        InvokedViaFunctionUrl: true,
      });
    });

    it('has preconditions on the URL auth type and the policy revision', () => {
      expect(f.plan.preconditions).toEqual([
        {
          read: 'ListFunctionUrlConfigs',
          path: `FunctionUrlConfigs[FunctionArn=${ARN}].AuthType`,
          equals: 'NONE',
          description: expect.any(String),
        },
        { read: 'GetPolicy', path: 'RevisionId', equals: policyRevision(), description: expect.any(String) },
      ]);
    });

    it('leaves the URL statements out of LAMBDA.POLICY.PUBLIC (no double planning)', () => {
      expect(statusOf(lambdaPolicyPublic, s)).toBe('COMPLIANT');
    });
  });

  describe('alias URL', () => {
    const s = functionSnapshot({
      aliases: ['live'],
      urls: [{ qualifier: 'live', authType: 'NONE', cors: null, invokeMode: 'RESPONSE_STREAM' }],
      policies: { '': null, live: { statements: publicUrlPair('live') } },
    });
    const [f] = findingsOf(lambdaUrlPublic, s);

    it('is a finding on the alias ARN', () => {
      expect(f.resourceArn).toBe(`${ARN}:live`);
      expect(f.evidence['qualifier']).toBe('live');
      expect(f.summary).toContain('alias live');
    });

    it('carries the Qualifier on every step and inverse, and the alias policy RevisionId', () => {
      for (const step of f.plan.steps) {
        expect(step.parameters['Qualifier']).toBe('live');
        expect(step.inverse?.parameters['Qualifier']).toBe('live');
      }
      expect(f.plan.steps[0].parameters).toEqual({
        FunctionName: FUNCTION_NAME,
        Qualifier: 'live',
        AuthType: 'AWS_IAM',
        InvokeMode: 'RESPONSE_STREAM',
      });
      expect(f.plan.steps[0].parameters).not.toHaveProperty('Cors');
      expect(f.plan.steps.slice(1).map((st) => st.parameters)).toEqual([
        {
          FunctionName: FUNCTION_NAME,
          Qualifier: 'live',
          StatementId: 'FunctionURLAllowPublicAccess',
          RevisionId: policyRevision('live'),
        },
        {
          FunctionName: FUNCTION_NAME,
          Qualifier: 'live',
          StatementId: 'FunctionURLAllowInvokeAction',
          RevisionId: policyRevision('live'),
        },
      ]);
    });

    it('checks the qualified URL and the alias policy', () => {
      expect(f.plan.preconditions.map((p) => [p.read, p.path, p.equals])).toEqual([
        ['ListFunctionUrlConfigs', `FunctionUrlConfigs[FunctionArn=${ARN}:live].AuthType`, 'NONE'],
        ['GetPolicy:live', 'RevisionId', policyRevision('live')],
      ]);
    });

    it('does not plan the alias statements in LAMBDA.POLICY.PUBLIC', () => {
      expect(statusOf(lambdaPolicyPublic, s)).toBe('COMPLIANT');
    });
  });

  it('reports $LATEST and alias URLs separately', () => {
    const s = functionSnapshot({
      aliases: ['live'],
      urls: [{ authType: 'NONE' }, { qualifier: 'live', authType: 'NONE' }],
      policies: { '': { statements: publicUrlPair() }, live: { statements: publicUrlPair('live') } },
    });
    const fs = findingsOf(lambdaUrlPublic, s);
    expect(fs.map((f) => f.resourceArn)).toEqual([ARN, `${ARN}:live`]);
    expect(fs[0].plan.steps.every((st) => !('Qualifier' in st.parameters))).toBe(true);
    expect(fs[1].plan.steps.every((st) => st.parameters['Qualifier'] === 'live')).toBe(true);
  });

  it('URL NONE without any policy: only the auth type change, no policy precondition', () => {
    const s = functionSnapshot({ urls: [{ authType: 'NONE' }], policies: { '': null } });
    const [f] = findingsOf(lambdaUrlPublic, s);
    expect(f.plan.steps.map((st) => st.operation)).toEqual(['UpdateFunctionUrlConfig']);
    expect(f.plan.preconditions.map((p) => p.read)).toEqual(['ListFunctionUrlConfigs']);
    expect(f.evidence['publicStatementIds']).toEqual([]);
    expect(f.summary).not.toContain('statement');
  });

  it('URL NONE whose policy has only unrelated statements removes nothing', () => {
    const s = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: {
        '': {
          statements: [
            serviceStatement('s3', 's3.amazonaws.com', { ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::b' } }),
          ],
        },
      },
    });
    const [f] = findingsOf(lambdaUrlPublic, s);
    expect(removedSids(f.plan.steps)).toEqual([]);
    expect(f.plan.preconditions).toHaveLength(1);
  });

  it('AWS_IAM URL is compliant', () => {
    const s = functionSnapshot({ urls: [{ authType: 'AWS_IAM' }], policies: { '': null } });
    expect(statusOf(lambdaUrlPublic, s)).toBe('COMPLIANT');
  });

  it('AWS_IAM URL with leftover public statements: the URL rule is compliant, the policy rule removes them', () => {
    // AWS_IAM with a `*` statement is still open to any signed caller in any account.
    const s = functionSnapshot({
      urls: [{ authType: 'AWS_IAM' }],
      policies: { '': { statements: publicUrlPair() } },
    });
    expect(statusOf(lambdaUrlPublic, s)).toBe('COMPLIANT');
    const [f] = findingsOf(lambdaPolicyPublic, s);
    expect(removedSids(f.plan.steps)).toEqual([
      'FunctionURLAllowPublicAccess',
      'FunctionURLAllowInvokeAction',
    ]);
  });

  it('no URLs is compliant; URLs not read or no configuration is not applicable', () => {
    expect(statusOf(lambdaUrlPublic, functionSnapshot({ urls: [] }))).toBe('COMPLIANT');
    expect(lambdaUrlPublic.evaluate(functionSnapshot({}), { now: NOW })).toEqual({
      status: 'NOT_APPLICABLE',
      reason: expect.stringMatching(/not read/),
    });
    const noFn = functionSnapshot({ urls: [{ authType: 'NONE' }] });
    noFn.responses['GetFunctionConfiguration'] = null;
    expect(statusOf(lambdaUrlPublic, noFn)).toBe('NOT_APPLICABLE');
    expect(statusOf(lambdaPolicyPublic, noFn)).toBe('NOT_APPLICABLE');
  });

  it.each([
    ['"*"', '*'],
    ['{"AWS":"*"}', { AWS: '*' }],
    ['{"AWS":["*"]}', { AWS: ['*'] }],
  ])('removes URL statements with Principal %s', (_label, principal) => {
    const s = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: {
        '': {
          statements: [
            urlInvokeStatement(undefined, { Principal: principal }),
            urlFunctionInvokeStatement(undefined, { Principal: principal }),
          ],
        },
      },
    });
    const [f] = findingsOf(lambdaUrlPublic, s);
    expect(removedSids(f.plan.steps)).toEqual([
      'FunctionURLAllowPublicAccess',
      'FunctionURLAllowInvokeAction',
    ]);
    expect(f.plan.steps[1].inverse?.parameters['Principal']).toBe('*');
    expect(statusOf(lambdaPolicyPublic, s)).toBe('COMPLIANT');
  });

  it('keeps URL statements for a named account, a Deny, or another condition value', () => {
    const s = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: {
        '': {
          statements: [
            urlInvokeStatement(undefined, {
              Sid: 'Named',
              Principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:root` },
            }),
            urlInvokeStatement(undefined, { Sid: 'Deny', Effect: 'Deny' }),
            urlInvokeStatement(undefined, {
              Sid: 'IamOnly',
              Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
            }),
          ],
        },
      },
    });
    const [f] = findingsOf(lambdaUrlPublic, s);
    expect(removedSids(f.plan.steps)).toEqual([]);
  });

  it('keeps an org-restricted URL statement: it did not make the URL public and still serves signed callers', () => {
    const orgViaUrl = urlFunctionInvokeStatement(undefined, {
      Sid: 'OrgViaUrl',
      Condition: {
        Bool: { 'lambda:InvokedViaFunctionUrl': 'true' },
        StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' },
      },
    });
    const s = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: [...publicUrlPair(), orgViaUrl] } },
    });
    const [f] = findingsOf(lambdaUrlPublic, s);
    expect(removedSids(f.plan.steps)).toEqual([
      'FunctionURLAllowPublicAccess',
      'FunctionURLAllowInvokeAction',
    ]);
    expect(statusOf(lambdaPolicyPublic, s)).toBe('COMPLIANT');
  });

  it('does not plan a public URL statement without a Sid (RemovePermission needs one)', () => {
    const { Sid: _sid, ...noSid } = urlInvokeStatement();
    const s = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: [noSid as Statement, urlFunctionInvokeStatement()] } },
    });
    const [f] = findingsOf(lambdaUrlPublic, s);
    expect(removedSids(f.plan.steps)).toEqual(['FunctionURLAllowInvokeAction']);
    expect(f.evidence['publicStatementIds']).toEqual([null, 'FunctionURLAllowInvokeAction']);
  });
});

describe('LAMBDA.POLICY.PUBLIC', () => {
  it.each([
    ['"*"', '*'],
    ['{"AWS":"*"}', { AWS: '*' }],
    ['{"AWS":["*"]}', { AWS: ['*'] }],
    ['{"AWS":[account, "*"]}', { AWS: [`arn:aws:iam::${OTHER_ACCOUNT}:root`, '*'] }],
  ])('flags Principal %s', (_label, principal) => {
    const [f] = findingsOf(
      lambdaPolicyPublic,
      policyOnly([publicInvokeStatement('Open', { Principal: principal })]),
    );
    expect(removedSids(f.plan.steps)).toEqual(['Open']);
  });

  it.each([
    'lambda:InvokeFunction',
    'lambda:InvokeFunctionUrl',
    'lambda:*',
    'lambda:Invoke*',
    'lambda:invokefunction',
    'LAMBDA:INVOKE*',
    '*',
  ])('flags Action %s', (action) => {
    const [f] = findingsOf(
      lambdaPolicyPublic,
      policyOnly([publicInvokeStatement('Open', { Action: action })]),
    );
    expect(f.plan.steps[0].parameters).toEqual({
      FunctionName: FUNCTION_NAME,
      StatementId: 'Open',
      RevisionId: policyRevision(),
    });
    expect(f.plan.steps[0].inverse?.parameters).toEqual({
      FunctionName: FUNCTION_NAME,
      StatementId: 'Open',
      Action: action,
      Principal: '*',
    });
  });

  it('flags an action list containing an invoke action', () => {
    const st = publicInvokeStatement('Multi', { Action: ['lambda:GetFunction', 'lambda:InvokeFunction'] });
    const [f] = findingsOf(lambdaPolicyPublic, policyOnly([st]));
    expect(removedSids(f.plan.steps)).toEqual(['Multi']);
    // AddPermission takes one action: there is no exact inverse.
    expect(f.plan.steps[0].inverse).toBeUndefined();
  });

  it.each(['lambda:GetFunction', 'lambda:Get*', 'lambda:InvokeAsync', 's3:*'])(
    'does not flag Action %s',
    (action) => {
      expect(statusOf(lambdaPolicyPublic, policyOnly([publicInvokeStatement('X', { Action: action })]))).toBe(
        'COMPLIANT',
      );
    },
  );

  it.each([
    ['ArnLike', 'AWS:SourceArn', 'arn:aws:s3:::orders-bucket'],
    ['ArnLike', 'aws:sourcearn', 'arn:aws:execute-api:us-east-1:123456789012:abc/*'],
    ['ArnEquals', 'aws:SourceArn', 'arn:aws:events:us-east-1:123456789012:rule/nightly'],
    ['StringEquals', 'AWS:SourceAccount', ACCOUNT],
    ['StringEquals', 'aws:SOURCEACCOUNT', ACCOUNT],
    ['StringEquals', 'aws:PrincipalOrgID', 'o-a1b2c3d4e5'],
    ['StringEquals', 'AWS:principalorgid', 'o-a1b2c3d4e5'],
    ['StringEquals', 'aws:SourceOrgID', 'o-a1b2c3d4e5'],
    ['StringEquals', 'aws:sourceorgid', 'o-a1b2c3d4e5'],
    ['StringEquals', 'aws:PrincipalAccount', OTHER_ACCOUNT],
    ['StringEquals', 'AWS:PRINCIPALACCOUNT', [ACCOUNT, OTHER_ACCOUNT]],
    ['stringequals', 'aws:SourceAccount', ACCOUNT],
  ])('keeps a statement restricted by %s %s', (op, key, value) => {
    const restricted = publicInvokeStatement('Restricted', { Condition: { [op]: { [key]: value } } });
    const open = publicInvokeStatement('Open');
    const [f] = findingsOf(lambdaPolicyPublic, policyOnly([restricted, open]));
    expect(removedSids(f.plan.steps)).toEqual(['Open']);
    expect(statusOf(lambdaPolicyPublic, policyOnly([restricted]))).toBe('COMPLIANT');
  });

  it.each([
    ['StringNotEquals', 'aws:SourceAccount', ACCOUNT],
    ['StringNotLike', 'aws:PrincipalOrgID', 'o-a1b2c3d4e5'],
    ['ArnNotLike', 'AWS:SourceArn', 'arn:aws:s3:::b'],
    ['StringEqualsIfExists', 'aws:SourceAccount', ACCOUNT],
    ['ArnLikeIfExists', 'aws:SourceArn', 'arn:aws:s3:::b'],
    ['Null', 'aws:SourceArn', 'false'],
    ['ForAllValues:StringEquals', 'aws:SourceAccount', ACCOUNT],
    ['StringLike', 'aws:SourceArn', '*'],
    ['StringEquals', 'aws:SourceIp', '203.0.113.0/24'],
    ['StringEquals', 'aws:SourceVpce', 'vpce-1a2b3c4d'],
  ])('flags a statement whose only condition is %s %s (does not restrict the caller)', (op, key, value) => {
    const st = publicInvokeStatement('Loose', { Condition: { [op]: { [key]: value } } });
    const [f] = findingsOf(lambdaPolicyPublic, policyOnly([st]));
    expect(removedSids(f.plan.steps)).toEqual(['Loose']);
  });

  it('keeps service principals, with or without conditions', () => {
    const statements = [
      serviceStatement('s3-any', 's3.amazonaws.com'),
      serviceStatement('events', 'events.amazonaws.com', {
        ArnLike: { 'AWS:SourceArn': `arn:aws:events:us-east-1:${ACCOUNT}:rule/nightly` },
      }),
      serviceStatement('apigw', 'apigateway.amazonaws.com', {
        StringEquals: { 'AWS:SourceAccount': ACCOUNT },
      }),
    ];
    expect(statusOf(lambdaPolicyPublic, policyOnly(statements))).toBe('COMPLIANT');
  });

  it('keeps named cross-account principals and Deny statements', () => {
    const statements: Statement[] = [
      accountStatement('partner'),
      {
        ...accountStatement('partner-list'),
        Principal: { AWS: [OTHER_ACCOUNT, `arn:aws:iam::${ACCOUNT}:root`] },
      },
      publicInvokeStatement('DenyAll', { Effect: 'Deny' }),
    ];
    expect(statusOf(lambdaPolicyPublic, policyOnly(statements))).toBe('COMPLIANT');
  });

  describe('mixed policy', () => {
    const statements: Statement[] = [
      serviceStatement('s3', 's3.amazonaws.com', { ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::orders' } }),
      publicInvokeStatement('backdoor'),
      accountStatement('partner'),
      publicInvokeStatement('org-only', {
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
      }),
      publicInvokeStatement('everything', { Principal: { AWS: '*' }, Action: 'lambda:*' }),
      serviceStatement('sns', 'sns.amazonaws.com'),
    ];
    const s = policyOnly(statements);
    const findings = findingsOf(lambdaPolicyPublic, s);

    it('is one finding listing only the open statements', () => {
      expect(findings).toHaveLength(1);
      const [f] = findings;
      expect(f.resourceArn).toBe(ARN);
      expect(f.summary).toContain('backdoor, everything');
      expect(f.evidence).toEqual({ qualifier: null, statements: [statements[1], statements[4]] });
    });

    it('removes exactly the open statements, in policy order, with inverses', () => {
      const [f] = findings;
      expect(f.plan.steps).toEqual([
        {
          service: 'lambda',
          operation: 'RemovePermission',
          parameters: { FunctionName: FUNCTION_NAME, StatementId: 'backdoor', RevisionId: policyRevision() },
          reason: expect.any(String),
          inverse: {
            service: 'lambda',
            operation: 'AddPermission',
            parameters: {
              FunctionName: FUNCTION_NAME,
              StatementId: 'backdoor',
              Action: 'lambda:InvokeFunction',
              Principal: '*',
            },
            reason: expect.any(String),
          },
        },
        {
          service: 'lambda',
          operation: 'RemovePermission',
          parameters: {
            FunctionName: FUNCTION_NAME,
            StatementId: 'everything',
            RevisionId: policyRevision(),
          },
          reason: expect.any(String),
          inverse: {
            service: 'lambda',
            operation: 'AddPermission',
            parameters: {
              FunctionName: FUNCTION_NAME,
              StatementId: 'everything',
              Action: 'lambda:*',
              Principal: '*',
            },
            reason: expect.any(String),
          },
        },
      ]);
      expect(f.plan.preconditions).toEqual([
        { read: 'GetPolicy', path: 'RevisionId', equals: policyRevision(), description: expect.any(String) },
      ]);
    });
  });

  it('plans alias policies with the Qualifier and reports the alias ARN', () => {
    const s = functionSnapshot({
      aliases: ['live'],
      urls: [],
      policies: { '': { statements: [] }, live: { statements: [publicInvokeStatement('open-live')] } },
    });
    const [f] = findingsOf(lambdaPolicyPublic, s);
    expect(f.resourceArn).toBe(`${ARN}:live`);
    expect(f.plan.steps[0].parameters).toEqual({
      FunctionName: FUNCTION_NAME,
      Qualifier: 'live',
      StatementId: 'open-live',
      RevisionId: policyRevision('live'),
    });
    expect(f.plan.steps[0].inverse?.parameters['Qualifier']).toBe('live');
    expect(f.plan.preconditions[0].read).toBe('GetPolicy:live');
  });

  it('reports a statement without a Sid but cannot plan it', () => {
    const { Sid: _sid, ...noSid } = publicInvokeStatement('x');
    const [f] = findingsOf(lambdaPolicyPublic, policyOnly([noSid as Statement]));
    expect(f.plan.steps).toEqual([]);
    expect(f.evidence['note']).toMatch(/without a Sid/);
    expect(f.summary).toContain('(no Sid)');
  });

  it('is compliant without a policy', () => {
    expect(statusOf(lambdaPolicyPublic, functionSnapshot({ urls: [], policies: { '': null } }))).toBe(
      'COMPLIANT',
    );
  });

  it('does not double-plan: URL statements go to LAMBDA.URL.PUBLIC, the rest to LAMBDA.POLICY.PUBLIC', () => {
    const s = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: [...publicUrlPair(), publicInvokeStatement('backdoor')] } },
    });
    const [urlF] = findingsOf(lambdaUrlPublic, s);
    const [polF] = findingsOf(lambdaPolicyPublic, s);
    expect(removedSids(urlF.plan.steps)).toEqual([
      'FunctionURLAllowPublicAccess',
      'FunctionURLAllowInvokeAction',
    ]);
    expect(removedSids(polF.plan.steps)).toEqual(['backdoor']);
  });

  it('URL ownership is per qualifier: the same Sids in a policy without a public URL are still planned', () => {
    const s = functionSnapshot({
      aliases: ['live'],
      urls: [{ qualifier: 'live', authType: 'NONE' }],
      policies: { '': { statements: publicUrlPair() }, live: { statements: publicUrlPair('live') } },
    });
    const [urlF] = findingsOf(lambdaUrlPublic, s);
    expect(urlF.resourceArn).toBe(`${ARN}:live`);
    const polFindings = findingsOf(lambdaPolicyPublic, s);
    expect(polFindings.map((f) => f.resourceArn)).toEqual([ARN]);
    expect(polFindings[0].plan.steps.every((st) => !('Qualifier' in st.parameters))).toBe(true);
    expect(removedSids(polFindings[0].plan.steps)).toEqual([
      'FunctionURLAllowPublicAccess',
      'FunctionURLAllowInvokeAction',
    ]);
  });
});

describe('addPermissionFromStatement', () => {
  it('recreates a service statement with SourceArn and SourceAccount', () => {
    const st = serviceStatement('s3', 's3.amazonaws.com', {
      ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::orders' },
      StringEquals: { 'AWS:SourceAccount': ACCOUNT },
    });
    expect(addPermissionFromStatement(st, FUNCTION_NAME)).toEqual({
      FunctionName: FUNCTION_NAME,
      StatementId: 's3',
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      SourceArn: 'arn:aws:s3:::orders',
      SourceAccount: ACCOUNT,
    });
  });

  it('recreates PrincipalOrgID, EventSourceToken and a qualifier', () => {
    const st = publicInvokeStatement('org', {
      Condition: {
        StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5', 'lambda:EventSourceToken': 'tok-1' },
      },
    });
    expect(addPermissionFromStatement(st, FUNCTION_NAME, 'live')).toEqual({
      FunctionName: FUNCTION_NAME,
      Qualifier: 'live',
      StatementId: 'org',
      Action: 'lambda:InvokeFunction',
      Principal: '*',
      PrincipalOrgID: 'o-a1b2c3d4e5',
      EventSourceToken: 'tok-1',
    });
  });

  it('maps InvokedViaFunctionUrl to a boolean', () => {
    const st = urlFunctionInvokeStatement(undefined, {
      Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': true } },
    });
    expect(addPermissionFromStatement(st, FUNCTION_NAME)?.['InvokedViaFunctionUrl']).toBe(true);
  });

  it.each([
    ['no Sid', { Sid: undefined }],
    ['Deny', { Effect: 'Deny' as const }],
    ['NotAction', { Action: undefined, NotAction: 'lambda:GetPolicy' }],
    ['two actions', { Action: ['lambda:InvokeFunction', 'lambda:GetFunction'] }],
    ['two principals', { Principal: { AWS: ['*'], Service: 's3.amazonaws.com' } }],
    ['an unknown condition key', { Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } }],
    ['a negated condition', { Condition: { StringNotEquals: { 'aws:SourceAccount': ACCOUNT } } }],
    ['an IfExists condition', { Condition: { StringEqualsIfExists: { 'aws:SourceAccount': ACCOUNT } } }],
    [
      'several condition values',
      { Condition: { StringEquals: { 'aws:SourceAccount': [ACCOUNT, OTHER_ACCOUNT] } } },
    ],
  ])('has no exact AddPermission for a statement with %s', (_label, overrides) => {
    expect(addPermissionFromStatement(publicInvokeStatement('x', overrides), FUNCTION_NAME)).toBeUndefined();
  });
});

describe('evaluate() sequences RevisionIds across findings', () => {
  const fromPolicy = (q?: string) => ({
    fromPolicyRevision: { FunctionName: FUNCTION_NAME, ...(q ? { Qualifier: q } : {}) },
  });

  it('policy-only: the first RemovePermission carries the literal RevisionId, later ones defer', () => {
    const s = policyOnly([
      publicInvokeStatement('a'),
      publicInvokeStatement('b'),
      publicInvokeStatement('c'),
    ]);
    const e = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: NOW, rules: RULES_UNDER_TEST });
    const revs = e.findings.flatMap((f) => f.plan.steps.map((st) => st.parameters['RevisionId']));
    expect(revs).toEqual([policyRevision(), fromPolicy(), fromPolicy()]);
  });

  it('URL + policy: after UpdateFunctionUrlConfig every permission step on the function defers', () => {
    const s = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: [...publicUrlPair(), publicInvokeStatement('backdoor')] } },
    });
    const e = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: NOW, rules: RULES_UNDER_TEST });
    expect(e.findings.map((f) => f.ruleId)).toEqual(['LAMBDA.URL.PUBLIC', 'LAMBDA.POLICY.PUBLIC']);
    const steps = e.findings.flatMap((f) => f.plan.steps);
    expect(
      steps.map((st) => [st.operation, st.parameters['StatementId'], st.parameters['RevisionId']]),
    ).toEqual([
      ['UpdateFunctionUrlConfig', undefined, undefined],
      ['RemovePermission', 'FunctionURLAllowPublicAccess', fromPolicy()],
      ['RemovePermission', 'FunctionURLAllowInvokeAction', fromPolicy()],
      ['RemovePermission', 'backdoor', fromPolicy()],
    ]);
    // Inverses are replayed later against whatever revision the policy has then: no literal ids.
    expect(steps.every((st) => st.inverse?.parameters['RevisionId'] === undefined)).toBe(true);
  });

  it('deferred RevisionIds on alias policies name the qualifier', () => {
    const s = functionSnapshot({
      aliases: ['live'],
      urls: [],
      policies: { live: { statements: [publicInvokeStatement('a'), publicInvokeStatement('b')] } },
    });
    const e = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: NOW, rules: RULES_UNDER_TEST });
    const revs = e.findings[0].plan.steps.map((st) => st.parameters['RevisionId']);
    expect(revs).toEqual([policyRevision('live'), fromPolicy('live')]);
  });

  it('reports per-rule results and the auto route', () => {
    const s = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: publicUrlPair() } },
    });
    const e = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: NOW, rules: RULES_UNDER_TEST });
    expect(e.target).toEqual({ kind: 'function', arn: ARN });
    expect(e.results).toEqual([
      { ruleId: 'LAMBDA.URL.PUBLIC', status: 'NON_COMPLIANT' },
      { ruleId: 'LAMBDA.POLICY.PUBLIC', status: 'COMPLIANT' },
    ]);
    expect(e.route).toBe('auto');
    expect(e.findings[0]).toMatchObject({ mode: 'auto', exempt: false, severity: 'CRITICAL' });
  });

  it('a compliant function routes to none', () => {
    const s = functionSnapshot({ urls: [{ authType: 'AWS_IAM' }], policies: { '': null } });
    const e = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: NOW, rules: RULES_UNDER_TEST });
    expect(e.findings).toEqual([]);
    expect(e.route).toBe('none');
  });

  it('no function in the snapshot: every rule is not applicable', () => {
    const e = evaluate({
      snapshot: { account: ACCOUNT, region: 'us-east-1', responses: {} },
      config: DEFAULT_CONFIG,
      now: NOW,
      rules: RULES_UNDER_TEST,
    });
    expect(e.target).toBeUndefined();
    expect(e.results.map((r) => r.status)).toEqual(['NOT_APPLICABLE', 'NOT_APPLICABLE']);
    expect(e.route).toBe('none');
  });
});
