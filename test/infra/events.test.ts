import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config.ts';
import { baseAction } from '../../functions/core/event.ts';
import { RULES, triggerPrefixes } from '../../functions/core/rules/index.ts';
import type { Rule } from '../../functions/core/types.ts';
import { cdkJsonContext } from '../../lib/app.ts';
import {
  CLOUDTRAIL_DETAIL_TYPE,
  cloudTrailEventPatterns,
  splitExcludedPrincipals,
} from '../../lib/event-pattern.ts';
import { PROJECT_ROOT } from '../../lib/functions.ts';
import { GuardrailStack } from '../../lib/guardrail-stack.ts';
import { defaultSynth, type Loose, logicalIdOf, resourcesOfType, synth } from './helpers.ts';

/**
 * A small EventBridge matcher for the operators the guardrail uses (exact string, prefix,
 * anything-but list, exists), following the documented semantics: fields AND, array values OR, a
 * listed field must be present unless the matcher is `{"exists": false}`.
 */
type Leaf = string | { prefix: string } | { exists: boolean } | { 'anything-but': string[] | string };
function matches(pattern: Record<string, unknown>, event: unknown): boolean {
  return Object.entries(pattern).every(([key, p]) => {
    const value = event && typeof event === 'object' ? (event as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(p)) return (p as Leaf[]).some((leaf) => matchLeaf(leaf, value));
    return matches(p as Record<string, unknown>, value);
  });
}
function matchLeaf(leaf: Leaf, value: unknown): boolean {
  if (typeof leaf === 'string') return value === leaf;
  if ('exists' in leaf)
    return leaf.exists ? value !== undefined && typeof value !== 'object' : value === undefined;
  if (value === undefined || typeof value !== 'string') return false;
  if ('prefix' in leaf) return value.startsWith(leaf.prefix);
  const but = leaf['anything-but'];
  return !(Array.isArray(but) ? but : [but]).includes(value);
}

const OWN_ROLE_ARN = (name: string) => `arn:aws:iam::123456789012:role/LambdaGuardrail-${name}Role`;

/** The rule's pattern with the roles' `Fn::GetAtt` replaced by concrete ARNs, as CloudFormation would. */
function concretePattern(pattern: unknown): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(pattern).replace(/\{"Fn::GetAtt":\["([A-Za-z]+)Role[0-9A-F]{8}","Arn"\]\}/g, (_, n) =>
      JSON.stringify(OWN_ROLE_ARN(n)),
    ),
  );
}

const envelope = (service: string, detail: unknown) => ({
  version: '0',
  id: 'e7c1b0a4-0000-0000-0000-000000000000',
  'detail-type': CLOUDTRAIL_DETAIL_TYPE,
  source: `aws.${service}`,
  account: '123456789012',
  region: 'us-east-1',
  detail,
});

const built = defaultSynth();
const rules = resourcesOfType(built.json, 'AWS::Events::Rule');
const prefixes = triggerPrefixes();
const lambdaRule = rules.find(([, r]) => JSON.stringify(r.Properties?.EventPattern).includes('"aws.lambda"'));
if (!lambdaRule) throw new Error('no aws.lambda rule in the template');
const lambdaPattern = concretePattern(lambdaRule[1].Properties?.EventPattern);

