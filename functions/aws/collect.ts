import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListTagsCommand,
  paginateListAliases,
  paginateListFunctionUrlConfigs,
} from '@aws-sdk/client-lambda';
import { type FunctionConfiguration, type FunctionUrlConfig, keyFor } from '../core/snapshot.ts';
import type { Snapshot } from '../core/types.ts';
import { type AwsClients, body, errorName, orNull } from './clients.ts';
import { collectFunctionContext } from './collect-context.ts';

/**
 * Snapshot collectors: the read side. Every response is stored in the exact SDK shape under its
 * operation name (see docs/snapshot.md). A resource that does not exist is stored as `null`.
 */

export interface FunctionTarget {
  account: string;
  region: string;
  functionName: string;
  /** A qualifier the event named (alias or version); aliases are always read. */
  qualifier?: string;
  /**
   * Also read the execution role's attached managed policies when tracing is not Active
   * (`ListAttachedRolePolicies:<role name>`, for LAMBDA.TRACING's plan). Set when that rule is enabled.
   */
  attachedRolePolicies?: boolean;
}

export async function collectFunction(clients: AwsClients, target: FunctionTarget): Promise<Snapshot> {
  const lambda = clients.get(LambdaClient, target.region);
  const responses: Record<string, unknown> = {};
  const snapshot: Snapshot = { account: target.account, region: target.region, responses };
  const config = await orNull(
    lambda.send(new GetFunctionConfigurationCommand({ FunctionName: target.functionName })),
  );
  responses['GetFunctionConfiguration'] = config ? body(config) : null;
  if (!config) return snapshot;
  const name = config.FunctionName ?? target.functionName;
  const arn = (config.FunctionArn ?? '').replace(/(:function:[^:]+):[^:]+$/, '$1');

  const [tagsRes, aliases] = await Promise.all([
    lambda.send(new ListTagsCommand({ Resource: arn })),
    collectPages(paginateListAliases({ client: lambda }, { FunctionName: name }), 'Aliases'),
  ]);
  responses['ListTags'] = body(tagsRes);
  responses['ListAliases'] = { Aliases: aliases };

  const qualifiers = new Set<string>(aliases.map((a) => (a as { Name: string }).Name));
  if (target.qualifier && target.qualifier !== '$LATEST') qualifiers.add(target.qualifier);

  responses['ListFunctionUrlConfigs'] = await listUrlConfigs(lambda, name, [...qualifiers]);
  const policies = await Promise.all(
    [undefined, ...qualifiers].map(async (q) => {
      const r = await orNull(
        lambda.send(new GetPolicyCommand({ FunctionName: name, ...(q ? { Qualifier: q } : {}) })),
      );
      return [q ? `GetPolicy:${q}` : 'GetPolicy', r ? body(r) : null] as const;
    }),
  );
  for (const [k, v] of policies) responses[k] = v;
  // Asynchronous invocation settings (LAMBDA.ASYNC.NO_FAILURE_DESTINATION): null when none is configured.
  const invokeConfigs = await Promise.all(
    [undefined, ...qualifiers].map(async (q) => {
      const r = await orNull(
        lambda.send(
          new GetFunctionEventInvokeConfigCommand({ FunctionName: name, ...(q ? { Qualifier: q } : {}) }),
        ),
      );
      return [keyFor('GetFunctionEventInvokeConfig', q), r ? body(r) : null] as const;
    }),
  );
  for (const [k, v] of invokeConfigs) responses[k] = v;
  // Security groups, log group data protection, Inspector findings (functions/aws/collect-context.ts).
  await collectFunctionContext(
    clients,
    snapshot,
    responses['GetFunctionConfiguration'] as FunctionConfiguration,
    {
      attachedRolePolicies: target.attachedRolePolicies ?? false,
    },
  );
  return snapshot;
}

async function collectPages<T>(pages: AsyncIterable<T>, field: keyof T): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const page of pages) out.push(...((page[field] as unknown[]) ?? []));
  return out;
}

/**
 * ListFunctionUrlConfigs covers every qualifier. Where the endpoint does not implement it (the local
 * emulator), fall back to GetFunctionUrlConfig per qualifier and build the same response shape.
 */
async function listUrlConfigs(lambda: LambdaClient, name: string, qualifiers: string[]) {
  try {
    return {
      FunctionUrlConfigs: await collectPages(
        paginateListFunctionUrlConfigs({ client: lambda }, { FunctionName: name }),
        'FunctionUrlConfigs',
      ),
    };
  } catch (err) {
    if (!isUnsupported(err)) throw err;
  }
  const configs: FunctionUrlConfig[] = [];
  for (const q of [undefined, ...qualifiers]) {
    const r = await orNull(
      lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: name, ...(q ? { Qualifier: q } : {}) })),
    );
    if (r) configs.push(body(r) as FunctionUrlConfig);
  }
  return { FunctionUrlConfigs: configs };
}

function isUnsupported(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return (
    ['NotImplementedError', 'NotImplemented', 'UnknownOperationException'].includes(errorName(err)) ||
    status === 501 ||
    (status === 404 && errorName(err) !== 'ResourceNotFoundException')
  );
}
