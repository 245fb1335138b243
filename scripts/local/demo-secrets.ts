import { randomBytes } from 'node:crypto';
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { rollback } from '../../functions/aws/rollback.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { stepLine } from '../../functions/core/render.ts';
import { emulatorClientConfig } from './emulator.ts';
import { LocalGuardrail } from './runtime.ts';
import { DEMO_REGION, lambdaEvent, seedFunction } from './seed.ts';

/**
 * The demo's LAMBDA.ENV.SECRET scenario (`npm run demo`): a function with a database password and an
 * API token next to ordinary settings. The rule's default mode is `approve` (the function's code
 * must change to read the secret); here config sets it to `auto`, so the move happens unattended.
 * Prints what moved where (names, ARNs, the grant) and never a value: values are generated at run
 * time, compared in memory, and only "yes"/"no" is printed. Then rolls the move back from the
 * ledger record. Throws if anything is not as expected, so the demo fails loudly.
 */

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const random = (n: number) => [...randomBytes(n)].map((b) => ALNUM[b % ALNUM.length]).join('');

export async function secretsScenario(io: Io, endpoint: string): Promise<void> {
  io.out('\n== Secrets in environment variables, moved to Secrets Manager (LAMBDA.ENV.SECRET) ==');
  io.out(
    'The rule defaults to approve (the code must change to read the secret); config sets it to auto here.',
  );
  const cfg = emulatorClientConfig(endpoint, DEMO_REGION);
  const lambda = new LambdaClient(cfg);
  const iam = new IAMClient(cfg);
  const sm = new SecretsManagerClient(cfg);
  const guardrail = new LocalGuardrail({
    endpoint,
    region: DEMO_REGION,
    logLevel: 'SILENT',
    config: { rules: { 'LAMBDA.ENV.SECRET': { mode: 'auto' } } } as never,
  });
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`secrets scenario: ${what}`);
    return 'yes';
  };
  try {
    const name = 'billing-worker';
    // Generated now, held in memory only: never printed, logged or written anywhere by the guardrail.
    const secrets = {
      DB_PASSWORD: randomBytes(15).toString('base64url'),
      PAYMENTS_API_TOKEN: `sk_live_${random(24)}`,
    };
    const ordinary = {
      DB_HOST: 'billing.cluster-c9akciq32.us-east-1.rds.amazonaws.com',
      DB_USER: 'billing',
      TABLE_NAME: 'invoices',
      LOG_LEVEL: 'info',
      STRIPE_PUBLISHABLE_KEY: `pk_live_${random(24)}`, // a public key: not a secret
    };
    const original = { ...ordinary, ...secrets };
    await seedFunction(endpoint, { name, environment: original });
    io.out(`seeded ${name}: ${Object.keys(original).join(', ')} (values are never printed)`);

    const event = lambdaEvent('UpdateFunctionConfiguration20150331v2', {
      functionName: name,
      environment: {},
    });
    const r = await guardrail.ingest(event);
    io.out(`event UpdateFunctionConfiguration20150331v2 -> ingest: ${r.status}`);
    if (r.status !== 'started') throw new Error(`secrets scenario: ingest ${r.status}`);
    const exec = guardrail.executions.get(r.executionName);
    io.out(`  execution ${r.executionName}: ${exec?.status}, states ${exec?.states.join(' > ')}`);
    const record = (await guardrail.ledgerRecord(r.executionName)) as LedgerRecord;
    io.out(`  outcome: ${record.outcome}`);
    const finding = record.findings.find((f) => f.ruleId === 'LAMBDA.ENV.SECRET');
    if (finding) {
      io.out(`  finding: [${finding.severity}] ${finding.ruleId} mode=${finding.mode}`);
      io.out(`           ${finding.summary}`);
    }
    for (const s of record.remediation?.steps ?? []) io.out(`  step ${s.status}: ${stepLine(s)}`);
    check(record.outcome === 'remediated' && !!record.verification?.verified, 'the move was not verified');

    const env = (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }))).Environment
      ?.Variables as Record<string, string>;
    io.out('\nwhat moved where:');
    for (const [variable, value] of Object.entries(secrets)) {
      const arn = env[`${variable}_SECRET_ARN`];
      const stored = (await sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
      const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
      const policyName = `lambda-guardrail-secret-${name}-${variable}`;
      const policy = await iam.send(
        new GetRolePolicyCommand({ RoleName: 'guardrail-demo-execution-role', PolicyName: policyName }),
      );
      const doc = JSON.parse(decodeURIComponent(policy.PolicyDocument ?? '{}'));
      io.out(`  ${variable} -> Secrets Manager ${d.Name}`);
      io.out(`      ${variable}_SECRET_ARN = ${arn}`);
      io.out(
        `      the secret holds the original value: ${check(stored === value, `${variable} not stored`)}`,
      );
      io.out(
        `      ${variable} is gone from the environment: ${check(!(variable in env), `${variable} still set`)}`,
      );
      io.out(`      tags: ${(d.Tags ?? []).map((t) => `${t.Key}=${t.Value}`).join(', ')}`);
      io.out(`      execution role inline policy ${policyName}: ${JSON.stringify(doc.Statement)}`);
      check(doc.Statement?.[0]?.Resource === arn, `${variable}: the grant is not on exactly that secret`);
    }
    const unchanged = Object.entries(ordinary).every(([k, v]) => env[k] === v);
    io.out(
      `  every other variable unchanged (${Object.keys(ordinary).join(', ')}): ${check(unchanged, 'settings changed')}`,
    );
    io.out(
      '  next: the function must read <NAME>_SECRET_ARN (GetSecretValue, or the Parameters and Secrets extension); published versions still hold the old values, so rotate both credentials.',
    );

    io.out('\nguardrail rollback of that execution (the inverse steps, newest first):');
    const rb = await rollback(guardrail.clients, record);
    for (const s of rb.result?.steps ?? []) io.out(`  ${s.status}: ${s.service}:${s.operation}`);
    const restored = (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name })))
      .Environment?.Variables;
    const exact =
      JSON.stringify(Object.entries(restored ?? {}).sort()) ===
      JSON.stringify(Object.entries(original).sort());
    io.out(
      `  ${rb.status}; the environment is exactly the original again: ${check(exact, 'rollback did not restore')}`,
    );
    check(rb.status === 'rolled-back', `rollback ${rb.status}`);
  } finally {
    for (const c of [lambda, iam, sm]) c.destroy();
  }
}
