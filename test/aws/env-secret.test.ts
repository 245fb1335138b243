/**
 * LAMBDA.ENV.SECRET through the real handlers (collect -> evaluate -> remediate -> verify -> record)
 * over mocked Lambda, Secrets Manager and IAM APIs that keep state like AWS does: the exact requests
 * in order, deferred values resolved at apply time, the waiter, every recovery path (the move is all
 * or nothing), rollback, and no secret value anywhere but in the two requests that must carry it.
 */

import {
  GetFunctionConfigurationCommand,
  PreconditionFailedException,
  ResourceConflictException,
  ServiceException,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, ParameterNotFound } from '@aws-sdk/client-ssm';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { rollback } from '../../functions/aws/rollback.ts';
import { buildLedgerRecord } from '../../functions/core/ledger.ts';
import type { Remediation } from '../../functions/core/outcome.ts';
import { fingerprint } from '../../functions/core/secrets/fingerprint.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { makeRecord } from '../../functions/handlers/record.ts';
import { makeVerify } from '../../functions/handlers/verify.ts';
import { ACCOUNT, FUNCTION_NAME, functionArn, NOW, REGION } from '../unit/helpers.ts';
import {
  API_TOKEN,
  type Body,
  DB_PASSWORD,
  ddb,
  deps,
  ENV,
  EVENT,
  evaluated,
  j,
  KEY,
  lambda,
  MOCKS,
  ORDINARY,
  ROLE_NAME,
  secretArn,
  secretName,
  secrets,
  sent,
  serve,
  ssm,
  VALUES,
  type World,
  writes,
} from './env-secret-world.ts';

let logs: string[] = [];
beforeAll(() => logger.setLogLevel('DEBUG'));
afterAll(() => {
  for (const m of Object.values(MOCKS)) m.restore();
  logger.setLogLevel('INFO');
});
beforeEach(() => {
  for (const m of Object.values(MOCKS)) m.reset();
  ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  ddb.on(PutCommand).resolves({});
  logs = [];
  const capture = (chunk: unknown) => {
    logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const)
    vi.spyOn(console, level).mockImplementation((...a: unknown[]) => void logs.push(a.map(String).join(' ')));
});
afterEach(() => vi.restoreAllMocks());

/** Every output and log line, and every request except the two that must carry values. */
function everythingButTheMove(outputs: unknown[]): string {
  const requests = Object.values(MOCKS).flatMap((m) =>
    m
      .calls()
      .map((c) => c.args[0])
      .filter(
        (cmd) =>
          !(cmd instanceof CreateSecretCommand) && !(cmd instanceof UpdateFunctionConfigurationCommand),
      )
      .map((cmd) => cmd.input),
  );
  return [...logs, JSON.stringify(outputs), JSON.stringify(requests)].join('\n');
}

// ---- the move ---------------------------------------------------------------------------------------

