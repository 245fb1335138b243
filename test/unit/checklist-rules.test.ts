import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type GuardrailConfig, parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { RULES, triggerPrefixes } from '../../functions/core/rules/index.ts';
import { lambdaLayerUntrusted } from '../../functions/core/rules/lambda-layer-untrusted.ts';
import { lambdaRuntimeDeprecated } from '../../functions/core/rules/lambda-runtime-deprecated.ts';
import { lambdaTracing } from '../../functions/core/rules/lambda-tracing.ts';
import { lambdaUrlCors } from '../../functions/core/rules/lambda-url-cors.ts';
import { lambdaUrlPublic } from '../../functions/core/rules/lambda-url-public.ts';
import { lambdaVpcRequired } from '../../functions/core/rules/lambda-vpc-required.ts';
import {
  RUNTIME_DEPRECATIONS,
  RUNTIME_DEPRECATIONS_SOURCE,
} from '../../functions/core/rules/runtime-deprecations.ts';
import type { RawFinding, Rule, Snapshot } from '../../functions/core/types.ts';
import {
  ACCOUNT,
  DEFAULT_CORS,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  functionUrl,
  NOW,
  OTHER_ACCOUNT,
  publicUrlPair,
} from './helpers.ts';

const ARN = functionArn();
const cfg = (over: Record<string, unknown> = {}): GuardrailConfig => parseConfig(over);

function run(rule: Rule, s: Snapshot, config: GuardrailConfig = DEFAULT_CONFIG, now = NOW) {
  return rule.evaluate(s, { now, config });
}
function findingsOf(rule: Rule, s: Snapshot, config?: GuardrailConfig, now?: string): RawFinding[] {
  const r = run(rule, s, config, now);
  return r.status === 'NON_COMPLIANT' ? r.findings : [];
}
/** A snapshot with GetFunctionConfiguration fields changed. */
function withConfig(fields: Record<string, unknown>, input: Parameters<typeof functionSnapshot>[0] = {}) {
  const s = functionSnapshot(input);
  Object.assign(s.responses['GetFunctionConfiguration'] as object, fields);
  return s;
}

const NEW_RULES = [
  lambdaUrlCors,
  lambdaLayerUntrusted,
  lambdaVpcRequired,
  lambdaRuntimeDeprecated,
  lambdaTracing,
];

describe('checklist rules: registry', () => {
  it('registers every new rule once, in report mode, on functions', () => {
    for (const r of NEW_RULES) {
      expect(RULES.filter((x) => x.id === r.id)).toEqual([r]);
      expect(r).toMatchObject({ defaultMode: 'report', resource: 'function' });
      expect(r.fix.length).toBeGreaterThan(20);
      expect(r.knownFalsePositives.length).toBeGreaterThan(0);
    }
  });

  it('evaluates CORS after LAMBDA.URL.PUBLIC (its URL step keeps the old Cors)', () => {
    const ids = RULES.map((r) => r.id);
    expect(ids.indexOf('LAMBDA.URL.PUBLIC')).toBeLessThan(ids.indexOf('LAMBDA.URL.CORS'));
  });

  it('triggers on function creation and configuration changes, CORS also on URL changes', () => {
    for (const r of NEW_RULES) {
      expect(triggerPrefixes([r])['lambda']).toEqual(
        expect.arrayContaining(['CreateFunction', 'UpdateFunctionConfiguration']),
      );
    }
    expect(triggerPrefixes([lambdaUrlCors])['lambda']).toEqual(
      expect.arrayContaining(['CreateFunctionUrlConfig', 'UpdateFunctionUrlConfig']),
    );
  });

  it('default config: a plain function has no finding (LAMBDA.TRACING is opt-in)', () => {
    const e = evaluate({ snapshot: functionSnapshot({ urls: [] }), config: DEFAULT_CONFIG, now: NOW });
    expect(e.findings).toEqual([]);
    expect(e.route).toBe('none');
    expect(e.results.find((r) => r.ruleId === 'LAMBDA.TRACING')).toEqual({
      ruleId: 'LAMBDA.TRACING',
      status: 'NOT_APPLICABLE',
      reason: 'opt-in rule: enable it with rules.LAMBDA.TRACING.enabled',
    });
  });

  it('rules.<id>.enabled turns an opt-in rule on (report-only: route report, no plan) and any rule off', () => {
    const on = cfg({ rules: { 'LAMBDA.TRACING': { enabled: true } } });
    const e = evaluate({ snapshot: functionSnapshot({ urls: [] }), config: on, now: NOW });
    expect(e.findings.map((f) => [f.ruleId, f.mode, f.plan.steps.length])).toEqual([
      ['LAMBDA.TRACING', 'report', 0],
    ]);
    expect(e.route).toBe('report');
    const off = cfg({ rules: { 'LAMBDA.URL.PUBLIC': { enabled: false } } });
    const pub = functionSnapshot({
      urls: [{ authType: 'NONE' }],
      policies: { '': { statements: publicUrlPair() } },
    });
    expect(evaluate({ snapshot: pub, config: off, now: NOW, rules: [lambdaUrlPublic] })).toMatchObject({
      findings: [],
      results: [
        {
          ruleId: 'LAMBDA.URL.PUBLIC',
          status: 'NOT_APPLICABLE',
          reason: 'disabled by rules.LAMBDA.URL.PUBLIC.enabled',
        },
      ],
    });
  });
});

