import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { baseAction, normalizeEvent } from '../../functions/core/event.ts';
import { planDigest } from '../../functions/core/plan.ts';
import type { Statement } from '../../functions/core/policy.ts';
import { RULES, triggerPrefixes } from '../../functions/core/rules/index.ts';
import {
  ASYNC_SERVICES,
  lambdaAsyncFailureDestination,
} from '../../functions/core/rules/lambda-async-failure-destination.ts';
import { lambdaLayerPublic, parseLayerVersionArn } from '../../functions/core/rules/lambda-layer-public.ts';
import {
  lambdaPolicyConfusedDeputy,
  replacementSid,
} from '../../functions/core/rules/lambda-policy-confused-deputy.ts';
import { targetOf } from '../../functions/core/snapshot.ts';
import type { RawFinding, Rule, Snapshot } from '../../functions/core/types.ts';
import {
  ACCOUNT,
  accountStatement,
  clone,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  NOW,
  OTHER_ACCOUNT,
  policyRevision,
  publicInvokeStatement,
  REGION,
  serviceStatement,
} from './helpers.ts';

/**
 * Issue 7, part A: LAMBDA.POLICY.CONFUSED_DEPUTY, LAMBDA.LAYER.PUBLIC and
 * LAMBDA.ASYNC.NO_FAILURE_DESTINATION, evaluated on snapshots in the collectors' exact shapes.
 */

function findingsOf(rule: Rule, s: Snapshot): RawFinding[] {
  const r = rule.evaluate(s, { now: NOW, config: DEFAULT_CONFIG });
  return r.status === 'NON_COMPLIANT' ? r.findings : [];
}
const statusOf = (rule: Rule, s: Snapshot) => rule.evaluate(s, { now: NOW, config: DEFAULT_CONFIG }).status;

/** A function snapshot with the given unqualified statements and event invoke configs read. */
function fnWith(
  statements: Statement[],
  invoke: Record<string, unknown> = { GetFunctionEventInvokeConfig: null },
  aliases: string[] = [],
): Snapshot {
  const s = functionSnapshot({ urls: [], aliases, policies: { '': { statements } } });
  Object.assign(s.responses, invoke);
  return s;
}