describe('EventBridge rules', () => {
  it('one rule per service in triggerPrefixes() (an iam rule only when a rule triggers on iam)', () => {
    const sources = rules.map(([, r]) => (r.Properties as Loose).EventPattern.source as string[]).sort();
    expect(sources).toEqual(
      Object.keys(prefixes)
        .sort()
        .map((s) => [`aws.${s}`]),
    );
    expect(rules.length).toBe(Object.keys(prefixes).length);
  });

  it('matches CloudTrail API calls of the service, by PREFIX on every trigger action, errorCode absent', () => {
    for (const [, r] of rules) {
      const p = r.Properties?.EventPattern as {
        source: string[];
        'detail-type': string[];
        detail: Record<string, unknown>;
      };
      const service = p.source[0].replace(/^aws\./, '');
      expect(p['detail-type']).toEqual([CLOUDTRAIL_DETAIL_TYPE]);
      expect(p.detail.eventSource).toEqual([`${service}.amazonaws.com`]);
      expect(p.detail.eventName).toEqual(prefixes[service].map((a) => ({ prefix: a })));
      expect(p.detail.errorCode).toEqual([{ exists: false }]);
    }
  });

  it('excludes the guardrail’s own roles with anything-but OR exists:false on the session issuer', () => {
    const taskRoles = (['collect', 'evaluate', 'prove', 'remediate', 'verify', 'record'] as const).map(
      (n) => ({
        'Fn::GetAtt': [logicalIdOf(built, built.stack.functions[n].role), 'Arn'],
      }),
    );
    for (const [, r] of rules) {
      const p = r.Properties?.EventPattern as {
        detail: { userIdentity: { sessionContext: { sessionIssuer: { arn: unknown[] } } } };
      };
      const arn = p.detail.userIdentity.sessionContext.sessionIssuer.arn;
      expect(arn).toHaveLength(2);
      expect(arn[1]).toEqual({ exists: false });
      const but = (arn[0] as { 'anything-but': unknown[] })['anything-but'];
      expect(JSON.stringify([...but].map((x) => JSON.stringify(x)).sort())).toEqual(
        JSON.stringify(taskRoles.map((x) => JSON.stringify(x)).sort()),
      );
    }
  });

  it('the ingest Lambda is the target, with a retry policy and an encrypted, TLS-only dead-letter queue', () => {
    const ingestArn = { 'Fn::GetAtt': [logicalIdOf(built, built.stack.functions.ingest.fn), 'Arn'] };
    const dlq = logicalIdOf(built, built.stack.ingestTargetDlq);
    for (const [, r] of rules) {
      const targets = r.Properties?.Targets as Record<string, unknown>[];
      expect(targets).toHaveLength(1);
      expect(targets[0].Arn).toEqual(ingestArn);
      expect(targets[0].DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } });
      expect(targets[0].RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 8 });
    }
    for (const q of [built.stack.ingestTargetDlq, built.stack.ingestAsyncDlq]) {
      const id = logicalIdOf(built, q);
      expect(built.json.Resources[id].Properties?.SqsManagedSseEnabled).toBe(true);
      const policy = resourcesOfType(built.json, 'AWS::SQS::QueuePolicy').find(
        ([, p]) => JSON.stringify(p.Properties?.Queues) === JSON.stringify([{ Ref: id }]),
      );
      expect(JSON.stringify(policy?.[1].Properties?.PolicyDocument)).toContain(
        '"aws:SecureTransport":"false"',
      );
    }
  });

  it('ingest’s own async failures go to an encrypted DLQ', () => {
    const fn = built.json.Resources[logicalIdOf(built, built.stack.functions.ingest.fn)];
    expect(fn.Properties?.DeadLetterConfig).toEqual({
      TargetArn: { 'Fn::GetAtt': [logicalIdOf(built, built.stack.ingestAsyncDlq), 'Arn'] },
    });
    const [, invokeConfig] = resourcesOfType(built.json, 'AWS::Lambda::EventInvokeConfig')[0];
    expect(invokeConfig.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
    });
  });
});

