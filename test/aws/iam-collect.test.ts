import {
  GenerateServiceLastAccessedDetailsCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetServiceLastAccessedDetailsCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { collectRole, EvidencePendingError, roleNameOfArn } from '../../functions/aws/collect-role.ts';
import { DEFAULT_CONFIG } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { catalogServices, serviceActions } from '../../functions/core/iam/catalog.ts';

const iam = mockClient(IAMClient);
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const ROLE = 'orders-api-role';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/service-role/${ROLE}`;
const MANAGED = `arn:aws:iam::${ACCOUNT}:policy/orders-managed`;
const META = { $metadata: { httpStatusCode: 200, requestId: 'r', attempts: 1, totalRetryDelay: 0 } };
const TRUST = encodeURIComponent(
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  }),
);
const INLINE_DOC = encodeURIComponent(
  '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}',
);
const awsError = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

const noSleep = { sleep: async () => {}, poll: { maxWaitMs: 3_000, initialDelayMs: 500, maxDelayMs: 1_000 } };
const target = { account: ACCOUNT, region: REGION, roleArn: ROLE_ARN };
const clients = () => createClients({ maxAttempts: 1 });

const service = (ns: string, actions: string[] = []) => ({
  ServiceName: ns,
  ServiceNamespace: ns,
  TotalAuthenticatedEntities: actions.length ? 1 : 0,
  ...(actions.length
    ? {
        LastAuthenticated: new Date('2026-11-20T10:00:00Z'),
        TrackedActionsLastAccessed: actions.map((a) => ({
          ActionName: a,
          LastAccessedTime: new Date('2026-11-20T10:00:00Z'),
          LastAccessedRegion: REGION,
          LastAccessedEntity: ROLE_ARN,
        })),
      }
    : {}),
});

function mockRole() {
  iam.on(GetRoleCommand, { RoleName: ROLE }).resolves({
    ...META,
    Role: {
      RoleName: ROLE,
      Arn: ROLE_ARN,
      Path: '/service-role/',
      RoleId: 'AROAEXAMPLE',
      CreateDate: new Date('2026-01-01T00:00:00Z'),
      AssumeRolePolicyDocument: TRUST,
    },
  });
  iam
    .on(ListRolePoliciesCommand, { RoleName: ROLE })
    .resolvesOnce({ ...META, PolicyNames: ['a'], IsTruncated: true, Marker: 'm1' })
    .resolves({ ...META, PolicyNames: ['b'], IsTruncated: false });
  iam.on(GetRolePolicyCommand).callsFake((input: { PolicyName: string }) => ({
    ...META,
    RoleName: ROLE,
    PolicyName: input.PolicyName,
    PolicyDocument: INLINE_DOC,
  }));
  iam.on(ListAttachedRolePoliciesCommand).resolves({
    ...META,
    AttachedPolicies: [{ PolicyName: 'orders-managed', PolicyArn: MANAGED }],
    IsTruncated: false,
  });
  iam.on(ListPolicyVersionsCommand, { PolicyArn: MANAGED }).resolves({
    ...META,
    Versions: [
      { VersionId: 'v2', IsDefaultVersion: true, CreateDate: new Date('2026-02-01T00:00:00Z') },
      { VersionId: 'v1', IsDefaultVersion: false, CreateDate: new Date('2026-01-01T00:00:00Z') },
    ],
    IsTruncated: false,
  });
  iam.on(GetPolicyVersionCommand, { PolicyArn: MANAGED, VersionId: 'v2' }).resolves({
    ...META,
    PolicyVersion: { VersionId: 'v2', IsDefaultVersion: true, Document: INLINE_DOC },
  });
  iam.on(GenerateServiceLastAccessedDetailsCommand).resolves({ ...META, JobId: 'job-1' });
}

const completed = (services: unknown[], extra: Record<string, unknown> = {}) => ({
  ...META,
  JobStatus: 'COMPLETED' as const,
  JobType: 'ACTION_LEVEL' as const,
  JobCreationDate: new Date('2026-11-26T10:00:00Z'),
  JobCompletionDate: new Date('2026-11-26T10:00:05Z'),
  ServicesLastAccessed: services as never,
  IsTruncated: false,
  ...extra,
});
const inProgress = {
  ...META,
  JobStatus: 'IN_PROGRESS' as const,
  JobCreationDate: new Date('2026-11-26T10:00:00Z'),
  JobCompletionDate: undefined,
  ServicesLastAccessed: [],
};

beforeEach(() => iam.reset());

describe('collectRole: the role snapshot', () => {
  it('reads the role, every inline policy (all pages), attached policies and their default versions, documents kept URL-encoded', async () => {
    mockRole();
    iam.on(GetServiceLastAccessedDetailsCommand).resolves(completed([service('s3', ['GetObject'])]));
    const s = await collectRole(clients(), target, { evidence: true, ...noSleep });
    expect(Object.keys(s.responses).sort()).toEqual([
      'GetPolicyVersion:' + MANAGED,
      'GetRole',
      'GetRolePolicy:a',
      'GetRolePolicy:b',
      'GetServiceLastAccessedDetails',
      'ListAttachedRolePolicies',
      'ListPolicyVersions:' + MANAGED,
      'ListRolePolicies',
    ]);
    expect(s.responses['ListRolePolicies']).toEqual({ PolicyNames: ['a', 'b'] });
    expect((s.responses['GetRolePolicy:a'] as { PolicyDocument: string }).PolicyDocument).toBe(INLINE_DOC);
    expect(s.responses['GetPolicyVersion:' + MANAGED]).toMatchObject({
      PolicyVersion: { VersionId: 'v2', Document: INLINE_DOC },
    });
    // Dates become ISO strings, as they are once the snapshot crosses a task boundary.
    expect((s.responses['GetRole'] as { Role: { CreateDate: unknown } }).Role.CreateDate).toBe(
      '2026-01-01T00:00:00.000Z',
    );
    expect(iam).toHaveReceivedCommandWith(GenerateServiceLastAccessedDetailsCommand, {
      Arn: ROLE_ARN,
      Granularity: 'ACTION_LEVEL',
    });
    expect(iam).toHaveReceivedCommandWith(GetPolicyVersionCommand, { PolicyArn: MANAGED, VersionId: 'v2' });
  });

  it('stores a missing role as GetRole: null and reads nothing else', async () => {
    iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: 'no role', $metadata: {} }));
    const s = await collectRole(clients(), target, { evidence: true, ...noSleep });
    expect(s.responses).toEqual({ GetRole: null });
    expect(iam).not.toHaveReceivedCommand(GenerateServiceLastAccessedDetailsCommand);
  });

  it('without evidence, never starts a last-accessed job and leaves the key absent (not read)', async () => {
    mockRole();
    const s = await collectRole(
      clients(),
      { ...target, roleArn: undefined, roleName: ROLE },
      { evidence: false },
    );
    expect('GetServiceLastAccessedDetails' in s.responses).toBe(false);
    expect(iam).not.toHaveReceivedCommand(GenerateServiceLastAccessedDetailsCommand);
  });

  it('at the five-version limit, also reads the oldest non-default version (its deletion must be undoable)', async () => {
    mockRole();
    iam.on(GetServiceLastAccessedDetailsCommand).resolves(completed([]));
    iam.on(ListPolicyVersionsCommand, { PolicyArn: MANAGED }).resolves({
      ...META,
      Versions: ['v5', 'v4', 'v3', 'v2', 'v1'].map((v, i) => ({
        VersionId: v,
        IsDefaultVersion: v === 'v5',
        CreateDate: new Date(Date.UTC(2026, 4 - i, 1)),
      })),
      IsTruncated: false,
    });
    iam.on(GetPolicyVersionCommand, { PolicyArn: MANAGED, VersionId: 'v5' }).resolves({
      ...META,
      PolicyVersion: { VersionId: 'v5', IsDefaultVersion: true, Document: INLINE_DOC },
    });
    iam.on(GetPolicyVersionCommand, { PolicyArn: MANAGED, VersionId: 'v1' }).resolves({
      ...META,
      PolicyVersion: { VersionId: 'v1', IsDefaultVersion: false, Document: TRUST },
    });
    const s = await collectRole(clients(), target, { evidence: false });
    const versions = (
      s.responses[`ListPolicyVersions:${MANAGED}`] as { Versions: { VersionId: string; Document?: string }[] }
    ).Versions;
    expect(versions.find((v) => v.VersionId === 'v1')?.Document).toBe(TRUST);
    expect(versions.filter((v) => v.Document).map((v) => v.VersionId)).toEqual(['v1']);
    expect(iam).toHaveReceivedCommandTimes(GetPolicyVersionCommand, 2);
  });

  it('roleNameOfArn takes the last path segment', () => {
    expect(roleNameOfArn(ROLE_ARN)).toBe(ROLE);
    expect(roleNameOfArn(`arn:aws:iam::${ACCOUNT}:role/plain`)).toBe('plain');
  });
});

describe('collectRole: Access Advisor evidence', () => {
  it('polls an IN_PROGRESS job with growing delays until COMPLETED, then merges every page', async () => {
    mockRole();
    iam
      .on(GetServiceLastAccessedDetailsCommand, { JobId: 'job-1', Marker: undefined })
      .resolvesOnce(inProgress)
      .resolvesOnce(inProgress)
      .resolves(completed([service('s3', ['GetObject'])], { IsTruncated: true, Marker: 'p2' }));
    iam
      .on(GetServiceLastAccessedDetailsCommand, { JobId: 'job-1', Marker: 'p2' })
      .resolves(completed([service('dynamodb', ['Query']), service('sqs')]));
    const delays: number[] = [];
    const s = await collectRole(clients(), target, {
      evidence: true,
      poll: { maxWaitMs: 10_000, initialDelayMs: 500, maxDelayMs: 800 },
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    expect(delays).toEqual([500, 800]);
    const ev = s.responses['GetServiceLastAccessedDetails'] as {
      JobStatus: string;
      IsTruncated: boolean;
      Marker?: string;
      ServicesLastAccessed: { ServiceNamespace: string }[];
    };
    expect(ev.JobStatus).toBe('COMPLETED');
    expect(ev.ServicesLastAccessed.map((x) => x.ServiceNamespace)).toEqual(['s3', 'dynamodb', 'sqs']);
    expect(ev.IsTruncated).toBe(false);
    expect(ev.Marker).toBeUndefined();
  });

  it('throws the retryable EvidencePendingError when the job is still running after the bound', async () => {
    mockRole();
    iam.on(GetServiceLastAccessedDetailsCommand).resolves(inProgress);
    const err = await collectRole(clients(), target, { evidence: true, ...noSleep }).catch((e) => e);
    expect(err).toBeInstanceOf(EvidencePendingError);
    expect(err.name).toBe('EvidencePendingError');
    // 500 + 1000 + 1000 + 1000 = 3500 >= 3000: five reads in all.
    expect(iam).toHaveReceivedCommandTimes(GetServiceLastAccessedDetailsCommand, 5);
  });

  it('stores a FAILED job as AWS returned it (the core treats it as no usable evidence)', async () => {
    mockRole();
    iam.on(GetServiceLastAccessedDetailsCommand).resolves({
      ...inProgress,
      JobStatus: 'FAILED',
      JobCompletionDate: new Date('2026-11-26T10:00:05Z'),
      Error: { Code: 'ServiceFailure', Message: 'internal' },
    });
    const s = await collectRole(clients(), target, { evidence: true, ...noSleep });
    expect(s.responses['GetServiceLastAccessedDetails']).toMatchObject({
      JobStatus: 'FAILED',
      Error: { Code: 'ServiceFailure' },
    });
  });

  it('stores null and carries on when the caller may not generate or read the report', async () => {
    mockRole();
    iam.on(GenerateServiceLastAccessedDetailsCommand).rejects(awsError('AccessDenied', 403));
    const s = await collectRole(clients(), target, { evidence: true, ...noSleep });
    expect(s.responses['GetServiceLastAccessedDetails']).toBeNull();
    expect(s.responses['GetRolePolicy:a']).toBeTruthy();
  });

  it('lets throttling through after the SDK retries, so the state machine retries Collect', async () => {
    mockRole();
    iam.on(GetServiceLastAccessedDetailsCommand).rejects(awsError('Throttling', 400));
    await expect(collectRole(clients(), target, { evidence: true, ...noSleep })).rejects.toMatchObject({
      name: 'Throttling',
    });
  });
});

describe('collectRole: the report fits the state machine payload', () => {
  it('an Action "*" role: every catalog service listed, compacted under 256 KB, and the plan is the one the full report gives', async () => {
    mockRole();
    const used = new Set(['dynamodb', 'sqs', 'logs']);
    const at = new Date('2026-11-20T10:00:00Z');
    // What Access Advisor lists for a role allowed everything: every service, each with its tracked actions.
    const services = catalogServices().map((ns) => {
      const actions = serviceActions(ns)
        .slice(0, 60)
        .map((a) => a.action.slice(ns.length + 1));
      return {
        ServiceName: ns,
        ServiceNamespace: ns,
        TotalAuthenticatedEntities: used.has(ns) ? 1 : 0,
        ...(used.has(ns) ? { LastAuthenticated: at } : {}),
        TrackedActionsLastAccessed: actions.map((a, i) => ({
          ActionName: a,
          ...(used.has(ns) && i % 3 === 0
            ? { LastAccessedTime: at, LastAccessedRegion: REGION, LastAccessedEntity: ROLE_ARN }
            : {}),
        })),
      };
    });
    const full = completed(services);
    iam.on(GetServiceLastAccessedDetailsCommand).resolves(full);
    const s = await collectRole(clients(), target, { evidence: true, ...noSleep });
    const stored = s.responses['GetServiceLastAccessedDetails'] as {
      ServicesLastAccessed: {
        ServiceNamespace: string;
        TrackedActionsLastAccessed?: Record<string, unknown>[];
      }[];
    };
    const { $metadata: _m, ...fullBody } = full;
    const fullReport = JSON.parse(JSON.stringify(fullBody));
    expect(JSON.stringify(fullReport).length).toBeGreaterThan(256 * 1024);
    expect(JSON.stringify(stored).length).toBeLessThan(256 * 1024);
    // every service is still listed; used ones keep every tracked action, used or not
    expect(stored.ServicesLastAccessed.length).toBe(services.length);
    for (const svc of stored.ServicesLastAccessed) {
      const original = services.find((x) => x.ServiceNamespace === svc.ServiceNamespace)!;
      if (used.has(svc.ServiceNamespace))
        expect(svc.TrackedActionsLastAccessed?.map((a) => a.ActionName)).toEqual(
          original.TrackedActionsLastAccessed.map((a) => a.ActionName),
        );
      else expect(svc.TrackedActionsLastAccessed).toBeUndefined();
      for (const a of svc.TrackedActionsLastAccessed ?? [])
        expect(a).not.toHaveProperty('LastAccessedEntity');
    }
    // the rewrite the compact report gives is exactly the one the full report gives
    const plans = (report: unknown) =>
      evaluate({
        snapshot: { ...s, responses: { ...s.responses, GetServiceLastAccessedDetails: report } },
        config: DEFAULT_CONFIG,
        now: '2026-11-26T12:00:00Z',
      }).findings.map((f) => ({ ruleId: f.ruleId, plan: f.plan }));
    const compactPlans = plans(stored);
    expect(compactPlans.some((p) => p.plan.steps.length > 0)).toBe(true);
    expect(compactPlans).toEqual(plans(fullReport));
  });
});