describe('LAMBDA.POLICY.CONFUSED_DEPUTY', () => {
  const rule = lambdaPolicyConfusedDeputy;

  it('is registered after LAMBDA.POLICY.PUBLIC, in approve mode, on functions, triggered by AddPermission', () => {
    const ids = RULES.map((r) => r.id);
    expect(ids.indexOf(rule.id)).toBe(ids.indexOf('LAMBDA.POLICY.PUBLIC') + 1);
    expect(rule).toMatchObject({ defaultMode: 'approve', resource: 'function', severity: 'HIGH' });
    expect(triggerPrefixes([rule])).toEqual({ lambda: ['AddPermission'] });
  });

  it('flags EventBridge, SNS, S3, API Gateway and ELB principals without a source condition', () => {
    const services = [
      'events.amazonaws.com',
      'sns.amazonaws.com',
      's3.amazonaws.com',
      'apigateway.amazonaws.com',
      'elasticloadbalancing.amazonaws.com',
    ];
    const s = fnWith(services.map((svc, i) => serviceStatement(`svc-${i}`, svc)));
    const [f] = findingsOf(rule, s);
    expect(f.resourceArn).toBe(functionArn());
    expect((f.evidence['statements'] as { Sid: string }[]).map((st) => st.Sid)).toEqual(
      services.map((_, i) => `svc-${i}`),
    );
    expect(f.summary).toContain('sns.amazonaws.com');
  });

  it('each source key binds the caller, matched case-insensitively (Lambda writes AWS:SourceArn)', () => {
    const conditions: Statement['Condition'][] = [
      { ArnLike: { 'AWS:SourceArn': 'arn:aws:events:us-east-1:123456789012:rule/nightly' } },
      { StringEquals: { 'aws:sourceaccount': ACCOUNT } },
      { StringEquals: { 'aws:SourceOrgID': 'o-abc123' } },
      { 'ForAnyValue:StringLike': { 'aws:SourceOrgPaths': 'o-abc123/r-ab12/ou-ab12-11111111/*' } },
      { StringEquals: { 'lambda:EventSourceToken': 'amzn1.ask.skill.1234' } },
    ];
    for (const c of conditions)
      expect(
        statusOf(rule, fnWith([serviceStatement('bound', 'events.amazonaws.com', c)])),
        JSON.stringify(c),
      ).toBe('COMPLIANT');
  });

  it('negated, IfExists and wildcard-only conditions do not bind the caller', () => {
    const loose: Statement['Condition'][] = [
      { StringNotEquals: { 'aws:SourceAccount': OTHER_ACCOUNT } },
      { ArnLikeIfExists: { 'aws:SourceArn': 'arn:aws:sns:us-east-1:123456789012:topic' } },
      { ArnLike: { 'aws:SourceArn': '*' } },
    ];
    for (const c of loose)
      expect(
        findingsOf(rule, fnWith([serviceStatement('loose', 'sns.amazonaws.com', c)])),
        JSON.stringify(c),
      ).toHaveLength(1);
  });

  it('never flags Alexa principals, accounts, Principal * (LAMBDA.POLICY.PUBLIC) or non-invoke actions', () => {
    const s = fnWith([
      serviceStatement('alexa', 'alexa-appkit.amazon.com'),
      serviceStatement('smarthome', 'alexa-connectedhome.amazon.com'),
      accountStatement('partner'),
      publicInvokeStatement('public'),
      { ...serviceStatement('getfn', 'events.amazonaws.com'), Action: 'lambda:GetFunction' },
      { ...serviceStatement('deny', 'sns.amazonaws.com'), Effect: 'Deny' },
    ]);
    expect(statusOf(rule, s)).toBe('COMPLIANT');
  });

  it('plans AddPermission (same statement + SourceAccount, new Sid) then RemovePermission, with RevisionIds and inverses', () => {
    const arn = 'arn:aws:execute-api:us-east-1:123456789012:a1b2c3/*/GET/orders';
    const s = fnWith([
      serviceStatement('apigw', 'apigateway.amazonaws.com', { ArnLike: { 'AWS:SourceArn': '*' } }),
      serviceStatement('topic', 'sns.amazonaws.com'),
      serviceStatement('ok', 'events.amazonaws.com', { ArnLike: { 'AWS:SourceArn': arn } }),
    ]);
    const [f] = findingsOf(rule, s);
    const rev = policyRevision('');
    expect(f.plan.steps.map((st) => `${st.operation} ${st.parameters['StatementId']}`)).toEqual([
      'AddPermission apigw-SourceAccount',
      'RemovePermission apigw',
      'AddPermission topic-SourceAccount',
      'RemovePermission topic',
    ]);
    expect(f.plan.steps[0].parameters).toEqual({
      FunctionName: FUNCTION_NAME,
      StatementId: 'apigw-SourceAccount',
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      SourceArn: '*',
      SourceAccount: ACCOUNT,
      RevisionId: rev,
    });
    expect(f.plan.steps[0].inverse).toMatchObject({
      operation: 'RemovePermission',
      parameters: { FunctionName: FUNCTION_NAME, StatementId: 'apigw-SourceAccount' },
    });
    expect(f.plan.steps[1].parameters).toEqual({
      FunctionName: FUNCTION_NAME,
      StatementId: 'apigw',
      RevisionId: rev,
    });
    expect(f.plan.steps[1].inverse).toMatchObject({
      operation: 'AddPermission',
      parameters: { StatementId: 'apigw', Principal: 'apigateway.amazonaws.com', SourceArn: '*' },
    });
    expect(f.plan.preconditions).toEqual([
      expect.objectContaining({ read: 'GetPolicy', path: 'RevisionId', equals: rev }),
    ]);
    expect((f.evidence['equivalentCommands'] as { commands: string[] }[])[1].commands[0]).toBe(
      `aws lambda add-permission --function-name '${FUNCTION_NAME}' --statement-id 'topic-SourceAccount' --action 'lambda:InvokeFunction' --principal 'sns.amazonaws.com' --source-account '${ACCOUNT}'`,
    );
  });

  it('after sequencing, only the first policy write carries the literal RevisionId', () => {
    const s = fnWith([serviceStatement('a', 'sns.amazonaws.com'), serviceStatement('b', 's3.amazonaws.com')]);
    const e = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: NOW });
    const f = e.findings.find((x) => x.ruleId === rule.id)!;
    expect(f.mode).toBe('approve');
    expect(e.route).toBe('approve');
    expect(f.plan.steps[0].parameters['RevisionId']).toBe(policyRevision(''));
    for (const st of f.plan.steps.slice(1))
      expect(st.parameters['RevisionId']).toEqual({ fromPolicyRevision: { FunctionName: FUNCTION_NAME } });
  });

  it('an alias policy gets its own finding with Qualifier on every step', () => {
    const s = functionSnapshot({
      urls: [],
      aliases: ['live'],
      policies: { '': null, live: { statements: [serviceStatement('bus', 'events.amazonaws.com')] } },
    });
    const [f] = findingsOf(rule, s);
    expect(f.resourceArn).toBe(functionArn(FUNCTION_NAME, 'live'));
    for (const st of f.plan.steps) expect(st.parameters['Qualifier']).toBe('live');
  });

  it('statements AddPermission cannot express get no plan, only the exact manual fix', () => {
    const s = fnWith([
      {
        ...serviceStatement('two', 'sns.amazonaws.com'),
        Action: ['lambda:InvokeFunction', 'lambda:GetFunction'],
      },
      {
        ...serviceStatement('both', 'sns.amazonaws.com'),
        Principal: { Service: ['sns.amazonaws.com', 's3.amazonaws.com'] },
      },
      serviceStatement('ip', 's3.amazonaws.com', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }),
      { ...serviceStatement('nosid', 'events.amazonaws.com'), Sid: undefined },
    ]);
    const [f] = findingsOf(rule, s);
    expect(f.plan.steps).toEqual([]);
    expect(f.plan.preconditions).toEqual([]);
    const manual = f.evidence['manualFix'] as {
      statementId: string | null;
      why: string;
      commands?: string[];
    }[];
    expect(manual.map((m) => m.statementId)).toEqual(['two', 'both', 'ip', null]);
    expect(manual[0].commands?.[1]).toBe(
      `aws lambda remove-permission --function-name '${FUNCTION_NAME}' --statement-id 'two'`,
    );
    expect(manual[3].why).toMatch(/no Sid/);
  });

  it('replacement Sids stay within 100 characters and never collide', () => {
    expect(replacementSid('x', new Set(['x-SourceAccount']))).toBe('x-SourceAccount2');
    const long = replacementSid('s'.repeat(120), new Set());
    expect(long.length).toBeLessThanOrEqual(100);
    expect(long).toMatch(/^[A-Za-z0-9_.-]+$/);
  });
});

