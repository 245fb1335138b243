/**
 * LAMBDA.ENV.SECRET in core: redaction that keeps detection (markers), the rule, its plan, and the
 * proof that no secret value reaches a plan, the `guardrail evaluate` output or a log line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { sequencePlans } from '../../functions/core/plan.ts';
import { parseSecretMarker, REDACTED, redactSnapshot, secretMarker } from '../../functions/core/redact.ts';
import { evaluationJson, evaluationTable } from '../../functions/core/render.ts';
import { rollbackDrift, rollbackPlan } from '../../functions/core/rollback.ts';
import {
  arnVariable,
  DEFAULT_SECRETS_SETTINGS,
  lambdaEnvSecret,
  rolePolicyName,
  SECRET_TAGS,
  secretName,
} from '../../functions/core/rules/lambda-env-secret.ts';
import { fingerprint } from '../../functions/core/secrets/fingerprint.ts';
import type { Finding, Snapshot } from '../../functions/core/types.ts';
import { ACCOUNT, clone, FUNCTION_NAME, functionArn, functionSnapshot, NOW, REGION } from './helpers.ts';

const KEY = 'unit-test-fingerprint-key-0123456789';
const DB_PASSWORD = 'Xk9#mP2$vL8qR4wT-zz';
const API_TOKEN = `ghp_${'Ab1Cd2Ef3G'.repeat(3)}123456`;
const ENV = { DB_PASSWORD, API_TOKEN, TABLE_NAME: 'orders', LOG_LEVEL: 'info', FEATURE_X: 'true' };
const VALUES = [DB_PASSWORD, API_TOKEN];
const AUTO = parseConfig({ rules: { 'LAMBDA.ENV.SECRET': { mode: 'auto' } } });

const raw = (environment: Record<string, string> = ENV, extra: Record<string, unknown> = {}) => {
  const s = functionSnapshot({ environment });
  Object.assign(s.responses['GetFunctionConfiguration'] as object, extra);
  return s;
};
const redacted = (environment?: Record<string, string>, extra?: Record<string, unknown>) =>
  redactSnapshot(raw(environment, extra), KEY);

const run = (s: Snapshot, config = AUTO) => evaluate({ snapshot: s, config, now: NOW });
const envFinding = (s: Snapshot, config = AUTO): Finding | undefined =>
  run(s, config).findings.find((f) => f.ruleId === 'LAMBDA.ENV.SECRET');

// ---- redaction --------------------------------------------------------------------------------------

describe('redactSnapshot with a fingerprint key', () => {
  it('turns each secret into a marker (detector, confidence, keyed fingerprint) and everything else into [redacted]', () => {
    const s = redacted();
    const vars = (
      s.responses['GetFunctionConfiguration'] as { Environment: { Variables: Record<string, string> } }
    ).Environment.Variables;
    expect(Object.keys(vars)).toEqual(Object.keys(ENV));
    expect(parseSecretMarker(vars.DB_PASSWORD)).toEqual({
      detector: 'named-password',
      confidence: 'high',
      fingerprint: fingerprint(DB_PASSWORD, KEY),
    });
    expect(parseSecretMarker(vars.API_TOKEN)).toEqual({
      detector: 'github-token',
      confidence: 'high',
      fingerprint: fingerprint(API_TOKEN, KEY),
    });
    expect([vars.TABLE_NAME, vars.LOG_LEVEL, vars.FEATURE_X]).toEqual([REDACTED, REDACTED, REDACTED]);
    for (const v of VALUES) expect(JSON.stringify(s)).not.toContain(v);
    // The raw snapshot is not modified.
    expect(JSON.stringify(raw())).toContain(DB_PASSWORD);
  });

  it('without a key every value is [redacted] (nothing to detect from)', () => {
    const s = redactSnapshot(raw());
    const vars = (s.responses['GetFunctionConfiguration'] as { Environment: { Variables: object } })
      .Environment.Variables;
    expect(Object.values(vars).every((v) => v === REDACTED)).toBe(true);
    expect(envFinding(s)).toBeUndefined();
  });

  it('keeps markers of a snapshot redacted earlier (another key, another run), and is idempotent', () => {
    const once = redacted();
    expect(redactSnapshot(once, 'another-key-of-sixteen-or-more')).toEqual(once);
    expect(redactSnapshot(once)).toEqual(once);
  });

  it('a marker is exactly `[redacted:<detector>:<confidence>:<fingerprint>]`; anything else is not one', () => {
    const m = {
      detector: 'db-url-password',
      confidence: 'medium' as const,
      fingerprint: fingerprint('x', KEY),
    };
    expect(secretMarker(m)).toBe(`[redacted:db-url-password:medium:${m.fingerprint}]`);
    expect(parseSecretMarker(secretMarker(m))).toEqual(m);
    for (const v of ['[redacted]', '[redacted:x:high]', `[redacted:x:low:${m.fingerprint}]`, 'hunter2', 42])
      expect(parseSecretMarker(v)).toBeUndefined();
  });
});

// ---- the rule -----------------------------------------------------------------------------------------

describe('LAMBDA.ENV.SECRET: detection', () => {
  it('is registered with its triggers, default mode approve, and the same secrets defaults as the config', () => {
    expect(lambdaEnvSecret.triggers).toEqual([
      { service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] },
    ]);
    expect(lambdaEnvSecret.defaultMode).toBe('approve');
    expect(parseConfig({}).secrets).toEqual(DEFAULT_SECRETS_SETTINGS);
    expect(envFinding(redacted(), parseConfig({}))?.mode).toBe('approve');
  });

  it.each<[string, Record<string, string> | undefined]>([
    ['no environment', undefined],
    ['ordinary settings', { TABLE_NAME: 'orders', LOG_LEVEL: 'debug', PASSWORD_MIN_LENGTH: '12' }],
    [
      'references to secrets',
      {
        DB_SECRET_ARN: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:db-AbCdEf`,
        API_KEY_PARAM: '/prod/api-key',
        TOKEN: '{{resolve:secretsmanager:prod/token}}',
      },
    ],
  ])('%s: compliant', (_label, environment) => {
    const s = functionSnapshot(environment ? { environment } : {});
    expect(lambdaEnvSecret.evaluate(redactSnapshot(s, KEY), { now: NOW })).toEqual({ status: 'COMPLIANT' });
  });

  it('an environment Lambda could not decrypt for the reader (a customer-managed key): not applicable, says why', () => {
    const s = functionSnapshot();
    (s.responses['GetFunctionConfiguration'] as Record<string, unknown>).Environment = {
      Error: {
        ErrorCode: 'AccessDeniedException',
        Message: 'Lambda was unable to decrypt the environment variables',
      },
    };
    expect(lambdaEnvSecret.evaluate(s, { now: NOW })).toEqual({
      status: 'NOT_APPLICABLE',
      reason: 'the environment could not be read (AccessDeniedException)',
    });
  });

  it('no function configuration: not applicable', () => {
    expect(
      lambdaEnvSecret.evaluate({ account: ACCOUNT, region: REGION, responses: {} }, { now: NOW }).status,
    ).toBe('NOT_APPLICABLE');
  });

  it('one finding per function, with names, detectors and fingerprints (never a value)', () => {
    const f = envFinding(redacted())!;
    expect(f).toMatchObject({ severity: 'CRITICAL', resourceArn: functionArn(), mode: 'auto' });
    expect((f.evidence as { variables: unknown[] }).variables).toEqual([
      {
        name: 'DB_PASSWORD',
        detector: 'named-password',
        confidence: 'high',
        fingerprint: fingerprint(DB_PASSWORD, KEY),
        secretName: `lambda-guardrail/${FUNCTION_NAME}/DB_PASSWORD`,
        arnVariable: 'DB_PASSWORD_SECRET_ARN',
      },
      {
        name: 'API_TOKEN',
        detector: 'github-token',
        confidence: 'high',
        fingerprint: fingerprint(API_TOKEN, KEY),
        secretName: `lambda-guardrail/${FUNCTION_NAME}/API_TOKEN`,
        arnVariable: 'API_TOKEN_SECRET_ARN',
      },
    ]);
    expect(f.summary).toMatch(/DB_PASSWORD \(named-password, high confidence\), API_TOKEN/);
    expect(f.summary).toMatch(/Published versions still hold the old value: rotate the secret/);
    expect(f.evidence['publishedVersions']).toMatch(/rotate the secret/);
    expect(f.evidence['codeChange']).toMatch(/<NAME>_SECRET_ARN/);
  });

  it('only medium-confidence detections: severity HIGH', () => {
    const f = envFinding(redacted({ DB_PASSWORD: 'postgres-local', TABLE_NAME: 'orders' }))!;
    expect(
      (f.evidence as { variables: { confidence: string }[] }).variables.map((v) => v.confidence),
    ).toEqual(['medium']);
    expect(f.severity).toBe('HIGH');
  });

  it('plain values (a snapshot built by hand) are detected too; the fingerprint is then unknown', () => {
    const f = envFinding(raw())!;
    expect((f.evidence as { variables: { name: string; fingerprint: unknown }[] }).variables).toEqual([
      expect.objectContaining({ name: 'DB_PASSWORD', fingerprint: null }),
      expect.objectContaining({ name: 'API_TOKEN', fingerprint: null }),
    ]);
    const tags = f.plan.steps[0].parameters['Tags'] as { Key: string }[];
    expect(tags.map((t) => t.Key)).not.toContain(SECRET_TAGS.fingerprint);
  });

  it('a value that changed gives another fingerprint, so another plan (the drift check sees it)', () => {
    const a = envFinding(redacted())!;
    const b = envFinding(redacted({ ...ENV, DB_PASSWORD: `${DB_PASSWORD}-rotated` }))!;
    expect(JSON.stringify(a.plan)).not.toBe(JSON.stringify(b.plan));
  });
});

describe('LAMBDA.ENV.SECRET: the plan', () => {
  const name = (v: string) => `lambda-guardrail/${FUNCTION_NAME}/${v}`;

  it('CreateSecret per variable, PutRolePolicy per secret, one UpdateFunctionConfiguration: exact requests, values by reference', () => {
    const f = envFinding(redacted())!;
    expect(f.plan.atomic).toBe(true);
    expect(f.plan.preconditions).toEqual([
      {
        read: 'GetFunctionConfiguration',
        path: 'RevisionId',
        equals: 'fn-rev-0001',
        description: `the configuration of ${FUNCTION_NAME} is unchanged`,
      },
    ]);
    expect(f.plan.steps.map((s) => `${s.service}:${s.operation}`)).toEqual([
      'secretsmanager:CreateSecret',
      'secretsmanager:CreateSecret',
      'iam:PutRolePolicy',
      'iam:PutRolePolicy',
      'lambda:UpdateFunctionConfiguration',
    ]);
    const [create, , grant, , update] = f.plan.steps;
    expect(create.parameters).toEqual({
      Name: name('DB_PASSWORD'),
      Description: `Moved by Lambda Guardrail (LAMBDA.ENV.SECRET) from the environment variable DB_PASSWORD of ${functionArn()}`,
      SecretString: { fromEnvironment: 'DB_PASSWORD' },
      Tags: [
        { Key: 'lambda-guardrail:source-function', Value: functionArn() },
        { Key: 'lambda-guardrail:source-variable', Value: 'DB_PASSWORD' },
        { Key: 'lambda-guardrail:rule', Value: 'LAMBDA.ENV.SECRET' },
        { Key: 'lambda-guardrail:detector', Value: 'named-password' },
        { Key: 'lambda-guardrail:fingerprint', Value: fingerprint(DB_PASSWORD, KEY) },
      ],
    });
    expect(create.inverse).toMatchObject({
      operation: 'DeleteSecret',
      parameters: { SecretId: { fromSecretArn: name('DB_PASSWORD') }, ForceDeleteWithoutRecovery: true },
    });
    expect(grant.parameters).toEqual({
      RoleName: `${FUNCTION_NAME}-role`,
      PolicyName: `lambda-guardrail-secret-${FUNCTION_NAME}-DB_PASSWORD`,
      PolicyDocument: {
        jsonOf: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ReadMovedSecret',
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: { fromSecretArn: name('DB_PASSWORD') },
            },
          ],
        },
      },
    });
    expect(grant.inverse).toEqual({
      service: 'iam',
      operation: 'DeleteRolePolicy',
      parameters: {
        RoleName: `${FUNCTION_NAME}-role`,
        PolicyName: `lambda-guardrail-secret-${FUNCTION_NAME}-DB_PASSWORD`,
      },
      reason: expect.any(String),
    });
    expect(update.parameters).toEqual({
      FunctionName: FUNCTION_NAME,
      RevisionId: 'fn-rev-0001',
      Environment: {
        Variables: {
          fromEnvironmentWith: {
            remove: ['DB_PASSWORD', 'API_TOKEN'],
            set: {
              DB_PASSWORD_SECRET_ARN: { fromSecretArn: name('DB_PASSWORD') },
              API_TOKEN_SECRET_ARN: { fromSecretArn: name('API_TOKEN') },
            },
          },
        },
      },
    });
    expect(update.inverse?.parameters).toEqual({
      FunctionName: FUNCTION_NAME,
      RevisionId: { fromFunctionRevision: { FunctionName: FUNCTION_NAME } },
      Environment: {
        Variables: {
          fromEnvironmentWith: {
            remove: ['DB_PASSWORD_SECRET_ARN', 'API_TOKEN_SECRET_ARN'],
            set: {
              DB_PASSWORD: { fromSecretValue: { fromSecretArn: name('DB_PASSWORD') } },
              API_TOKEN: { fromSecretValue: { fromSecretArn: name('API_TOKEN') } },
            },
          },
        },
      },
    });
  });

  it('a customer-managed key: KmsKeyId, and kms:Decrypt for that secret only (encryption context)', () => {
    const kms = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const f = envFinding(
      redacted({ DB_PASSWORD }),
      parseConfig({ rules: AUTO.rules, secrets: { kmsKeyArn: kms } }),
    )!;
    expect(f.plan.steps[0].parameters['KmsKeyId']).toBe(kms);
    expect(f.plan.steps[0].reason).toContain(kms);
    expect(
      (f.plan.steps[1].parameters['PolicyDocument'] as { jsonOf: { Statement: unknown[] } }).jsonOf.Statement,
    ).toEqual([
      expect.objectContaining({ Sid: 'ReadMovedSecret' }),
      {
        Sid: 'DecryptMovedSecret',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: kms,
        Condition: {
          StringEquals: { 'kms:EncryptionContext:SecretARN': { fromSecretArn: name('DB_PASSWORD') } },
        },
      },
    ]);
  });

  it('the configured name prefix names the secrets', () => {
    const f = envFinding(
      redacted({ DB_PASSWORD }),
      parseConfig({ rules: AUTO.rules, secrets: { namePrefix: 'prod/lambda/' } }),
    )!;
    expect(f.plan.steps[0].parameters['Name']).toBe(`prod/lambda/${FUNCTION_NAME}/DB_PASSWORD`);
  });

  describe('the Parameters and Secrets extension layer (optional)', () => {
    const arm = `arn:aws:lambda:${REGION}:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:12`;
    const x86 = `arn:aws:lambda:${REGION}:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12`;
    const other = `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-libs:3`;
    const cfg = (arns: Record<string, string>) =>
      parseConfig({ rules: AUTO.rules, secrets: { extensionLayerArns: arns } });
    const update = (f: Finding) => f.plan.steps.at(-1)!;

    it('is added for the function architecture, keeping its other layers; the inverse restores them', () => {
      const f = envFinding(
        redacted({ DB_PASSWORD }, { Layers: [{ Arn: other, CodeSize: 1 }] }),
        cfg({ arm64: arm, x86_64: x86 }),
      )!;
      expect(update(f).parameters['Layers']).toEqual([other, arm]);
      expect(update(f).inverse?.parameters['Layers']).toEqual([other]);
      expect(update(f).reason).toMatch(/Parameters and Secrets Lambda Extension/);
    });

    it('is not added when configured for the other architecture only, or already there (any version)', () => {
      const f1 = envFinding(redacted({ DB_PASSWORD }), cfg({ x86_64: x86 }))!;
      expect(update(f1).parameters).not.toHaveProperty('Layers');
      expect(f1.evidence['notes']).toEqual(['no extension layer is configured for arm64; none added']);
      const f2 = envFinding(
        redacted({ DB_PASSWORD }, { Layers: [{ Arn: arm.replace(/:12$/, ':9'), CodeSize: 1 }] }),
        cfg({ arm64: arm }),
      )!;
      expect(update(f2).parameters).not.toHaveProperty('Layers');
    });

    it('without the setting no Layers parameter is sent (UpdateFunctionConfiguration would replace the list)', () => {
      expect(update(envFinding(redacted({ DB_PASSWORD }))!).parameters).not.toHaveProperty('Layers');
    });
  });

  it('a variable whose <NAME>_SECRET_ARN exists already is reported but not moved', () => {
    const f = envFinding(
      redacted({ DB_PASSWORD, API_TOKEN, DB_PASSWORD_SECRET_ARN: 'arn:aws:secretsmanager:x' }),
    )!;
    expect(f.evidence['notes']).toEqual([
      'DB_PASSWORD: DB_PASSWORD_SECRET_ARN already exists; move it by hand',
    ]);
    expect(
      f.plan.steps.filter((s) => s.operation === 'CreateSecret').map((s) => s.parameters['Name']),
    ).toEqual([name('API_TOKEN')]);
  });

  it('an execution role in another account: reported, no plan', () => {
    const f = envFinding(redacted({ DB_PASSWORD }, { Role: 'arn:aws:iam::999999999999:role/shared' }))!;
    expect(f.plan).toEqual({ steps: [], preconditions: [] });
    expect(f.summary).toMatch(/No automatic fix/);
  });

  it('names: secret names never end with -xxxxxx; policy names fit IAM (128 characters) and stay distinct', () => {
    expect(secretName(DEFAULT_SECRETS_SETTINGS, 'fn', 'A_B')).toBe('lambda-guardrail/fn/A_B');
    expect(arnVariable('A_B')).toBe('A_B_SECRET_ARN');
    const fn = 'f'.repeat(64);
    const a = rolePolicyName(fn, `${'V'.repeat(80)}_ONE`);
    const b = rolePolicyName(fn, `${'V'.repeat(80)}_TWO`);
    expect(a.length).toBeLessThanOrEqual(128);
    expect(a).toMatch(/^[\w+=,.@-]+$/);
    expect(a).not.toBe(b);
  });

  it('after a URL fix on the same function, the RevisionId is re-read at apply time', () => {
    const f = envFinding(redacted({ DB_PASSWORD }))!;
    const url: Finding = {
      ...f,
      ruleId: 'X',
      plan: {
        steps: [
          {
            service: 'lambda',
            operation: 'UpdateFunctionUrlConfig',
            parameters: { FunctionName: FUNCTION_NAME },
            reason: '',
          },
        ],
        preconditions: [],
      },
    };
    const [, seq] = sequencePlans([url, f]);
    expect(seq.plan.steps.at(-1)?.parameters['RevisionId']).toEqual({
      fromFunctionRevision: { FunctionName: FUNCTION_NAME },
    });
    expect(sequencePlans([f])[0].plan.steps.at(-1)?.parameters['RevisionId']).toBe('fn-rev-0001');
  });
});

// ---- nothing leaks ------------------------------------------------------------------------------------

describe('no secret value in any plan, output or log', () => {
  const logs: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'guardrail-env-secret-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => vi.restoreAllMocks());
  const captureLogs = () => {
    const capture = (chunk: unknown) => {
      logs.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const)
      vi.spyOn(console, level).mockImplementation(
        (...a: unknown[]) => void logs.push(a.map(String).join(' ')),
      );
  };

  const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const EVENT = join(
    ROOT,
    'test',
    'fixtures',
    'cloudtrail',
    'panther-analysis__UpdateFunctionConfiguration20150331v2__1.json',
  );
  const fnName = JSON.parse(readFileSync(EVENT, 'utf8')).requestParameters.functionName as string;
  const write = (file: string, value: unknown) => {
    const p = join(tmp, file);
    writeFileSync(p, JSON.stringify(value));
    return p;
  };

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) }, () => NOW);
    return { code, text: [...out, ...err].join('\n') };
  }

  it('the core: plans, findings and both renderings of a plain-value snapshot', () => {
    captureLogs();
    for (const config of [AUTO, parseConfig({}), parseConfig({ mode: 'report' })]) {
      const e = run(raw(), config);
      const text = [
        JSON.stringify(e),
        JSON.stringify(evaluationJson(undefined, e)),
        evaluationTable(undefined, e),
      ].join('\n');
      expect(text).toContain('DB_PASSWORD');
      for (const v of VALUES) expect(text).not.toContain(v);
    }
    for (const v of VALUES) expect(logs.join('')).not.toContain(v);
  });

  it('`guardrail evaluate` on a snapshot holding the plain values: exit 1, JSON and table, and the logs', async () => {
    captureLogs();
    const snap = write('plain.json', { ...functionSnapshot({ name: fnName, environment: ENV }) });
    const config = write('auto.json', { rules: { 'LAMBDA.ENV.SECRET': { mode: 'auto' } } });
    const json = await cli(
      'evaluate',
      '--event',
      EVENT,
      '--snapshot',
      snap,
      '--config',
      config,
      '--format',
      'json',
    );
    const table = await cli('evaluate', '--event', EVENT, '--snapshot', snap, '--format', 'table');
    expect(json.code).toBe(1);
    expect(table.code).toBe(1);
    const doc = JSON.parse(json.text);
    const f = doc.findings.find((x: { ruleId: string }) => x.ruleId === 'LAMBDA.ENV.SECRET');
    expect(f.plan.steps.map((s: { operation: string }) => s.operation)).toContain(
      'UpdateFunctionConfiguration',
    );
    expect(table.text).toContain('LAMBDA.ENV.SECRET');
    for (const v of VALUES) {
      expect(json.text).not.toContain(v);
      expect(table.text).not.toContain(v);
      expect(logs.join('')).not.toContain(v);
    }
  });

  it('--fingerprint-key makes fingerprints reproducible; without one they are random per run', async () => {
    const snap = write('plain2.json', functionSnapshot({ name: fnName, environment: ENV }));
    const fp = async (...extra: string[]) => {
      const r = await cli('evaluate', '--event', EVENT, '--snapshot', snap, '--format', 'json', ...extra);
      const f = JSON.parse(r.text).findings.find((x: { ruleId: string }) => x.ruleId === 'LAMBDA.ENV.SECRET');
      return f.evidence.variables[0].fingerprint as string;
    };
    expect(await fp('--fingerprint-key', KEY)).toBe(fingerprint(DB_PASSWORD, KEY));
    expect(await fp('--fingerprint-key', KEY)).toBe(await fp('--fingerprint-key', KEY));
    expect(await fp()).not.toBe(await fp());
    vi.stubEnv('GUARDRAIL_FINGERPRINT_KEY', KEY);
    try {
      expect(await fp()).toBe(fingerprint(DB_PASSWORD, KEY));
    } finally {
      vi.unstubAllEnvs();
    }
    const short = await cli('evaluate', '--event', EVENT, '--snapshot', snap, '--fingerprint-key', 'short');
    expect(short.code).toBe(2);
    expect(short.text).toMatch(/16\+ characters/);
  });
});

// ---- rollback (core) ------------------------------------------------------------------------------

describe('rollback of a moved secret (core)', () => {
  const ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:lambda-guardrail/${FUNCTION_NAME}/DB_PASSWORD-AbCdEf`;
  const applied = (): LedgerRecord => {
    const f = envFinding(redacted({ DB_PASSWORD, TABLE_NAME: 'orders' }))!;
    const step = (
      i: number,
      status: 'applied' | 'undone',
      after: unknown,
      inverse?: Record<string, unknown>,
    ) => {
      const s = f.plan.steps[i];
      return {
        ruleId: f.ruleId,
        resourceArn: f.resourceArn,
        service: s.service,
        operation: s.operation,
        parameters: s.parameters,
        status,
        after,
        inverse: {
          service: s.inverse!.service,
          operation: s.inverse!.operation,
          parameters: inverse ?? s.inverse!.parameters,
        },
      };
    };
    return {
      pk: 'EXEC#x',
      sk: 'RECORD',
      day: NOW.slice(0, 10),
      recordedAt: NOW,
      executionName: 'x',
      target: { kind: 'function', arn: functionArn() },
      findings: [f],
      outcome: 'remediated',
      remediation: {
        status: 'applied',
        steps: [
          step(0, 'applied', { ARN }, { SecretId: ARN, ForceDeleteWithoutRecovery: true }),
          step(1, 'applied', null),
          step(2, 'applied', {
            SecretArnVariables: { DB_PASSWORD_SECRET_ARN: ARN },
            Variables: ['DB_PASSWORD_SECRET_ARN', 'TABLE_NAME'],
          }),
        ],
      },
    };
  };

  it('replays the inverses newest first: environment, grant, secret', () => {
    const p = rollbackPlan(applied());
    expect(p.findings.map((f) => f.plan.steps[0].operation)).toEqual([
      'UpdateFunctionConfiguration',
      'DeleteRolePolicy',
      'DeleteSecret',
    ]);
    expect(p.functionName).toBe(FUNCTION_NAME);
  });

  it('steps undone by the executor are not rolled back again', () => {
    const r = applied();
    for (const s of r.remediation!.steps) s.status = 'undone';
    expect(() => rollbackPlan(r)).toThrow(/nothing to roll back/);
  });

  it('is refused when the function no longer reads the secret, or the variable is set again', () => {
    const fresh = (env: Record<string, string>) => functionSnapshot({ environment: env });
    expect(rollbackDrift(applied(), fresh({ DB_PASSWORD_SECRET_ARN: ARN, TABLE_NAME: 'orders' }))).toEqual(
      [],
    );
    expect(
      rollbackDrift(applied(), fresh({ DB_PASSWORD_SECRET_ARN: 'arn:other', TABLE_NAME: 'orders' })),
    ).toEqual([
      `DB_PASSWORD_SECRET_ARN of ${FUNCTION_NAME} no longer holds ${ARN}; the function reads another value now`,
    ]);
    const again = rollbackDrift(
      applied(),
      fresh({ DB_PASSWORD_SECRET_ARN: ARN, DB_PASSWORD: 'new-value-123' }),
    );
    expect(again).toEqual([
      `DB_PASSWORD of ${FUNCTION_NAME} is set again; restoring it would overwrite that value`,
    ]);
    expect(JSON.stringify(again)).not.toContain('new-value-123');
    expect(
      rollbackDrift(
        applied(),
        clone({ account: ACCOUNT, region: REGION, responses: { GetFunctionConfiguration: null } }),
      ),
    ).toEqual([`${FUNCTION_NAME} no longer exists`]);
  });
});
