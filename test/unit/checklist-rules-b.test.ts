import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type GuardrailConfig, parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import type { AppliedStep } from '../../functions/core/outcome.ts';
import { buildScanReport } from '../../functions/core/report/model.ts';
import { renderTable } from '../../functions/core/report/table.ts';
import { rollbackDrift, rollbackPlan } from '../../functions/core/rollback.ts';
import { RULES, triggerPrefixes } from '../../functions/core/rules/index.ts';
import {
  CREDENTIAL_IDENTIFIERS,
  lambdaLogsUnmasked,
} from '../../functions/core/rules/lambda-logs-unmasked.ts';
import { lambdaTracing } from '../../functions/core/rules/lambda-tracing.ts';
import { lambdaVpcEgress } from '../../functions/core/rules/lambda-vpc-egress.ts';
import { lambdaVulnerable, listFindingsFilter } from '../../functions/core/rules/lambda-vulnerable.ts';
import type { RawFinding, Rule, Snapshot } from '../../functions/core/types.ts';
import {
  ACCOUNT,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  NOW,
  OTHER_ACCOUNT,
  REGION,
} from './helpers.ts';

const ARN = functionArn();
const cfg = (over: Record<string, unknown> = {}): GuardrailConfig => parseConfig(over);
const run = (rule: Rule, s: Snapshot, config: GuardrailConfig = DEFAULT_CONFIG) =>
  rule.evaluate(s, { now: NOW, config });
function findingsOf(rule: Rule, s: Snapshot, config?: GuardrailConfig): RawFinding[] {
  const r = run(rule, s, config);
  return r.status === 'NON_COMPLIANT' ? r.findings : [];
}
/** A function snapshot with configuration fields changed and extra responses. */
function snap(fields: Record<string, unknown> = {}, responses: Record<string, unknown> = {}): Snapshot {
  const s = functionSnapshot();
  Object.assign(s.responses['GetFunctionConfiguration'] as object, fields);
  Object.assign(s.responses, responses);
  return s;
}

describe('issue 7 part B: registry', () => {
  it('registers the three new rules once, report mode, on functions, with triggers', () => {
    for (const r of [lambdaVpcEgress, lambdaVulnerable, lambdaLogsUnmasked]) {
      expect(RULES.filter((x) => x.id === r.id)).toEqual([r]);
      expect(r).toMatchObject({ defaultMode: 'report', resource: 'function' });
      expect(r.optIn).toBeUndefined();
      expect(r.knownFalsePositives.length).toBeGreaterThan(0);
      expect(r.triggers[0].actions).toEqual(
        expect.arrayContaining(['CreateFunction', 'UpdateFunctionConfiguration']),
      );
    }
    expect(triggerPrefixes().lambda).toEqual(
      expect.arrayContaining(['CreateFunction', 'UpdateFunctionConfiguration']),
    );
  });
});

// ---- LAMBDA.VPC.EGRESS -------------------------------------------------------------------------

const VPC = { SubnetIds: ['subnet-0a1b2c3d'], SecurityGroupIds: ['sg-0123456789abcdef0'], VpcId: 'vpc-0abc' };
/** A DescribeSecurityGroups body as EC2 returns it. */
const groups = (...egress: Record<string, unknown>[][]) => ({
  SecurityGroups: egress.map((e, i) => ({
    GroupId: i === 0 ? 'sg-0123456789abcdef0' : `sg-other${i}`,
    GroupName: i === 0 ? 'orders-api' : `other-${i}`,
    Description: 'function group',
    OwnerId: ACCOUNT,
    VpcId: 'vpc-0abc',
    IpPermissions: [],
    IpPermissionsEgress: e,
  })),
});
/** The default egress rule of every security group. */
const ALL_V4 = {
  IpProtocol: '-1',
  IpRanges: [{ CidrIp: '0.0.0.0/0' }],
  Ipv6Ranges: [],
  PrefixListIds: [],
  UserIdGroupPairs: [],
};

