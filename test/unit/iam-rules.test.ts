import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type GuardrailConfig, parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { readEvidence } from '../../functions/core/iam/evidence.ts';
import { applyProofs } from '../../functions/core/iam/proof.ts';
import { failedPreconditions } from '../../functions/core/plan.ts';
import type { Statement } from '../../functions/core/policy.ts';
import { RULES, triggerPrefixes } from '../../functions/core/rules/index.ts';
import type { Finding, Snapshot } from '../../functions/core/types.ts';
import {
  ADMIN_STATEMENT,
  doc,
  encode,
  IAM_NOW,
  LONG_AGO,
  lastAccessed,
  ROLE_ARN,
  ROLE_NAME,
  type RoleSnapshotInput,
  roleSnapshot,
  USED,
} from './iam-helpers.ts';

const IDS = ['IAM.ROLE.ADMIN', 'IAM.ROLE.SERVICE_WILDCARD', 'IAM.ROLE.RESOURCE_WILDCARD'];
/** 100 days before IAM_NOW: outside the default 90-day lookback, inside a 120-day one. */
const HUNDRED_DAYS_AGO = '2025-03-07T12:00:00.000Z';
const cfg = (over: Record<string, unknown> = {}): GuardrailConfig => parseConfig(over);
const AUTO = cfg({
  rules: { 'IAM.ROLE.ADMIN': { mode: 'auto' }, 'IAM.ROLE.SERVICE_WILDCARD': { mode: 'auto' } },
});

function run(input: RoleSnapshotInput, config: GuardrailConfig = DEFAULT_CONFIG, now = IAM_NOW) {
  const snapshot = roleSnapshot(input);
  return { snapshot, ...evaluate({ snapshot, config, now }) };
}
const finding = (e: { findings: Finding[] }, id: string) => e.findings.find((f) => f.ruleId === id);
const status = (e: { results: { ruleId: string; status: string }[] }, id: string) =>
  e.results.find((r) => r.ruleId === id)?.status;
const written = (f: Finding | undefined, i = 0) =>
  JSON.parse(String(f?.plan.steps[i].parameters['PolicyDocument']));

