/**
 * Ingest of the IAM.ROLE triggers (docs/iam-roles.md, "Triggers"): which executions one CloudTrail
 * event starts. Real CloudTrail records from test/fixtures/cloudtrail where they exist (AttachRolePolicy,
 * UpdateFunctionConfiguration); CreatePolicyVersion and PutRolePolicy are built in the documented
 * CloudTrail shape (requestParameters policyArn/policyDocument/setAsDefault; roleName/policyName/
 * policyDocument as a plain JSON string).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IAMClient, ListEntitiesForPolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { executionEvents } from '../../functions/aws/role-targets.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { executionName, normalizeEvent } from '../../functions/core/event.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeIngest } from '../../functions/handlers/ingest.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cloudtrail');
const load = (f: string) => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Record<string, unknown>;
const iam = mockClient(IAMClient);

const attach = load('stratus-red-team__AttachRolePolicy__1.json');
const updateConfig = load('stratus-red-team__UpdateFunctionConfiguration20150331v2__1.json');
const ACCOUNT = String(attach['recipientAccountId']);
const base = {
  eventVersion: '1.09',
  userIdentity: { type: 'IAMUser', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
  eventTime: '2025-06-15T11:55:00Z',
  eventSource: 'iam.amazonaws.com',
  awsRegion: 'us-east-1',
  recipientAccountId: ACCOUNT,
  readOnly: false,
  managementEvent: true,
  eventCategory: 'Management',
};
const POLICY = `arn:aws:iam::${ACCOUNT}:policy/orders-managed`;
const createPolicyVersion = {
  ...base,
  eventID: '7d2c1f3a-5b4e-4c6d-8e9f-0a1b2c3d4e5f',
  eventName: 'CreatePolicyVersion',
  requestParameters: {
    policyArn: POLICY,
    policyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    setAsDefault: true,
  },
  responseElements: { policyVersion: { versionId: 'v3', isDefaultVersion: true } },
};
const putRolePolicy = {
  ...base,
  eventID: '1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b',
  eventName: 'PutRolePolicy',
  requestParameters: {
    roleName: 'orders-api-role',
    policyName: 'app',
    policyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
  },
  responseElements: null,
};

function deps(started: NormalizedEvent[]): HandlerDeps {
  return {
    clients: createClients({ maxAttempts: 1 }),
    config: parseConfig({}),
    homeRegion: 'us-east-1',
    now: () => '2025-06-15T12:00:00.000Z',
    startExecution: async (e) => {
      started.push(e);
      return { started: true, executionName: executionName(e.eventId) };
    },
  };
}

beforeAll(() => logger.setLogLevel('SILENT'));
beforeEach(() => iam.reset());

describe('ingest: execution-role triggers', () => {
  it('AttachRolePolicy (real record): one execution about the role it names', async () => {
    const started: NormalizedEvent[] = [];
    const out = await makeIngest(() => deps(started))(attach);
    expect(out).toEqual({ status: 'started', executionName: attach['eventID'] });
    expect(started).toHaveLength(1);
    expect(started[0]!.resources).toEqual({
      roleName: 'stratus-red-team-malicious-iam-role',
      roleArn: `arn:aws:iam::${ACCOUNT}:role/stratus-red-team-malicious-iam-role`,
      policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    });
    expect(iam).not.toHaveReceivedAnyCommand();
  });

  it('PutRolePolicy: one execution about the role; the policy document is plain JSON in CloudTrail', async () => {
    const started: NormalizedEvent[] = [];
    await makeIngest(() => deps(started))(putRolePolicy);
    expect(started.map((e) => e.resources.roleName)).toEqual(['orders-api-role']);
    expect(JSON.parse(String(putRolePolicy.requestParameters.policyDocument)).Statement[0].Action).toBe('*');
  });

  it('CreatePolicyVersion names a policy: one execution per role it is attached to, with derived names', async () => {
    iam
      .on(ListEntitiesForPolicyCommand, { PolicyArn: POLICY, EntityFilter: 'Role' })
      .resolvesOnce({
        PolicyRoles: [{ RoleName: 'orders-api-role', RoleId: 'AROA1' }],
        IsTruncated: true,
        Marker: 'm',
      })
      .resolves({ PolicyRoles: [{ RoleName: 'billing-role', RoleId: 'AROA2' }], IsTruncated: false });
    const started: NormalizedEvent[] = [];
    const out = await makeIngest(() => deps(started))(createPolicyVersion);
    expect(started.map((e) => e.resources.roleName)).toEqual(['billing-role', 'orders-api-role']);
    for (const e of started) {
      expect(e.eventId).toMatch(new RegExp(`^${createPolicyVersion.eventID}-[0-9a-f]{12}$`));
      expect(executionName(e.eventId).length).toBeLessThanOrEqual(80);
      expect(e.resources.policyArn).toBe(POLICY);
      expect(e.resources.functionName).toBeUndefined();
    }
    expect(new Set(started.map((e) => e.eventId)).size).toBe(2);
    expect(out).toMatchObject({ status: 'started', executions: started.map((e) => e.eventId) });
    // A redelivery derives the same names (so StartExecution is idempotent).
    const again: NormalizedEvent[] = [];
    iam.on(ListEntitiesForPolicyCommand).resolves({
      PolicyRoles: [{ RoleName: 'orders-api-role' }, { RoleName: 'billing-role' }],
      IsTruncated: false,
    });
    await makeIngest(() => deps(again))(createPolicyVersion);
    expect(again.map((e) => e.eventId)).toEqual(started.map((e) => e.eventId));
  });

  it('a policy attached to no role starts nothing', async () => {
    iam.on(ListEntitiesForPolicyCommand).resolves({ PolicyRoles: [], IsTruncated: false });
    const started: NormalizedEvent[] = [];
    const out = await makeIngest(() => deps(started))({
      ...createPolicyVersion,
      eventName: 'SetDefaultPolicyVersion',
      requestParameters: { policyArn: POLICY, versionId: 'v2' },
    });
    expect(started).toEqual([]);
    expect(out).toMatchObject({ status: 'ignored' });
  });

  it('UpdateFunctionConfiguration with a role (real record): the function and, with suffix -role, its role', async () => {
    const ev = normalizeEvent(updateConfig);
    const withRole = ev.resources.roleArn
      ? updateConfig
      : {
          ...updateConfig,
          requestParameters: {
            ...(updateConfig['requestParameters'] as object),
            role: `arn:aws:iam::${ev.account}:role/service-role/fn-role`,
          },
        };
    const started: NormalizedEvent[] = [];
    await makeIngest(() => deps(started))(withRole);
    expect(started).toHaveLength(2);
    expect(started[0]!.resources.functionName).toBeTruthy();
    expect(started[1]!.eventId).toBe(`${ev.eventId}-role`);
    expect(started[1]!.resources.functionName).toBeUndefined();
    expect(started[1]!.resources.roleArn).toMatch(/:role\//);
    expect(started[1]!.resources.roleName).toBe(started[1]!.resources.roleArn!.split('/').at(-1));
  });

  it('with every IAM.ROLE rule disabled by config, a function event starts only the function execution', async () => {
    const ev = normalizeEvent(updateConfig);
    const withRole = ev.resources.roleArn
      ? updateConfig
      : {
          ...updateConfig,
          requestParameters: {
            ...(updateConfig['requestParameters'] as object),
            role: `arn:aws:iam::${ev.account}:role/service-role/fn-role`,
          },
        };
    const off = { enabled: false };
    const config = parseConfig({
      rules: { 'IAM.ROLE.ADMIN': off, 'IAM.ROLE.SERVICE_WILDCARD': off, 'IAM.ROLE.RESOURCE_WILDCARD': off },
    });
    const started: NormalizedEvent[] = [];
    await makeIngest(() => ({ ...deps(started), config }))(withRole);
    expect(started.map((e) => e.eventId)).toEqual([ev.eventId]);
    expect(started[0]!.resources.functionName).toBeTruthy();
  });

  it('without role rules deployed, every event is its own single execution', async () => {
    const ev = normalizeEvent(createPolicyVersion);
    expect(await executionEvents(createClients(), ev, false)).toEqual([ev]);
    expect(iam).not.toHaveReceivedAnyCommand();
  });
});