describe('LAMBDA.LAYER.PUBLIC', () => {
  const rule = lambdaLayerPublic;
  const layerArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-utils:3`;
  /** A layer snapshot in the collector's shape (GetLayerVersionByArn response; GetLayerVersionPolicy body). */
  function layerSnapshot(statements: unknown[] | null, arn = layerArn): Snapshot {
    return {
      account: ACCOUNT,
      region: REGION,
      responses: {
        GetLayerVersion: {
          Content: {
            Location: 'https://awslambda-us-east-1-layers.s3.amazonaws.com/x',
            CodeSha256: 'abc=',
            CodeSize: 1024,
          },
          LayerArn: arn.replace(/:\d+$/, ''),
          LayerVersionArn: arn,
          Description: '',
          CreatedDate: '2025-05-01T10:00:00.000+0000',
          Version: Number(arn.split(':').pop()),
          CompatibleRuntimes: ['nodejs22.x'],
        },
        GetLayerVersionPolicy:
          statements === null
            ? null
            : {
                Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }),
                RevisionId: 'layer-rev-1',
              },
      },
    };
  }
  const publicSt = (sid: string) => ({
    Sid: sid,
    Effect: 'Allow',
    Principal: '*',
    Action: 'lambda:GetLayerVersion',
    Resource: layerArn,
  });

  it('is an auto rule on layers, triggered by AddLayerVersionPermission and PublishLayerVersion', () => {
    expect(rule).toMatchObject({ defaultMode: 'auto', resource: 'layer' });
    expect(triggerPrefixes([rule])).toEqual({ lambda: ['AddLayerVersionPermission', 'PublishLayerVersion'] });
    expect(targetOf(layerSnapshot(null))).toEqual({ kind: 'layer', arn: layerArn });
  });

  it('a layer without a policy, or shared with an account or an organization, is compliant', () => {
    expect(statusOf(rule, layerSnapshot(null))).toBe('COMPLIANT');
    expect(
      statusOf(
        rule,
        layerSnapshot([
          { ...publicSt('acct'), Principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:root` } },
          // AddLayerVersionPermission --organization-id writes Principal * with aws:PrincipalOrgID.
          { ...publicSt('org'), Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc123' } } },
        ]),
      ),
    ).toBe('COMPLIANT');
  });

  it('plans RemoveLayerVersionPermission per public statement, the first with the RevisionId, inverses re-share', () => {
    const s = layerSnapshot([publicSt('public'), { ...publicSt('everyone'), Principal: { AWS: '*' } }]);
    const [f] = findingsOf(rule, s);
    expect(f.resourceArn).toBe(layerArn);
    expect(f.plan.steps.map((st) => st.parameters)).toEqual([
      { LayerName: 'shared-utils', VersionNumber: 3, StatementId: 'public', RevisionId: 'layer-rev-1' },
      // A later removal re-reads the RevisionId (the first write changed it).
      {
        LayerName: 'shared-utils',
        VersionNumber: 3,
        StatementId: 'everyone',
        RevisionId: { fromLayerPolicyRevision: { LayerName: 'shared-utils', VersionNumber: 3 } },
      },
    ]);
    expect(f.plan.steps[0].inverse).toEqual({
      service: 'lambda',
      operation: 'AddLayerVersionPermission',
      parameters: {
        LayerName: 'shared-utils',
        VersionNumber: 3,
        StatementId: 'public',
        Action: 'lambda:GetLayerVersion',
        Principal: '*',
      },
      reason: expect.any(String),
    });
    expect(f.plan.preconditions).toEqual([
      expect.objectContaining({ read: 'GetLayerVersionPolicy', path: 'RevisionId', equals: 'layer-rev-1' }),
    ]);
    const e = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: NOW });
    expect(e.target).toEqual({ kind: 'layer', arn: layerArn });
    expect(e.route).toBe('auto');
    // Function rules do not apply to a layer snapshot.
    expect(e.results.filter((r) => r.status !== 'NOT_APPLICABLE').map((r) => r.ruleId)).toEqual([rule.id]);
  });

  it('config can make it report-only (layers carry no tags to exempt them)', () => {
    const e = evaluate({
      snapshot: layerSnapshot([publicSt('p')]),
      config: parseConfig({ rules: { 'LAMBDA.LAYER.PUBLIC': { mode: 'report' } } }),
      now: NOW,
    });
    expect(e.route).toBe('report');
    expect(planDigest(e.findings.filter((f) => f.mode !== 'report'))).toBe(planDigest([]));
  });

  it("another account's layer is not applicable", () => {
    const other = `arn:aws:lambda:${REGION}:${OTHER_ACCOUNT}:layer:x:1`;
    expect(statusOf(rule, layerSnapshot([publicSt('p')], other))).toBe('NOT_APPLICABLE');
    expect(parseLayerVersionArn(other)).toEqual({
      region: REGION,
      account: OTHER_ACCOUNT,
      name: 'x',
      version: 1,
    });
    expect(parseLayerVersionArn(`arn:aws:lambda:${REGION}:${ACCOUNT}:layer:x`)).toBeUndefined();
  });
});