describe('EventBridge pattern semantics (simulated on real CloudTrail records)', () => {
  const fixtures = join(PROJECT_ROOT, 'test', 'fixtures', 'cloudtrail');
  const records = readdirSync(fixtures)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({
      file: f,
      record: JSON.parse(readFileSync(join(fixtures, f), 'utf8')) as Record<string, unknown>,
    }))
    .filter(({ record }) => typeof record.eventSource === 'string' && typeof record.eventName === 'string');

  it('has lambda fixtures with and without API-version suffixes', () => {
    const names = records.map((r) => r.record.eventName as string);
    expect(names.some((n) => /20150331v2$/.test(n))).toBe(true);
    expect(names.some((n) => n === 'CreateFunctionUrlConfig')).toBe(true);
  });

  it('fires exactly for successful trigger calls of the lambda service', () => {
    const outcomes: boolean[] = [];
    for (const { file, record } of records) {
      const service = (record.eventSource as string).replace(/\.amazonaws\.com$/, '');
      if (service !== 'lambda') continue;
      const expected =
        (prefixes.lambda ?? []).includes(baseAction(record.eventName as string)) &&
        record.errorCode === undefined;
      expect(matches(lambdaPattern, envelope(service, record)), file).toBe(expected);
      outcomes.push(expected);
    }
    // Both kinds are exercised: trigger calls that fire and other Lambda calls that do not.
    expect(outcomes.filter(Boolean).length).toBeGreaterThan(2);
    expect(outcomes.filter((o) => !o).length).toBeGreaterThan(2);
  });

  const addPermission = {
    eventSource: 'lambda.amazonaws.com',
    eventName: 'AddPermission20150331v2',
    userIdentity: {
      type: 'AssumedRole',
      arn: 'arn:aws:sts::123456789012:assumed-role/Deployer/session',
      sessionContext: { sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::123456789012:role/Deployer' } },
    },
  };

  it('a versioned event name matches only by prefix (an exact match on the bare name would never fire)', () => {
    expect(matches(lambdaPattern, envelope('lambda', addPermission))).toBe(true);
    const exact = {
      ...lambdaPattern,
      detail: { ...(lambdaPattern.detail as object), eventName: ['AddPermission'] },
    };
    expect(matches(exact, envelope('lambda', addPermission))).toBe(false);
  });

  it('issue 7 triggers: layer and event-invoke-config calls match by prefix, with or without a version suffix', () => {
    expect(prefixes.lambda).toEqual(
      expect.arrayContaining([
        'AddLayerVersionPermission',
        'PublishLayerVersion',
        'PutFunctionEventInvokeConfig',
        'UpdateFunctionEventInvokeConfig',
        'CreateFunction',
        'UpdateFunctionConfiguration',
      ]),
    );
    // Event names as CloudTrail records them: the Lambda developer guide ("Logging Lambda API calls
    // using CloudTrail") names PublishLayerVersion20181031 and lists the event-invoke-config calls
    // without a suffix; AddLayerVersionPermission is seen as AddLayerVersionPermission20181031 in
    // published detections. Prefix matching covers either form.
    for (const eventName of [
      'AddLayerVersionPermission20181031',
      'PublishLayerVersion20181031',
      'PutFunctionEventInvokeConfig',
      'UpdateFunctionEventInvokeConfig',
    ])
      expect(matches(lambdaPattern, envelope('lambda', { ...addPermission, eventName })), eventName).toBe(
        true,
      );
    // Reads and removals of the same resources do not start a run.
    for (const eventName of [
      'GetLayerVersionPolicy20181031',
      'RemoveLayerVersionPermission20181031',
      'DeleteFunctionEventInvokeConfig',
    ])
      expect(matches(lambdaPattern, envelope('lambda', { ...addPermission, eventName })), eventName).toBe(
        false,
      );
  });

  it('a failed call does not match', () => {
    expect(matches(lambdaPattern, envelope('lambda', { ...addPermission, errorCode: 'AccessDenied' }))).toBe(
      false,
    );
  });

  it('the guardrail’s own sessions do not match; IAM users (no session issuer) still do', () => {
    const own = {
      ...addPermission,
      userIdentity: {
        type: 'AssumedRole',
        sessionContext: { sessionIssuer: { arn: OWN_ROLE_ARN('Remediate') } },
      },
    };
    expect(matches(lambdaPattern, envelope('lambda', own))).toBe(false);
    const iamUser = {
      ...addPermission,
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/alice' },
    };
    expect(matches(lambdaPattern, envelope('lambda', iamUser))).toBe(true);
    const emptyIssuer = {
      ...iamUser,
      userIdentity: { ...iamUser.userIdentity, sessionContext: { sessionIssuer: {} } },
    };
    expect(matches(lambdaPattern, envelope('lambda', emptyIssuer))).toBe(true);
    // Without the exists:false alternative, anything-but alone would miss IAM users' changes.
    const strict = JSON.parse(JSON.stringify(lambdaPattern));
    strict.detail.userIdentity.sessionContext.sessionIssuer.arn.pop();
    expect(matches(strict, envelope('lambda', iamUser))).toBe(false);
  });
});

