/**
 * Organization mode against the emulator with several accounts: an organization (moto's default
 * account is the management and central account), member accounts made with CreateAccount, member
 * roles trusted under aws:PrincipalOrgID and sts:ExternalId, and the real ingest handler and ASL
 * (scripts/local/runtime.ts). moto lets anyone assume any role; scripts/local/moto_patches.py makes
 * AssumeRole honour trust policies as AWS does (the first test pins that).
 *
 * Locally the central workflow runs as the management account's default identity, so member roles
 * trust that account; deployed, they trust the central functions' role ARNs (test/infra/org-*.test.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import { createClients } from '../../functions/aws/clients.ts';
import { applyPlan } from '../../functions/aws/execute.ts';
import { documentClient } from '../../functions/aws/ledger.ts';
import { runSweep } from '../../functions/aws/sweep.ts';
import type { GuardrailConfig } from '../../functions/core/config.ts';
import type { ScanReport } from '../../functions/core/report/model.ts';
import { RULES } from '../../functions/core/rules/index.ts';
import type { Finding, NormalizedEvent } from '../../functions/core/types.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { type EmulatorHandle, emulatorClientConfig, startEmulator } from '../../scripts/local/emulator.ts';
import { LocalGuardrail, runAsl } from '../../scripts/local/runtime.ts';
import { PUBLIC_URL_PERMISSIONS, DEMO_REGION as REGION, ZIP } from '../../scripts/local/seed.ts';
import { createRoles, type EmulatorCredentials } from '../../scripts/local/seed-account.ts';
import {
  createMemberRoles,
  memberAdmin,
  memberLambdaEvent,
  type SeededOrganization,
  seedOrganization,
} from '../../scripts/local/seed-org.ts';
import { validateScanReport } from '../report-validators.ts';

const EXTERNAL_ID = 'guardrail-org-test-7f3a';
const ROLES = { collector: 'lambda-guardrail-collector', remediation: 'lambda-guardrail-remediation' };
const FN = 'orders-api';

let emu: EmulatorHandle;
let org: SeededOrganization;
/** Two members with the roles, one member whose roles refuse every caller. */
let memberA: string;
let memberB: string;
let refusing: string;
const admin = new Map<string, EmulatorCredentials>();
const lambdaOf = new Map<string, LambdaClient>();

async function publicFunction(account: string, name: string) {
  const lambda = lambdaOf.get(account)!;
  const [role] = await createRoles(emu.endpoint, [`exec-${name}`], 1, admin.get(account));
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Role: role,
      Code: { ZipFile: ZIP },
    }),
  );
  await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: name, AuthType: 'NONE' }));
  for (const p of PUBLIC_URL_PERMISSIONS)
    await lambda.send(new AddPermissionCommand({ FunctionName: name, ...p }));
}

const authType = async (account: string, name = FN) =>
  (await lambdaOf.get(account)!.send(new GetFunctionUrlConfigCommand({ FunctionName: name }))).AuthType;
/** Statements in the function's resource policy (0 when the last one was removed: the policy is gone). */
const statementCount = async (account: string, name = FN): Promise<number> => {
  try {
    const r = await lambdaOf.get(account)!.send(new GetPolicyCommand({ FunctionName: name }));
    return JSON.parse(r.Policy!).Statement.length;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return 0;
    throw err;
  }
};

/** The execution an ingest result started. */
const nameOf = (r: { status: string }) => {
  expect(r.status).toBe('started');
  return (r as unknown as { executionName: string }).executionName;
};

const orgConfig = (extra: Record<string, unknown> = {}) => ({
  organization: {
    enabled: true,
    orgId: org.orgId,
    externalId: EXTERNAL_ID,
    targets: { organizationalUnitIds: [org.rootId] },
    regions: [REGION],
    ...extra,
  },
});

function guardrail(extra: Record<string, unknown> = {}) {
  return new LocalGuardrail({
    endpoint: emu.endpoint,
    region: REGION,
    logLevel: 'SILENT',
    // The raw config is validated by parseConfig in the runtime.
    config: orgConfig(extra) as unknown as Partial<GuardrailConfig>,
  });
}

beforeAll(async () => {
  emu = await startEmulator({ log: (s) => console.error(s) });
  org = await seedOrganization(emu.endpoint, 3);
  [memberA, memberB, refusing] = org.members;
  for (const account of org.members) {
    const creds = await memberAdmin(emu.endpoint, account);
    admin.set(account, creds);
    lambdaOf.set(
      account,
      new LambdaClient({ ...emulatorClientConfig(emu.endpoint, REGION), credentials: creds }),
    );
    await createMemberRoles(emu.endpoint, creds, {
      account,
      orgId: org.orgId,
      externalId: EXTERNAL_ID,
      roleNames: [ROLES.collector, ROLES.remediation],
      refuse: account === refusing,
    });
  }
  // The same function name in both members: what happens to one must not happen to the other.
  await publicFunction(memberA, FN);
  await publicFunction(memberB, FN);
  await publicFunction(refusing, FN);
}, 300_000);

