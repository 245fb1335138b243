import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { collectFunction } from '../../functions/aws/collect.ts';
import { readKillSwitch } from '../../functions/aws/killswitch.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { REDACTED } from '../../functions/core/redact.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { makeCollect } from '../../functions/handlers/collect.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import {
  ACCOUNT,
  DEFAULT_CORS,
  FUNCTION_NAME,
  functionArn,
  functionUrl,
  NOW,
  publicInvokeStatement,
  publicUrlPair,
  REGION,
} from '../unit/helpers.ts';

const lambda = mockClient(LambdaClient);
const ssm = mockClient(SSMClient);

const META = { $metadata: { httpStatusCode: 200, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 } };
const notFound = (message = 'Function not found') =>
  new ResourceNotFoundException({ message, $metadata: { httpStatusCode: 404 } });
const awsError = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';
const CONFIG = {
  FunctionName: FUNCTION_NAME,
  FunctionArn: functionArn(),
  Runtime: 'nodejs22.x',
  Role: `arn:aws:iam::${ACCOUNT}:role/service-role/${FUNCTION_NAME}-role`,
  Handler: 'index.handler',
  Environment: { Variables: { TABLE_NAME: 'orders-table-prod', AWS_SECRET_ACCESS_KEY_FOR_PARTNER: SECRET } },
  RevisionId: 'fn-rev-0001',
  State: 'Active',
  LastUpdateStatus: 'Successful',
};
const alias = (name: string) => ({
  AliasArn: functionArn(FUNCTION_NAME, name),
  Name: name,
  FunctionVersion: '3',
  Description: '',
  RevisionId: `alias-${name}-rev`,
});
const url = (qualifier?: string, authType = 'NONE') => ({
  FunctionUrl: functionUrl(FUNCTION_NAME, qualifier),
  FunctionArn: functionArn(FUNCTION_NAME, qualifier),
  AuthType: authType,
  Cors: DEFAULT_CORS,
  InvokeMode: 'BUFFERED',
  CreationTime: '2025-05-01T10:00:00.000000Z',
  LastModifiedTime: '2025-05-02T10:00:00.000000Z',
});
const policy = (statements: unknown[], rev: string) => ({
  Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }),
  RevisionId: rev,
});

const target = { account: ACCOUNT, region: REGION, functionName: FUNCTION_NAME };
/**
 * The request each command was sent with. The SDK paginators reuse one input object and set the next
 * Marker on it, so a recorded command's input shows the last page's Marker: read the copies taken at
 * send time instead.
 */
const sent = new Map<unknown, unknown[]>();
const inputsOf = (cmd: unknown) => sent.get(cmd) ?? [];

/** Answers a Lambda command with `fn`, keeping a copy of each request as it was sent. */
function answer<I extends object>(cmd: unknown, fn: (input: I) => unknown) {
  lambda.on(cmd as never).callsFake(async (input: I) => {
    sent.set(cmd, [...(sent.get(cmd) ?? []), { ...input }]);
    return fn(input);
  });
}

/** A function with two aliases (listed over two pages) and URLs on $LATEST and `live` (two pages). */
function serveFunction() {
  answer(GetFunctionConfigurationCommand, () => ({ ...META, ...CONFIG }));
  answer(ListTagsCommand, () => ({ ...META, Tags: { team: 'orders' } }));
  answer(ListAliasesCommand, (input: { Marker?: string }) =>
    input.Marker === 'aliases-2'
      ? { ...META, Aliases: [alias('beta')] }
      : { ...META, Aliases: [alias('live')], NextMarker: 'aliases-2' },
  );
  answer(ListFunctionUrlConfigsCommand, (input: { Marker?: string }) =>
    input.Marker === 'urls-2'
      ? { ...META, FunctionUrlConfigs: [url('live')] }
      : { ...META, FunctionUrlConfigs: [url()], NextMarker: 'urls-2' },
  );
  answer(GetPolicyCommand, (input: { Qualifier?: string }) => {
    if (input.Qualifier === 'beta') throw notFound('The resource you requested does not exist.');
    if (input.Qualifier === 'live') return { ...META, ...policy(publicUrlPair('live'), 'rev-live') };
    return { ...META, ...policy([publicInvokeStatement('backdoor')], 'rev-latest') };
  });
  // Only the alias `live` has an event invoke config; AWS answers ResourceNotFoundException otherwise.
  answer(GetFunctionEventInvokeConfigCommand, (input: { Qualifier?: string }) => {
    if (input.Qualifier !== 'live') throw notFound(`The function doesn't have an EventInvokeConfig`);
    return { ...META, ...INVOKE_CONFIG };
  });
}