describe('LAMBDA.VPC.EGRESS', () => {
  it('does not apply outside a VPC, nor without the security groups read', () => {
    expect(run(lambdaVpcEgress, snap())).toMatchObject({
      status: 'NOT_APPLICABLE',
      reason: 'the function is not in a VPC',
    });
    expect(run(lambdaVpcEgress, snap({ VpcConfig: { SubnetIds: [], SecurityGroupIds: [] } })).status).toBe(
      'NOT_APPLICABLE',
    );
    expect(run(lambdaVpcEgress, snap({ VpcConfig: VPC }))).toMatchObject({
      status: 'NOT_APPLICABLE',
      reason: expect.stringContaining('not read'),
    });
    expect(run(lambdaVpcEgress, snap({ VpcConfig: VPC }, { DescribeSecurityGroups: null })).status).toBe(
      'NOT_APPLICABLE',
    );
  });

  it('flags the default all-traffic egress to 0.0.0.0/0, with the exact revoke command', () => {
    const [f] = findingsOf(
      lambdaVpcEgress,
      snap({ VpcConfig: VPC }, { DescribeSecurityGroups: groups([ALL_V4]) }),
    );
    expect(f.resourceArn).toBe(ARN);
    expect(f.plan).toEqual({ steps: [], preconditions: [] });
    expect(f.summary).toContain('sg-0123456789abcdef0');
    expect(f.evidence['openEgress']).toEqual([
      {
        groupId: 'sg-0123456789abcdef0',
        groupName: 'orders-api',
        ipProtocol: '-1',
        fromPort: null,
        toPort: null,
        destinations: ['0.0.0.0/0'],
      },
    ]);
    expect(f.evidence['remediation']).toContain(
      `aws ec2 revoke-security-group-egress --group-id sg-0123456789abcdef0 --ip-permissions '[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`,
    );
  });

  it('flags TCP or UDP on every port to ::/0 too', () => {
    const all = {
      IpProtocol: 'tcp',
      FromPort: 0,
      ToPort: 65535,
      IpRanges: [],
      Ipv6Ranges: [{ CidrIpv6: '::/0' }],
    };
    const [f] = findingsOf(
      lambdaVpcEgress,
      snap({ VpcConfig: VPC }, { DescribeSecurityGroups: groups([all]) }),
    );
    expect(f.evidence['openEgress']).toMatchObject([
      { ipProtocol: 'tcp', fromPort: 0, toPort: 65535, destinations: ['::/0'] },
    ]);
  });

  it('is compliant with narrow egress: one port, a private range, another group, a prefix list', () => {
    const narrow = [
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: 'sg-db' }] },
      { IpProtocol: '-1', PrefixListIds: [{ PrefixListId: 'pl-63a5400a' }] },
      { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ];
    expect(
      run(lambdaVpcEgress, snap({ VpcConfig: VPC }, { DescribeSecurityGroups: groups(narrow) })).status,
    ).toBe('COMPLIANT');
  });

  it('only looks at the groups the function uses', () => {
    const s = snap({ VpcConfig: VPC }, { DescribeSecurityGroups: groups([], [ALL_V4]) });
    expect(run(lambdaVpcEgress, s).status).toBe('COMPLIANT');
  });
});

// ---- LAMBDA.LOGS.UNMASKED ----------------------------------------------------------------------

const LOG_GROUP = `/aws/lambda/${FUNCTION_NAME}`;
const idArn = (name: string, partition = 'aws') =>
  `arn:${partition}:dataprotection::aws:data-identifier/${name}`;
const ALL_CREDENTIALS = CREDENTIAL_IDENTIFIERS.map((n) => idArn(n));
/** A GetDataProtectionPolicy body (lastUpdatedTime is a number: epoch milliseconds). */
const dpp = (doc?: unknown) => ({
  logGroupIdentifier: LOG_GROUP,
  ...(doc ? { policyDocument: JSON.stringify(doc), lastUpdatedTime: 1718452800000 } : {}),
});
const existingPolicy = {
  Name: 'team-policy',
  Version: '2021-06-01',
  Statement: [
    {
      Sid: 'audit',
      DataIdentifier: [idArn('EmailAddress'), idArn('AwsSecretKey')],
      Operation: { Audit: { FindingsDestination: { CloudWatchLogs: { LogGroup: 'audit' } } } },
    },
    {
      Sid: 'redact',
      DataIdentifier: [idArn('EmailAddress'), idArn('AwsSecretKey')],
      Operation: { Deidentify: { MaskConfig: {} } },
    },
  ],
};