afterAll(async () => {
  logger.setLogLevel('INFO');
  for (const c of lambdaOf.values()) c.destroy();
  await emu?.stop();
});

describe('the emulated organization', () => {
  it('AssumeRole follows the trust policy (moto_patches.py #7): external id, org and Deny are enforced', async () => {
    const sts = new STSClient(emulatorClientConfig(emu.endpoint, REGION));
    const assume = (account: string, ExternalId?: string) =>
      sts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${account}:role/${ROLES.collector}`,
          RoleSessionName: 'pin',
          ...(ExternalId ? { ExternalId } : {}),
        }),
      );
    const ok = await assume(memberA, EXTERNAL_ID);
    expect(ok.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${memberA}:assumed-role/${ROLES.collector}/pin`);
    await expect(assume(memberA)).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(assume(memberA, 'wrong')).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(assume(refusing, EXTERNAL_ID)).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(
      sts.send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${memberA}:role/absent`, RoleSessionName: 'x' }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    sts.destroy();
  });
});

describe('events from two member accounts', () => {
  it('are each remediated in their own account, through the assumed member roles', async () => {
    const g = guardrail();
    await g.setup();
    expect(await authType(memberA)).toBe('NONE');
    expect(await authType(memberB)).toBe('NONE');

    const a = await g.ingest(
      memberLambdaEvent(memberA, 'CreateFunctionUrlConfig', { functionName: FN, authType: 'NONE' }),
    );
    expect(a.status).toBe('started');
    const runA = g.executions.get(nameOf(a))!;
    expect(runA.status, runA.error).toBe('SUCCEEDED');
    expect(await authType(memberA)).toBe('AWS_IAM');
    expect(await statementCount(memberA)).toBe(0);
    // Member B's function of the same name is untouched until B's own event.
    expect(await authType(memberB)).toBe('NONE');
    expect(await statementCount(memberB)).toBe(2);

    const b = await g.ingest(
      memberLambdaEvent(memberB, 'CreateFunctionUrlConfig', { functionName: FN, authType: 'NONE' }),
    );
    expect(g.executions.get(nameOf(b))!.status).toBe('SUCCEEDED');
    expect(await authType(memberB)).toBe('AWS_IAM');

    // Every read and write went through AssumeRole (the central account has no such function at all).
    expect(g.clients.calls.get('sts:AssumeRole')).toBeGreaterThanOrEqual(4);
    const record = await g.ledgerRecord(nameOf(a));
    expect(record?.outcome).toBe('remediated');
    expect(JSON.stringify(record)).not.toContain(EXTERNAL_ID);
  });

  it('a member whose role refuses the guardrail gets nothing done: the execution fails and is recorded', async () => {
    const g = guardrail();
    await g.setup();
    const r = await g.ingest(
      memberLambdaEvent(refusing, 'CreateFunctionUrlConfig', { functionName: FN, authType: 'NONE' }),
    );
    const run = g.executions.get(nameOf(r))!;
    expect(run.status).toBe('FAILED');
    expect(run.states).toContain('RecordFailure');
    expect(await authType(refusing)).toBe('NONE');
  });

  it('the deny list and the allow list reject events of other accounts, with a recorded reason', async () => {
    const g = guardrail({ accounts: { allow: [memberA], deny: [] } });
    await g.setup();
    const event = memberLambdaEvent(memberB, 'AddPermission20150331v2', { functionName: FN });
    const r = await g.ingest(event);
    expect(r).toEqual({
      status: 'rejected',
      reason: `account ${memberB} is not on organization.accounts.allow`,
    });
    const recorded = await documentClient(g.clients, REGION).send(
      new GetCommand({
        TableName: 'lambda-guardrail-ledger',
        Key: { pk: `REJECTED#${event.detail.eventID}`, sk: 'RECORD' },
      }),
    );
    expect(recorded.Item).toMatchObject({
      outcome: 'rejected-input',
      error: { cause: `account ${memberB} is not on organization.accounts.allow` },
    });
    // The deny list wins over the allow list.
    const denied = guardrail({ accounts: { allow: [memberA], deny: [memberA] } });
    const d = await denied.ingest(
      memberLambdaEvent(memberA, 'AddPermission20150331v2', { functionName: FN }),
    );
    expect(d).toMatchObject({
      status: 'rejected',
      reason: `account ${memberA} is on organization.accounts.deny`,
    });
  });

  it("the member roles' own calls never start a run", async () => {
    const g = guardrail();
    const r = await g.ingest(
      memberLambdaEvent(
        memberA,
        'UpdateFunctionUrlConfig',
        { functionName: FN, authType: 'AWS_IAM' },
        {
          actorArn: `arn:aws:sts::${memberA}:assumed-role/${ROLES.remediation}/guardrail-x`,
          sessionIssuerArn: `arn:aws:iam::${memberA}:role/${ROLES.remediation}`,
        },
      ),
    );
    expect(r.status).toBe('ignored');
  });
});