describe('LAMBDA.RUNTIME.DEPRECATED', () => {
  it('records its source and only ISO dates', () => {
    expect(RUNTIME_DEPRECATIONS_SOURCE.url).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/lambda\//);
    expect(RUNTIME_DEPRECATIONS_SOURCE.lookedUp).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const r of RUNTIME_DEPRECATIONS) {
      for (const d of [r.deprecation, r.blockCreate, r.blockUpdate].filter((x) => x !== null)) {
        expect(d, r.runtime).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(Number.isNaN(Date.parse(d as string))).toBe(false);
      }
      if (r.blockCreate && r.blockUpdate) expect(r.blockCreate <= r.blockUpdate).toBe(true);
      expect(r.deprecation <= (r.blockCreate ?? r.blockUpdate ?? r.deprecation)).toBe(true);
    }
    expect(new Set(RUNTIME_DEPRECATIONS.map((r) => r.runtime)).size).toBe(RUNTIME_DEPRECATIONS.length);
  });

  it('is compliant far from the date, and for runtimes the table does not list', () => {
    expect(run(lambdaRuntimeDeprecated, functionSnapshot()).status).toBe('COMPLIANT'); // nodejs22.x in 2025
    expect(run(lambdaRuntimeDeprecated, withConfig({ Runtime: 'python3.12' })).status).toBe('COMPLIANT');
  });

  it('is not applicable to container images (no Runtime)', () => {
    const s = withConfig({ PackageType: 'Image' });
    delete (s.responses['GetFunctionConfiguration'] as Record<string, unknown>)['Runtime'];
    expect(run(lambdaRuntimeDeprecated, s).status).toBe('NOT_APPLICABLE');
  });

  it('warns within the configured days before the deprecation date (default 90)', () => {
    const s = withConfig({ Runtime: 'nodejs20.x' });
    expect(findingsOf(lambdaRuntimeDeprecated, s, DEFAULT_CONFIG, '2026-01-29T00:00:00Z')).toHaveLength(0);
    const [f] = findingsOf(lambdaRuntimeDeprecated, s, DEFAULT_CONFIG, '2026-02-01T00:00:00Z');
    expect(f).toMatchObject({ resourceArn: ARN, severity: 'LOW', plan: { steps: [], preconditions: [] } });
    expect(f.evidence).toMatchObject({
      runtime: 'nodejs20.x',
      deprecation: '2026-04-30',
      daysUntilDeprecation: 88,
      warningDays: 90,
    });
    expect(f.summary).toContain('in 88 day(s)');
    expect(
      findingsOf(
        lambdaRuntimeDeprecated,
        s,
        cfg({ runtimeDeprecationWarningDays: 30 }),
        '2026-02-01T00:00:00Z',
      ),
    ).toHaveLength(0);
  });

  it('is MEDIUM once deprecated and HIGH once updates are blocked, with the exact command', () => {
    const s = withConfig({ Runtime: 'nodejs20.x' });
    const [dep] = findingsOf(lambdaRuntimeDeprecated, s, DEFAULT_CONFIG, '2026-05-01T00:00:00Z');
    expect(dep.severity).toBe('MEDIUM');
    expect(dep.summary).toContain('deprecated since 2026-04-30');
    expect(dep.summary).toContain('creation is blocked from 2027-07-29');
    const [blocked] = findingsOf(lambdaRuntimeDeprecated, s, DEFAULT_CONFIG, '2027-09-01T00:00:00Z');
    expect(blocked.severity).toBe('HIGH');
    expect(blocked.summary).toContain('can no longer be updated');
    expect(String(blocked.evidence['remediation'])).toContain(
      `aws lambda update-function-configuration --function-name ${FUNCTION_NAME} --runtime`,
    );
  });

  it('rejects a negative warning period', () => {
    expect(() => cfg({ runtimeDeprecationWarningDays: -1 })).toThrow(/runtimeDeprecationWarningDays/);
  });
});