describe('LAMBDA.LOGS.UNMASKED', () => {
  it('does not apply without the read, nor to a log group that does not exist yet', () => {
    expect(run(lambdaLogsUnmasked, snap()).status).toBe('NOT_APPLICABLE');
    expect(run(lambdaLogsUnmasked, snap({}, { GetDataProtectionPolicy: null }))).toMatchObject({
      status: 'NOT_APPLICABLE',
      reason: expect.stringContaining('does not exist yet'),
    });
  });

  it('no policy: puts one masking the five credential identifiers; the inverse deletes it', () => {
    const [f] = findingsOf(lambdaLogsUnmasked, snap({}, { GetDataProtectionPolicy: dpp() }));
    expect(f.plan.preconditions).toEqual([]);
    const [step] = f.plan.steps;
    expect(step).toMatchObject({
      service: 'logs',
      operation: 'PutDataProtectionPolicy',
      parameters: { logGroupIdentifier: LOG_GROUP },
      inverse: {
        service: 'logs',
        operation: 'DeleteDataProtectionPolicy',
        parameters: { logGroupIdentifier: LOG_GROUP },
      },
    });
    const doc = JSON.parse(String(step.parameters['policyDocument']));
    expect(doc.Version).toBe('2021-06-01');
    expect(doc.Statement).toEqual([
      {
        Sid: 'audit-credentials',
        DataIdentifier: ALL_CREDENTIALS,
        Operation: { Audit: { FindingsDestination: {} } },
      },
      {
        Sid: 'mask-credentials',
        DataIdentifier: ALL_CREDENTIALS,
        Operation: { Deidentify: { MaskConfig: {} } },
      },
    ]);
    // What the plan writes masks everything: re-evaluated, it is compliant.
    const after = snap({}, { GetDataProtectionPolicy: dpp(doc) });
    expect(run(lambdaLogsUnmasked, after).status).toBe('COMPLIANT');
  });

  it('a partial policy keeps its statements and identifiers and gets the missing ones; the inverse restores it', () => {
    const [f] = findingsOf(lambdaLogsUnmasked, snap({}, { GetDataProtectionPolicy: dpp(existingPolicy) }));
    expect(f.evidence['missingIdentifiers']).toEqual([
      'OpenSshPrivateKey',
      'PgpPrivateKey',
      'PkcsPrivateKey',
      'PuttyPrivateKey',
    ]);
    const [step] = f.plan.steps;
    const doc = JSON.parse(String(step.parameters['policyDocument']));
    expect(doc.Name).toBe('team-policy');
    expect(doc.Statement).toHaveLength(2);
    expect(doc.Statement[0].Operation).toEqual(existingPolicy.Statement[0].Operation);
    for (const st of doc.Statement) {
      expect(st.DataIdentifier).toEqual(expect.arrayContaining([idArn('EmailAddress'), ...ALL_CREDENTIALS]));
      expect(new Set(st.DataIdentifier).size).toBe(st.DataIdentifier.length);
    }
    expect(doc.Statement[1].DataIdentifier).toEqual(doc.Statement[0].DataIdentifier);
    expect(step.inverse).toEqual({
      service: 'logs',
      operation: 'PutDataProtectionPolicy',
      parameters: { logGroupIdentifier: LOG_GROUP, policyDocument: JSON.stringify(existingPolicy) },
      reason: expect.any(String),
    });
    expect(f.plan.preconditions).toEqual([
      expect.objectContaining({
        read: 'GetDataProtectionPolicy',
        path: 'policyDocument',
        equals: JSON.stringify(existingPolicy),
      }),
    ]);
  });

  it('an audit-only policy is not masking: it is flagged', () => {
    const auditOnly = {
      ...existingPolicy,
      Statement: [{ ...existingPolicy.Statement[0], DataIdentifier: ALL_CREDENTIALS }],
    };
    const [f] = findingsOf(lambdaLogsUnmasked, snap({}, { GetDataProtectionPolicy: dpp(auditOnly) }));
    const doc = JSON.parse(String(f.plan.steps[0].parameters['policyDocument']));
    expect(doc.Statement.filter((s: { Operation: object }) => 'Audit' in s.Operation)).toHaveLength(1);
    expect(doc.Statement.at(-1)).toMatchObject({ Operation: { Deidentify: { MaskConfig: {} } } });
    // CloudWatch Logs requires the Deidentify identifiers to match the Audit ones exactly.
    expect(doc.Statement.at(-1).DataIdentifier).toEqual(doc.Statement[0].DataIdentifier);
  });

  it('uses the configured log group and the partition of the function', () => {
    const s = snap(
      {
        FunctionArn: `arn:aws-cn:lambda:cn-north-1:${ACCOUNT}:function:${FUNCTION_NAME}`,
        LoggingConfig: { LogGroup: '/shared/app' },
      },
      { GetDataProtectionPolicy: { logGroupIdentifier: '/shared/app' } },
    );
    const [f] = findingsOf(lambdaLogsUnmasked, s);
    expect(f.plan.steps[0].parameters['logGroupIdentifier']).toBe('/shared/app');
    expect(String(f.plan.steps[0].parameters['policyDocument'])).toContain(
      'arn:aws-cn:dataprotection::aws:data-identifier/AwsSecretKey',
    );
  });

  it('report by default; rules.<id>.mode may make it auto', () => {
    const s = snap({}, { GetDataProtectionPolicy: dpp() });
    const byDefault = evaluate({
      snapshot: s,
      config: DEFAULT_CONFIG,
      now: NOW,
      rules: [lambdaLogsUnmasked],
    });
    expect(byDefault.findings.map((f) => f.mode)).toEqual(['report']);
    const auto = evaluate({
      snapshot: s,
      config: cfg({ rules: { 'LAMBDA.LOGS.UNMASKED': { mode: 'auto' } } }),
      now: NOW,
      rules: [lambdaLogsUnmasked],
    });
    expect(auto.findings.map((f) => f.mode)).toEqual(['auto']);
    expect(auto.route).toBe('auto');
  });
});