/** Real AWS-managed policy documents from the corpus (test/fixtures/iam-policies). */
const MANAGED = new Map<string, unknown>(
  readFileSync(new URL('../fixtures/iam-policies/aws-managed-policies.jsonl', import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { name: string; document: unknown })
    .map((r) => [r.name, r.document]),
);
const managedArn = (name: string) => `arn:aws:iam::aws:policy/${name}`;

const USAGE = {
  dynamodb: { last: USED, actions: { GetItem: USED, PutItem: null } },
  s3: {},
};

describe('IAM.ROLE rules: registry', () => {
  it('registers three role rules, approve by default, on the issue triggers', () => {
    const rules = RULES.filter((r) => IDS.includes(r.id));
    expect(rules.map((r) => [r.id, r.severity, r.defaultMode, r.resource])).toEqual([
      ['IAM.ROLE.ADMIN', 'CRITICAL', 'approve', 'role'],
      ['IAM.ROLE.SERVICE_WILDCARD', 'HIGH', 'approve', 'role'],
      ['IAM.ROLE.RESOURCE_WILDCARD', 'MEDIUM', 'approve', 'role'],
    ]);
    for (const r of rules) {
      expect(triggerPrefixes([r])).toEqual({
        iam: ['AttachRolePolicy', 'CreatePolicyVersion', 'PutRolePolicy', 'SetDefaultPolicyVersion'],
        lambda: ['CreateFunction', 'UpdateFunctionConfiguration'],
      });
      expect(r.knownFalsePositives.length).toBeGreaterThan(0);
    }
  });

  it('does not evaluate function snapshots', () => {
    const e = run({ inline: { app: doc(ADMIN_STATEMENT) } });
    expect(e.target).toEqual({ kind: 'role', arn: ROLE_ARN });
    const fn: Snapshot = { account: e.snapshot.account, region: e.snapshot.region, responses: {} };
    const r = evaluate({ snapshot: fn, config: DEFAULT_CONFIG, now: IAM_NOW });
    expect(r.findings).toEqual([]);
  });
});

describe('IAM.ROLE rules: scope', () => {
  it('is NOT_APPLICABLE to a role Lambda cannot assume', () => {
    const e = run({
      trust: doc({
        Effect: 'Allow',
        Principal: { Service: 'ecs-tasks.amazonaws.com' },
        Action: 'sts:AssumeRole',
      }),
      inline: { app: doc(ADMIN_STATEMENT) },
    });
    for (const id of IDS) expect(status(e, id)).toBe('NOT_APPLICABLE');
    expect(e.results.find((r) => r.ruleId === 'IAM.ROLE.ADMIN')?.reason).toMatch(/lambda\.amazonaws\.com/);
    expect(e.findings).toEqual([]);
  });

  it('is COMPLIANT for a role with scoped statements only', () => {
    const e = run({
      inline: {
        app: doc({
          Effect: 'Allow',
          Action: ['dynamodb:GetItem'],
          Resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders',
        }),
      },
      managed: [
        {
          arn: managedArn('service-role/AWSLambdaBasicExecutionRole'),
          document: MANAGED.get('AWSLambdaBasicExecutionRole'),
        },
      ],
      usage: USAGE,
    });
    for (const id of IDS) expect(status(e, id), id).toBe('COMPLIANT');
  });
});

describe('IAM.ROLE rules: unreadable policies', () => {
  it('a listed policy that was not read is never judged compliant, and is named next to findings', () => {
    const s = roleSnapshot({
      inline: {
        ok: doc({
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Resource: 'arn:aws:sqs:us-east-1:123456789012:q',
        }),
      },
    });
    (s.responses['ListRolePolicies'] as { PolicyNames: string[] }).PolicyNames.push('missing');
    const e = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: IAM_NOW });
    expect(status(e, 'IAM.ROLE.ADMIN')).toBe('NOT_APPLICABLE');
    expect(e.results.find((r) => r.ruleId === 'IAM.ROLE.ADMIN')?.reason).toMatch(
      /not judged: GetRolePolicy:missing was not read/,
    );
    s.responses['GetRolePolicy:ok'] = {
      RoleName: ROLE_NAME,
      PolicyName: 'ok',
      PolicyDocument: encode(doc(ADMIN_STATEMENT)),
    };
    const e2 = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: IAM_NOW });
    expect(finding(e2, 'IAM.ROLE.ADMIN')?.evidence['unreadablePolicies']).toEqual([
      { policy: 'inline:missing', error: 'GetRolePolicy:missing was not read' },
    ]);
  });
});

describe('IAM.ROLE.ADMIN', () => {
  it.each([
    ['inline Action "*"', { inline: { app: doc(ADMIN_STATEMENT) } }],
    [
      'inline Action ["*"] in a single statement object',
      { inline: { app: { Statement: { Effect: 'Allow', Action: ['*'], Resource: '*' } } } },
    ],
    ['NotAction', { inline: { app: doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }) } }],
    [
      'customer-managed',
      { managed: [{ arn: 'arn:aws:iam::123456789012:policy/app', document: doc(ADMIN_STATEMENT) }] },
    ],
    [
      'AWS-managed AdministratorAccess',
      { managed: [{ arn: managedArn('AdministratorAccess'), document: MANAGED.get('AdministratorAccess') }] },
    ],
    [
      'AWS-managed PowerUserAccess',
      { managed: [{ arn: managedArn('PowerUserAccess'), document: MANAGED.get('PowerUserAccess') }] },
    ],
  ])('flags %s', (_what, input) => {
    const e = run({ ...(input as RoleSnapshotInput), usage: USAGE });
    const f = finding(e, 'IAM.ROLE.ADMIN');
    expect(f).toMatchObject({ severity: 'CRITICAL', resourceArn: ROLE_ARN, mode: 'approve' });
    expect(f?.plan.steps.length).toBeGreaterThan(0);
  });

  it('does not flag a Deny with Action "*"', () => {
    const e = run({ inline: { app: doc({ Effect: 'Deny', Action: '*', Resource: '*' }) }, usage: USAGE });
    expect(status(e, 'IAM.ROLE.ADMIN')).toBe('COMPLIANT');
  });
});