describe('auto mode moves the secrets', () => {
  it('sends CreateSecret, PutRolePolicy, UpdateFunctionConfiguration in order, with the exact requests, then waits', async () => {
    const w = serve();
    const { evaluation, remediate } = await evaluated();
    expect(evaluation.route).toBe('auto');
    w.beforeUpdate = () => {
      w.lastUpdate = ['InProgress']; // the first waiter read; the next one is Successful
    };
    const r = await remediate();

    expect(sent().map((c) => c.key)).toEqual([
      // the fresh read before writing
      'lambda:GetFunctionConfiguration',
      'lambda:ListTags',
      'lambda:ListAliases',
      'lambda:ListFunctionUrlConfigs',
      'lambda:GetPolicy',
      'lambda:GetFunctionEventInvokeConfig',
      // the plan
      'secretsmanager:CreateSecret',
      'secretsmanager:CreateSecret',
      'iam:PutRolePolicy',
      'iam:PutRolePolicy',
      'lambda:UpdateFunctionConfiguration',
      // the waiter: InProgress, then Successful
      'lambda:GetFunctionConfiguration',
      'lambda:GetFunctionConfiguration',
    ]);
    const [create1, create2, put1, put2, update] = writes();
    expect(create1.input).toEqual({
      Name: secretName('DB_PASSWORD'),
      Description: `Moved by Lambda Guardrail (LAMBDA.ENV.SECRET) from the environment variable DB_PASSWORD of ${functionArn()}`,
      SecretString: DB_PASSWORD,
      Tags: [
        { Key: 'lambda-guardrail:source-function', Value: functionArn() },
        { Key: 'lambda-guardrail:source-variable', Value: 'DB_PASSWORD' },
        { Key: 'lambda-guardrail:rule', Value: 'LAMBDA.ENV.SECRET' },
        { Key: 'lambda-guardrail:detector', Value: 'named-password' },
        { Key: 'lambda-guardrail:fingerprint', Value: fingerprint(DB_PASSWORD, KEY) },
      ],
    });
    expect(create2.input).toMatchObject({ Name: secretName('API_TOKEN'), SecretString: API_TOKEN });
    // The grant names exactly the ARN the CreateSecret response returned (random suffix included).
    expect(put1.input).toEqual({
      RoleName: ROLE_NAME,
      PolicyName: `lambda-guardrail-secret-${FUNCTION_NAME}-DB_PASSWORD`,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'ReadMovedSecret',
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: secretArn('DB_PASSWORD'),
          },
        ],
      }),
    });
    expect(JSON.parse(put2.input.PolicyDocument).Statement[0].Resource).toBe(secretArn('API_TOKEN'));
    // The whole map: the two secrets out, their ARNs in, every other variable unchanged; RevisionId passed.
    expect(update.input).toEqual({
      FunctionName: FUNCTION_NAME,
      RevisionId: 'fn-rev-1',
      Environment: {
        Variables: {
          ...ORDINARY,
          DB_PASSWORD_SECRET_ARN: secretArn('DB_PASSWORD'),
          API_TOKEN_SECRET_ARN: secretArn('API_TOKEN'),
        },
      },
    });

    expect(r.status).toBe('applied');
    expect(r.steps.map((s) => [s.operation, s.status])).toEqual([
      ['CreateSecret', 'applied'],
      ['CreateSecret', 'applied'],
      ['PutRolePolicy', 'applied'],
      ['PutRolePolicy', 'applied'],
      ['UpdateFunctionConfiguration', 'applied'],
    ]);
    // The record keeps references, never resolved values; inverses carry the ARNs learnt.
    expect(r.steps[0].parameters['SecretString']).toEqual({ fromEnvironment: 'DB_PASSWORD' });
    expect(r.steps[0].after).toEqual({
      ARN: secretArn('DB_PASSWORD'),
      Name: secretName('DB_PASSWORD'),
      VersionId: 'v1',
    });
    expect(r.steps[0].inverse).toEqual({
      service: 'secretsmanager',
      operation: 'DeleteSecret',
      parameters: { SecretId: secretArn('DB_PASSWORD'), ForceDeleteWithoutRecovery: true },
    });
    expect(r.steps[2].after).toEqual({
      RoleName: ROLE_NAME,
      PolicyName: `lambda-guardrail-secret-${FUNCTION_NAME}-DB_PASSWORD`,
      PolicyDocument: JSON.parse(put1.input.PolicyDocument),
    });
    expect(r.steps[4].before).toEqual({ RevisionId: 'fn-rev-1', Variables: Object.keys(ENV).sort() });
    expect(r.steps[4].after).toEqual({
      RevisionId: 'fn-rev-2',
      LastUpdateStatus: 'Successful',
      Variables: ['API_TOKEN_SECRET_ARN', 'DB_PASSWORD_SECRET_ARN', 'FEATURE_X', 'LOG_LEVEL', 'TABLE_NAME'],
      SecretArnVariables: {
        DB_PASSWORD_SECRET_ARN: secretArn('DB_PASSWORD'),
        API_TOKEN_SECRET_ARN: secretArn('API_TOKEN'),
      },
    });
    expect(r.steps[4].inverse?.parameters).toEqual({
      FunctionName: FUNCTION_NAME,
      RevisionId: { fromFunctionRevision: { FunctionName: FUNCTION_NAME } },
      Environment: {
        Variables: {
          fromEnvironmentWith: {
            remove: ['DB_PASSWORD_SECRET_ARN', 'API_TOKEN_SECRET_ARN'],
            set: {
              DB_PASSWORD: { fromSecretValue: secretArn('DB_PASSWORD') },
              API_TOKEN: { fromSecretValue: secretArn('API_TOKEN') },
            },
          },
        },
      },
    });
    // The world: values moved, grants in place, the environment holds no secret.
    expect(w.secrets.get(secretName('DB_PASSWORD'))?.value).toBe(DB_PASSWORD);
    expect([...w.rolePolicies.keys()].sort()).toEqual([
      `lambda-guardrail-secret-${FUNCTION_NAME}-API_TOKEN`,
      `lambda-guardrail-secret-${FUNCTION_NAME}-DB_PASSWORD`,
    ]);
    for (const v of VALUES) expect(Object.values(w.env)).not.toContain(v);
  });

  it('verify finds the secrets gone, record says remediated, and no value left the two requests that carry it', async () => {
    serve();
    const { d, collected, evaluation, remediate } = await evaluated();
    const remediation = await remediate();
    const verification = j(await makeVerify(d)({ event: EVENT, evaluation, remediation, now: NOW }));
    expect(verification).toEqual({ verified: true, remaining: [] });
    const record = await makeRecord(d)({
      executionName: 'x',
      state: { event: EVENT, collected, evaluation, remediation, verification },
    });
    expect(record.outcome).toBe('remediated');
    for (const msg of ['collected', 'evaluated', 'remediation', 'verified', 'recorded'])
      expect(logs.join('')).toContain(msg);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    const all = everythingButTheMove([collected, evaluation, remediation, verification, record]);
    expect(all).toContain('DB_PASSWORD');
    for (const v of VALUES) expect(all).not.toContain(v);
  });

  it('with a customer-managed key: KmsKeyId sent, and kms:Decrypt bound to the exact secret ARN', async () => {
    const kms = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const w = serve({ DB_PASSWORD, ...ORDINARY });
    const { remediate } = await evaluated(
      deps({ rules: { 'LAMBDA.ENV.SECRET': { mode: 'auto' } }, secrets: { kmsKeyArn: kms } }),
    );
    expect((await remediate()).status).toBe('applied');
    expect(w.secrets.get(secretName('DB_PASSWORD'))?.kms).toBe(kms);
    expect(
      JSON.parse(w.rolePolicies.get(`lambda-guardrail-secret-${FUNCTION_NAME}-DB_PASSWORD`)!).Statement[1],
    ).toEqual({
      Sid: 'DecryptMovedSecret',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: kms,
      Condition: { StringEquals: { 'kms:EncryptionContext:SecretARN': secretArn('DB_PASSWORD') } },
    });
  });

  it('approve mode (the default) without an approval applies nothing', async () => {
    serve();
    const { evaluation, remediate } = await evaluated(deps({}));
    expect(evaluation.route).toBe('approve');
    expect(await remediate()).toEqual({ status: 'nothing-to-do', steps: [] });
    expect(writes()).toEqual([]);
  });
});