describe('a forged event that names another account changes nothing', () => {
  const victim = 'victim-fn';
  beforeAll(async () => publicFunction(memberB, victim), 60_000);

  it('ingest: a detail claiming another account than the one EventBridge delivered it from is rejected', async () => {
    const g = guardrail();
    await g.setup();
    const forged = memberLambdaEvent(
      memberB,
      'CreateFunctionUrlConfig',
      { functionName: victim, authType: 'NONE' },
      {
        envelopeAccount: memberA,
      },
    );
    const r = await g.ingest(forged);
    expect(r).toEqual({
      status: 'rejected',
      reason: `delivered from account ${memberA} but names account ${memberB}`,
    });
    // Naming the other account's function ARN in an event of member A is refused by normalization.
    const byArn = await g.ingest(
      memberLambdaEvent(memberA, 'CreateFunctionUrlConfig', {
        functionName: `arn:aws:lambda:${REGION}:${memberB}:function:${victim}`,
        authType: 'NONE',
      }),
    );
    expect(byArn.status).toBe('rejected');
    expect(await authType(memberB, victim)).toBe('NONE');
    expect(await statementCount(memberB, victim)).toBe(2);
  });

  it('workflow: an execution started with such an event (ingest bypassed) fails in Collect and writes nothing', async () => {
    const g = guardrail();
    await g.setup();
    const event: NormalizedEvent = {
      eventId: randomUUID(),
      eventName: 'CreateFunctionUrlConfig',
      action: 'CreateFunctionUrlConfig',
      service: 'lambda',
      account: memberA,
      region: REGION,
      time: new Date().toISOString(),
      actor: { type: 'IAMUser', arn: `arn:aws:iam::${memberA}:user/mallory` },
      resources: {
        functionName: `arn:aws:lambda:${REGION}:${memberB}:function:${victim}`,
        functionArn: `arn:aws:lambda:${REGION}:${memberB}:function:${victim}`,
      },
      requestParameters: {},
      origin: 'event',
    };
    const run = await runAsl(g.handlers(), { event }, { name: event.eventId, now: new Date().toISOString() });
    expect(run.status).toBe('FAILED');
    expect(run.states).not.toContain('Remediate');
    const record = await g.ledgerRecord(event.eventId);
    expect(JSON.stringify(record?.error)).toContain(`names a resource in account ${memberB}`);
    expect(await authType(memberB, victim)).toBe('NONE');
  });

  it('executor: a plan step naming another account is refused whole, even with credentials that could write it', async () => {
    // Member B's own administrator credentials: the refusal does not depend on the role's permissions.
    const clients = createClients({ endpoint: emu.endpoint, credentials: admin.get(memberB)! });
    const arn = `arn:aws:lambda:${REGION}:${memberB}:function:${victim}`;
    const finding = {
      ruleId: 'LAMBDA.URL.PUBLIC',
      resourceArn: arn,
      plan: {
        steps: [
          {
            service: 'lambda',
            operation: 'UpdateFunctionUrlConfig',
            parameters: { FunctionName: arn, AuthType: 'AWS_IAM' },
            reason: 'forged',
          },
        ],
        preconditions: [],
      },
    } as unknown as Finding;
    const r = await applyPlan(
      clients,
      REGION,
      [finding],
      { account: memberA, region: REGION, responses: {} },
      {
        account: memberA,
      },
    );
    expect(r.status).toBe('failed');
    expect(r.steps).toEqual([]);
    expect(r.error).toContain(`UpdateFunctionUrlConfig names account ${memberB}`);
    expect(await authType(memberB, victim)).toBe('NONE');
  });
});