describe('IAM.ROLE.SERVICE_WILDCARD', () => {
  it.each([['s3:*'], ['s3:Put*'], ['*:Describe*']])('flags %s', (action) => {
    const e = run({
      inline: { app: doc({ Effect: 'Allow', Action: action, Resource: 'arn:aws:s3:::b/*' }) },
      usage: { s3: { last: USED }, ec2: { last: USED } },
    });
    expect(finding(e, 'IAM.ROLE.SERVICE_WILDCARD')?.evidence['statements']).toMatchObject([
      { wildcards: [action] },
    ]);
    expect(finding(e, 'IAM.ROLE.SERVICE_WILDCARD')?.plan.steps).toHaveLength(1);
  });

  it('leaves the plan to IAM.ROLE.ADMIN when both match the role, and names it', () => {
    const e = run({
      inline: {
        app: doc(ADMIN_STATEMENT, {
          Effect: 'Allow',
          Action: 'dynamodb:*',
          Resource: 'arn:aws:dynamodb:*:*:table/x',
        }),
      },
      usage: USAGE,
    });
    const admin = finding(e, 'IAM.ROLE.ADMIN')!;
    const wild = finding(e, 'IAM.ROLE.SERVICE_WILDCARD')!;
    expect(wild.plan.steps).toEqual([]);
    expect(wild.evidence['fixedBy']).toBe('IAM.ROLE.ADMIN');
    // The one rewrite covers both statements of the document.
    expect(admin.plan.steps).toHaveLength(1);
    const d = written(admin);
    expect(d.Statement[1].Action).toContain('dynamodb:GetItem');
    expect(d.Statement[1].Action).not.toContain('dynamodb:PutItem');
  });
});

describe('IAM.ROLE.RESOURCE_WILDCARD', () => {
  const rw = (statements: Statement[]) =>
    finding(run({ inline: { app: doc(...statements) }, usage: USAGE }), 'IAM.ROLE.RESOURCE_WILDCARD');

  it('flags resource-level actions on "*", and iam:PassRole in particular', () => {
    const f = rw([{ Effect: 'Allow', Action: ['s3:GetObject', 'iam:PassRole'], Resource: '*' }]);
    expect(f?.severity).toBe('MEDIUM');
    expect(f?.evidence['passRoleOnStar']).toBe(true);
    expect(f?.evidence['statements']).toMatchObject([
      {
        resourceLevelActionsOnStar: {
          actions: 2,
          examples: ['iam:PassRole', 's3:GetObject'],
          passRole: true,
        },
      },
    ]);
    expect(f?.plan.steps).toEqual([]);
    // Nothing to approve: reported.
    expect(f?.mode).toBe('report');
    expect(f?.modeReason).toMatch(/no automatic fix/);
  });

  it('does not flag actions without resource-level permissions, the Lambda baseline, Deny, or a resource-tag condition', () => {
    expect(
      rw([{ Effect: 'Allow', Action: ['s3:ListAllMyBuckets', 'xray:PutTraceSegments'], Resource: '*' }]),
    ).toBeUndefined();
    expect(
      rw([{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }]),
    ).toBeUndefined();
    expect(rw([{ Effect: 'Deny', Action: 's3:GetObject', Resource: '*' }])).toBeUndefined();
    expect(
      rw([
        {
          Effect: 'Allow',
          Action: 'ec2:StopInstances',
          Resource: '*',
          Condition: { StringEquals: { 'AWS:ResourceTag/Team': 'orders' } },
        },
      ]),
    ).toBeUndefined();
    // A negated condition does not narrow.
    expect(
      rw([
        {
          Effect: 'Allow',
          Action: 'ec2:StopInstances',
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:ResourceTag/Team': 'orders' } },
        },
      ]),
    ).toBeDefined();
  });

  it('does not flag AWS-managed AWSLambdaBasicExecutionRole or AWSLambdaVPCAccessExecutionRole', () => {
    for (const name of ['AWSLambdaBasicExecutionRole', 'AWSLambdaVPCAccessExecutionRole']) {
      const e = run({
        managed: [{ arn: managedArn(`service-role/${name}`), document: MANAGED.get(name) }],
        usage: USAGE,
      });
      expect(status(e, 'IAM.ROLE.RESOURCE_WILDCARD'), name).toBe('COMPLIANT');
    }
  });
});