describe('LAMBDA.TRACING', () => {
  it('is compliant with Active tracing', () => {
    expect(run(lambdaTracing, withConfig({ TracingConfig: { Mode: 'Active' } })).status).toBe('COMPLIANT');
  });

  it('reports PassThrough (and a missing TracingConfig) with both remediation commands, no plan', () => {
    for (const s of [functionSnapshot(), withConfig({ TracingConfig: undefined })]) {
      const [f] = findingsOf(lambdaTracing, s);
      expect(f.resourceArn).toBe(ARN);
      expect(f.plan).toEqual({ steps: [], preconditions: [] });
      expect(f.evidence['remediation']).toEqual([
        `aws iam attach-role-policy --role-name ${FUNCTION_NAME}-role --policy-arn arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess`,
        `aws lambda update-function-configuration --function-name ${FUNCTION_NAME} --tracing-config Mode=Active`,
      ]);
    }
  });

  it('uses the partition of the role', () => {
    const s = withConfig({ Role: `arn:aws-us-gov:iam::${ACCOUNT}:role/r` });
    const [f] = findingsOf(lambdaTracing, s);
    expect((f.evidence['remediation'] as string[])[0]).toContain('arn:aws-us-gov:iam::aws:policy/');
  });
});

describe('LAMBDA.URL.CORS', () => {
  const anyOrigin = { ...DEFAULT_CORS, AllowOrigins: ['*'] };
  const exempt = {
    'guardrail:exempt': 'LAMBDA.URL.PUBLIC',
    'guardrail:exempt-reason': 'public website',
    'guardrail:exempt-until': '2099-01-01',
  };

  it('is not applicable when URLs were not read; compliant with specific origins or no CORS', () => {
    expect(run(lambdaUrlCors, functionSnapshot()).status).toBe('NOT_APPLICABLE');
    expect(run(lambdaUrlCors, functionSnapshot({ urls: [{ authType: 'AWS_IAM' }] })).status).toBe(
      'COMPLIANT',
    );
    expect(run(lambdaUrlCors, functionSnapshot({ urls: [{ authType: 'NONE', cors: null }] })).status).toBe(
      'COMPLIANT',
    );
  });

  it('flags any origin on an AWS_IAM URL (not public by design), report only without allowedCorsOrigins', () => {
    const s = functionSnapshot({ urls: [{ authType: 'AWS_IAM', cors: anyOrigin }] });
    const [f] = findingsOf(lambdaUrlCors, s);
    expect(f).toMatchObject({ resourceArn: ARN, severity: 'MEDIUM', plan: { steps: [], preconditions: [] } });
    expect(f.evidence).toMatchObject({ allowOrigins: ['*'], allowCredentials: false, publicByDesign: false });
    expect(String(f.evidence['remediation'])).toContain('allowedCorsOrigins');
  });

  it('does not flag any origin on a public-by-design URL (NONE with an active URL.PUBLIC exemption)', () => {
    const s = functionSnapshot({ tags: exempt, urls: [{ authType: 'NONE', cors: anyOrigin }] });
    expect(run(lambdaUrlCors, s).status).toBe('COMPLIANT');
    // An expired exemption does not make it public by design.
    const expired = functionSnapshot({
      tags: { ...exempt, 'guardrail:exempt-until': '2020-01-01' },
      urls: [{ authType: 'NONE', cors: anyOrigin }],
    });
    expect(findingsOf(lambdaUrlCors, expired)).toHaveLength(1);
  });

  it('flags any origin with credentials even on a public-by-design URL (HIGH)', () => {
    const s = functionSnapshot({
      tags: exempt,
      urls: [{ authType: 'NONE', cors: { ...anyOrigin, AllowCredentials: true } }],
    });
    const [f] = findingsOf(lambdaUrlCors, s);
    expect(f.severity).toBe('HIGH');
    expect(f.summary).toContain('with credentials');
  });

  it('plans UpdateFunctionUrlConfig with the configured origins, keeping the rest of CORS, per alias', () => {
    const s = functionSnapshot({
      aliases: ['live'],
      urls: [{ qualifier: 'live', authType: 'AWS_IAM', cors: anyOrigin }],
    });
    const config = cfg({ allowedCorsOrigins: ['https://app.example.com'] });
    const [f] = findingsOf(lambdaUrlCors, s, config);
    expect(f.resourceArn).toBe(`${ARN}:live`);
    expect(f.plan.steps).toEqual([
      {
        service: 'lambda',
        operation: 'UpdateFunctionUrlConfig',
        parameters: {
          FunctionName: FUNCTION_NAME,
          Qualifier: 'live',
          Cors: { ...anyOrigin, AllowOrigins: ['https://app.example.com'] },
        },
        reason: 'allow only the configured origins on the function URL of alias live',
        inverse: {
          service: 'lambda',
          operation: 'UpdateFunctionUrlConfig',
          parameters: { FunctionName: FUNCTION_NAME, Qualifier: 'live', Cors: anyOrigin },
          reason: 'restore the CORS configuration of the function URL of alias live',
        },
      },
    ]);
    expect(f.plan.preconditions).toEqual([
      {
        read: 'ListFunctionUrlConfigs',
        path: `FunctionUrlConfigs[FunctionArn=${functionArn(FUNCTION_NAME, 'live')}].Cors.AllowOrigins`,
        equals: ['*'],
        description: 'the URL of alias live still allows the same origins',
      },
    ]);
  });

  it('with a public URL: the URL.PUBLIC step comes first and the CORS step replaces Cors after it', () => {
    const s = functionSnapshot({
      urls: [{ authType: 'NONE', cors: anyOrigin }],
      policies: { '': { statements: publicUrlPair() } },
    });
    const config = cfg({
      allowedCorsOrigins: ['https://app.example.com'],
      rules: { 'LAMBDA.URL.CORS': { mode: 'auto' } },
    });
    const e = evaluate({ snapshot: s, config, now: NOW, rules: [lambdaUrlPublic, lambdaUrlCors] });
    expect(e.findings.map((f) => [f.ruleId, f.mode])).toEqual([
      ['LAMBDA.URL.PUBLIC', 'auto'],
      ['LAMBDA.URL.CORS', 'auto'],
    ]);
    expect(e.findings[1].plan.steps[0].parameters['Cors']).toMatchObject({
      AllowOrigins: ['https://app.example.com'],
    });
    expect(e.findings[1].summary).toContain(functionUrl(FUNCTION_NAME));
  });

  it('validates allowedCorsOrigins as origins', () => {
    expect(() => cfg({ allowedCorsOrigins: ['*'] })).toThrow(/allowedCorsOrigins/);
    expect(() => cfg({ allowedCorsOrigins: ['https://a.example.com/path'] })).toThrow(/allowedCorsOrigins/);
    expect(cfg({ allowedCorsOrigins: ['http://localhost:3000'] }).allowedCorsOrigins).toEqual([
      'http://localhost:3000',
    ]);
  });
});