describe('cloudTrailEventPatterns()', () => {
  const resolve = (v: unknown) => new Stack().resolve(v);

  it('builds an aws.iam pattern when rules trigger on IAM actions', () => {
    const patterns = cloudTrailEventPatterns({
      prefixes: { iam: ['PutRolePolicy', 'AttachRolePolicy'], lambda: ['AddPermission'] },
      excludedRoleArns: ['arn:aws:iam::123456789012:role/own'],
    });
    expect(patterns.map((p) => p.service)).toEqual(['iam', 'lambda']);
    const iam = resolve(patterns[0].pattern) as Loose;
    expect(iam.source).toEqual(['aws.iam']);
    expect(iam.detail.eventSource).toEqual(['iam.amazonaws.com']);
    expect(iam.detail.eventName).toEqual([{ prefix: 'PutRolePolicy' }, { prefix: 'AttachRolePolicy' }]);
  });

  it('configured principals: roles on the session issuer, users and sessions on userIdentity.arn', () => {
    const split = splitExcludedPrincipals([
      'arn:aws:iam::123456789012:role/path/ci-deployer',
      'arn:aws:iam::123456789012:user/breakglass',
      'arn:aws:sts::123456789012:assumed-role/Admin/alice',
    ]);
    expect(split.roles).toEqual(['arn:aws:iam::123456789012:role/path/ci-deployer']);
    expect(split.others).toHaveLength(2);
    const [p] = cloudTrailEventPatterns({
      prefixes: { lambda: ['AddPermission'] },
      excludedRoleArns: split.roles,
      excludedPrincipalArns: split.others,
    });
    const r = resolve(p.pattern) as Loose;
    expect(r.detail.userIdentity.arn).toEqual([{ 'anything-but': split.others }, { exists: false }]);
    const breakglass = {
      eventName: 'AddPermission20150331v2',
      eventSource: 'lambda.amazonaws.com',
      userIdentity: { arn: split.others[0] },
    };
    expect(matches(r, envelope('lambda', breakglass))).toBe(false);
  });

  it('configured excludedPrincipals reach the deployed rule and the ingest environment', () => {
    const user = 'arn:aws:iam::123456789012:user/breakglass';
    const role = 'arn:aws:iam::123456789012:role/ci-deployer';
    const s = synth({ guardrail: { excludedPrincipals: [role, user] } });
    const [[, rule]] = resourcesOfType(s.json, 'AWS::Events::Rule');
    const ui = (rule.Properties as Loose).EventPattern.detail.userIdentity;
    expect(ui.arn).toEqual([{ 'anything-but': [user] }, { exists: false }]);
    expect(ui.sessionContext.sessionIssuer.arn[0]['anything-but']).toContainEqual(role);
    const env = s.json.Resources[logicalIdOf(s, s.stack.functions.ingest.fn)].Properties?.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(JSON.stringify(env.Variables.EXCLUDED_PRINCIPALS)).toContain(user);
  });
});

describe('a rule triggered by IAM actions', () => {
  const roleRule: Rule = {
    id: 'TEST.ROLE.WILDCARD',
    title: 'test rule on execution roles',
    severity: 'HIGH',
    rationale: 'test',
    knownFalsePositives: [],
    triggers: [{ service: 'iam', actions: ['PutRolePolicy', 'AttachRolePolicy'] }],
    resource: 'role',
    defaultMode: 'approve',
    fix: 'test',
    evaluate: () => ({ status: 'COMPLIANT' }),
  };
  const app = new App({
    builtinCloudFormationValidation: false,
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new GuardrailStack(app, 'WithIam', {
    config: parseConfig({}),
    rules: [...RULES, roleRule],
    env: { region: 'us-east-1' },
  });
  const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, Loose> };
  const eventRules = Object.values(json.Resources).filter((r) => r.Type === 'AWS::Events::Rule');

  it('adds an aws.iam rule with prefix matches on iam.amazonaws.com, same exclusions and target', () => {
    expect(eventRules.map((r) => r.Properties.EventPattern.source[0]).sort()).toEqual([
      'aws.iam',
      'aws.lambda',
    ]);
    const iam = eventRules.find((r) => r.Properties.EventPattern.source[0] === 'aws.iam');
    const p = iam.Properties.EventPattern;
    expect(p.detail.eventSource).toEqual(['iam.amazonaws.com']);
    // The test rule's actions, merged with the IAM triggers of the registered rules (IAM.ROLE.*).
    const expected = [
      ...new Set([...(triggerPrefixes(RULES)['iam'] ?? []), 'AttachRolePolicy', 'PutRolePolicy']),
    ].sort();
    expect(p.detail.eventName).toEqual(expected.map((prefix) => ({ prefix })));
    expect(p.detail.errorCode).toEqual([{ exists: false }]);
    expect(p.detail.userIdentity.sessionContext.sessionIssuer.arn[1]).toEqual({ exists: false });
    expect(iam.Properties.Targets[0].DeadLetterConfig).toBeDefined();
  });

  it('stays clean under cdk-nag', () => {
    expect(new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName)).toEqual([]);
  });
});
