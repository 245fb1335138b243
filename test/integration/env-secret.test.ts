/**
 * LAMBDA.ENV.SECRET against the emulator (Lambda, IAM, Secrets Manager): a CloudTrail event goes
 * through the real ingest handler, the real ASL and the real handlers; the tests read the emulator's
 * state with their own clients.
 *
 * Where moto differs from AWS (docs/emulator-notes.md), the assertions follow AWS:
 * - the function RevisionId (GetFunctionConfiguration, UpdateFunctionConfiguration with a stale
 *   RevisionId -> PreconditionFailedException 412) exists because scripts/local/moto_patches.py
 *   (patch 5) restores it; test/integration/emulator.test.ts pins that;
 * - moto sets LastUpdateStatus Successful at once (AWS: InProgress first), so the waiter returns on
 *   its first read here (the InProgress path is covered with SDK mocks in test/aws/env-secret.test.ts);
 * - moto does not evaluate IAM policies, so "the role can read exactly that secret" is checked on the
 *   inline policy document itself (GetRolePolicy), whose only Resource is the secret's exact ARN.
 * The RevisionId mismatch is a real concurrent UpdateFunctionConfiguration, sent by the test between
 * the guardrail's last PutRolePolicy and its UpdateFunctionConfiguration (a middleware on the
 * guardrail's own IAM client), so the 412 comes from the emulator, not from a mock.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.ts';
import { scanLedger } from '../../functions/aws/ledger.ts';
import { rollback } from '../../functions/aws/rollback.ts';
import type { GuardrailConfig } from '../../functions/core/config.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { type EmulatorHandle, emulatorClientConfig, startEmulator } from '../../scripts/local/emulator.ts';
import { type ExecutionResult, LocalGuardrail } from '../../scripts/local/runtime.ts';
import {
  DEMO_ACCOUNT as ACCOUNT,
  lambdaEvent,
  DEMO_REGION as REGION,
  seedFunction,
  ZIP,
} from '../../scripts/local/seed.ts';
import { PATH_NOT_APPLIED, PATH_RECORD_ONLY, PATH_REMEDIATED } from '../support/paths.ts';

const ROLE = 'guardrail-demo-execution-role'; // seedFunction's execution role
const AUTO: Partial<GuardrailConfig> = { rules: { 'LAMBDA.ENV.SECRET': { mode: 'auto' } } } as never;
const DB_PASSWORD = `Xk9#mP2$vL8qR4wT-${randomUUID().slice(0, 6)}`;
const API_TOKEN = `ghp_${'Ab1Cd2Ef3G'.repeat(3)}123456`;
const ORDINARY = { TABLE_NAME: 'orders', LOG_LEVEL: 'info', FEATURE_X: 'true', REGION_NAME: 'us-east-1' };
const ENV = { DB_PASSWORD, API_TOKEN, ...ORDINARY };
const VALUES = [DB_PASSWORD, API_TOKEN];

let emu: EmulatorHandle;
let lambda: LambdaClient;
let iam: IAMClient;
let sm: SecretsManagerClient;

beforeAll(async () => {
  emu = await startEmulator({ log: (s) => console.error(s) });
  const cfg = emulatorClientConfig(emu.endpoint, REGION);
  lambda = new LambdaClient(cfg);
  iam = new IAMClient(cfg);
  sm = new SecretsManagerClient(cfg);
  await guardrail().setup();
}, 300_000);

afterAll(async () => {
  logger.setLogLevel('INFO');
  for (const c of [lambda, iam, sm]) c?.destroy();
  await emu?.stop();
});

const guardrail = (config: Partial<GuardrailConfig> = AUTO, logLevel: 'SILENT' | 'DEBUG' = 'SILENT') =>
  new LocalGuardrail({ endpoint: emu.endpoint, region: REGION, logLevel, config });

const fnName = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;
const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const secretId = (fn: string, v: string) => `lambda-guardrail/${fn}/${v}`;
const policyName = (fn: string, v: string) => `lambda-guardrail-secret-${fn}-${v}`;

const configEvent = (name: string) =>
  lambdaEvent('UpdateFunctionConfiguration20150331v2', { functionName: name, environment: {} });

async function run(g: LocalGuardrail, event: unknown) {
  const r = await g.ingest(event);
  expect(r.status).toBe('started');
  const name = (r as { executionName: string }).executionName;
  return {
    execution: g.executions.get(name) as ExecutionResult,
    record: (await g.ledgerRecord(name)) as LedgerRecord,
  };
}

async function environment(name: string) {
  const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
  return { env: c.Environment?.Variables ?? {}, revisionId: c.RevisionId };
}

async function secretsOf(fn: string) {
  const r = await sm.send(new ListSecretsCommand({}));
  return (r.SecretList ?? []).filter((s) => s.Name?.startsWith(`lambda-guardrail/${fn}/`)).map((s) => s.Name);
}

async function rolePoliciesOf(fn: string) {
  const r = await iam.send(new ListRolePoliciesCommand({ RoleName: ROLE }));
  return (r.PolicyNames ?? []).filter((p) => p.startsWith(`lambda-guardrail-secret-${fn}-`)).sort();
}

describe('LAMBDA.ENV.SECRET in auto mode, end to end', () => {
  it('moves both secrets: Secrets Manager holds them, the role can read exactly those, the rest is intact', async () => {
    const name = fnName('env-secret');
    await seedFunction(emu.endpoint, { name, environment: ENV });
    const before = await environment(name);
    expect(before.env).toEqual(ENV);

    const logs: string[] = [];
    const capture = (chunk: unknown) => {
      logs.push(String(chunk));
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const g = guardrail(AUTO, 'DEBUG');
    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run(g, configEvent(name));
    } finally {
      out.mockRestore();
      err.mockRestore();
      logger.setLogLevel('SILENT');
    }
    const { execution, record } = result;
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toEqual(PATH_REMEDIATED);
    expect(record.outcome).toBe('remediated');
    expect(record.verification).toEqual({ verified: true, remaining: [] });

    // The environment: the secrets gone, one ARN variable each, every other variable unchanged.
    const after = await environment(name);
    const dbArn = after.env.DB_PASSWORD_SECRET_ARN;
    const tokenArn = after.env.API_TOKEN_SECRET_ARN;
    expect(after.env).toEqual({ ...ORDINARY, DB_PASSWORD_SECRET_ARN: dbArn, API_TOKEN_SECRET_ARN: tokenArn });
    expect(after.revisionId).not.toBe(before.revisionId);
    for (const v of VALUES) expect(JSON.stringify(after.env)).not.toContain(v);

    // Secrets Manager: the values moved, under their names, with tags saying where from (no value).
    for (const [v, arn, value] of [
      ['DB_PASSWORD', dbArn, DB_PASSWORD],
      ['API_TOKEN', tokenArn, API_TOKEN],
    ] as const) {
      expect(arn).toMatch(
        new RegExp(
          `^arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:lambda-guardrail/${name}/${v}-[A-Za-z0-9]{6}$`,
        ),
      );
      expect((await sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString).toBe(value);
      const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
      expect(d.Name).toBe(secretId(name, v));
      expect(Object.fromEntries((d.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
        'lambda-guardrail:source-function': fnArn(name),
        'lambda-guardrail:source-variable': v,
        'lambda-guardrail:rule': 'LAMBDA.ENV.SECRET',
        'lambda-guardrail:fingerprint': expect.stringMatching(/^hmac-sha256:[0-9a-f]{32}$/),
      });
      // IAM: a dedicated inline policy that allows GetSecretValue on exactly that secret ARN.
      const p = await iam.send(new GetRolePolicyCommand({ RoleName: ROLE, PolicyName: policyName(name, v) }));
      expect(JSON.parse(decodeURIComponent(p.PolicyDocument!))).toEqual({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'ReadMovedSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: arn },
        ],
      });
    }
    expect(await rolePoliciesOf(name)).toEqual([
      policyName(name, 'API_TOKEN'),
      policyName(name, 'DB_PASSWORD'),
    ]);

    // The ledger: the steps in order, with references only.
    expect(record.remediation?.steps.map((s) => [s.operation, s.status])).toEqual([
      ['CreateSecret', 'applied'],
      ['CreateSecret', 'applied'],
      ['PutRolePolicy', 'applied'],
      ['PutRolePolicy', 'applied'],
      ['UpdateFunctionConfiguration', 'applied'],
    ]);
    const finding = record.findings.find((f) => f.ruleId === 'LAMBDA.ENV.SECRET');
    expect(finding?.summary).toMatch(/Published versions still hold the old value: rotate the secret/);

    // No value in the ledger, the execution payloads or any log line.
    const ledger = JSON.stringify(await scanLedger(g.clients, REGION, 'lambda-guardrail-ledger'));
    const payloads = JSON.stringify([...g.executions.values()]);
    const logText = logs.join('');
    expect(logText).toContain('"message":"remediation"'); // the capture saw the run
    expect(payloads).toContain('[redacted:named-password:high:hmac-sha256:');
    for (const [where, text] of [
      ['ledger', ledger],
      ['payloads', payloads],
      ['logs', logText],
    ]) {
      for (const v of VALUES) expect(text.includes(v), `a secret value in ${where}`).toBe(false);
    }
  });

  it('a RevisionId mismatch at UpdateFunctionConfiguration ends resource-changed with nothing half-done', async () => {
    const name = fnName('env-race');
    await seedFunction(emu.endpoint, { name, environment: ENV });
    const g = guardrail();
    // A concurrent deploy right after the guardrail's last PutRolePolicy, before its UpdateFunctionConfiguration.
    let grants = 0;
    let concurrent: Record<string, string> | undefined;
    const concurrentDeploy =
      (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        const r = await next(args);
        if (context.commandName === 'PutRolePolicyCommand' && ++grants === 2) {
          concurrent = { ...ENV, LOG_LEVEL: 'debug' };
          await lambda.send(
            new UpdateFunctionConfigurationCommand({
              FunctionName: name,
              Environment: { Variables: concurrent },
            }),
          );
        }
        return r;
      };
    g.clients
      .get(IAMClient, REGION)
      .middlewareStack.add(concurrentDeploy as never, { step: 'initialize', name: 'concurrentDeploy' });
    const { execution, record } = await run(g, configEvent(name));

    expect(grants).toBe(2);
    expect(execution.states).toEqual(PATH_NOT_APPLIED);
    expect(record.outcome).toBe('resource-changed');
    expect(record.remediation?.status).toBe('resource-changed');
    expect(record.remediation?.drift?.[0]).toMatch(/^PreconditionFailedException/);
    expect(record.remediation?.steps.map((s) => s.status)).toEqual([
      'undone',
      'undone',
      'undone',
      'undone',
      'failed',
    ]);
    expect(record.remediation?.undo?.map((u) => [u.operation, u.status])).toEqual([
      ['DeleteRolePolicy', 'applied'],
      ['DeleteRolePolicy', 'applied'],
      ['DeleteSecret', 'applied'],
      ['DeleteSecret', 'applied'],
    ]);
    // Nothing half-done: no secret, no grant, and the function exactly as the concurrent deploy left it.
    expect(await secretsOf(name)).toEqual([]);
    expect(await rolePoliciesOf(name)).toEqual([]);
    expect((await environment(name)).env).toEqual(concurrent);
  });

  it('`guardrail rollback` restores the original environment exactly, and removes the grants and the secrets', async () => {
    const name = fnName('env-rollback');
    await seedFunction(emu.endpoint, { name, environment: ENV });
    const { record } = await run(guardrail(), configEvent(name));
    expect(record.outcome).toBe('remediated');
    expect(await secretsOf(name)).toHaveLength(2);
    const file = join(tmpdir(), `ledger-${record.executionName}.json`);
    writeFileSync(file, JSON.stringify(record));

    vi.stubEnv('AWS_PROFILE', '');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    const out: string[] = [];
    const err: string[] = [];
    try {
      const dry = await main(['rollback', file, '--endpoint-url', emu.endpoint, '--dry-run'], {
        out: (s) => out.push(s),
        err: (s) => err.push(s),
      });
      expect(dry).toBe(0);
      expect(out.filter((l) => l.startsWith('would run:')).map((l) => l.split(' ')[2])).toEqual([
        'lambda:UpdateFunctionConfiguration',
        'iam:DeleteRolePolicy',
        'iam:DeleteRolePolicy',
        'secretsmanager:DeleteSecret',
        'secretsmanager:DeleteSecret',
      ]);
      const code = await main(['rollback', file, '--endpoint-url', emu.endpoint], {
        out: (s) => out.push(s),
        err: (s) => err.push(s),
      });
      expect(err).toEqual([]);
      expect(code).toBe(0);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(out.at(-1)).toMatch(/rolled-back$/);
    expect((await environment(name)).env).toEqual(ENV);
    expect(await secretsOf(name)).toEqual([]);
    expect(await rolePoliciesOf(name)).toEqual([]);
    for (const v of VALUES) expect(out.join('\n')).not.toContain(v);
  });
});

describe('the Parameters and Secrets extension layer (secrets.extensionLayerArns)', () => {
  it('is added next to the function’s layers, and rollback takes it away again', async () => {
    // MOTO DIFFERS: AWS publishes the extension in its own accounts (one ARN per region and
    // architecture); moto only knows layers published to it, so the test publishes a stand-in under
    // the same name and configures its ARN, as a deployment configures AWS's.
    const publish = async (layer: string) =>
      (await lambda.send(new PublishLayerVersionCommand({ LayerName: layer, Content: { ZipFile: ZIP } })))
        .LayerVersionArn!;
    const extension = await publish('AWS-Parameters-and-Secrets-Lambda-Extension');
    const shared = await publish(`shared-libs-${randomUUID().slice(0, 6)}`);
    const name = fnName('env-layer');
    await seedFunction(emu.endpoint, { name, environment: { DB_PASSWORD, ...ORDINARY } });
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Layers: [shared] }));
    const g = guardrail({ ...AUTO, secrets: { extensionLayerArns: { x86_64: extension } } } as never);
    const { record } = await run(g, configEvent(name));
    expect(record.outcome).toBe('remediated');
    const layers = async () =>
      ((await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }))).Layers ?? []).map(
        (l) => l.Arn,
      );
    expect(await layers()).toEqual([shared, extension]);
    expect((await environment(name)).env).toEqual({
      ...ORDINARY,
      DB_PASSWORD_SECRET_ARN: expect.any(String),
    });

    expect((await rollback(g.clients, record)).status).toBe('rolled-back');
    expect(await layers()).toEqual([shared]);
    expect((await environment(name)).env).toEqual({ DB_PASSWORD, ...ORDINARY });
  });
});

describe('LAMBDA.ENV.SECRET in its default mode (approve) and in report mode', () => {
  it.each<[string, Partial<GuardrailConfig>, string, string[]]>([
    ['approve, no approvers', {}, 'approval-required', PATH_NOT_APPLIED],
    ['report', { rules: { 'LAMBDA.ENV.SECRET': { mode: 'report' } } } as never, 'reported', PATH_RECORD_ONLY],
  ])('%s: nothing changes, the plan is recorded', async (_label, config, outcome, path) => {
    const name = fnName('env-untouched');
    await seedFunction(emu.endpoint, { name, environment: ENV });
    const before = await environment(name);
    const { execution, record } = await run(guardrail(config), configEvent(name));
    expect(execution.states).toEqual(path);
    expect(record.outcome).toBe(outcome);
    expect(await environment(name)).toEqual(before);
    expect(await secretsOf(name)).toEqual([]);
    expect(await rolePoliciesOf(name)).toEqual([]);
    const f = record.findings.find((x) => x.ruleId === 'LAMBDA.ENV.SECRET');
    expect(f?.plan.steps.map((s) => s.operation)).toEqual([
      'CreateSecret',
      'CreateSecret',
      'PutRolePolicy',
      'PutRolePolicy',
      'UpdateFunctionConfiguration',
    ]);
    expect(f?.plan.steps[0].parameters.SecretString).toEqual({ fromEnvironment: 'DB_PASSWORD' });
    for (const v of VALUES) expect(JSON.stringify(record)).not.toContain(v);
  });
});
