/**
 * `guardrail rollback` against the emulator: remediate through the real workflow, then roll back from
 * the ledger record with the real CLI command, and compare the function URL and the resource policy
 * with what they were before the remediation. Resource policies have AWS's shapes here because
 * scripts/local/moto_patches.py restores them (moto 5.2.5 keeps conditions as top-level fields).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.ts';
import { canonicalJson } from '../../functions/core/plan.ts';
import { parsePolicyDocument } from '../../functions/core/policy.ts';
import { type EmulatorHandle, emulatorClientConfig, startEmulator } from '../../scripts/local/emulator.ts';
import { LocalGuardrail } from '../../scripts/local/runtime.ts';
import { DEMO_REGION, lambdaEvent, PUBLIC_URL_PERMISSIONS, seedFunction } from '../../scripts/local/seed.ts';

let emulator: EmulatorHandle;
let lambda: LambdaClient;
let guardrail: LocalGuardrail;

beforeAll(async () => {
  // The CLI uses the normal credential chain; give it the emulator's fake keys (never a profile).
  vi.stubEnv('AWS_PROFILE', '');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
  emulator = await startEmulator();
  lambda = new LambdaClient(emulatorClientConfig(emulator.endpoint, DEMO_REGION));
  guardrail = new LocalGuardrail({ endpoint: emulator.endpoint, region: DEMO_REGION, logLevel: 'SILENT' });
  await guardrail.setup();
}, 600_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator?.stop();
});

async function state(fn: string) {
  const url = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: fn }));
  const policy = await lambda.send(new GetPolicyCommand({ FunctionName: fn })).catch(() => undefined);
  const statements = policy?.Policy ? parsePolicyDocument(policy.Policy).Statement : [];
  return {
    url: { AuthType: url.AuthType, Cors: url.Cors, InvokeMode: url.InvokeMode },
    statements: canonicalJson([...statements].sort((a, b) => String(a.Sid).localeCompare(String(b.Sid)))),
  };
}

function captured() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

async function remediate(fn: string) {
  await seedFunction(emulator.endpoint, {
    name: fn,
    url: { authType: 'NONE', cors: { AllowOrigins: ['https://shop.example.com'], AllowMethods: ['GET'] } },
    permissions: [
      ...PUBLIC_URL_PERMISSIONS,
      { StatementId: 'backdoor', Action: 'lambda:InvokeFunction', Principal: '*' },
      {
        StatementId: 'nightly',
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: 'arn:aws:events:us-east-1:123456789012:rule/nightly',
      },
    ],
  });
  const before = await state(fn);
  const r = await guardrail.ingest(
    lambdaEvent('CreateFunctionUrlConfig', { functionName: fn, authType: 'NONE' }),
  );
  if (r.status !== 'started') throw new Error(`ingest: ${r.status}`);
  const record = (await guardrail.ledgerRecord(r.executionName))!;
  expect(record.outcome).toBe('remediated');
  const file = join(tmpdir(), `ledger-${r.executionName}.json`);
  writeFileSync(file, JSON.stringify(record));
  return { before, record, file };
}

describe('guardrail rollback', () => {
  it('restores exactly the URL config and the removed statements', async () => {
    const { before, file } = await remediate('rollback-exact');
    const after = await state('rollback-exact');
    expect(after.url.AuthType).toBe('AWS_IAM');
    expect(after.statements).not.toBe(before.statements);

    const c = captured();
    const code = await main(['rollback', file, '--endpoint-url', emulator.endpoint], c.io);
    expect(c.err).toEqual([]);
    expect(code).toBe(0);
    expect(c.out.at(-1)).toMatch(/rolled-back$/);
    expect(await state('rollback-exact')).toEqual(before);
  });

  it('reads the record from the ledger table by execution name, and --dry-run changes nothing', async () => {
    const { record } = await remediate('rollback-dry');
    const remediated = await state('rollback-dry');
    const c = captured();
    const code = await main(
      [
        'rollback',
        record.executionName,
        '--table',
        'lambda-guardrail-ledger',
        '--region',
        DEMO_REGION,
        '--endpoint-url',
        emulator.endpoint,
        '--dry-run',
      ],
      c.io,
    );
    expect(code).toBe(0);
    expect(c.out.filter((l) => l.startsWith('would run: lambda:AddPermission'))).toHaveLength(3);
    expect(c.out.filter((l) => l.startsWith('would run: lambda:UpdateFunctionUrlConfig'))).toHaveLength(1);
    expect(await state('rollback-dry')).toEqual(remediated);
  });

  it('refuses when the resource changed after the remediation, and changes nothing', async () => {
    const { file } = await remediate('rollback-drift');
    await lambda.send(
      new UpdateFunctionUrlConfigCommand({
        FunctionName: 'rollback-drift',
        AuthType: 'AWS_IAM',
        Cors: { AllowOrigins: ['https://other.example.com'] },
      }),
    );
    const changed = await state('rollback-drift');
    const c = captured();
    const code = await main(['rollback', file, '--endpoint-url', emulator.endpoint], c.io);
    expect(code).toBe(1);
    expect(c.err.join('\n')).toMatch(/refused: the function URL of \$LATEST changed/);
    expect(await state('rollback-drift')).toEqual(changed);
  });
});
