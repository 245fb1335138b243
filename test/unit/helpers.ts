/**
 * Snapshot builders for tests. Every response is in the exact shape the AWS SDK v3 (and the CLI)
 * returns, under the snapshot key the collectors use (see DESIGN.md §4):
 *
 *   GetFunctionConfiguration, ListTags {Tags}, ListAliases {Aliases},
 *   ListFunctionUrlConfigs {FunctionUrlConfigs: [...]}, GetPolicy {Policy: <JSON string>, RevisionId},
 *   GetPolicy:<alias> (null when the qualifier has no policy).
 *
 * Statement factories produce statements as Lambda's GetPolicy returns them (Lambda writes
 * `AWS:SourceArn` with a capital prefix, values as strings).
 */
import type { Statement } from '../../functions/core/policy.ts';
import type { Snapshot } from '../../functions/core/types.ts';

export const ACCOUNT = '123456789012';
export const OTHER_ACCOUNT = '210987654321';
export const REGION = 'us-east-1';
export const FUNCTION_NAME = 'orders-api';
export const NOW = '2025-06-15T12:00:00.000Z';

export const functionArn = (name = FUNCTION_NAME, qualifier?: string) =>
  `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}${qualifier ? `:${qualifier}` : ''}`;

export const DEFAULT_CORS = {
  AllowCredentials: false,
  AllowHeaders: ['content-type'],
  AllowMethods: ['GET', 'POST'],
  AllowOrigins: ['https://shop.example.com'],
  ExposeHeaders: [],
  MaxAge: 300,
};

export interface UrlInput {
  /** Alias name for an alias URL; omitted for $LATEST. */
  qualifier?: string;
  authType: 'NONE' | 'AWS_IAM';
  /** `null` leaves Cors out of the response (a URL created without CORS). */
  cors?: Record<string, unknown> | null;
  invokeMode?: 'BUFFERED' | 'RESPONSE_STREAM';
}

export interface PolicyInput {
  statements: Statement[];
  revisionId?: string;
}

export interface FunctionSnapshotInput {
  name?: string;
  tags?: Record<string, string>;
  /** Alias names; each gets a ListAliases entry. */
  aliases?: string[];
  /** Function URLs; omit `urls` entirely to leave ListFunctionUrlConfigs unread. */
  urls?: UrlInput[] | null;
  /**
   * Resource policies keyed by qualifier (`''` for the unqualified function policy). A `null` value
   * means "read, no policy" (GetPolicy returned ResourceNotFoundException).
   */
  policies?: Record<string, PolicyInput | null>;
  revisionId?: string;
  environment?: Record<string, string>;
}

export const policyRevision = (qualifier = '') => `rev-${qualifier || 'latest'}-0001`;

export function functionUrl(name: string, qualifier?: string): string {
  // Real URLs carry a 32-character url id; derive a stable one from the name and qualifier.
  const id = `${name}${qualifier ?? ''}`
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .padEnd(32, 'x')
    .slice(0, 32);
  return `https://${id}.lambda-url.${REGION}.on.aws/`;
}

