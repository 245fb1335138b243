/**
 * A stateful fake of the Lambda, Secrets Manager and IAM APIs for LAMBDA.ENV.SECRET (shared by the
 * SDK-mock tests and the state-machine flow tests): it keeps the function's environment and
 * RevisionId, the secrets and the role's inline policies as AWS would, and lets a test interfere
 * (a concurrent update, a failure) right before UpdateFunctionConfiguration.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteRolePolicyCommand,
  IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  PreconditionFailedException,
  ResourceNotFoundException,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException as SecretNotFound,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { parseConfig } from '../../functions/core/config.ts';
import type { Evaluation } from '../../functions/core/evaluate.ts';
import type { Remediation } from '../../functions/core/outcome.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { makeCollect } from '../../functions/handlers/collect.ts';
import type { HandlerDeps } from '../../functions/handlers/deps.ts';
import { makeEvaluate } from '../../functions/handlers/evaluate.ts';
import { makeRemediate } from '../../functions/handlers/remediate.ts';
import { ACCOUNT, FUNCTION_NAME, functionArn, functionSnapshot, NOW, REGION } from '../unit/helpers.ts';

export const KEY = 'sdk-mock-fingerprint-key-0123456789';
export const DB_PASSWORD = 'Xk9#mP2$vL8qR4wT-zz';
export const API_TOKEN = `ghp_${'Ab1Cd2Ef3G'.repeat(3)}123456`;
export const ORDINARY = { TABLE_NAME: 'orders', LOG_LEVEL: 'info', FEATURE_X: 'true' };
export const ENV = { DB_PASSWORD, ...ORDINARY, API_TOKEN };
export const VALUES = [DB_PASSWORD, API_TOKEN];
export const ROLE_NAME = `${FUNCTION_NAME}-role`;
export const secretName = (v: string) => `lambda-guardrail/${FUNCTION_NAME}/${v}`;
export const secretArn = (v: string) =>
  `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${secretName(v)}-${v === 'DB_PASSWORD' ? 'AbCdEf' : 'GhIjKl'}`;

export const lambda = mockClient(LambdaClient);
export const secrets = mockClient(SecretsManagerClient);
export const iam = mockClient(IAMClient);
export const ssm = mockClient(SSMClient);
export const ddb = mockClient(DynamoDBDocumentClient);
export const rawDdb = mockClient(DynamoDBClient);
export const MOCKS = { lambda, secretsmanager: secrets, iam, ssm, dynamodb: ddb, rawDdb };

// biome-ignore lint/suspicious/noExplicitAny: loosely typed request inputs
export type Body = Record<string, any>;

/** The state AWS keeps, and hooks to interfere with it. */
export interface World {
  env: Record<string, string>;
  revision: number;
  lastUpdate: string[];
  secrets: Map<string, { arn: string; value: string; tags: unknown; kms?: string }>;
  rolePolicies: Map<string, string>;
  /** Runs before UpdateFunctionConfiguration is applied (a concurrent change, a failure). */
  beforeUpdate?: (input: Body) => void;
}

export const revisionId = (w: World) => `fn-rev-${w.revision}`;
export const notFound = () => new ResourceNotFoundException({ message: 'Function not found', $metadata: {} });