// ---- LAMBDA.VULNERABLE -------------------------------------------------------------------------

/** A BatchGetAccountStatus body with Lambda standard scanning in the given state. */
const accountStatus = (lambda: 'ENABLED' | 'DISABLED', lambdaCode: 'ENABLED' | 'DISABLED' = 'DISABLED') => ({
  accounts: [
    {
      accountId: ACCOUNT,
      state: { status: lambda },
      resourceState: {
        ec2: { status: 'DISABLED' },
        ecr: { status: 'DISABLED' },
        lambda: { status: lambda },
        lambdaCode: { status: lambdaCode },
      },
    },
  ],
  failedAccounts: [],
});
const finding = (id: string, severity: string, pkg = 'lodash', status = 'ACTIVE') => ({
  findingArn: `arn:aws:inspector2:${REGION}:${ACCOUNT}:finding/${id}`,
  awsAccountId: ACCOUNT,
  type: 'PACKAGE_VULNERABILITY',
  title: `CVE-2021-${id} - ${pkg}`,
  description: 'Prototype pollution.',
  severity,
  status,
  resources: [{ id: ARN, type: 'AWS_LAMBDA_FUNCTION', region: REGION }],
  packageVulnerabilityDetails: {
    vulnerabilityId: `CVE-2021-${id}`,
    source: 'NVD',
    vulnerablePackages: [
      { name: pkg, version: '4.17.15', fixedInVersion: '4.17.21', packageManager: 'NODEPKG' },
    ],
  },
});