const INVOKE_CONFIG = {
  FunctionArn: `${functionArn()}:live`,
  MaximumRetryAttempts: 1,
  DestinationConfig: {
    OnSuccess: {},
    OnFailure: { Destination: 'arn:aws:sqs:us-east-1:123456789012:failed' },
  },
};

beforeAll(() => logger.setLogLevel('SILENT'));
afterAll(() => {
  lambda.restore();
  ssm.restore();
});
beforeEach(() => {
  lambda.reset();
  ssm.reset();
  sent.clear();
  lambda.callsFake(async () => {
    throw new Error('unexpected Lambda call');
  });
  ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
});

describe('collectFunction: the calls it makes', () => {
  it('reads configuration, tags, every alias page, every URL page and a policy per qualifier', async () => {
    serveFunction();
    const s = await collectFunction(createClients(), target);

    expect(inputsOf(GetFunctionConfigurationCommand)).toEqual([{ FunctionName: FUNCTION_NAME }]);
    expect(inputsOf(ListTagsCommand)).toEqual([{ Resource: functionArn() }]);
    expect(inputsOf(ListAliasesCommand)).toEqual([
      { FunctionName: FUNCTION_NAME },
      { FunctionName: FUNCTION_NAME, Marker: 'aliases-2' },
    ]);
    expect(inputsOf(ListFunctionUrlConfigsCommand)).toEqual([
      { FunctionName: FUNCTION_NAME },
      { FunctionName: FUNCTION_NAME, Marker: 'urls-2' },
    ]);
    expect(inputsOf(GetPolicyCommand)).toEqual([
      { FunctionName: FUNCTION_NAME },
      { FunctionName: FUNCTION_NAME, Qualifier: 'live' },
      { FunctionName: FUNCTION_NAME, Qualifier: 'beta' },
    ]);
    expect(lambda).not.toHaveReceivedCommand(GetFunctionUrlConfigCommand);
    expect(inputsOf(GetFunctionEventInvokeConfigCommand)).toEqual([
      { FunctionName: FUNCTION_NAME },
      { FunctionName: FUNCTION_NAME, Qualifier: 'live' },
      { FunctionName: FUNCTION_NAME, Qualifier: 'beta' },
    ]);

    expect(s).toEqual({
      account: ACCOUNT,
      region: REGION,
      responses: {
        GetFunctionConfiguration: CONFIG,
        ListTags: { Tags: { team: 'orders' } },
        // Pages are merged into one response of the same shape, without the pagination marker.
        ListAliases: { Aliases: [alias('live'), alias('beta')] },
        ListFunctionUrlConfigs: { FunctionUrlConfigs: [url(), url('live')] },
        GetPolicy: policy([publicInvokeStatement('backdoor')], 'rev-latest'),
        'GetPolicy:live': policy(publicUrlPair('live'), 'rev-live'),
        // Read, and there is no policy: null (a missing key would mean "not read").
        'GetPolicy:beta': null,
        // Not configured: null, like a missing policy.
        GetFunctionEventInvokeConfig: null,
        'GetFunctionEventInvokeConfig:live': INVOKE_CONFIG,
        'GetFunctionEventInvokeConfig:beta': null,
      },
    });
    expect(JSON.stringify(s)).not.toContain('$metadata');
  });

  it('a qualifier named by the event is read too; $LATEST is not a separate qualifier', async () => {
    serveFunction();
    await collectFunction(createClients(), { ...target, qualifier: '7' });
    expect(inputsOf(GetPolicyCommand)).toContainEqual({ FunctionName: FUNCTION_NAME, Qualifier: '7' });
    sent.clear();
    await collectFunction(createClients(), { ...target, qualifier: '$LATEST' });
    expect(inputsOf(GetPolicyCommand).map((i) => (i as { Qualifier?: string }).Qualifier)).toEqual([
      undefined,
      'live',
      'beta',
    ]);
  });

  it('tags are listed on the unqualified ARN even when the configuration ARN is qualified', async () => {
    serveFunction();
    answer(GetFunctionConfigurationCommand, () => ({
      ...META,
      ...CONFIG,
      FunctionArn: functionArn(FUNCTION_NAME, '$LATEST'),
    }));
    await collectFunction(createClients(), target);
    expect(inputsOf(ListTagsCommand)).toEqual([{ Resource: functionArn() }]);
  });

  it('a deleted function: GetFunctionConfiguration is null and nothing else is read', async () => {
    lambda.on(GetFunctionConfigurationCommand).rejects(notFound());
    const s = await collectFunction(createClients(), target);
    expect(s).toEqual({ account: ACCOUNT, region: REGION, responses: { GetFunctionConfiguration: null } });
    expect(lambda.calls()).toHaveLength(1);
  });

  it('errors other than not-found are not swallowed', async () => {
    lambda.on(GetFunctionConfigurationCommand).rejects(awsError('AccessDeniedException', 403));
    await expect(collectFunction(createClients(), target)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    lambda.reset();
    serveFunction();
    lambda.on(GetPolicyCommand).rejects(awsError('ServiceException', 500));
    await expect(collectFunction(createClients(), target)).rejects.toMatchObject({
      name: 'ServiceException',
    });
  });
});

describe('collectFunction: ListFunctionUrlConfigs fallback', () => {
  function serveWithoutList(error: Error) {
    serveFunction();
    lambda.on(ListFunctionUrlConfigsCommand).rejects(error);
    answer(GetFunctionUrlConfigCommand, (input: { Qualifier?: string }) => {
      if (input.Qualifier === 'beta') throw notFound('The resource you requested does not exist.');
      return { ...META, ...url(input.Qualifier) };
    });
  }

  it.each([
    ['a 404 that is not ResourceNotFound (endpoint without the operation)', awsError('UnknownError', 404)],
    ['501 Not Implemented', awsError('NotImplemented', 501)],
  ])('%s -> GetFunctionUrlConfig per qualifier, same response shape', async (_label, error) => {
    serveWithoutList(error);
    const s = await collectFunction(createClients(), target);
    expect(inputsOf(GetFunctionUrlConfigCommand)).toEqual([
      { FunctionName: FUNCTION_NAME },
      { FunctionName: FUNCTION_NAME, Qualifier: 'live' },
      { FunctionName: FUNCTION_NAME, Qualifier: 'beta' },
    ]);
    expect(s.responses['ListFunctionUrlConfigs']).toEqual({ FunctionUrlConfigs: [url(), url('live')] });
  });

  it('ResourceNotFound from ListFunctionUrlConfigs is not "unsupported": rethrown, no fallback', async () => {
    serveWithoutList(notFound());
    await expect(collectFunction(createClients(), target)).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(lambda).not.toHaveReceivedCommand(GetFunctionUrlConfigCommand);
  });

  it('AccessDenied from ListFunctionUrlConfigs is rethrown, no fallback', async () => {
    serveWithoutList(awsError('AccessDeniedException', 403));
    await expect(collectFunction(createClients(), target)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(lambda).not.toHaveReceivedCommand(GetFunctionUrlConfigCommand);
  });
});

describe('kill switch', () => {
  const read = () => readKillSwitch(createClients(), 'us-east-1', '/lambda-guardrail/kill-switch');
  const value = (v: string) =>
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/lambda-guardrail/kill-switch', Value: v } });

  it.each([
    ['on', true],
    ['ON ', true],
    ['true', true],
    ['off', false],
    ['false', false],
    ['', false],
  ])('value %j -> on=%s', async (v, on) => {
    value(v);
    expect((await read()).on).toBe(on);
    expect(ssm).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, {
      Name: '/lambda-guardrail/kill-switch',
    });
  });

  it('ParameterNotFound -> off', async () => {
    expect(await read()).toEqual({
      on: false,
      reason: 'kill switch /lambda-guardrail/kill-switch does not exist',
    });
  });

  it('AccessDenied -> on (fail safe), with the reason', async () => {
    ssm.on(GetParameterCommand).rejects(awsError('AccessDeniedException', 400));
    const ks = await read();
    expect(ks.on).toBe(true);
    expect(ks.reason).toMatch(/could not be read \(AccessDeniedException\); failing safe to report/);
  });

  it('the collect handler reads it from the home region, with the configured name', async () => {
    serveFunction();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'on' } });
    const d: HandlerDeps = {
      clients: createClients(),
      config: parseConfig({ killSwitchParameter: '/ops/guardrail-off', homeRegion: 'eu-west-1' }),
      homeRegion: 'eu-west-1',
      now: () => NOW,
    };
    const out = await makeCollect(() => d)({ event: eventFor(FUNCTION_NAME) });
    expect(out.killSwitch).toBe(true);
    expect(out.killSwitchReason).toBe("kill switch /ops/guardrail-off is 'on'");
    expect(ssm).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, { Name: '/ops/guardrail-off' });
    expect(await ssm.send.thisValues[0].config.region()).toBe('eu-west-1');
  });
});