describe('the rewrite', () => {
  const input = (extra: Partial<RoleSnapshotInput> = {}): RoleSnapshotInput => ({
    inline: {
      app: doc(
        {
          Sid: 'Everything',
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } },
        },
        { Sid: 'NoDeletes', Effect: 'Deny', Action: ['dynamodb:DeleteTable', 's3:*'], Resource: '*' },
      ),
    },
    usage: {
      dynamodb: { last: USED, actions: { GetItem: USED, PutItem: null, Query: HUNDRED_DAYS_AGO } },
      sqs: { last: USED },
      s3: { last: LONG_AGO },
      sns: {},
    },
    ...extra,
  });

  it('keeps used tracked actions, drops unused tracked actions and unused services, writes service-level ones out', () => {
    const e = run(input());
    const f = finding(e, 'IAM.ROLE.ADMIN')!;
    const d = written(f);
    const allow = d.Statement[0];
    expect(allow.Sid).toBe('Everything');
    expect(allow.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': 'us-east-1' } });
    expect(allow.Resource).toBe('*');
    expect(allow.Action).toContain('dynamodb:GetItem');
    expect(allow.Action).not.toContain('dynamodb:PutItem');
    // Used before the 90-day lookback: unused.
    expect(allow.Action).not.toContain('dynamodb:Query');
    // dynamodb actions the data does not track are kept (they may have been used).
    expect(allow.Action).toContain('dynamodb:DescribeTable');
    // sqs: service-level data only, every sqs action written out, no wildcard.
    expect(allow.Action).toContain('sqs:SendMessage');
    expect(allow.Action.some((a: string) => a.startsWith('s3:') || a.startsWith('sns:'))).toBe(false);
    expect(allow.Action.some((a: string) => a.includes('*'))).toBe(false);
    expect(allow.NotAction).toBeUndefined();
    // The Deny statement is kept exactly.
    expect(JSON.stringify(d.Statement[1])).toBe(
      JSON.stringify({
        Sid: 'NoDeletes',
        Effect: 'Deny',
        Action: ['dynamodb:DeleteTable', 's3:*'],
        Resource: '*',
      }),
    );
    expect(f.evidence['usage']).toMatchObject({
      lookbackDays: 90,
      servicesUsed: ['dynamodb', 'sqs'],
      servicesWithActionData: ['dynamodb'],
      servicesUsedWithoutActionData: ['sqs'],
    });
  });

  it('never grows a partial wildcard: service-level data keeps only what the pattern granted', () => {
    const e = run({
      inline: {
        app: doc({ Effect: 'Allow', Action: ['sqs:Get*', 'sqs:SendMessage'], Resource: 'arn:aws:sqs:*:*:q' }),
      },
      usage: { sqs: { last: USED } },
    });
    const actions: string[] = written(finding(e, 'IAM.ROLE.SERVICE_WILDCARD')).Statement[0].Action;
    expect(actions).toContain('sqs:SendMessage');
    expect(actions).toContain('sqs:GetQueueUrl');
    expect(actions.every((a) => a === 'sqs:SendMessage' || a.startsWith('sqs:Get'))).toBe(true);
  });

  it('a longer lookback keeps an action used 100 days ago', () => {
    const e = run(input(), cfg({ iamEvidence: { lookbackDays: 120 } }));
    expect(written(finding(e, 'IAM.ROLE.ADMIN')).Statement[0].Action).toContain('dynamodb:Query');
  });

  it('inline: PutRolePolicy with the original as inverse, a proof and preconditions that hold on the evaluated snapshot', () => {
    const e = run(input());
    const f = finding(e, 'IAM.ROLE.ADMIN')!;
    const original = input().inline!['app'];
    expect(f.plan.steps.map((s) => s.operation)).toEqual(['PutRolePolicy']);
    expect(f.plan.steps[0].parameters).toMatchObject({ RoleName: ROLE_NAME, PolicyName: 'app' });
    expect(f.plan.steps[0].inverse).toMatchObject({
      operation: 'PutRolePolicy',
      parameters: { RoleName: ROLE_NAME, PolicyName: 'app', PolicyDocument: JSON.stringify(original) },
    });
    expect(f.plan.proofs).toEqual([
      {
        replaces: 'inline:app',
        existingPolicyDocument: JSON.stringify(original),
        newPolicyDocument: f.plan.steps[0].parameters['PolicyDocument'],
      },
    ]);
    expect(failedPreconditions(f.plan.preconditions, e.snapshot)).toEqual([]);
    const changed = structuredClone(e.snapshot);
    (changed.responses['GetRolePolicy:app'] as { PolicyDocument: string }).PolicyDocument = encode(
      doc(ADMIN_STATEMENT),
    );
    expect(failedPreconditions(f.plan.preconditions, changed).map((p) => p.read)).toEqual([
      'GetRolePolicy:app',
    ]);
  });

  it('customer-managed below five versions: CreatePolicyVersion as default, SetDefaultPolicyVersion back as inverse', () => {
    const arn = 'arn:aws:iam::123456789012:policy/app';
    const e = run({
      ...input({ inline: {} }),
      managed: [
        {
          arn,
          document: doc(ADMIN_STATEMENT),
          defaultVersion: 'v3',
          versions: [{ id: 'v2', date: '2024-05-01T00:00:00Z' }],
        },
      ],
    });
    const f = finding(e, 'IAM.ROLE.ADMIN')!;
    expect(
      f.plan.steps.map((s) => [
        s.operation,
        s.parameters['SetAsDefault'],
        s.inverse?.operation,
        s.inverse?.parameters['VersionId'],
      ]),
    ).toEqual([['CreatePolicyVersion', true, 'SetDefaultPolicyVersion', 'v3']]);
    expect(failedPreconditions(f.plan.preconditions, e.snapshot)).toEqual([]);
  });

  it('customer-managed at five versions: first deletes the oldest non-default version, its document kept in the inverse', () => {
    const arn = 'arn:aws:iam::123456789012:policy/app';
    const old = doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::old/*' });
    const e = run({
      ...input({ inline: {} }),
      managed: [
        {
          arn,
          document: doc(ADMIN_STATEMENT),
          defaultVersion: 'v5',
          versions: [
            { id: 'v4', date: '2025-04-01T00:00:00Z', document: doc() },
            { id: 'v2', date: '2024-02-01T00:00:00Z', document: old },
            { id: 'v3', date: '2024-03-01T00:00:00Z', document: doc() },
            { id: 'v1', date: '2024-05-01T00:00:00Z', document: doc() },
          ],
        },
      ],
    });
    const f = finding(e, 'IAM.ROLE.ADMIN')!;
    expect(f.plan.steps.map((s) => s.operation)).toEqual(['DeletePolicyVersion', 'CreatePolicyVersion']);
    expect(f.plan.steps[0].parameters).toEqual({ PolicyArn: arn, VersionId: 'v2' });
    expect(f.plan.steps[0].inverse).toMatchObject({
      operation: 'CreatePolicyVersion',
      parameters: { PolicyArn: arn, PolicyDocument: JSON.stringify(old), SetAsDefault: false },
    });
    expect(failedPreconditions(f.plan.preconditions, e.snapshot)).toEqual([]);
  });

  it('customer-managed at five versions without the old document: no steps, approval with the reason', () => {
    const arn = 'arn:aws:iam::123456789012:policy/app';
    const versions = ['v1', 'v2', 'v3', 'v4'].map((id, i) => ({ id, date: `2024-0${i + 1}-01T00:00:00Z` }));
    const e = run(
      {
        ...input({ inline: {} }),
        managed: [{ arn, document: doc(ADMIN_STATEMENT), defaultVersion: 'v5', versions }],
      },
      AUTO,
    );
    const f = finding(e, 'IAM.ROLE.ADMIN')!;
    expect(f.plan.steps).toEqual([]);
    expect(f.mode).toBe('approve');
    expect(f.modeReason).toMatch(/five-version limit|5-version limit/);
  });

  it('AWS-managed: puts an inline replacement first, then detaches; inverses undo both', () => {
    const arn = managedArn('AdministratorAccess');
    const e = run({
      ...input({ inline: {} }),
      managed: [{ arn, document: MANAGED.get('AdministratorAccess') }],
    });
    const f = finding(e, 'IAM.ROLE.ADMIN')!;
    expect(f.plan.steps.map((s) => [s.operation, s.inverse?.operation])).toEqual([
      ['PutRolePolicy', 'DeleteRolePolicy'],
      ['DetachRolePolicy', 'AttachRolePolicy'],
    ]);
    expect(f.plan.steps[0].parameters['PolicyName']).toBe('guardrail-AdministratorAccess');
    expect(f.plan.steps[1].parameters).toEqual({ RoleName: ROLE_NAME, PolicyArn: arn });
    expect(f.plan.proofs?.[0]).toMatchObject({
      replaces: arn,
      existingPolicyDocument: JSON.stringify(MANAGED.get('AdministratorAccess')),
    });
    expect(f.plan.atomic).toBe(true);
  });

  it('too large for the role inline limit: no steps, the proposal and the reason in the evidence', () => {
    const e = run(
      {
        inline: { app: doc(ADMIN_STATEMENT) },
        usage: { ec2: { last: USED }, sagemaker: { last: USED }, iot: { last: USED } },
      },
      AUTO,
    );
    const f = finding(e, 'IAM.ROLE.ADMIN')!;
    expect(f.plan.steps).toEqual([]);
    expect(f.mode).toBe('approve');
    expect(f.modeReason).toMatch(/10240/);
    const rewrite = f.evidence['rewrite'] as {
      documents: { proposedPolicyDocument?: string; size: number }[];
      blockers: string[];
    };
    expect(rewrite.blockers[0]).toMatch(/inline policies would total \d+ characters \(limit 10240/);
    expect(JSON.parse(rewrite.documents[0].proposedPolicyDocument!).Statement[0].Action).toContain(
      'ec2:RunInstances',
    );
  });

  it('nothing used: no statement left, approval with the reason', () => {
    const e = run({ inline: { app: doc(ADMIN_STATEMENT) }, usage: { s3: {} } });
    const f = finding(e, 'IAM.ROLE.ADMIN')!;
    expect(f.plan.steps).toEqual([]);
    expect(f.summary).toMatch(/no statement is left/);
  });
});

describe('evidence and modes', () => {
  const base = {
    inline: { app: doc({ Effect: 'Allow', Action: 'dynamodb:*', Resource: 'arn:aws:dynamodb:*:*:table/x' }) },
  };
  const wild = (input: Partial<RoleSnapshotInput>, config = AUTO, now = IAM_NOW) =>
    finding(run({ ...base, ...input }, config, now), 'IAM.ROLE.SERVICE_WILDCARD')!;

  it('config auto with 30+ days of complete evidence: auto', () => {
    const f = wild({ usage: USAGE });
    expect(f.mode).toBe('auto');
    expect(f.plan.steps).toHaveLength(1);
  });

  it('default mode approve even with good evidence', () => {
    expect(wild({ usage: USAGE }, DEFAULT_CONFIG).mode).toBe('approve');
  });

  it.each([
    ['not collected', { usage: undefined }, /no IAM last-accessed data was collected/],
    ['unreadable', { usage: null }, /could not be read/],
    ['a job in progress', { usage: USAGE, jobStatus: 'IN_PROGRESS' }, /IN_PROGRESS, not COMPLETED/],
    ['a failed job', { usage: USAGE, jobStatus: 'FAILED' }, /FAILED, not COMPLETED/],
  ])('%s: no plan, approval with the reason', (_what, input, reason) => {
    const f = wild(input as Partial<RoleSnapshotInput>);
    expect(f.plan.steps).toEqual([]);
    expect(f.mode).toBe('approve');
    expect(f.modeReason).toMatch(reason);
    expect(f.summary).toMatch(reason);
  });

  it('a role younger than the 4-hour lag: proposal planned, but approval with the reason', () => {
    const f = wild({ usage: USAGE, createDate: '2025-06-15T09:30:00.000Z' });
    expect(f.plan.steps).toHaveLength(1);
    expect(f.mode).toBe('approve');
    expect(f.modeReason).toMatch(/younger than the 4-hour lag/);
  });

  it('evidence shorter than minEvidenceDays: approval, and a lower minimum allows auto', () => {
    const young = { usage: USAGE, createDate: '2025-06-01T00:00:00.000Z' };
    const f = wild(young);
    expect(f.mode).toBe('approve');
    expect(f.modeReason).toMatch(
      /covers 14\.\d days, less than rules\.IAM\.ROLE\.SERVICE_WILDCARD\.minEvidenceDays \(30\)/,
    );
    const lower = cfg({ rules: { 'IAM.ROLE.SERVICE_WILDCARD': { mode: 'auto', minEvidenceDays: 7 } } });
    expect(wild(young, lower).mode).toBe('auto');
  });

  it('only service-level data: the service is written out, approval needed only by the default mode', () => {
    const f = wild({ usage: { dynamodb: { last: USED } } });
    const actions: string[] = written(f).Statement[0].Action;
    expect(actions).toContain('dynamodb:PutItem');
    expect(actions.some((a) => a.includes('*'))).toBe(false);
    expect(
      (f.evidence['usage'] as { servicesUsedWithoutActionData: string[] }).servicesUsedWithoutActionData,
    ).toEqual(['dynamodb']);
  });

  it('honours exemption tags on the role', () => {
    const e = run({
      ...base,
      usage: USAGE,
      tags: {
        'guardrail:exempt': 'IAM.ROLE.SERVICE_WILDCARD',
        'guardrail:exempt-reason': 'data migration',
        'guardrail:exempt-until': '2025-12-31',
      },
    });
    expect(finding(e, 'IAM.ROLE.SERVICE_WILDCARD')?.exempt).toBe(true);
    expect(e.route).toBe('none');
  });

  it('rejects invalid evidence settings', () => {
    expect(() => cfg({ iamEvidence: { lookbackDays: 0 } })).toThrow(/iamEvidence.lookbackDays/);
    expect(() => cfg({ rules: { 'IAM.ROLE.ADMIN': { minEvidenceDays: 1.5 } } })).toThrow(/minEvidenceDays/);
    expect(() => cfg({ rules: { 'LAMBDA.URL.PUBLIC': { minEvidenceDays: 30 } } })).toThrow(
      /rules: minEvidenceDays applies only to IAM.ROLE.ADMIN and IAM.ROLE.SERVICE_WILDCARD/,
    );
    expect(DEFAULT_CONFIG.iamEvidence.lookbackDays).toBe(90);
  });
});

describe('readEvidence', () => {
  const CREATED = { CreateDate: '2025-01-01T00:00:00.000Z' };

  it('covers from max(role creation, now - lookback) to job completion minus the 4-hour lag', () => {
    const e = readEvidence(lastAccessed({ s3: { last: USED } }), CREATED, IAM_NOW, 90);
    expect(e).toMatchObject({ rewritable: true, usable: true, problems: [] });
    expect(e.summary.windowStart).toBe('2025-03-17T12:00:00.000Z');
    expect(e.summary.windowEnd).toBe('2025-06-15T07:59:00.000Z');
    expect(e.coverageDays).toBeCloseTo(89.83, 2);
    const young = readEvidence(lastAccessed({}), { CreateDate: '2025-06-01T12:00:00.000Z' }, IAM_NOW, 90);
    expect(young.coverageDays).toBeCloseTo(13.83, 2);
  });

  it('reads tracked action names with or without their service prefix, in any case', () => {
    const details = lastAccessed({ dynamodb: { last: USED } });
    details.ServicesLastAccessed[0] = {
      ...details.ServicesLastAccessed[0],
      TrackedActionsLastAccessed: [
        { ActionName: 'dynamodb:getitem', LastAccessedTime: USED },
        { ActionName: 'PutItem' },
      ],
    } as (typeof details.ServicesLastAccessed)[number];
    const u = readEvidence(details, CREATED, IAM_NOW, 90).services.get('dynamodb')!;
    expect([...u.tracked!]).toEqual(['dynamodb:getitem', 'dynamodb:putitem']);
    expect([...u.usedActions!]).toEqual(['dynamodb:getitem']);
  });

  it('a truncated report is not rewritable: unlisted services would look unused', () => {
    const e = readEvidence(
      { ...lastAccessed({ s3: { last: USED } }), IsTruncated: true },
      CREATED,
      IAM_NOW,
      90,
    );
    expect(e).toMatchObject({ rewritable: false, usable: false });
    expect(e.problems.join()).toMatch(/IsTruncated/);
  });

  it('a SERVICE_LEVEL job is rewritable for approval only', () => {
    const e = readEvidence(
      lastAccessed({ s3: { last: USED } }, { type: 'SERVICE_LEVEL' }),
      CREATED,
      IAM_NOW,
      90,
    );
    expect(e).toMatchObject({ rewritable: true, usable: false });
    expect(e.problems.join()).toMatch(/service level only/);
  });

  it('a job that completed after the evaluation time is not used', () => {
    const e = readEvidence(
      lastAccessed({}, { completion: '2025-06-16T00:00:00.000Z' }),
      CREATED,
      IAM_NOW,
      90,
    );
    expect(e).toMatchObject({ rewritable: false, usable: false });
  });
});

describe('applyProofs', () => {
  const autoEval = (config: GuardrailConfig = AUTO) =>
    run(
      {
        inline: {
          app: doc({ Effect: 'Allow', Action: 'dynamodb:*', Resource: 'arn:aws:dynamodb:*:*:table/x' }),
        },
        usage: USAGE,
      },
      config,
    );
  const index = (e: { findings: Finding[] }) => e.findings.findIndex((f) => f.plan.proofs?.length);

  it('keeps an automatic finding automatic when its proof passes', () => {
    const e = autoEval();
    const proof = {
      status: 'PASS' as const,
      checks: [
        {
          replaces: 'inline:app',
          checkNoNewAccess: 'PASS' as const,
          validatePolicy: { errors: 0, issues: [] },
        },
      ],
    };
    const out = applyProofs(e, { [index(e)]: proof }, AUTO);
    expect(out.findings[index(e)]).toMatchObject({ mode: 'auto', proof });
    expect(out.route).toBe('auto');
    expect(out.planDigest).toBe(e.planDigest);
  });

  it('sends a failed, unavailable or missing proof to approval with the reason, recomputing route and approval', () => {
    const withApprovers = cfg({
      rules: { 'IAM.ROLE.SERVICE_WILDCARD': { mode: 'auto' } },
      approvers: ['sec@example.com'],
      approvalSender: 'guardrail@example.com',
    });
    const e = autoEval(withApprovers);
    expect(e.route).toBe('auto');
    expect(e.approval).toBeUndefined();
    const i = index(e);
    const failed = applyProofs(
      e,
      { [i]: { status: 'FAIL', checks: [{ replaces: 'inline:app', checkNoNewAccess: 'FAIL' }] } },
      withApprovers,
    );
    expect(failed.findings[i].mode).toBe('approve');
    expect(failed.findings[i].modeReason).toMatch(/CheckNoNewAccess: FAIL/);
    expect(failed.route).toBe('approve');
    expect(failed.approval).toEqual({ planDigest: expect.stringMatching(/^sha256:/), findings: 1 });
    const unavailable = applyProofs(
      e,
      {
        [i]: {
          status: 'UNAVAILABLE',
          checks: [{ replaces: 'inline:app', reason: 'AccessDenied on access-analyzer:CheckNoNewAccess' }],
        },
      },
      withApprovers,
    );
    expect(unavailable.findings[i].modeReason).toMatch(/unavailable: inline:app: AccessDenied/);
    const missing = applyProofs(e, {}, withApprovers);
    expect(missing.findings[i].modeReason).toMatch(/not proved/);
    // The input is untouched.
    expect(e.findings[i].mode).toBe('auto');
  });

  it('leaves exempt findings as they are (they are not proved)', () => {
    const e = autoEval();
    const i = index(e);
    const exempt = { ...e, findings: e.findings.map((f, j) => (j === i ? { ...f, exempt: true } : f)) };
    const out = applyProofs(exempt, {}, AUTO);
    expect(out.findings[i]).toMatchObject({ mode: 'auto', exempt: true });
    expect(out.findings[i].modeReason).not.toMatch(/not proved/);
  });

  it('leaves findings without proofs and non-auto findings alone', () => {
    const e = autoEval(DEFAULT_CONFIG);
    const out = applyProofs(e, {}, DEFAULT_CONFIG);
    expect(out.findings.map((f) => [f.ruleId, f.mode, f.modeReason])).toEqual(
      e.findings.map((f) => [f.ruleId, f.mode, f.modeReason]),
    );
    expect(out.route).toBe(e.route);
  });
});