// ---- nothing half-done ------------------------------------------------------------------------------

describe('a failure after the secrets exist undoes them (all or nothing)', () => {
  const expectUndone = (w: World, r: Remediation) => {
    expect(r.steps.map((s) => [s.operation, s.status])).toEqual([
      ['CreateSecret', 'undone'],
      ['CreateSecret', 'undone'],
      ['PutRolePolicy', 'undone'],
      ['PutRolePolicy', 'undone'],
      ['UpdateFunctionConfiguration', 'failed'],
    ]);
    // Newest first: the grants, then the secrets.
    expect(
      r.undo?.map((u) => [u.operation, u.status, u.parameters['PolicyName'] ?? u.parameters['SecretId']]),
    ).toEqual([
      ['DeleteRolePolicy', 'applied', `lambda-guardrail-secret-${FUNCTION_NAME}-API_TOKEN`],
      ['DeleteRolePolicy', 'applied', `lambda-guardrail-secret-${FUNCTION_NAME}-DB_PASSWORD`],
      ['DeleteSecret', 'applied', secretArn('API_TOKEN')],
      ['DeleteSecret', 'applied', secretArn('DB_PASSWORD')],
    ]);
    expect(w.secrets.size).toBe(0);
    expect(w.rolePolicies.size).toBe(0);
  };

  it('RevisionId mismatch (someone changed the function after the fresh read): resource-changed, secrets and grants removed', async () => {
    const w = serve();
    const { remediate } = await evaluated();
    w.beforeUpdate = () => {
      w.env = { ...w.env, LOG_LEVEL: 'debug' }; // a concurrent deploy
      w.revision++;
      w.beforeUpdate = undefined;
    };
    const r = await remediate();
    expect(r.status).toBe('resource-changed');
    expect(r.drift?.[0]).toMatch(/^PreconditionFailedException: /);
    expectUndone(w, r);
    expect(w.env).toEqual({ ...ENV, LOG_LEVEL: 'debug' }); // their change stands, ours never landed
    // Rollback has nothing to do: every step was undone.
    expect(r.steps.some((s) => s.status === 'applied')).toBe(false);
  });

  it('ResourceConflictException (an update in progress): resource-changed, undone, not retried', async () => {
    const w = serve();
    const { remediate } = await evaluated();
    w.beforeUpdate = () => {
      throw new ResourceConflictException({
        message: 'update in progress',
        $metadata: { httpStatusCode: 409 },
      });
    };
    const r = await remediate();
    expect(r.status).toBe('resource-changed');
    expectUndone(w, r);
    expect(w.env).toEqual(ENV);
  });

  it('a 5xx with the update not applied: read back, then undone; failed', async () => {
    const w = serve();
    const { remediate } = await evaluated();
    w.beforeUpdate = () => {
      throw new ServiceException({ message: 'internal error', $metadata: { httpStatusCode: 500 } });
    };
    const r = await remediate();
    expect(r.status).toBe('failed');
    expectUndone(w, r);
    expect(sent().filter((c) => c.key === 'lambda:GetFunctionConfiguration')).toHaveLength(2); // fresh read + read back
  });

  it('a 5xx although the update landed: the step counts as applied (read back), nothing undone', async () => {
    const w = serve();
    const { remediate } = await evaluated();
    lambda.on(UpdateFunctionConfigurationCommand).callsFake(async (input: Body) => {
      w.env = { ...input.Environment.Variables };
      w.revision++;
      throw new ServiceException({ message: 'timeout after apply', $metadata: { httpStatusCode: 503 } });
    });
    const r = await remediate();
    expect(r.status).toBe('applied');
    expect(r.steps.every((s) => s.status === 'applied')).toBe(true);
    expect(w.secrets.size).toBe(2);
  });

  it('the second CreateSecret fails (name taken): the first secret is deleted; failed', async () => {
    const w = serve();
    const { remediate } = await evaluated();
    w.secrets.set(secretName('API_TOKEN'), { arn: 'arn:someone-else', value: 'x', tags: [] });
    const r = await remediate();
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/^ResourceExistsException/);
    expect(r.steps.map((s) => [s.operation, s.status])).toEqual([
      ['CreateSecret', 'undone'],
      ['CreateSecret', 'failed'],
    ]);
    expect([...w.secrets.keys()]).toEqual([secretName('API_TOKEN')]); // only the one that was not ours
    expect(writes().map((c) => c.key)).toEqual([
      'secretsmanager:CreateSecret',
      'secretsmanager:CreateSecret',
      'secretsmanager:DeleteSecret',
    ]);
  });

  it('an undo that fails leaves its step applied, with its inverse, and says so', async () => {
    const w = serve();
    const { remediate } = await evaluated();
    w.beforeUpdate = () => {
      throw new PreconditionFailedException({ message: 'stale', $metadata: { httpStatusCode: 412 } });
    };
    secrets
      .on(DeleteSecretCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const r = await remediate();
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/undo incomplete: DeleteSecret AccessDeniedException: not authorized/);
    expect(r.steps.map((s) => s.status)).toEqual(['applied', 'applied', 'undone', 'undone', 'failed']);
    expect(r.steps[0].inverse?.operation).toBe('DeleteSecret');
  });

  it('LastUpdateStatus Failed after the update was accepted: failed, the steps stay applied for rollback', async () => {
    const w = serve();
    const { remediate } = await evaluated();
    w.beforeUpdate = () => {
      // From now on every read says the update failed.
      lambda.on(GetFunctionConfigurationCommand).callsFake(async () => ({
        FunctionName: FUNCTION_NAME,
        Environment: { Variables: w.env },
        LastUpdateStatus: 'Failed',
        LastUpdateStatusReasonCode: 'KMSKeyAccessDenied',
        LastUpdateStatusReason: 'Lambda was unable to decrypt the environment variables',
      }));
    };
    const r = await remediate();
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/FunctionUpdateError: LastUpdateStatus Failed \(KMSKeyAccessDenied\)/);
    expect(r.steps.map((s) => s.status)).toEqual(['applied', 'applied', 'applied', 'applied', 'applied']);
    expect(r.undo).toBeUndefined();
  });

  it("Lambda's error quoting the environment it measured is recorded without the values", async () => {
    const w = serve();
    const { remediate } = await evaluated();
    w.beforeUpdate = (input) => {
      throw Object.assign(
        new Error(
          `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${JSON.stringify(input.Environment.Variables)}`,
        ),
        { name: 'InvalidParameterValueException', $metadata: { httpStatusCode: 400 } },
      );
    };
    const r = await remediate();
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/^InvalidParameterValueException: Lambda was unable to configure/);
    expect(r.error).toMatch(/String measured:$/);
    expect(JSON.stringify(r)).not.toContain('"FEATURE_X":');
    for (const v of VALUES) expect(JSON.stringify(r)).not.toContain(v);
  });

  it('a value changed between evaluation and remediation: another fingerprint, another plan -> resource-changed, no writes', async () => {
    const w = serve();
    const { remediate } = await evaluated();
    w.env = { ...w.env, DB_PASSWORD: 'An0ther-Str0ng-Passw0rd!' };
    const r = await remediate();
    expect(r).toMatchObject({ status: 'resource-changed', steps: [] });
    expect(writes()).toEqual([]);
  });
});