function eventFor(functionName?: string, service = 'lambda'): NormalizedEvent {
  return {
    eventId: 'e1b2c3d4-0000-4000-8000-000000000001',
    eventName: 'CreateFunctionUrlConfig',
    action: 'CreateFunctionUrlConfig',
    service,
    account: ACCOUNT,
    region: REGION,
    time: NOW,
    actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
    resources: functionName ? { functionName, functionArn: functionArn(functionName) } : {},
    requestParameters: {},
    origin: 'event',
  };
}

describe('collect handler', () => {
  const d = (): HandlerDeps => ({
    clients: createClients(),
    config: parseConfig({}),
    homeRegion: REGION,
    now: () => NOW,
  });

  it('returns the redacted snapshot and the kill switch; environment values never leave', async () => {
    serveFunction();
    const out = await makeCollect(d)({ event: eventFor(FUNCTION_NAME) });
    expect(out.killSwitch).toBe(false);
    const cfg = out.snapshot.responses['GetFunctionConfiguration'] as typeof CONFIG;
    expect(cfg.Environment.Variables).toEqual({
      TABLE_NAME: REDACTED,
      AWS_SECRET_ACCESS_KEY_FOR_PARTNER: REDACTED,
    });
    const text = JSON.stringify(out);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('orders-table-prod'); // every value is redacted, not only secret-looking ones
    expect(Object.keys(out.snapshot.responses)).toEqual(
      expect.arrayContaining([
        'GetFunctionConfiguration',
        'ListTags',
        'ListAliases',
        'ListFunctionUrlConfigs',
      ]),
    );
  });

  it('a deleted function collects to a snapshot with GetFunctionConfiguration null', async () => {
    lambda.on(GetFunctionConfigurationCommand).rejects(notFound());
    const out = await makeCollect(d)({ event: eventFor(FUNCTION_NAME) });
    expect(out.snapshot.responses).toEqual({ GetFunctionConfiguration: null });
  });

  it('an event that names no function is refused, with nothing read', async () => {
    await expect(makeCollect(d)({ event: eventFor(undefined, 'iam') })).rejects.toMatchObject({
      name: 'UnsupportedTargetError',
    });
    expect(lambda.calls()).toEqual([]);
  });

  it('a mis-wired input (no event) is a validation error', async () => {
    const err = await makeCollect(d)({}).catch((e: Error) => e);
    // zod/mini names its error $ZodError (full zod: ZodError).
    expect((err as Error).name).toMatch(/^\$?ZodError$/);
    expect(lambda.calls()).toEqual([]);
  });
});