describe('LAMBDA.VPC.REQUIRED', () => {
  const vpc = { SubnetIds: ['subnet-0abc'], SecurityGroupIds: ['sg-0abc'], VpcId: 'vpc-0abc' };

  it('does not apply without vpcRequired, or to functions it does not name', () => {
    expect(run(lambdaVpcRequired, functionSnapshot()).status).toBe('NOT_APPLICABLE');
    const config = cfg({ vpcRequired: { namePrefixes: ['payments-'] } });
    expect(run(lambdaVpcRequired, functionSnapshot(), config).status).toBe('NOT_APPLICABLE');
  });

  it('flags a function named by prefix with no subnets, and passes one with subnets', () => {
    const config = cfg({ vpcRequired: { namePrefixes: ['orders-'] } });
    const [f] = findingsOf(lambdaVpcRequired, functionSnapshot(), config);
    expect(f).toMatchObject({ resourceArn: ARN, plan: { steps: [], preconditions: [] } });
    expect(f.evidence['requiredBy']).toBe('name prefix "orders-" (vpcRequired.namePrefixes)');
    expect(
      findingsOf(
        lambdaVpcRequired,
        withConfig({ VpcConfig: { SubnetIds: [], SecurityGroupIds: [] } }),
        config,
      ),
    ).toHaveLength(1);
    expect(run(lambdaVpcRequired, withConfig({ VpcConfig: vpc }), config).status).toBe('COMPLIANT');
  });

  it('matches by tag key and value, or any value with *', () => {
    const byValue = cfg({ vpcRequired: { tags: { 'data-class': 'restricted' } } });
    const anyValue = cfg({ vpcRequired: { tags: { 'data-class': '*' } } });
    const tagged = functionSnapshot({ tags: { 'data-class': 'restricted' } });
    const other = functionSnapshot({ tags: { 'data-class': 'public' } });
    expect(findingsOf(lambdaVpcRequired, tagged, byValue)).toHaveLength(1);
    expect(run(lambdaVpcRequired, other, byValue).status).toBe('NOT_APPLICABLE');
    expect(findingsOf(lambdaVpcRequired, other, anyValue)[0].evidence['requiredBy']).toBe(
      'tag data-class=public (vpcRequired.tags)',
    );
  });
});