describe('LAMBDA.VULNERABLE', () => {
  it('does not apply without the status read; Inspector disabled is an account-wide reason', () => {
    expect(run(lambdaVulnerable, snap()).status).toBe('NOT_APPLICABLE');
    expect(run(lambdaVulnerable, snap({}, { BatchGetAccountStatus: accountStatus('DISABLED') }))).toEqual({
      status: 'NOT_APPLICABLE',
      reason: `Amazon Inspector does not scan Lambda functions in account ${ACCOUNT}, region ${REGION} (Lambda scanning is not enabled)`,
      accountWide: true,
    });
    // An account the response does not list is not scanned either.
    const other = { accounts: [{ ...accountStatus('ENABLED').accounts[0], accountId: OTHER_ACCOUNT }] };
    expect(run(lambdaVulnerable, snap({}, { BatchGetAccountStatus: other }))).toMatchObject({
      accountWide: true,
    });
  });

  it('enabled: compliant without HIGH/CRITICAL active findings', () => {
    const s = snap(
      {},
      {
        BatchGetAccountStatus: accountStatus('ENABLED'),
        ListFindings: { findings: [finding('1', 'MEDIUM'), finding('2', 'HIGH', 'x', 'CLOSED')] },
      },
    );
    expect(run(lambdaVulnerable, s).status).toBe('COMPLIANT');
    expect(run(lambdaVulnerable, snap({}, { BatchGetAccountStatus: accountStatus('ENABLED') })).status).toBe(
      'NOT_APPLICABLE',
    );
  });

  it('reports HIGH and CRITICAL findings with ids, titles, packages and fixed versions', () => {
    const s = snap(
      {},
      {
        BatchGetAccountStatus: accountStatus('DISABLED', 'ENABLED'),
        ListFindings: { findings: [finding('2', 'HIGH', 'axios'), finding('1', 'CRITICAL')] },
      },
    );
    const [f] = findingsOf(lambdaVulnerable, s);
    expect(f.severity).toBe('CRITICAL');
    expect(f.summary).toContain('2 active HIGH/CRITICAL finding(s)');
    expect(f.summary).toContain('axios@4.17.15');
    const list = f.evidence['findings'] as Record<string, unknown>[];
    expect(list.map((x) => x['severity'])).toEqual(['CRITICAL', 'HIGH']);
    expect(list[0]).toMatchObject({
      findingArn: expect.stringContaining('finding/1'),
      title: 'CVE-2021-1 - lodash',
      vulnerabilityId: 'CVE-2021-1',
      packages: [{ name: 'lodash', version: '4.17.15', fixedInVersion: '4.17.21' }],
    });
    expect(JSON.stringify(f.evidence)).not.toContain('Prototype pollution');
    expect(f.plan.steps).toEqual([]);
  });

  it('says so when the read was capped', () => {
    const s = snap(
      {},
      {
        BatchGetAccountStatus: accountStatus('ENABLED'),
        ListFindings: { findings: [finding('1', 'HIGH')], nextToken: 'more' },
      },
    );
    const [f] = findingsOf(lambdaVulnerable, s);
    expect(f.summary).toContain('1+');
    expect(String(f.evidence['note'])).toContain('only the first');
  });

  it('filters ListFindings by account, Lambda function, name, ACTIVE and HIGH/CRITICAL', () => {
    expect(listFindingsFilter(ACCOUNT, FUNCTION_NAME)).toEqual({
      awsAccountId: [{ comparison: 'EQUALS', value: ACCOUNT }],
      resourceType: [{ comparison: 'EQUALS', value: 'AWS_LAMBDA_FUNCTION' }],
      lambdaFunctionName: [{ comparison: 'EQUALS', value: FUNCTION_NAME }],
      findingStatus: [{ comparison: 'EQUALS', value: 'ACTIVE' }],
      severity: [
        { comparison: 'EQUALS', value: 'CRITICAL' },
        { comparison: 'EQUALS', value: 'HIGH' },
      ],
    });
  });

  it('a scan report states "Inspector not enabled" once per region, not once per function', () => {
    const unit = (name: string) => ({
      kind: 'function' as const,
      arn: functionArn(name),
      name,
      region: REGION,
      evaluation: evaluate({
        snapshot: (() => {
          const s = functionSnapshot({ name });
          s.responses['BatchGetAccountStatus'] = accountStatus('DISABLED');
          return s;
        })(),
        config: DEFAULT_CONFIG,
        now: NOW,
        rules: [lambdaVulnerable],
      }),
    });
    const report = buildScanReport({
      origin: 'scan',
      account: ACCOUNT,
      regions: [REGION],
      startedAt: NOW,
      finishedAt: NOW,
      rules: [lambdaVulnerable],
      config: DEFAULT_CONFIG,
      units: ['a', 'b', 'c'].map(unit),
    });
    expect(report.notices).toEqual([
      {
        ruleId: 'LAMBDA.VULNERABLE',
        region: REGION,
        message: expect.stringContaining('Lambda scanning is not enabled'),
        resources: 3,
      },
    ]);
    const table = renderTable(report);
    expect(table.split('Lambda scanning is not enabled')).toHaveLength(2);
    expect(table).toContain('NOTICES');
  });
});