// ---- rollback -----------------------------------------------------------------------------------

describe('rollback of a moved secret', () => {
  async function remediated() {
    const w = serve();
    const { collected, evaluation, remediate } = await evaluated();
    const remediation = await remediate();
    expect(remediation.status).toBe('applied');
    const record = buildLedgerRecord({
      executionName: 'exec-1',
      recordedAt: NOW,
      state: {
        event: EVENT,
        collected,
        evaluation,
        remediation,
        verification: { verified: true, remaining: [] },
      },
    });
    for (const m of Object.values(MOCKS)) m.resetHistory();
    return { w, record: j(record) };
  }

  it('puts the values back from Secrets Manager, removes the ARN variables, the grants and the secrets', async () => {
    const { w, record } = await remediated();
    const r = await rollback(createClients(), record);
    expect(r.status).toBe('rolled-back');
    expect(w.env).toEqual(ENV);
    expect(w.secrets.size).toBe(0);
    expect(w.rolePolicies.size).toBe(0);
    expect(writes().map((c) => c.key)).toEqual([
      'lambda:UpdateFunctionConfiguration',
      'iam:DeleteRolePolicy',
      'iam:DeleteRolePolicy',
      'secretsmanager:DeleteSecret',
      'secretsmanager:DeleteSecret',
    ]);
    // The values were read at apply time (GetSecretValue) and recorded nowhere.
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([
      secretArn('DB_PASSWORD'),
      secretArn('API_TOKEN'),
    ]);
    const update = writes()[0].input;
    expect(update.RevisionId).toBe('fn-rev-2');
    for (const v of VALUES) expect(JSON.stringify(r)).not.toContain(v);
  });

  it('is refused when the variable was set again since, and changes nothing', async () => {
    const { w, record } = await remediated();
    w.env = { ...w.env, DB_PASSWORD: 'a-new-hand-set-value' };
    const r = await rollback(createClients(), record);
    expect(r.status).toBe('refused');
    expect(r.drift).toEqual([
      `DB_PASSWORD of ${FUNCTION_NAME} is set again; restoring it would overwrite that value`,
    ]);
    expect(writes()).toEqual([]);
  });
});
