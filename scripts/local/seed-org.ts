import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mapLimit } from '../../functions/aws/limit.ts';
import { emulatorClientConfig } from './emulator.ts';
import { DEMO_ACCOUNT, DEMO_REGION, lambdaEvent } from './seed.ts';
import type { EmulatorCredentials } from './seed-account.ts';

/**
 * An emulated AWS Organization for the organization-mode tests and the `scan --org` benchmark
 * (emulator setup only: product code never calls these). moto's default account is the management
 * (and central) account; CreateAccount makes members, each with an `OrganizationAccountAccessRole`
 * the management account can assume (as AWS creates for accounts made by CreateAccount).
 * scripts/local/moto_patches.py makes AssumeRole honour trust policies like AWS.
 */

export interface SeededOrganization {
  orgId: string;
  rootId: string;
  /** The management account (moto's default account), where the guardrail runs locally. */
  management: string;
  members: string[];
}

export async function seedOrganization(endpoint: string, members: number): Promise<SeededOrganization> {
  const org = new OrganizationsClient(emulatorClientConfig(endpoint, DEMO_REGION));
  try {
    const o = await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const rootId = (await org.send(new ListRootsCommand({}))).Roots?.[0]?.Id ?? '';
    const ids: string[] = [];
    for (let i = 0; i < members; i++) {
      const r = await org.send(
        new CreateAccountCommand({ AccountName: `member-${i}`, Email: `member-${i}@example.com` }),
      );
      ids.push(r.CreateAccountStatus!.AccountId!);
    }
    return { orgId: o.Organization!.Id!, rootId, management: DEMO_ACCOUNT, members: ids };
  } finally {
    org.destroy();
  }
}

/** Credentials in a member account through OrganizationAccountAccessRole (the administrator's way in). */
export async function memberAdmin(endpoint: string, account: string): Promise<EmulatorCredentials> {
  const sts = new STSClient(emulatorClientConfig(endpoint, DEMO_REGION));
  try {
    const r = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
        RoleSessionName: 'seed',
      }),
    );
    const c = r.Credentials!;
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    };
  } finally {
    sts.destroy();
  }
}

export interface MemberRolesOptions {
  account: string;
  orgId: string;
  externalId: string;
  roleNames: readonly string[];
  /** Who may assume them (default: the management account, which is where the local runtime runs). */
  trustedPrincipal?: string;
  /** Make the trust policy refuse every caller (a member that has not allowed the guardrail in). */
  refuse?: boolean;
}

/**
 * The member roles as the StackSet creates them: trusted by the central principal, under
 * aws:PrincipalOrgID and sts:ExternalId. Locally the central workflow runs as the management account's
 * default identity, so the trusted principal is that account; deployed, it is the central functions'
 * role ARNs (lib/org/member-stack.ts). The emulator enforces no permission policies, so none are attached.
 */
export async function createMemberRoles(
  endpoint: string,
  credentials: EmulatorCredentials,
  opts: MemberRolesOptions,
): Promise<void> {
  const iam = new IAMClient({ ...emulatorClientConfig(endpoint, DEMO_REGION), credentials });
  const statement = opts.refuse
    ? { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }
    : {
        Effect: 'Allow',
        Principal: { AWS: opts.trustedPrincipal ?? `arn:aws:iam::${DEMO_ACCOUNT}:root` },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': opts.orgId, 'sts:ExternalId': opts.externalId } },
      };
  try {
    await mapLimit(opts.roleNames, 2, (RoleName) =>
      iam.send(
        new CreateRoleCommand({
          RoleName,
          AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }),
        }),
      ),
    );
  } finally {
    iam.destroy();
  }
}

/** A Lambda CloudTrail event (scripts/local/seed.ts `lambdaEvent`) recorded in another account. */
export function memberLambdaEvent(
  account: string,
  eventName: string,
  requestParameters: Record<string, unknown>,
  opts: Parameters<typeof lambdaEvent>[2] & { envelopeAccount?: string } = {},
) {
  const e = JSON.parse(
    JSON.stringify(lambdaEvent(eventName, requestParameters, opts)).replaceAll(DEMO_ACCOUNT, account),
  );
  if (opts.envelopeAccount) e.account = opts.envelopeAccount;
  return e as ReturnType<typeof lambdaEvent>;
}
