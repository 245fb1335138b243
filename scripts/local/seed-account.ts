import {
  AuthorizeSecurityGroupEgressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
} from '@aws-sdk/client-ec2';
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  LambdaClient,
  TagResourceCommand,
} from '@aws-sdk/client-lambda';
import { mapLimit } from '../../functions/aws/limit.ts';
import { emulatorClientConfig } from './emulator.ts';
import {
  DEMO_ACCOUNT,
  DEMO_REGION,
  PUBLIC_URL_PERMISSIONS,
  type SeedFunctionOptions,
  seedFunction,
  ZIP,
} from './seed.ts';

/**
 * Whole emulator accounts for the scan tests and the scan benchmark (emulator setup only: product code
 * never calls these). `seedMixedAccount` builds compliant and non-compliant functions for every rule,
 * shared execution roles and more than one ListFunctions page; `seedBulkAccount` builds N functions on
 * R roles in parallel, within a time limit.
 */

/** Credentials of an emulated account (e.g. from AssumeRole of OrganizationAccountAccessRole). */
export interface EmulatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

export async function createRoles(
  endpoint: string,
  names: readonly string[],
  concurrency = 8,
  /** Another emulated account's credentials (organization tests); default: the demo account. */
  credentials?: EmulatorCredentials,
): Promise<string[]> {
  const iam = new IAMClient({
    ...emulatorClientConfig(endpoint, DEMO_REGION),
    ...(credentials ? { credentials } : {}),
  });
  try {
    return await mapLimit(names, concurrency, async (RoleName) => {
      try {
        const r = await iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: TRUST }));
        return r.Role!.Arn!;
      } catch (err) {
        if (/EntityAlreadyExists/.test((err as Error).name))
          return (await iam.send(new GetRoleCommand({ RoleName }))).Role!.Arn!;
        throw err;
      }
    });
  } finally {
    iam.destroy();
  }
}

/** A public invoke statement with no condition (what LAMBDA.POLICY.PUBLIC finds). */
export const BACKDOOR_PERMISSION = {
  StatementId: 'backdoor',
  Action: 'lambda:InvokeFunction',
  Principal: '*',
};
/** Principal `*` restricted by source ARN: compliant. */
export const RESTRICTED_PERMISSION = {
  StatementId: 's3-events',
  Action: 'lambda:InvokeFunction',
  Principal: 's3.amazonaws.com',
  SourceArn: 'arn:aws:s3:::orders-uploads',
  SourceAccount: DEMO_ACCOUNT,
};

/** A service principal with no source condition: LAMBDA.POLICY.CONFUSED_DEPUTY. */
export const CONFUSED_DEPUTY_PERMISSION = {
  StatementId: 'any-event-bus',
  Action: 'lambda:InvokeFunction',
  Principal: 'events.amazonaws.com',
};

export interface SeededFunction {
  name: string;
  arn: string;
  role: string;
  /** The rule ids this function must be reported for (empty: compliant). */
  expect: string[];
  /** True when every expected finding is under an active exemption. */
  exempt?: boolean;
}

export interface MixedAccount {
  prefix: string;
  roles: string[];
  functions: SeededFunction[];
  /** A value stored in one function's environment: it must never appear in any report. */
  secretValue: string;
}

/**
 * A mixed account: one compliant and one non-compliant function per rule, both rules at once, an active
 * and an expired exemption, a secret in an environment variable, and `fillers` plain functions, on
 * three shared roles. With the default 60 fillers it is more than one ListFunctions page (50).
 */