describe('LAMBDA.ASYNC.NO_FAILURE_DESTINATION', () => {
  const rule = lambdaAsyncFailureDestination;
  const onFailure = (dest: string) => ({
    FunctionArn: `${functionArn()}:$LATEST`,
    MaximumRetryAttempts: 2,
    MaximumEventAgeInSeconds: 3600,
    LastModified: 1.7e9,
    DestinationConfig: { OnSuccess: {}, OnFailure: { Destination: dest } },
  });
  const queue = `arn:aws:sqs:${REGION}:${ACCOUNT}:orders-failed`;

  it('reports, triggered by the event invoke config calls and permission/configuration changes', () => {
    expect(rule).toMatchObject({ defaultMode: 'report', resource: 'function' });
    expect(triggerPrefixes([rule])['lambda']).toEqual(
      expect.arrayContaining([
        'PutFunctionEventInvokeConfig',
        'UpdateFunctionEventInvokeConfig',
        'AddPermission',
      ]),
    );
  });

  it('a function no service invokes asynchronously and without invoke config is compliant', () => {
    expect(
      statusOf(
        rule,
        fnWith([accountStatement('partner'), serviceStatement('api', 'apigateway.amazonaws.com')]),
      ),
    ).toBe('COMPLIANT');
  });

  it('EventBridge, SNS or S3 permission without DLQ or on-failure destination is a finding with the exact commands', () => {
    for (const svc of ASYNC_SERVICES) {
      const [f] = findingsOf(
        rule,
        fnWith([serviceStatement('src', svc, { StringEquals: { 'AWS:SourceAccount': ACCOUNT } })]),
      );
      expect(f.evidence['asyncCallers']).toEqual([svc]);
      expect(f.plan.steps).toEqual([]);
      expect((f.evidence['remediation'] as string[])[0]).toBe(
        `aws lambda put-function-event-invoke-config --function-name '${FUNCTION_NAME}' --destination-config '{"OnFailure":{"Destination":"<ARN of an SQS queue, SNS topic, S3 bucket, Lambda function or EventBridge event bus>"}}'`,
      );
    }
  });

  it('a dead-letter queue or an on-failure destination makes it compliant', () => {
    const withDlq = fnWith([serviceStatement('sns', 'sns.amazonaws.com')]);
    Object.assign(withDlq.responses['GetFunctionConfiguration'] as object, {
      DeadLetterConfig: { TargetArn: queue },
    });
    expect(statusOf(rule, withDlq)).toBe('COMPLIANT');
    expect(
      statusOf(
        rule,
        fnWith([serviceStatement('sns', 'sns.amazonaws.com')], {
          GetFunctionEventInvokeConfig: onFailure(queue),
        }),
      ),
    ).toBe('COMPLIANT');
  });

  it('an event invoke config alone (retries set, no OnFailure) counts as asynchronous use', () => {
    const cfg = {
      ...onFailure(queue),
      DestinationConfig: { OnSuccess: { Destination: queue }, OnFailure: {} },
    };
    const [f] = findingsOf(rule, fnWith([], { GetFunctionEventInvokeConfig: cfg }));
    expect(f.evidence['asyncCallers']).toEqual(['event invoke config']);
    expect((f.evidence['remediation'] as string[])[0]).toMatch(
      /^aws lambda update-function-event-invoke-config /,
    );
  });

  it('aliases are judged with their own invoke config', () => {
    const s = functionSnapshot({
      urls: [],
      aliases: ['live'],
      policies: { '': null, live: { statements: [serviceStatement('bus', 'events.amazonaws.com')] } },
    });
    Object.assign(s.responses, {
      GetFunctionEventInvokeConfig: onFailure(queue),
      'GetFunctionEventInvokeConfig:live': null,
    });
    const [f] = findingsOf(rule, s);
    expect(f.resourceArn).toBe(functionArn(FUNCTION_NAME, 'live'));
    expect((f.evidence['remediation'] as string[])[0]).toContain("--qualifier 'live'");
    const fixed = clone(s);
    fixed.responses['GetFunctionEventInvokeConfig:live'] = onFailure(queue);
    expect(statusOf(rule, fixed)).toBe('COMPLIANT');
  });

  it('an older snapshot without GetFunctionEventInvokeConfig is not applicable (unknown, not compliant)', () => {
    const s = functionSnapshot({
      urls: [],
      policies: { '': { statements: [serviceStatement('s', 's3.amazonaws.com')] } },
    });
    expect(statusOf(rule, s)).toBe('NOT_APPLICABLE');
  });
});

