/**
 * Execution-role rewrites against the emulator (moto, scripts/local/emulator.ts):
 *
 * (a) moto accepts every document the planner writes, for real policies: test policies from
 *     parliament/cloudsplaining/Stratus as inline policies, a customer-managed policy at the
 *     five-version limit, and the AWS-managed AdministratorAccess and PowerUserAccess (moto ships
 *     AWS-managed policies under their real ARNs, so no stand-in is needed);
 * (b) apply followed by `rollback` restores exactly the original documents, versions and attachments.
 *
 * Where moto differs from AWS: it has no Access Advisor (GetServiceLastAccessedDetails) and no Access
 * Analyzer. The evidence is a recorded ACTION_LEVEL response injected into the snapshot (as Collect
 * stores it), and the proof step is not run here (test/aws/iam-prove.test.ts and
 * test/flows/iam-role.test.ts cover it); the plans are applied with the executor the workflow uses.
 * moto validates policy syntax (MalformedPolicyDocument) as IAM does and returns documents URL-encoded.
 * Rolled-back managed policies get new version ids (IAM numbers versions; a deleted id is never
 * reused), so versions are compared by document, the default by document too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { collectRole } from '../../functions/aws/collect-role.ts';
import { applyPlan } from '../../functions/aws/execute.ts';
import { rollback } from '../../functions/aws/rollback.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { canonicalJson } from '../../functions/core/plan.ts';
import type { Snapshot } from '../../functions/core/types.ts';
import {
  type EmulatorHandle,
  emulatorClientConfig,
  REPO_ROOT,
  startEmulator,
} from '../../scripts/local/emulator.ts';
import { LAMBDA_TRUST, lastAccessed } from '../unit/iam-helpers.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const NOW = '2025-06-15T12:00:00.000Z';
const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'iam-policies');
const jsonl = (f: string) =>
  readFileSync(join(FIXTURES, f), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * Evidence: a function that sends to SQS and publishes to SNS (service-level data only: the rewrite
 * keeps those services' actions written out) and never used EC2 or S3. Small services keep the
 * rewritten documents within IAM's size limits (a rewrite that cannot fit goes to approval instead).
 */
const EVIDENCE = lastAccessed({
  sqs: { last: '2025-06-10T00:00:00.000Z' },
  sns: { last: '2025-06-12T00:00:00.000Z' },
  ec2: {},
  s3: {},
});
const CONFIG = parseConfig({
  rules: {
    'IAM.ROLE.ADMIN': { mode: 'auto', minEvidenceDays: 1 },
    'IAM.ROLE.SERVICE_WILDCARD': { mode: 'auto', minEvidenceDays: 1 },
  },
});

let emulator: EmulatorHandle;
let iam: IAMClient;
const clients = () =>
  createClients({
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });

beforeAll(async () => {
  // moto loads the AWS-managed policies (real ARNs, e.g. arn:aws:iam::aws:policy/AdministratorAccess)
  // only when asked; the server inherits this variable (scripts/local/emulator.ts serverEnv).
  vi.stubEnv('MOTO_IAM_LOAD_MANAGED_POLICIES', 'true');
  emulator = await startEmulator();
  iam = new IAMClient(emulatorClientConfig(emulator.endpoint, REGION));
}, 600_000);
afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator?.stop();
});

const decode = (d?: string) => JSON.parse(decodeURIComponent(d ?? 'null'));

/** Everything a rollback must restore: inline documents, attachments, customer policies' versions. */
async function roleState(roleName: string, customer: string[] = []) {
  const names = (await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? [];
  const inline: Record<string, string> = {};
  for (const n of [...names].sort()) {
    const r = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: n }));
    inline[n] = canonicalJson(decode(r.PolicyDocument));
  }
  const attached = (
    (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? []
  )
    .map((a) => a.PolicyArn)
    .sort();
  const managed: Record<string, { default: string; versions: string[] }> = {};
  for (const arn of customer) {
    const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions ?? [];
    const docs: string[] = [];
    let def = '';
    for (const v of versions) {
      const r = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: v.VersionId }));
      const d = canonicalJson(decode(r.PolicyVersion?.Document));
      docs.push(d);
      if (v.IsDefaultVersion) def = d;
    }
    managed[arn] = { default: def, versions: docs.sort() };
  }
  return { inline, attached, managed };
}