// ---- LAMBDA.TRACING plan -----------------------------------------------------------------------

const ROLE = `${FUNCTION_NAME}-role`;
const XRAY = 'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess';
const attached = (...names: string[]) => ({
  [`ListAttachedRolePolicies:${ROLE}`]: {
    AttachedPolicies: names.map((n) => ({ PolicyName: n, PolicyArn: `arn:aws:iam::aws:policy/${n}` })),
  },
});
const tracingOn = cfg({ rules: { 'LAMBDA.TRACING': { enabled: true } } });

describe('LAMBDA.TRACING plan', () => {
  it('attaches AWSXRayDaemonWriteAccess, then sets Active with the RevisionId; all or nothing, with inverses', () => {
    const [f] = findingsOf(lambdaTracing, snap({}, attached('AWSLambdaBasicExecutionRole')));
    expect(f.plan.atomic).toBe(true);
    expect(f.plan.steps).toEqual([
      {
        service: 'iam',
        operation: 'AttachRolePolicy',
        parameters: { RoleName: ROLE, PolicyArn: XRAY },
        reason: expect.any(String),
        inverse: {
          service: 'iam',
          operation: 'DetachRolePolicy',
          parameters: { RoleName: ROLE, PolicyArn: XRAY },
          reason: expect.any(String),
        },
      },
      {
        service: 'lambda',
        operation: 'UpdateFunctionConfiguration',
        parameters: {
          FunctionName: FUNCTION_NAME,
          TracingConfig: { Mode: 'Active' },
          RevisionId: 'fn-rev-0001',
        },
        reason: expect.any(String),
        inverse: {
          service: 'lambda',
          operation: 'UpdateFunctionConfiguration',
          parameters: {
            FunctionName: FUNCTION_NAME,
            TracingConfig: { Mode: 'PassThrough' },
            RevisionId: { fromFunctionRevision: { FunctionName: FUNCTION_NAME } },
          },
          reason: expect.any(String),
        },
      },
    ]);
  });

  it('skips the attach when an X-Ray write policy is already attached', () => {
    for (const p of ['AWSXRayDaemonWriteAccess', 'AWSXrayWriteOnlyAccess']) {
      const [f] = findingsOf(lambdaTracing, snap({}, attached(p)));
      expect(
        f.plan.steps.map((s) => s.operation),
        p,
      ).toEqual(['UpdateFunctionConfiguration']);
      expect(f.evidence['xrayPolicyAttached']).toBe(true);
    }
  });

  it('no plan without the attached policies read, or for a role in another account', () => {
    expect(findingsOf(lambdaTracing, snap())[0].plan.steps).toEqual([]);
    const cross = snap({ Role: `arn:aws:iam::${OTHER_ACCOUNT}:role/${ROLE}` }, attached());
    expect(findingsOf(lambdaTracing, cross)[0].plan.steps).toEqual([]);
  });

  it('report by default once enabled; rules.<id>.mode may make it auto', () => {
    const s = snap({}, attached());
    const e = evaluate({ snapshot: s, config: tracingOn, now: NOW, rules: [lambdaTracing] });
    expect(e.findings.map((f) => [f.mode, f.plan.steps.length])).toEqual([['report', 2]]);
    const auto = cfg({ rules: { 'LAMBDA.TRACING': { enabled: true, mode: 'auto' } } });
    expect(evaluate({ snapshot: s, config: auto, now: NOW, rules: [lambdaTracing] }).route).toBe('auto');
  });

  it('after LAMBDA.ENV.SECRET wrote the function, its RevisionId is re-read (sequencePlans)', () => {
    const s = snap({}, attached());
    const env = functionSnapshot({ environment: { DB_PASSWORD: 'hunter2-but-much-longer-Xy9!' } });
    Object.assign(s.responses['GetFunctionConfiguration'] as object, {
      Environment: (env.responses['GetFunctionConfiguration'] as { Environment: unknown }).Environment,
    });
    const e = evaluate({ snapshot: s, config: tracingOn, now: NOW });
    const tracing = e.findings.find((f) => f.ruleId === 'LAMBDA.TRACING');
    const update = tracing?.plan.steps.find((x) => x.operation === 'UpdateFunctionConfiguration');
    // LAMBDA.ENV.SECRET comes first and writes the function: the tracing update re-reads the RevisionId.
    expect(e.findings.map((f) => f.ruleId)).toContain('LAMBDA.ENV.SECRET');
    expect(update?.parameters['RevisionId']).toEqual({
      fromFunctionRevision: { FunctionName: FUNCTION_NAME },
    });
  });
});

