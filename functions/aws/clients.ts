import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One place that builds SDK clients. Deployed, the defaults apply (region and credentials from the
 * Lambda environment). The CLI passes --region/--profile/--endpoint-url; the local runtime points
 * everything at the emulator with fixed credentials so nothing can reach real AWS.
 */
export interface ClientOptions {
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** A named profile from the shared AWS config files (--profile). */
  profile?: string;
  maxAttempts?: number;
  retryMode?: 'standard' | 'adaptive';
}

export interface AwsClients {
  lambda(region: string): LambdaClient;
  ssm(region: string): SSMClient;
  sfn(region: string): SFNClient;
  ddb(region: string): DynamoDBDocumentClient;
  sts(region: string): STSClient;
  /** Counts every command sent, by `service:Operation` (benchmarks and tests read it). */
  readonly calls: Map<string, number>;
}

export function createClients(options: ClientOptions = {}): AwsClients {
  const cache = new Map<string, unknown>();
  const calls = new Map<string, number>();
  const base = (region: string) => ({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.retryMode ? { retryMode: options.retryMode } : {}),
  });
  const counted = <T extends { middlewareStack: { add: (...a: never[]) => void } }>(
    service: string,
    client: T,
  ): T => {
    (client.middlewareStack as unknown as { add: (mw: unknown, o: unknown) => void }).add(
      (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) =>
        async (args: unknown) => {
          const key = `${service}:${(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
          calls.set(key, (calls.get(key) ?? 0) + 1);
          return next(args);
        },
      { step: 'initialize', name: 'guardrailCallCounter' },
    );
    return client;
  };
  const get = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    calls,
    lambda: (region) => get(`lambda:${region}`, () => counted('lambda', new LambdaClient(base(region)))),
    ssm: (region) => get(`ssm:${region}`, () => counted('ssm', new SSMClient(base(region)))),
    sfn: (region) => get(`sfn:${region}`, () => counted('states', new SFNClient(base(region)))),
    sts: (region) => get(`sts:${region}`, () => counted('sts', new STSClient(base(region)))),
    ddb: (region) =>
      get(`ddb:${region}`, () =>
        DynamoDBDocumentClient.from(counted('dynamodb', new DynamoDBClient(base(region))), {
          marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
        }),
      ),
  };
}

/** Drops the SDK's `$metadata` so a response is the plain body AWS returned. */
export function body<T extends object>(response: T): Omit<T, '$metadata'> {
  const { $metadata: _, ...rest } = response as T & { $metadata?: unknown };
  return rest;
}

export function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? 'Error';
}

export const isNotFound = (err: unknown) =>
  ['ResourceNotFoundException', 'NoSuchEntityException', 'NoSuchEntity', 'ParameterNotFound'].includes(
    errorName(err),
  );

/** The account the caller's credentials belong to. */
export async function callerAccount(clients: AwsClients, region: string): Promise<string> {
  const r = await clients.sts(region).send(new GetCallerIdentityCommand({}));
  if (!r.Account)
    throw new Error('could not determine the AWS account (sts:GetCallerIdentity returned none)');
  return r.Account;
}