async function createRole(name: string) {
  await iam.send(
    new CreateRoleCommand({
      RoleName: name,
      Path: '/service-role/',
      AssumeRolePolicyDocument: JSON.stringify(LAMBDA_TRUST),
    }),
  );
  return `arn:aws:iam::${ACCOUNT}:role/service-role/${name}`;
}

/** Collect (no evidence: moto has none) + the recorded evidence, evaluate, apply every planned step. */
async function remediate(roleArn: string) {
  const c = clients();
  const raw = await collectRole(c, { account: ACCOUNT, region: REGION, roleArn }, { evidence: false });
  const snapshot: Snapshot = {
    ...raw,
    responses: { ...raw.responses, GetServiceLastAccessedDetails: EVIDENCE },
  };
  const evaluation = evaluate({ snapshot, config: CONFIG, now: NOW });
  const withSteps = evaluation.findings.filter((f) => f.plan.steps.length);
  const result = await applyPlan(c, REGION, withSteps, raw);
  const record = {
    executionName: `iam-${roleArn.split('/').at(-1)}`,
    target: evaluation.target,
    event: { region: REGION },
    findings: evaluation.findings,
    remediation: result,
    outcome: 'remediated',
  } as unknown as LedgerRecord;
  return { evaluation, withSteps, result, record };
}