export async function seedMixedAccount(
  endpoint: string,
  opts: { prefix: string; fillers?: number },
): Promise<MixedAccount> {
  const p = opts.prefix;
  const roles = await createRoles(endpoint, [`${p}-role-a`, `${p}-role-b`, `${p}-role-c`]);
  const secretValue = 'Zq8v!Tn3$Kw9-guardrail-test-secret-4f1c';
  const exemptTags = (until: string) => ({
    'guardrail:exempt': 'LAMBDA.URL.PUBLIC',
    'guardrail:exempt-reason': 'webhook verifies signatures itself SEC-42',
    'guardrail:exempt-until': until,
  });
  const specs: (SeedFunctionOptions & { expect: string[]; exempt?: boolean })[] = [
    {
      name: `${p}-url-public`,
      url: { authType: 'NONE' },
      permissions: PUBLIC_URL_PERMISSIONS,
      expect: ['LAMBDA.URL.PUBLIC'],
    },
    { name: `${p}-url-iam`, url: { authType: 'AWS_IAM' }, expect: [] },
    {
      // An AWS_IAM URL is not public by design: any origin is a finding (report mode, no plan by default).
      name: `${p}-url-cors`,
      url: { authType: 'AWS_IAM', cors: { AllowOrigins: ['*'], AllowMethods: ['GET'] } },
      expect: ['LAMBDA.URL.CORS'],
    },
    { name: `${p}-policy-public`, permissions: [BACKDOOR_PERMISSION], expect: ['LAMBDA.POLICY.PUBLIC'] },
    {
      // S3 invokes asynchronously: with an on-failure destination the restricted statement is compliant.
      name: `${p}-policy-restricted`,
      permissions: [RESTRICTED_PERMISSION],
      onFailureDestination: `arn:aws:sqs:${DEMO_REGION}:${DEMO_ACCOUNT}:${p}-failed-events`,
      expect: [],
    },
    {
      name: `${p}-both`,
      url: { authType: 'NONE', cors: { AllowOrigins: ['https://shop.example.com'] } },
      permissions: [...PUBLIC_URL_PERMISSIONS, BACKDOOR_PERMISSION, RESTRICTED_PERMISSION],
      expect: ['LAMBDA.URL.PUBLIC', 'LAMBDA.POLICY.PUBLIC', 'LAMBDA.ASYNC.NO_FAILURE_DESTINATION'],
    },
    {
      // EventBridge may invoke for any account (no SourceArn/SourceAccount), and its failed events are dropped.
      name: `${p}-confused-deputy`,
      permissions: [CONFUSED_DEPUTY_PERMISSION],
      expect: ['LAMBDA.POLICY.CONFUSED_DEPUTY', 'LAMBDA.ASYNC.NO_FAILURE_DESTINATION'],
    },
    {
      name: `${p}-exempt`,
      url: { authType: 'NONE' },
      permissions: PUBLIC_URL_PERMISSIONS,
      tags: exemptTags('2099-12-31'),
      expect: ['LAMBDA.URL.PUBLIC'],
      exempt: true,
    },
    {
      name: `${p}-exempt-expired`,
      url: { authType: 'NONE' },
      permissions: PUBLIC_URL_PERMISSIONS,
      tags: exemptTags('2020-01-31'),
      expect: ['LAMBDA.URL.PUBLIC'],
    },
    {
      name: `${p}-env-secret`,
      environment: {
        DB_PASSWORD: secretValue,
        TABLE_NAME: 'orders',
        STRIPE_SECRET_KEY: `sk_live_${secretValue}`,
      },
      expect: [],
    },
  ];
  for (let i = 0; i < (opts.fillers ?? 60); i++) {
    specs.push({ name: `${p}-filler-${String(i).padStart(3, '0')}`, expect: [] });
  }
  // LAMBDA.VPC.EGRESS: one function behind a group with the default all-traffic egress, one behind a
  // group that only allows TCP 443.
  const vpc = await seedVpc(endpoint, p);
  specs.push(
    {
      name: `${p}-vpc-egress-open`,
      vpc: { subnetIds: [vpc.subnetId], securityGroupIds: [vpc.openGroupId] },
      expect: ['LAMBDA.VPC.EGRESS'],
    },
    {
      name: `${p}-vpc-egress-443`,
      vpc: { subnetIds: [vpc.subnetId], securityGroupIds: [vpc.httpsOnlyGroupId] },
      expect: [],
    },
  );
  const functions = await mapLimit(specs, 8, async ({ expect, exempt, ...spec }, i) => {
    const role = roles[i % roles.length];
    const arn = await seedFunction(endpoint, { ...spec, role });
    return { name: spec.name, arn, role, expect, ...(exempt ? { exempt } : {}) };
  });
  return { prefix: p, roles, functions, secretValue };
}