// ---- rollback of the part B plans -------------------------------------------------------------

describe('rollback drift: LAMBDA.LOGS.UNMASKED and LAMBDA.TRACING', () => {
  const record = (steps: AppliedStep[]): LedgerRecord => ({
    pk: 'EXEC#e1',
    sk: 'RECORD',
    day: '2026-11-26',
    recordedAt: '2026-11-26T10:00:00Z',
    executionName: 'e1',
    target: { kind: 'function', arn: ARN },
    findings: [],
    remediation: { status: 'applied', steps },
    outcome: 'remediated',
  });
  const applied = (f: RawFinding, ruleId: string): AppliedStep[] =>
    f.plan.steps.map((st) => ({
      ruleId,
      resourceArn: ARN,
      service: st.service,
      operation: st.operation,
      parameters: st.parameters,
      status: 'applied' as const,
      ...(st.inverse ? { inverse: st.inverse } : {}),
    }));

  it('the data protection policy must still be the one put; none and unchanged are told apart', () => {
    const [f] = findingsOf(lambdaLogsUnmasked, snap({}, { GetDataProtectionPolicy: dpp() }));
    const rec = record(applied(f, 'LAMBDA.LOGS.UNMASKED'));
    const put = JSON.parse(String(f.plan.steps[0].parameters['policyDocument']));
    expect(rollbackDrift(rec, snap({}, { GetDataProtectionPolicy: dpp(put) }))).toEqual([]);
    expect(rollbackDrift(rec, snap({}, { GetDataProtectionPolicy: dpp(existingPolicy) }))).toEqual([
      `the data protection policy of ${LOG_GROUP} changed since the remediation`,
    ]);
    expect(rollbackDrift(rec, snap({}, { GetDataProtectionPolicy: null }))).toEqual([
      `the log group ${LOG_GROUP} no longer exists`,
    ]);
    // The inverse is what rollback sends.
    expect(rollbackPlan(rec).findings[0].plan.steps.map((s) => s.operation)).toEqual([
      'DeleteDataProtectionPolicy',
    ]);
  });

  it('the tracing mode must still be Active', () => {
    const [f] = findingsOf(lambdaTracing, snap({}, attached()));
    const rec = record(applied(f, 'LAMBDA.TRACING'));
    expect(rollbackDrift(rec, snap({ TracingConfig: { Mode: 'Active' } }))).toEqual([]);
    expect(rollbackDrift(rec, snap({ TracingConfig: { Mode: 'PassThrough' } }))).toEqual([
      `the tracing mode of ${FUNCTION_NAME} changed since the remediation (now PassThrough)`,
    ]);
    // Newest first: the mode back, then the policy detached.
    expect(rollbackPlan(rec).findings.flatMap((x) => x.plan.steps.map((st) => st.operation))).toEqual([
      'UpdateFunctionConfiguration',
      'DetachRolePolicy',
    ]);
  });
});
