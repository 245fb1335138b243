/**
 * One place that builds SDK clients. Deployed, the defaults apply (region and credentials from the
 * Lambda environment). The CLI passes --region/--profile/--endpoint-url; the local runtime points
 * everything at the emulator with fixed credentials so nothing can reach real AWS.
 *
 * Clients are created on first use, per class and region: a module imports only the client class it
 * needs, so each deployed function bundles only the SDK clients it calls.
 */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface ClientOptions {
  endpoint?: string;
  /** Fixed credentials, or a provider the SDK calls (and calls again when they expire). */
  credentials?: StaticCredentials | (() => Promise<StaticCredentials>);
  /** A named profile from the shared AWS config files (--profile). */
  profile?: string;
  maxAttempts?: number;
  retryMode?: 'standard' | 'adaptive';
}

/** What every SDK v3 client has; structural, so this module imports no client package. */
interface AnyClient {
  // biome-ignore lint/suspicious/noExplicitAny: each client's middleware stack is typed for its own commands.
  middlewareStack: { add(middleware: any, options: { step: 'initialize'; name: string }): void };
}
// biome-ignore lint/suspicious/noExplicitAny: constructor config types differ per client.
export type ClientClass<T extends AnyClient> = new (config: any) => T;

export interface AwsClients {
  /** The client of this class for this region, created once. */
  get<T extends AnyClient>(ctor: ClientClass<T>, region: string): T;
  /** Memoizes anything derived from clients (e.g. a DynamoDB document client). */
  derive<T>(key: string, make: () => T): T;
  /**
   * Clients of another identity (an assumed role in a member account: functions/aws/assume.ts), with
   * the same options otherwise, created once per key; their calls count in this `calls` map too.
   */
  withCredentials(key: string, credentials: () => Promise<StaticCredentials>): AwsClients;
  /** Counts every command sent, by `service:Operation` (benchmarks and tests read it). */
  readonly calls: Map<string, number>;
  readonly options: ClientOptions;
}

export function createClients(
  options: ClientOptions = {},
  calls: Map<string, number> = new Map(),
): AwsClients {
  const cache = new Map<unknown, unknown>();
  const identities = new Map<string, AwsClients>();
  const config = (region: string) => ({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.retryMode ? { retryMode: options.retryMode } : {}),
  });
  const derive = <T>(key: unknown, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    calls,
    options,
    derive,
    withCredentials(key, credentials) {
      let c = identities.get(key);
      if (!c) {
        c = createClients({ ...options, profile: undefined, credentials }, calls);
        identities.set(key, c);
      }
      return c;
    },
    get(ctor, region) {
      let byRegion = cache.get(ctor) as Map<string, AnyClient> | undefined;
      if (!byRegion) {
        byRegion = new Map();
        cache.set(ctor, byRegion);
      }
      let client = byRegion.get(region);
      if (!client) {
        client = new ctor(config(region));
        client.middlewareStack.add(
          (
            next: (args: unknown) => Promise<unknown>,
            context: { clientName?: string; commandName?: string },
          ) =>
            async (args: unknown) => {
              const service = String(context.clientName ?? 'aws')
                .replace(/Client$/, '')
                .toLowerCase();
              const key = `${service}:${String(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
              calls.set(key, (calls.get(key) ?? 0) + 1);
              return next(args);
            },
          { step: 'initialize', name: 'guardrailCallCounter' },
        );
        byRegion.set(region, client);
      }
      return client as never;
    },
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

/** The response, or `null` when the resource does not exist (snapshots store "read and absent" as null). */
export async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}