export function serve(env: Record<string, string> = ENV): World {
  const base = functionSnapshot({ environment: env }).responses;
  const w: World = {
    env: { ...env },
    revision: 1,
    lastUpdate: [],
    secrets: new Map(),
    rolePolicies: new Map(),
  };
  const config = (read = true) => ({
    ...(structuredClone(base['GetFunctionConfiguration']) as Body),
    Environment: { Variables: { ...w.env } },
    RevisionId: revisionId(w),
    LastUpdateStatus: (read ? w.lastUpdate.shift() : undefined) ?? 'Successful',
  });
  lambda.on(GetFunctionConfigurationCommand).callsFake(async () => config());
  lambda.on(ListTagsCommand).resolves(base['ListTags'] as Body);
  lambda.on(ListAliasesCommand).resolves(base['ListAliases'] as Body);
  lambda.on(ListFunctionUrlConfigsCommand).resolves({ FunctionUrlConfigs: [] });
  lambda.on(GetPolicyCommand).rejects(notFound());
  lambda.on(GetFunctionEventInvokeConfigCommand).rejects(notFound());
  lambda.on(UpdateFunctionConfigurationCommand).callsFake(async (input: Body) => {
    w.beforeUpdate?.(input);
    if (input.RevisionId && input.RevisionId !== revisionId(w)) {
      throw new PreconditionFailedException({
        message: 'The Revision Id provided does not match the latest Revision Id.',
        $metadata: { httpStatusCode: 412 },
      });
    }
    w.env = { ...input.Environment.Variables };
    w.revision++;
    return { ...config(false), LastUpdateStatus: 'InProgress' };
  });
  secrets.on(CreateSecretCommand).callsFake(async (input: Body) => {
    if (w.secrets.has(input.Name))
      throw new ResourceExistsException({
        message: 'the secret already exists',
        $metadata: { httpStatusCode: 400 },
      });
    const arn = secretArn(String(input.Name).split('/').at(-1)!);
    w.secrets.set(input.Name, { arn, value: input.SecretString, tags: input.Tags, kms: input.KmsKeyId });
    return { ARN: arn, Name: input.Name, VersionId: 'v1' };
  });
  secrets.on(DeleteSecretCommand).callsFake(async (input: Body) => {
    const entry = [...w.secrets.entries()].find(([, s]) => s.arn === input.SecretId);
    if (!entry) throw new SecretNotFound({ message: 'not found', $metadata: {} });
    w.secrets.delete(entry[0]);
    return { ARN: input.SecretId, Name: entry[0], DeletionDate: new Date(NOW) };
  });
  secrets.on(GetSecretValueCommand).callsFake(async (input: Body) => {
    const s = [...w.secrets.values()].find((x) => x.arn === input.SecretId);
    if (!s) throw new SecretNotFound({ message: 'not found', $metadata: {} });
    return { ARN: s.arn, SecretString: s.value };
  });
  iam.on(PutRolePolicyCommand).callsFake(async (input: Body) => {
    expect(input.RoleName).toBe(ROLE_NAME);
    w.rolePolicies.set(input.PolicyName, input.PolicyDocument);
    return {};
  });
  iam.on(DeleteRolePolicyCommand).callsFake(async (input: Body) => {
    if (!w.rolePolicies.delete(input.PolicyName))
      throw new NoSuchEntityException({ message: 'no such policy', $metadata: {} });
    return {};
  });
  return w;
}

export const EVENT: NormalizedEvent = {
  eventId: '3b8c2f0e-4d1a-4e6b-9c7d-5a2b1e0f9d8c',
  eventName: 'UpdateFunctionConfiguration20150331v2',
  action: 'UpdateFunctionConfiguration',
  service: 'lambda',
  account: ACCOUNT,
  region: REGION,
  time: NOW,
  actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
  resources: { functionName: FUNCTION_NAME, functionArn: functionArn() },
  requestParameters: { functionName: FUNCTION_NAME, environment: {} },
  origin: 'event',
};

export function deps(
  config: unknown = { rules: { 'LAMBDA.ENV.SECRET': { mode: 'auto' } } },
): () => HandlerDeps {
  const d: HandlerDeps = {
    clients: createClients(),
    config: parseConfig(config),
    homeRegion: REGION,
    ledgerTable: 'guardrail-ledger',
    now: () => NOW,
    fingerprintKey: async () => KEY,
  };
  return () => d;
}

export const j = <T>(v: T): T => JSON.parse(JSON.stringify(v));

export async function evaluated(d = deps()) {
  const collected = j(await makeCollect(d)({ event: EVENT }));
  const evaluation: Evaluation = j(
    await makeEvaluate(d)({ event: EVENT, snapshot: collected.snapshot, killSwitch: false, now: NOW }),
  );
  for (const m of Object.values(MOCKS)) m.resetHistory();
  return {
    d,
    collected,
    evaluation,
    remediate: async () => j(await makeRemediate(d)({ event: EVENT, evaluation, now: NOW })) as Remediation,
  };
}

/** `secretsmanager:CreateSecret`, ... in the order sent, across the mocked services (not the reads of the kill switch). */
export const sent = () =>
  Object.entries({ lambda, secretsmanager: secrets, iam })
    .flatMap(([service, m]) =>
      m.calls().map((c) => ({
        key: `${service}:${c.args[0].constructor.name.replace(/Command$/, '')}`,
        input: c.args[0].input as Body,
        at: (c as unknown as { callId: number }).callId,
      })),
    )
    .sort((a, b) => a.at - b.at);
export const writes = () => sent().filter((c) => !/:(Get|List)/.test(c.key));