describe('LAMBDA.LAYER.UNTRUSTED', () => {
  const layer = (account: string, name = 'util', v = 3) => ({
    Arn: `arn:aws:lambda:us-east-1:${account}:layer:${name}:${v}`,
    CodeSize: 100,
  });

  it('is compliant without layers and with layers of the own account', () => {
    expect(run(lambdaLayerUntrusted, functionSnapshot()).status).toBe('COMPLIANT');
    expect(run(lambdaLayerUntrusted, withConfig({ Layers: [layer(ACCOUNT)] })).status).toBe('COMPLIANT');
  });

  it('flags layers from other accounts, listing only those', () => {
    const s = withConfig({ Layers: [layer(ACCOUNT), layer(OTHER_ACCOUNT, 'x', 7)] });
    const [f] = findingsOf(lambdaLayerUntrusted, s);
    expect(f.evidence['layers']).toEqual([
      { arn: `arn:aws:lambda:us-east-1:${OTHER_ACCOUNT}:layer:x:7`, account: OTHER_ACCOUNT },
    ]);
    expect(f.plan).toEqual({ steps: [], preconditions: [] });
  });

  it('trusts trustedLayerAccounts and the accounts of the configured extension layers', () => {
    const s = withConfig({ Layers: [layer(OTHER_ACCOUNT)] });
    expect(run(lambdaLayerUntrusted, s, cfg({ trustedLayerAccounts: [OTHER_ACCOUNT] })).status).toBe(
      'COMPLIANT',
    );
    const ext = cfg({
      secrets: {
        extensionLayerArns: { arm64: `arn:aws:lambda:us-east-1:${OTHER_ACCOUNT}:layer:ext-arm64:12` },
      },
    });
    expect(run(lambdaLayerUntrusted, s, ext).status).toBe('COMPLIANT');
    expect(() => cfg({ trustedLayerAccounts: ['12345'] })).toThrow(/trustedLayerAccounts/);
  });
});