/** A function snapshot in the collectors' shape. */
export function functionSnapshot(input: FunctionSnapshotInput = {}): Snapshot {
  const name = input.name ?? FUNCTION_NAME;
  const arn = functionArn(name);
  const responses: Record<string, unknown> = {
    GetFunctionConfiguration: {
      FunctionName: name,
      FunctionArn: arn,
      Runtime: 'nodejs22.x',
      Role: `arn:aws:iam::${ACCOUNT}:role/service-role/${name}-role`,
      Handler: 'index.handler',
      CodeSize: 1024,
      Description: '',
      Timeout: 10,
      MemorySize: 256,
      LastModified: '2025-05-01T10:00:00.000+0000',
      CodeSha256: 'yoqgXJ3G1ROsFXLUfkxIKHbCiKf2eKCiIkxoktNUoNE=',
      Version: '$LATEST',
      ...(input.environment ? { Environment: { Variables: input.environment } } : {}),
      TracingConfig: { Mode: 'PassThrough' },
      RevisionId: input.revisionId ?? 'fn-rev-0001',
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Zip',
      Architectures: ['arm64'],
      EphemeralStorage: { Size: 512 },
      LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${name}` },
    },
    ListTags: { Tags: { ...(input.tags ?? {}) } },
    ListAliases: {
      Aliases: (input.aliases ?? []).map((a) => ({
        AliasArn: functionArn(name, a),
        Name: a,
        FunctionVersion: '3',
        Description: '',
        RevisionId: `alias-${a}-rev`,
      })),
    },
  };
  if (input.urls !== undefined) {
    responses['ListFunctionUrlConfigs'] = {
      FunctionUrlConfigs: (input.urls ?? []).map((u) => ({
        FunctionUrl: functionUrl(name, u.qualifier),
        FunctionArn: functionArn(name, u.qualifier),
        CreationTime: '2025-05-01T10:00:00.000000Z',
        LastModifiedTime: '2025-05-02T10:00:00.000000Z',
        ...(u.cors === null ? {} : { Cors: u.cors ?? DEFAULT_CORS }),
        AuthType: u.authType,
        InvokeMode: u.invokeMode ?? 'BUFFERED',
      })),
    };
  }
  for (const [qualifier, policy] of Object.entries(input.policies ?? {})) {
    const key = qualifier ? `GetPolicy:${qualifier}` : 'GetPolicy';
    responses[key] =
      policy === null
        ? null
        : {
            Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: policy.statements }),
            RevisionId: policy.revisionId ?? policyRevision(qualifier),
          };
  }
  return { account: ACCOUNT, region: REGION, responses };
}

/** Deep copy, so a test can mutate a snapshot without touching another. */
export const clone = <T>(v: T): T => structuredClone(v);

// ---- statement factories ------------------------------------------------------------------------

/** The statement the console/CLI adds for an AuthType NONE URL: `lambda:InvokeFunctionUrl`. */
export function urlInvokeStatement(
  qualifier?: string,
  overrides: Partial<Statement> = {},
  name = FUNCTION_NAME,
): Statement {
  return {
    Sid: 'FunctionURLAllowPublicAccess',
    Effect: 'Allow',
    Principal: '*',
    Action: 'lambda:InvokeFunctionUrl',
    Resource: functionArn(name, qualifier),
    Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
    ...overrides,
  };
}

/** The second statement a public URL needs since October 2025: `lambda:InvokeFunction` via the URL. */
export function urlFunctionInvokeStatement(
  qualifier?: string,
  overrides: Partial<Statement> = {},
  name = FUNCTION_NAME,
): Statement {
  return {
    Sid: 'FunctionURLAllowInvokeAction',
    Effect: 'Allow',
    Principal: '*',
    Action: 'lambda:InvokeFunction',
    Resource: functionArn(name, qualifier),
    Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
    ...overrides,
  };
}

/** `aws lambda add-permission --principal '*' --action lambda:InvokeFunction` with no condition. */
export function publicInvokeStatement(sid: string, overrides: Partial<Statement> = {}): Statement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: '*',
    Action: 'lambda:InvokeFunction',
    Resource: functionArn(),
    ...overrides,
  };
}

/** A service principal statement, as `add-permission --principal s3.amazonaws.com --source-arn ...` writes it. */
export function serviceStatement(
  sid: string,
  service: string,
  condition?: Statement['Condition'],
): Statement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: { Service: service },
    Action: 'lambda:InvokeFunction',
    Resource: functionArn(),
    ...(condition ? { Condition: condition } : {}),
  };
}

/** A named cross-account principal. */
export function accountStatement(sid: string, account = OTHER_ACCOUNT): Statement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${account}:root` },
    Action: 'lambda:InvokeFunction',
    Resource: functionArn(),
  };
}

/** Both statements of a public URL on `$LATEST` or an alias. */
export const publicUrlPair = (qualifier?: string): Statement[] => [
  urlInvokeStatement(qualifier),
  urlFunctionInvokeStatement(qualifier),
];