/**
 * A VPC with one subnet and two security groups: `open` keeps the default egress rule every new group
 * gets (all traffic to 0.0.0.0/0), `https-only` allows only TCP 443 out.
 */
export async function seedVpc(
  endpoint: string,
  prefix: string,
): Promise<{ vpcId: string; subnetId: string; openGroupId: string; httpsOnlyGroupId: string }> {
  const ec2 = new EC2Client(emulatorClientConfig(endpoint, DEMO_REGION));
  try {
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))).Vpc!.VpcId!;
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.42.1.0/24' })))
      .Subnet!.SubnetId!;
    const group = async (name: string) =>
      (
        await ec2.send(
          new CreateSecurityGroupCommand({ GroupName: `${prefix}-${name}`, Description: name, VpcId: vpcId }),
        )
      ).GroupId!;
    const openGroupId = await group('open');
    const httpsOnlyGroupId = await group('https-only');
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: httpsOnlyGroupId,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      }),
    );
    await ec2.send(
      new RevokeSecurityGroupEgressCommand({
        GroupId: httpsOnlyGroupId,
        IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    return { vpcId, subnetId, openGroupId, httpsOnlyGroupId };
  } finally {
    ec2.destroy();
  }
}

export interface BulkAccount {
  functions: string[];
  roles: string[];
  /** Functions with a public URL (non-compliant), every tenth one. */
  publicFunctions: number;
  seedMs: number;
  /** True when the time limit stopped seeding before every function was created. */
  truncated: boolean;
}

/**
 * `functions` functions on `roles` roles, created `concurrency` at a time, every tenth with a public
 * URL and its two statements. Stops creating (and says so) when `deadlineMs` has passed.
 */
export async function seedBulkAccount(
  endpoint: string,
  opts: {
    prefix: string;
    functions: number;
    roles: number;
    concurrency?: number;
    deadlineMs?: number;
    /** Another emulated account's credentials (organization tests and benchmark). */
    credentials?: EmulatorCredentials;
  },
): Promise<BulkAccount> {
  const started = Date.now();
  const deadline = started + (opts.deadlineMs ?? 10 * 60_000);
  const roles = await createRoles(
    endpoint,
    Array.from({ length: opts.roles }, (_, i) => `${opts.prefix}-role-${String(i).padStart(4, '0')}`),
    opts.concurrency ?? 16,
    opts.credentials,
  );
  const lambda = new LambdaClient({
    ...emulatorClientConfig(endpoint, DEMO_REGION),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  let truncated = false;
  let publicFunctions = 0;
  try {
    const names = Array.from(
      { length: opts.functions },
      (_, i) => `${opts.prefix}-fn-${String(i).padStart(5, '0')}`,
    );
    const created = await mapLimit(names, opts.concurrency ?? 16, async (FunctionName, i) => {
      if (Date.now() > deadline) {
        truncated = true;
        return undefined;
      }
      const fn = await lambda.send(
        new CreateFunctionCommand({
          FunctionName,
          Runtime: 'nodejs24.x',
          Handler: 'index.handler',
          Role: roles[i % roles.length],
          Code: { ZipFile: ZIP },
          Environment: { Variables: { TABLE_NAME: `table-${i}` } },
        }),
      );
      if (i % 10 === 0) {
        publicFunctions++;
        await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName, AuthType: 'NONE' }));
        for (const perm of PUBLIC_URL_PERMISSIONS)
          await lambda.send(new AddPermissionCommand({ FunctionName, ...perm }));
      } else if (i % 10 === 5) {
        await lambda.send(
          new TagResourceCommand({ Resource: fn.FunctionArn!, Tags: { team: `team-${i % 7}` } }),
        );
      }
      return FunctionName;
    });
    return {
      functions: created.filter((x): x is string => !!x),
      roles,
      publicFunctions,
      seedMs: Date.now() - started,
      truncated,
    };
  } finally {
    lambda.destroy();
  }
}