describe('guardrail scan --org', () => {
  it('covers every account of the organization, reports the ones it cannot enter, and puts the account on every finding', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: REGION,
    });
    let code: number;
    try {
      code = await main(
        ['scan', '--org', '--endpoint-url', emu.endpoint, '--external-id', EXTERNAL_ID, '--format', 'json'],
        { out: (s) => out.push(s), err: (s) => err.push(s) },
      );
    } finally {
      process.env = saved;
    }
    expect(code).toBe(1);
    const report = JSON.parse(out.join('\n')) as ScanReport;
    expect(validateScanReport(report)).toEqual([]);
    expect(report.account).toBe(org.management);
    expect(report.accounts).toEqual([org.management, ...org.members].sort());
    // The management account has no member role (service-managed StackSets never deploy there) and the
    // refusing member's trust denies the caller: both are reported, the others scanned.
    const notEntered = report.errors.filter((e) => e.scope === 'account').map((e) => e.account);
    expect(notEntered.sort()).toEqual([org.management, refusing].sort());
    expect(report.errors.find((e) => e.account === refusing)?.error).toBe('AccessDenied');
    expect(err.join('\n')).toContain(`account ${refusing}: not entered (AccessDenied)`);
    const scanned = new Set(report.resources.map((r) => r.account));
    expect([...scanned].sort()).toEqual([memberA, memberB].sort());
    for (const r of report.resources) {
      expect(r.arn).toContain(`:${r.account}:`);
      for (const f of r.findings) expect(f.account).toBe(r.account);
    }
    // Member B still has the public victim function: its finding is there, in B.
    const victimFindings = report.resources.find(
      (r) => r.account === memberB && r.name === 'victim-fn',
    )?.findings;
    expect(victimFindings?.map((f) => f.ruleId)).toContain('LAMBDA.URL.PUBLIC');
    expect(out.join('\n')).not.toContain(EXTERNAL_ID);
  });

  it('--accounts limits the scan to the accounts given', async () => {
    const out: string[] = [];
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: REGION,
      GUARDRAIL_EXTERNAL_ID: EXTERNAL_ID,
    });
    try {
      await main(
        ['scan', '--org', '--accounts', memberB, '--endpoint-url', emu.endpoint, '--format', 'json'],
        {
          out: (s) => out.push(s),
          err: () => {},
        },
      );
    } finally {
      process.env = saved;
    }
    const report = JSON.parse(out.join('\n')) as ScanReport;
    expect(report.accounts).toEqual([memberB]);
    expect(report.errors).toEqual([]);
    expect(new Set(report.resources.map((r) => r.account))).toEqual(new Set([memberB]));
  });
});

describe('the scheduled sweep in organization mode', () => {
  it('scans the allowed members through the collector role, and its executions fix a missed finding in that account', async () => {
    // A public function URL in A and in B whose CloudTrail events never arrived; B is on the deny list.
    const name = `swept-${randomUUID().slice(0, 6)}`;
    await publicFunction(memberA, name);
    await publicFunction(memberB, name);
    const g = guardrail({ accounts: { deny: [memberB] } });
    await g.setup();
    const s3 = new S3Client(emulatorClientConfig(emu.endpoint, REGION));
    const bucket = `sweep-org-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const started: NormalizedEvent[] = [];
    const result = await runSweep({
      clients: g.clients,
      config: g.deps.config,
      region: REGION,
      account: org.management,
      stateMachineArn: `arn:aws:states:${REGION}:${org.management}:stateMachine:lambda-guardrail`,
      reportBucket: bucket,
      now: () => new Date().toISOString(),
      start: (event) => {
        started.push(event);
        return g.deps.startExecution!(event);
      },
      // Role executions (IAM.ROLE, approve) would wait for a person; the function rules are enough here.
      rules: RULES.filter((r) => r.resource !== 'role'),
    });
    // The management account (no member role) and the refusing member are reported, not fatal.
    expect(result.accounts.scanned).toEqual([memberA]);
    expect([...result.accounts.unreachable].sort()).toEqual([org.management, refusing].sort());
    const latest = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'latest.json' }));
    const report = JSON.parse(await latest.Body!.transformToString()) as ScanReport;
    expect(validateScanReport(report)).toEqual([]);
    expect(report.origin).toBe('sweep');
    expect(report.accounts).toEqual([org.management, memberA, refusing].sort());
    expect(new Set(report.resources.map((r) => r.account))).toEqual(new Set([memberA]));
    // Executions carry the member account; the one for the new function fixed it through A's roles.
    expect(new Set(started.map((e) => e.account))).toEqual(new Set([memberA]));
    const mine = started.find((e) => e.resources.functionName === name)!;
    expect(g.executions.get(mine.eventId)?.status).toBe('SUCCEEDED');
    expect(await authType(memberA, name)).toBe('AWS_IAM');
    // The denied account was neither read nor changed.
    expect(await authType(memberB, name)).toBe('NONE');
    expect(await statementCount(memberB, name)).toBe(2);
    expect(JSON.stringify(report)).not.toContain(EXTERNAL_ID);
    await g.close();
    s3.destroy();
  }, 300_000);
});