describe('execution-role rewrites on the emulator', () => {
  it('inline policies (real test policies with wildcards): moto accepts every rewrite; rollback restores them', async () => {
    // Test policies whose Allow statements are wildcards (Action "*", NotAction) or name only services
    // the evidence covers: a policy left with no used action cannot be rewritten (an empty policy is
    // not written; that finding goes to approval), and the role's inline total must stay under 10,240.
    const candidates = jsonl('test-policies.jsonl').filter((p) => {
      const doc = p['policy'] as { Statement?: unknown };
      const list = Array.isArray(doc?.Statement) ? doc.Statement : doc?.Statement ? [doc.Statement] : [];
      const allows = (list as Record<string, unknown>[]).filter((st) => st?.['Effect'] === 'Allow');
      const actions = allows.flatMap((st) => [st['Action'] ?? []].flat() as string[]);
      const wildcard = allows.some((st) => 'NotAction' in st) || actions.some((a) => a.includes('*'));
      return (
        wildcard &&
        actions.every((a) => a === '*' || /^(sqs|sns):/i.test(a)) &&
        JSON.stringify(doc).length < 2000
      );
    });
    expect(candidates.length).toBeGreaterThanOrEqual(4);
    const roleArn = await createRole('inline-wildcards-role');
    const accepted: string[] = [];
    for (const [i, p] of candidates.slice(0, 4).entries()) {
      // The originals are written as found; moto refuses a few malformed ones, as IAM would.
      try {
        await iam.send(
          new PutRolePolicyCommand({
            RoleName: 'inline-wildcards-role',
            PolicyName: `p${i}`,
            PolicyDocument: JSON.stringify(p['policy']),
          }),
        );
        accepted.push(String(p['id']));
      } catch (err) {
        expect((err as Error).name).toBe('MalformedPolicyDocumentException');
      }
    }
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    const before = await roleState('inline-wildcards-role');
    const { withSteps, result, record } = await remediate(roleArn);
    expect(withSteps.length).toBeGreaterThan(0);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('applied');
    expect(result.steps.every((s) => s.status === 'applied')).toBe(true);
    const after = await roleState('inline-wildcards-role');
    expect(after.inline).not.toEqual(before.inline);
    for (const text of Object.values(after.inline)) {
      for (const st of [JSON.parse(text).Statement].flat())
        if (st.Effect === 'Allow') {
          expect(st.Action).not.toBe('*');
          expect(st.NotAction).toBeUndefined();
        }
    }
    const rb = await rollback(clients(), record);
    expect(rb.drift).toBeUndefined();
    expect(rb.status).toBe('rolled-back');
    expect(await roleState('inline-wildcards-role')).toEqual(before);
  });

  it('a customer-managed policy at the five-version limit: delete oldest, new default; rollback restores every version', async () => {
    const roleArn = await createRole('managed-limit-role');
    const star = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    const older = (n: number) => ({
      Version: '2012-10-17',
      Statement: [
        { Sid: `V${n}`, Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::bucket-${n}/*` },
      ],
    });
    const created = await iam.send(
      new CreatePolicyCommand({ PolicyName: 'orders-managed', PolicyDocument: JSON.stringify(older(1)) }),
    );
    const arn = created.Policy!.Arn!;
    for (const n of [2, 3, 4])
      await iam.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: JSON.stringify(older(n)) }),
      );
    await iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: arn,
        PolicyDocument: JSON.stringify(star),
        SetAsDefault: true,
      }),
    );
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'managed-limit-role', PolicyArn: arn }));
    const before = await roleState('managed-limit-role', [arn]);
    expect(before.managed[arn]!.versions).toHaveLength(5);

    const { result, record } = await remediate(roleArn);
    expect(result.error).toBeUndefined();
    expect(result.steps.map((s) => [s.operation, s.status])).toEqual([
      ['DeletePolicyVersion', 'applied'],
      ['CreatePolicyVersion', 'applied'],
    ]);
    const after = await roleState('managed-limit-role', [arn]);
    expect(after.managed[arn]!.versions).toHaveLength(5);
    expect(after.managed[arn]!.default).not.toBe(before.managed[arn]!.default);
    expect(after.managed[arn]!.versions).not.toContain(canonicalJson(older(1)));

    const rb = await rollback(clients(), record);
    expect(rb.status).toBe('rolled-back');
    expect(await roleState('managed-limit-role', [arn])).toEqual(before);
  });

  it('AWS-managed AdministratorAccess and PowerUserAccess: inline replacement put first, then detached; rollback re-attaches', async () => {
    const roleArn = await createRole('aws-managed-role');
    const admin = 'arn:aws:iam::aws:policy/AdministratorAccess';
    const power = 'arn:aws:iam::aws:policy/PowerUserAccess';
    for (const PolicyArn of [admin, power])
      await iam.send(new AttachRolePolicyCommand({ RoleName: 'aws-managed-role', PolicyArn }));
    const before = await roleState('aws-managed-role');
    expect(before.attached).toEqual([admin, power]);

    const { result, record } = await remediate(roleArn);
    expect(result.error).toBeUndefined();
    const ops = result.steps.map((s) => s.operation);
    // Never detach first: each DetachRolePolicy comes after an inline PutRolePolicy.
    expect(ops[0]).toBe('PutRolePolicy');
    expect(ops.filter((o) => o === 'DetachRolePolicy')).toHaveLength(2);
    expect(ops.indexOf('DetachRolePolicy')).toBeGreaterThan(ops.indexOf('PutRolePolicy'));
    const after = await roleState('aws-managed-role');
    expect(after.attached).toEqual([]);
    expect(Object.keys(after.inline).length).toBeGreaterThan(0);

    const rb = await rollback(clients(), record);
    expect(rb.status).toBe('rolled-back');
    expect(await roleState('aws-managed-role')).toEqual(before);
  });

  it('moto has no Access Advisor: the patched emulator answers a FAILED job in AWS shapes (moto_patches.py 10)', async () => {
    const roleArn = await createRole('no-advisor-role');
    const s = await collectRole(
      clients(),
      { account: ACCOUNT, region: REGION, roleArn },
      { evidence: true, sleep: async () => {} },
    );
    expect(s.responses['GetRole']).toBeTruthy();
    expect(s.responses['GetServiceLastAccessedDetails']).toMatchObject({
      JobStatus: 'FAILED',
      JobType: 'ACTION_LEVEL',
      ServicesLastAccessed: [],
      Error: { Code: 'NotSupportedByEmulator' },
    });
    // A role that does not exist: NoSuchEntity, as on AWS.
    await expect(
      collectRole(
        clients(),
        { account: ACCOUNT, region: REGION, roleArn: `${roleArn}-gone` },
        { evidence: true },
      ),
    ).resolves.toEqual({ account: ACCOUNT, region: REGION, responses: { GetRole: null } });
  });

  it('rollback refuses when the role changed since the remediation (precondition)', async () => {
    const roleArn = await createRole('drifted-role');
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'drifted-role',
        PolicyName: 'admin',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    );
    const { record } = await remediate(roleArn);
    const edited = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
    };
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'drifted-role',
        PolicyName: 'admin',
        PolicyDocument: JSON.stringify(edited),
      }),
    );
    const rb = await rollback(clients(), record);
    expect(rb.status).toBe('refused');
    expect(rb.drift).toEqual(['inline policy admin changed since the remediation wrote it']);
    expect((await roleState('drifted-role')).inline['admin']).toBe(canonicalJson(edited));
  });
});
