import { randomUUID } from 'node:crypto';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  AddLayerVersionPermissionCommand,
  type AddLayerVersionPermissionCommandInput,
  AddPermissionCommand,
  type AddPermissionCommandInput,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PutFunctionEventInvokeConfigCommand,
  TagResourceCommand,
} from '@aws-sdk/client-lambda';
import { emulatorClientConfig } from './emulator.ts';

/**
 * Seeds the emulator with demo and test resources, and builds the CloudTrail events that such
 * changes produce (shapes follow the real records in test/fixtures/cloudtrail). Emulator setup only:
 * product code never calls these.
 */

export const DEMO_ACCOUNT = '123456789012'; // moto's default account
export const DEMO_REGION = 'us-east-1';

/** A minimal valid zip (one index.js) so CreateFunction accepts the code; the emulator never runs it. */
export const ZIP = Buffer.from(
  'UEsDBBQAAAAAAA2cel2+gFdmLAAAACwAAAAIAAAAaW5kZXguanNleHBvcnRzLmhhbmRsZXI9YXN5bmMoKT0+KHtzdGF0dXNDb2RlOjIwMH0pO1BLAQIUAxQAAAAAAA2cel2+gFdmLAAAACwAAAAIAAAAAAAAAAAAAACAAQAAAABpbmRleC5qc1BLBQYAAAAAAQABADYAAABSAAAAAAA=',
  'base64',
);

export function emulatorClients(endpoint: string) {
  const cfg = emulatorClientConfig(endpoint, DEMO_REGION);
  return { lambda: new LambdaClient(cfg), iam: new IAMClient(cfg) };
}

export async function ensureRole(endpoint: string, name = 'guardrail-demo-execution-role'): Promise<string> {
  const { iam } = emulatorClients(endpoint);
  try {
    const r = await iam.send(
      new CreateRoleCommand({
        RoleName: name,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    return r.Role!.Arn!;
  } catch (err) {
    if (
      (err as Error).name === 'EntityAlreadyExists' ||
      (err as Error).name === 'EntityAlreadyExistsException'
    ) {
      return `arn:aws:iam::${DEMO_ACCOUNT}:role/${name}`;
    }
    throw err;
  }
}

export interface SeedFunctionOptions {
  name: string;
  /** Execution role ARN (default: the shared demo role, created on first use). */
  role?: string;
  tags?: Record<string, string>;
  environment?: Record<string, string>;
  url?: { authType: 'NONE' | 'AWS_IAM'; cors?: Record<string, unknown> };
  permissions?: Omit<AddPermissionCommandInput, 'FunctionName'>[];
  /** An on-failure destination for asynchronous invocations (PutFunctionEventInvokeConfig). */
  onFailureDestination?: string;
  /** Put the function in a VPC (subnets and security groups created beforehand, e.g. with seedVpc). */
  vpc?: { subnetIds: string[]; securityGroupIds: string[] };
}

export async function seedFunction(endpoint: string, opts: SeedFunctionOptions): Promise<string> {
  const { lambda } = emulatorClients(endpoint);
  const role = opts.role ?? (await ensureRole(endpoint));
  const fn = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: opts.name,
      Runtime: 'nodejs24.x', // the newest Node.js runtime: LAMBDA.RUNTIME.DEPRECATED runs on the real clock here
      Handler: 'index.handler',
      Role: role,
      Code: { ZipFile: ZIP },
      ...(opts.environment ? { Environment: { Variables: opts.environment } } : {}),
      ...(opts.vpc
        ? { VpcConfig: { SubnetIds: opts.vpc.subnetIds, SecurityGroupIds: opts.vpc.securityGroupIds } }
        : {}),
    }),
  );
  if (opts.tags) await lambda.send(new TagResourceCommand({ Resource: fn.FunctionArn!, Tags: opts.tags }));
  if (opts.url) {
    await lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: opts.name,
        AuthType: opts.url.authType,
        ...(opts.url.cors ? { Cors: opts.url.cors } : {}),
        InvokeMode: 'BUFFERED',
      }),
    );
  }
  for (const p of opts.permissions ?? [])
    await lambda.send(new AddPermissionCommand({ FunctionName: opts.name, ...p }));
  if (opts.onFailureDestination) {
    await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: opts.name,
        DestinationConfig: { OnFailure: { Destination: opts.onFailureDestination } },
      }),
    );
  }
  return fn.FunctionArn!;
}

/**
 * Publishes a layer version and adds the given permissions to it (Principal `*`: every AWS account;
 * with OrganizationId: one organization; an account id: that account). Returns the version ARN.
 */
export async function seedLayer(
  endpoint: string,
  opts: {
    name: string;
    permissions?: Omit<AddLayerVersionPermissionCommandInput, 'LayerName' | 'VersionNumber'>[];
  },
): Promise<{ arn: string; version: number }> {
  const { lambda } = emulatorClients(endpoint);
  const v = await lambda.send(
    new PublishLayerVersionCommand({
      LayerName: opts.name,
      Content: { ZipFile: ZIP },
      CompatibleRuntimes: ['nodejs24.x'],
    }),
  );
  for (const p of opts.permissions ?? [])
    await lambda.send(
      new AddLayerVersionPermissionCommand({ LayerName: opts.name, VersionNumber: v.Version!, ...p }),
    );
  return { arn: v.LayerVersionArn!, version: v.Version! };
}

/** The two statements the console adds for a public URL (required since October 2025). */
export const PUBLIC_URL_PERMISSIONS: Omit<AddPermissionCommandInput, 'FunctionName'>[] = [
  {
    StatementId: 'FunctionURLAllowPublicAccess',
    Action: 'lambda:InvokeFunctionUrl',
    Principal: '*',
    FunctionUrlAuthType: 'NONE',
  },
  {
    StatementId: 'FunctionURLInvokeAllowPublicAccess',
    Action: 'lambda:InvokeFunction',
    Principal: '*',
    InvokedViaFunctionUrl: true,
  },
];

/**
 * An EventBridge "AWS API Call via CloudTrail" event for a Lambda call, shaped like the real records
 * (CreateFunctionUrlConfig has no version suffix; AddPermission is seen as AddPermission20150331v2).
 */
export function lambdaEvent(
  eventName: string,
  requestParameters: Record<string, unknown>,
  opts: { eventId?: string; actorArn?: string; sessionIssuerArn?: string; time?: string } = {},
) {
  const time = opts.time ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const userIdentity = opts.sessionIssuerArn
    ? {
        type: 'AssumedRole',
        arn: opts.actorArn,
        accountId: DEMO_ACCOUNT,
        sessionContext: {
          sessionIssuer: { type: 'Role', arn: opts.sessionIssuerArn, accountId: DEMO_ACCOUNT },
        },
      }
    : {
        type: 'IAMUser',
        arn: opts.actorArn ?? `arn:aws:iam::${DEMO_ACCOUNT}:user/alice`,
        accountId: DEMO_ACCOUNT,
        userName: 'alice',
      };
  const eventId = opts.eventId ?? randomUUID();
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.lambda',
    account: DEMO_ACCOUNT,
    time,
    region: DEMO_REGION,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity,
      eventTime: time,
      eventSource: 'lambda.amazonaws.com',
      eventName,
      awsRegion: DEMO_REGION,
      sourceIPAddress: '198.51.100.7',
      userAgent: 'aws-cli/2.15.0',
      requestParameters,
      responseElements: null,
      requestID: randomUUID(),
      eventID: eventId,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: DEMO_ACCOUNT,
      eventCategory: 'Management',
    },
  };
}