describe('event normalization for the new triggers', () => {
  const record = (eventName: string, requestParameters: object, responseElements: object | null = null) => ({
    eventID: '4f1c7d0e-0000-4000-8000-000000000001',
    eventName,
    eventSource: 'lambda.amazonaws.com',
    eventTime: '2025-06-15T11:58:00Z',
    awsRegion: REGION,
    recipientAccountId: ACCOUNT,
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/dev` },
    requestParameters,
    responseElements,
  });

  it('AddLayerVersionPermission20181031 names the layer version', () => {
    const e = normalizeEvent(
      record('AddLayerVersionPermission20181031', {
        layerName: 'shared-utils',
        versionNumber: 3,
        statementId: 'public',
        action: 'lambda:GetLayerVersion',
        principal: '*',
      }),
    );
    expect(e.action).toBe('AddLayerVersionPermission');
    expect(e.resources).toEqual({ layerArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-utils:3` });
  });

  it('PublishLayerVersion20181031 takes the new version from the response; a layer ARN works too', () => {
    const e = normalizeEvent(
      record(
        'PublishLayerVersion20181031',
        { layerName: `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-utils` },
        { version: 4, layerVersionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-utils:4` },
      ),
    );
    expect(e.resources.layerArn).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-utils:4`);
  });

  it("another account's layer is refused", () => {
    expect(() =>
      normalizeEvent(
        record('AddLayerVersionPermission20181031', {
          layerName: `arn:aws:lambda:${REGION}:${OTHER_ACCOUNT}:layer:x`,
          versionNumber: 1,
        }),
      ),
    ).toThrow(/names a layer in account/);
  });

  it('event invoke config calls normalize to their function (with or without a version suffix)', () => {
    for (const name of ['PutFunctionEventInvokeConfig', 'UpdateFunctionEventInvokeConfig20190925']) {
      const e = normalizeEvent(record(name, { functionName: FUNCTION_NAME, qualifier: 'live' }));
      expect(e.resources).toMatchObject({ functionName: FUNCTION_NAME, qualifier: 'live' });
      expect(triggerPrefixes()['lambda']).toContain(baseAction(name));
    }
  });
});
