/**
 * Pins down how the local emulator (moto, pinned in scripts/local/emulator.ts)
 * behaves for the AWS calls Lambda Guardrail relies on.
 *
 * Every assertion is written the way the emulator ACTUALLY behaves: moto as
 * started by startEmulator(), i.e. with scripts/local/moto_patches.py applied.
 * Where moto differs from real AWS, a `MOTO DIFFERS` comment says what real AWS
 * does, so code under test must not depend on the moto-only behaviour. Where
 * moto 5.2.5 itself differs but moto_patches.py restores AWS's behaviour, the
 * assertion is the AWS behaviour and a `PATCHED` comment says so: these tests
 * fail if a patch stops applying (e.g. after a moto upgrade).
 * See docs/emulator-notes.md.
 *
 * One emulator is started for the whole file (the first run installs moto into
 * .venv-emulator, hence the long beforeAll timeout).
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateRoleCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionUrlConfigCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  PublishVersionCommand,
  RemovePermissionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateFunctionConfigurationCommand,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmulatorHandle,
  emulatorClientConfig,
  MOTO_REQUIREMENT,
  MOTO_VERSION,
  resetEmulator,
  startEmulator,
} from '../../scripts/local/emulator.ts';

const REGION = 'us-east-1';
/** moto's default account id. */
const ACCOUNT = '123456789012';

let emu: EmulatorHandle;
let lambda: LambdaClient;
let iam: IAMClient;

interface AwsError extends Error {
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

/** Awaits a call that must fail and returns the SDK error. */
async function failure(p: Promise<unknown>): Promise<AwsError> {
  try {
    await p;
  } catch (err) {
    return err as AwsError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

// --- tiny zip writer (one stored file), so no zip dependency is needed ------
function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function zipOneFile(name: string, content: string): Uint8Array {
  const data = Buffer.from(content);
  const fileName = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(local.length + fileName.length + data.length, 16);
  return Buffer.concat([local, fileName, data, central, fileName, end]);
}

const CODE = zipOneFile(
  'index.mjs',
  'export const handler = async (event) => ({ statusCode: 200, body: "ok" });\n',
);

const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

async function createRole(name = 'guardrail-test-fn-role'): Promise<string> {
  const res = await iam.send(
    new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST_POLICY }),
  );
  return res.Role?.Arn as string;
}

async function createFunction(
  name: string,
  roleArn: string,
  extra: { env?: Record<string, string>; tags?: Record<string, string> } = {},
) {
  return lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: roleArn,
      Code: { ZipFile: CODE },
      Environment: extra.env ? { Variables: extra.env } : undefined,
      Tags: extra.tags,
    }),
  );
}

async function getPolicy(name: string, qualifier?: string) {
  const res = await lambda.send(new GetPolicyCommand({ FunctionName: name, Qualifier: qualifier }));
  return {
    revisionId: res.RevisionId as string,
    doc: JSON.parse(res.Policy as string) as { Statement: Record<string, unknown>[] },
  };
}

beforeAll(async () => {
  // First run installs moto into .venv-emulator (about a minute); show progress.
  emu = await startEmulator({ log: (s) => console.error(s) });
  const cfg = emulatorClientConfig(emu.endpoint, REGION);
  lambda = new LambdaClient(cfg);
  iam = new IAMClient(cfg);
}, 300_000);

afterAll(async () => {
  lambda?.destroy();
  iam?.destroy();
  await emu?.stop();
});

describe('emulator manager', () => {
  it('pins moto and listens on loopback', () => {
    expect(MOTO_VERSION).toBe('5.2.5');
    expect(MOTO_REQUIREMENT).toBe('moto[server]==5.2.5');
    expect(emu.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.endpoint).toBe(`http://127.0.0.1:${emu.port}`);
  });

  it('applies {"lambda":{"use_docker":false}}', async () => {
    const res = await fetch(`${emu.endpoint}/moto-api/config`);
    const cfg = (await res.json()) as { lambda: { use_docker: boolean } };
    expect(cfg.lambda.use_docker).toBe(false);
  });

  it('client config is explicit and refuses real AWS endpoints', () => {
    const cfg = emulatorClientConfig(emu.endpoint);
    expect(cfg).toMatchObject({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      useFipsEndpoint: false,
      useDualstackEndpoint: false,
    });
    expect(() => emulatorClientConfig('https://lambda.us-east-1.amazonaws.com')).toThrow(/real AWS/);
    expect(() => emulatorClientConfig('https://sts.amazonaws.com.cn')).toThrow(/real AWS/);
  });

  it('developer AWS_* env vars cannot redirect or re-credential emulator clients', async () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_PROFILE = 'guardrail-profile-that-does-not-exist';
      process.env.AWS_ACCESS_KEY_ID = 'AKIAREALLOOKINGKEY00';
      process.env.AWS_SECRET_ACCESS_KEY = 'not-a-real-secret';
      process.env.AWS_REGION = 'eu-west-1';
      process.env.AWS_ENDPOINT_URL = 'https://sts.amazonaws.com';
      process.env.AWS_ENDPOINT_URL_STS = 'https://sts.amazonaws.com';
      const sts = new STSClient(emulatorClientConfig(emu.endpoint));
      const me = await sts.send(new GetCallerIdentityCommand({}));
      sts.destroy();
      // moto answers with its default account: the call went to the emulator.
      expect(me.Account).toBe(ACCOUNT);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('resetEmulator wipes state and keeps use_docker=false', async () => {
    const role = await createRole('reset-probe-role');
    await createFunction('reset-probe', role);
    await resetEmulator(emu.endpoint);
    const err = await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'reset-probe' })));
    expect(err.name).toBe('ResourceNotFoundException');
    const cfg = (await (await fetch(`${emu.endpoint}/moto-api/config`)).json()) as {
      lambda: { use_docker: boolean };
    };
    expect(cfg.lambda.use_docker).toBe(false);
  });
});

describe('a. CreateFunction / GetFunctionConfiguration', () => {
  let roleArn: string;
  beforeAll(async () => {
    await resetEmulator(emu.endpoint);
    roleArn = await createRole();
  });

  it('creates a zip function without Docker and returns Environment variables', async () => {
    const created = await createFunction('fn-a', roleArn, { env: { STAGE: 'dev', API_KEY: 'sk_live_abc' } });
    expect(created.FunctionArn).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn-a`);
    expect(created.State).toBe('Active'); // moto: Active immediately (real AWS: usually Pending first)

    const cfg = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-a' }));
    expect(cfg.Environment?.Variables).toEqual({ STAGE: 'dev', API_KEY: 'sk_live_abc' });
    expect(cfg.Runtime).toBe('nodejs20.x');
    expect(cfg.Handler).toBe('index.handler');
    expect(cfg.Role).toBe(roleArn);
    expect(cfg.LastUpdateStatus).toBe('Successful');
  });

  it('ListFunctions pages like AWS: MaxItems per page (at most 50), NextMarker, Marker', async () => {
    await createFunction('fn-page-1', roleArn);
    await createFunction('fn-page-2', roleArn);
    // PATCHED: moto 5.2.5 returns every function in one response and ignores MaxItems/Marker; AWS
    // returns at most 50 per page with a NextMarker (moto_patches.py, patch 6).
    const names: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await lambda.send(
        new ListFunctionsCommand({ MaxItems: 1, ...(marker ? { Marker: marker } : {}) }),
      );
      expect(page.Functions!.length).toBeLessThanOrEqual(1);
      names.push(...page.Functions!.map((f) => f.FunctionName!));
      marker = page.NextMarker;
      pages++;
    } while (marker);
    expect(pages).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['fn-a', 'fn-page-1', 'fn-page-2']));
    const all = await lambda.send(new ListFunctionsCommand({}));
    expect(all.NextMarker).toBeUndefined();
    expect(all.Functions!.map((f) => f.FunctionName).sort()).toEqual([...names].sort());
  });

  it('GetFunctionConfiguration returns a function RevisionId', async () => {
    const cfg = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-a' }));
    // PATCHED: real AWS always returns RevisionId on FunctionConfiguration (GetFunction,
    // GetFunctionConfiguration, Create/UpdateFunctionConfiguration); moto 5.2.5 never does, and
    // moto_patches.py (patch 5) restores it.
    expect(cfg.RevisionId).toMatch(/^[0-9a-f-]{36}$/);
    const full = await lambda.send(new GetFunctionCommand({ FunctionName: 'fn-a' }));
    expect(full.Configuration?.RevisionId).toBe(cfg.RevisionId);
  });

  it('UpdateFunctionConfiguration honours RevisionId (stale -> 412, nothing changes; current -> new RevisionId)', async () => {
    const before = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-a' }));
    const err = await failure(
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'fn-a',
          Environment: { Variables: { STAGE: 'dev' } },
          RevisionId: '00000000-0000-0000-0000-000000000000',
        }),
      ),
    );
    // PATCHED: moto 5.2.5 ignores RevisionId; real AWS rejects a stale one with
    // PreconditionFailedException (412) and changes nothing (moto_patches.py, patch 5).
    expect(err.name).toBe('PreconditionFailedException');
    expect(err.$metadata?.httpStatusCode).toBe(412);
    const unchanged = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-a' }));
    expect(unchanged.Environment?.Variables).toEqual(before.Environment?.Variables);
    expect(unchanged.RevisionId).toBe(before.RevisionId);

    const res = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'fn-a',
        Environment: { Variables: { STAGE: 'dev' } },
        RevisionId: before.RevisionId,
      }),
    );
    expect(res.Environment?.Variables).toEqual({ STAGE: 'dev' });
    // PATCHED: every configuration update issues a new RevisionId, as on AWS.
    expect(res.RevisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.RevisionId).not.toBe(before.RevisionId);
    expect(res.LastUpdateStatus).toBe('Successful'); // moto: at once (AWS: InProgress first)
  });

  it('clearing all variables removes Environment from the response in moto', async () => {
    await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'fn-a', Environment: { Variables: {} } }),
    );
    const cfg = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-a' }));
    // Code must treat a missing Environment and empty Variables the same way.
    expect(cfg.Environment).toBeUndefined();
  });

  it('CreateFunction validates that the role exists', async () => {
    const err = await failure(createFunction('fn-no-role', `arn:aws:iam::${ACCOUNT}:role/does-not-exist`));
    expect(err.name).toBe('InvalidParameterValueException');
    expect(err.message).toMatch(/cannot be assumed by Lambda/);
  });

  it('Invoke (use_docker=false) echoes the request payload', async () => {
    const res = await lambda.send(
      new InvokeCommand({ FunctionName: 'fn-a', Payload: Buffer.from('{"ping":1}') }),
    );
    expect(res.StatusCode).toBe(200);
    // MOTO DIFFERS: the code is never executed; the payload is echoed back
    // (empty payload -> "Simple Lambda happy path OK").
    expect(Buffer.from(res.Payload as Uint8Array).toString()).toBe('{"ping":1}');
  });
});

describe('b. Function URL config', () => {
  let roleArn: string;
  beforeAll(async () => {
    await resetEmulator(emu.endpoint);
    roleArn = await createRole();
    await createFunction('fn-url', roleArn);
  });

  it('Get/Delete/Update without a URL config', async () => {
    const get = await failure(lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'fn-url' })));
    expect(get.name).toBe('ResourceNotFoundException');
    expect(get.$metadata?.httpStatusCode).toBe(404);

    const upd = await failure(
      lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'fn-url', AuthType: 'AWS_IAM' })),
    );
    // MOTO DIFFERS: moto crashes (HTTP 500, HTML body -> SDK deserialization error);
    // real AWS returns ResourceNotFoundException (404).
    expect(upd.$metadata?.httpStatusCode).toBe(500);
    expect(upd.name).not.toBe('ResourceNotFoundException');
  });

  it('CreateFunctionUrlConfig AuthType NONE with Cors, then GetFunctionUrlConfig', async () => {
    const created = await lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'fn-url',
        AuthType: 'NONE',
        Cors: { AllowOrigins: ['*'], AllowMethods: ['GET'] },
      }),
    );
    // MOTO DIFFERS (cosmetic): real URLs end with '/', moto's do not; real
    // InvokeMode is 'BUFFERED', moto says 'Buffered'.
    expect(created.FunctionUrl).toMatch(/^https:\/\/[a-z0-9]+\.lambda-url\.us-east-1\.on\.aws\/?$/);
    expect(created.AuthType).toBe('NONE');
    expect(created.FunctionArn).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn-url`);

    const got = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'fn-url' }));
    expect(got.FunctionUrl).toBe(created.FunctionUrl);
    expect(got.AuthType).toBe('NONE');
    expect(got.Cors).toEqual({ AllowOrigins: ['*'], AllowMethods: ['GET'] });
  });

  it('UpdateFunctionUrlConfig to AWS_IAM without Cors keeps the existing Cors', async () => {
    const upd = await lambda.send(
      new UpdateFunctionUrlConfigCommand({ FunctionName: 'fn-url', AuthType: 'AWS_IAM' }),
    );
    // Same as real AWS (partial update: omitted fields are left unchanged).
    expect(upd.AuthType).toBe('AWS_IAM');
    expect(upd.Cors).toEqual({ AllowOrigins: ['*'], AllowMethods: ['GET'] });
    const got = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'fn-url' }));
    expect(got.AuthType).toBe('AWS_IAM');
    expect(got.Cors).toEqual({ AllowOrigins: ['*'], AllowMethods: ['GET'] });

    const withCors = await lambda.send(
      new UpdateFunctionUrlConfigCommand({
        FunctionName: 'fn-url',
        Cors: { AllowOrigins: ['https://example.com'] },
      }),
    );
    expect(withCors.AuthType).toBe('AWS_IAM');
    expect(withCors.Cors).toEqual({ AllowOrigins: ['https://example.com'] });
  });

  it('ListFunctionUrlConfigs is not implemented by moto (404, non-JSON body)', async () => {
    const err = await failure(lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'fn-url' })));
    // MOTO DIFFERS: real AWS implements it (GET /2021-10-31/functions/{name}/urls).
    // moto has no route: HTTP 404 with an HTML page, which the SDK surfaces as a
    // deserialization error (not a modeled Lambda exception). Use
    // GetFunctionUrlConfig per qualifier instead when running against moto.
    expect(err.$metadata?.httpStatusCode).toBe(404);
    expect(err.name).not.toBe('ResourceNotFoundException');
    expect(err.message).toMatch(/Deserialization error/);
  });

  it('CreateFunctionUrlConfig twice silently replaces the config', async () => {
    const before = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'fn-url' }));
    const again = await lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'fn-url', AuthType: 'NONE' }),
    );
    // MOTO DIFFERS: real AWS fails with ResourceConflictException (409).
    expect(again.AuthType).toBe('NONE');
    expect(again.FunctionUrl).not.toBe(before.FunctionUrl); // new URL
    expect(again.Cors).toBeUndefined(); // old Cors dropped
  });

  it('URL APIs accept Qualifier (alias) but moto ignores it: one URL per function', async () => {
    await lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'fn-url' }));
    await lambda.send(new PublishVersionCommand({ FunctionName: 'fn-url' }));
    await lambda.send(new CreateAliasCommand({ FunctionName: 'fn-url', Name: 'live', FunctionVersion: '1' }));

    const unqualified = await lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'fn-url', AuthType: 'AWS_IAM' }),
    );
    const aliased = await lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'fn-url', Qualifier: 'live', AuthType: 'NONE' }),
    );
    // MOTO DIFFERS: real AWS keeps a separate URL per alias ($LATEST and 'live'
    // both exist) and returns the qualified ARN (...:function:fn-url:live).
    expect(aliased.FunctionArn).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn-url`);
    const viaAlias = await lambda.send(
      new GetFunctionUrlConfigCommand({ FunctionName: 'fn-url', Qualifier: 'live' }),
    );
    const viaLatest = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'fn-url' }));
    expect(viaAlias.FunctionUrl).toBe(aliased.FunctionUrl);
    expect(viaLatest.FunctionUrl).toBe(aliased.FunctionUrl); // unqualified URL was overwritten
    expect(viaLatest.FunctionUrl).not.toBe(unqualified.FunctionUrl);
    expect(viaLatest.AuthType).toBe('NONE');

    // Deleting "the alias URL" deletes the only URL.
    await lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'fn-url', Qualifier: 'live' }));
    const gone = await failure(lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'fn-url' })));
    expect(gone.name).toBe('ResourceNotFoundException');

    // MOTO DIFFERS: a non-existent alias is accepted (real AWS: ResourceNotFoundException).
    const bogus = await lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'fn-url',
        Qualifier: 'no-such-alias',
        AuthType: 'NONE',
      }),
    );
    expect(bogus.AuthType).toBe('NONE');
  });
});

describe('c. Resource policy: AddPermission / GetPolicy / RemovePermission', () => {
  let roleArn: string;
  beforeAll(async () => {
    await resetEmulator(emu.endpoint);
    roleArn = await createRole();
  });

  it('GetPolicy on a function without a policy -> ResourceNotFoundException', async () => {
    await createFunction('fn-nopolicy', roleArn);
    const err = await failure(lambda.send(new GetPolicyCommand({ FunctionName: 'fn-nopolicy' })));
    // Same error name as real AWS ("The resource you requested does not exist.").
    expect(err.name).toBe('ResourceNotFoundException');
    expect(err.$metadata?.httpStatusCode).toBe(404);
    const noFn = await failure(lambda.send(new GetPolicyCommand({ FunctionName: 'fn-missing' })));
    expect(noFn.name).toBe('ResourceNotFoundException');
  });

  it('AddPermission statements have AWS shapes (public URL pair, service+SourceArn, account, org)', async () => {
    await createFunction('fn-perm', roleArn);
    const fnArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn-perm`;
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-perm',
        StatementId: 'public-url',
        Action: 'lambda:InvokeFunctionUrl',
        Principal: '*',
        FunctionUrlAuthType: 'NONE',
      }),
    );
    // The SDK (3.1164) models InvokedViaFunctionUrl and moto accepts it.
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-perm',
        StatementId: 'public-invoke-via-url',
        Action: 'lambda:InvokeFunction',
        Principal: '*',
        InvokedViaFunctionUrl: true,
      }),
    );
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-perm',
        StatementId: 'events-rule',
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/nightly`,
        SourceAccount: ACCOUNT,
      }),
    );
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-perm',
        StatementId: 'other-account',
        Action: 'lambda:InvokeFunction',
        Principal: '210987654321',
      }),
    );
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-perm',
        StatementId: 'org-callers',
        Action: 'lambda:InvokeFunction',
        Principal: '*',
        PrincipalOrgID: 'o-a1b2c3d4e5',
      }),
    );
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-perm',
        StatementId: 'org-url',
        Action: 'lambda:InvokeFunctionUrl',
        Principal: '*',
        FunctionUrlAuthType: 'NONE',
        PrincipalOrgID: 'o-a1b2c3d4e5',
      }),
    );

    const res = await lambda.send(new GetPolicyCommand({ FunctionName: 'fn-perm' }));
    expect(typeof res.Policy).toBe('string'); // JSON string, parse it
    expect(typeof res.RevisionId).toBe('string');
    const policy = JSON.parse(res.Policy as string);
    expect(policy).toMatchObject({ Version: '2012-10-17', Id: 'default' });
    const bySid = Object.fromEntries(policy.Statement.map((s: { Sid: string }) => [s.Sid, s]));

    // PATCHED: moto 5.2.5 copies FunctionUrlAuthType / InvokedViaFunctionUrl as
    // top-level statement keys ("FunctionUrlAuthType": "NONE", "InvokedViaFunctionUrl": true).
    // AWS stores them as conditions, and moto_patches.py (patch 1) restores that shape.
    expect(bySid['public-url']).toEqual({
      Sid: 'public-url',
      Effect: 'Allow',
      Principal: '*',
      Action: 'lambda:InvokeFunctionUrl',
      Resource: fnArn,
      Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
    });
    expect(bySid['public-invoke-via-url']).toEqual({
      Sid: 'public-invoke-via-url',
      Effect: 'Allow',
      Principal: '*',
      Action: 'lambda:InvokeFunction',
      Resource: fnArn,
      Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
    });
    // Same shape as real AWS (unpatched).
    expect(bySid['events-rule']).toEqual({
      Sid: 'events-rule',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'lambda:InvokeFunction',
      Resource: fnArn,
      Condition: {
        ArnLike: { 'AWS:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/nightly` },
        StringEquals: { 'AWS:SourceAccount': ACCOUNT },
      },
    });
    // PATCHED: moto 5.2.5 keeps a bare account id as the Principal string;
    // AWS expands it, and moto_patches.py (patch 2) restores that.
    expect(bySid['other-account']).toEqual({
      Sid: 'other-account',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::210987654321:root' },
      Action: 'lambda:InvokeFunction',
      Resource: fnArn,
    });
    // Same shape as real AWS (unpatched).
    expect(bySid['org-callers']).toEqual({
      Sid: 'org-callers',
      Effect: 'Allow',
      Principal: '*',
      Action: 'lambda:InvokeFunction',
      Resource: fnArn,
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
    });
    // PATCHED: both conditions share the StringEquals block, as in AWS.
    expect(bySid['org-url'].Condition).toEqual({
      StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5', 'lambda:FunctionUrlAuthType': 'NONE' },
    });
    expect(bySid['org-url']).not.toHaveProperty('FunctionUrlAuthType');
  });

  it('AddPermission with both SourceAccount and PrincipalOrgID loses the org condition in moto', async () => {
    await createFunction('fn-org-acct', roleArn);
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-org-acct',
        StatementId: 'both',
        Action: 'lambda:InvokeFunction',
        Principal: 's3.amazonaws.com',
        SourceAccount: ACCOUNT,
        PrincipalOrgID: 'o-a1b2c3d4e5',
      }),
    );
    const { doc } = await getPolicy('fn-org-acct');
    // MOTO DIFFERS (not patched): moto merges each condition as a whole operator block, so
    // SourceAccount's StringEquals replaces PrincipalOrgID's. AWS keeps both keys under StringEquals.
    // Seed statements with at most one StringEquals condition when the exact shape matters.
    expect(doc.Statement[0].Condition).toEqual({ StringEquals: { 'AWS:SourceAccount': ACCOUNT } });
  });

  it('AddPermission with a duplicate StatementId is accepted (duplicated) by moto', async () => {
    await createFunction('fn-dup', roleArn);
    const add = () =>
      lambda.send(
        new AddPermissionCommand({
          FunctionName: 'fn-dup',
          StatementId: 'dup',
          Action: 'lambda:InvokeFunction',
          Principal: '*',
        }),
      );
    await add();
    await add();
    // MOTO DIFFERS: real AWS fails the second call with ResourceConflictException (409).
    const { doc } = await getPolicy('fn-dup');
    expect(doc.Statement.filter((s) => s.Sid === 'dup')).toHaveLength(2);
  });

  it('policy RevisionId: changes on Add/RemovePermission only; never equals the function RevisionId', async () => {
    await createFunction('fn-rev', roleArn);
    const addStmt = (sid: string) =>
      lambda.send(
        new AddPermissionCommand({
          FunctionName: 'fn-rev',
          StatementId: sid,
          Action: 'lambda:InvokeFunction',
          Principal: '*',
        }),
      );

    await addStmt('s1');
    const r1 = (await getPolicy('fn-rev')).revisionId;
    await addStmt('s2');
    const r2 = (await getPolicy('fn-rev')).revisionId;
    expect(r2).not.toBe(r1); // AddPermission -> new RevisionId (as in real AWS)

    await lambda.send(new RemovePermissionCommand({ FunctionName: 'fn-rev', StatementId: 's2' }));
    const r3 = (await getPolicy('fn-rev')).revisionId;
    // PATCHED: moto 5.2.5 keeps the policy RevisionId on RemovePermission; AWS
    // issues a new RevisionId on every policy change, and moto_patches.py (patch 4)
    // restores that.
    expect(r3).not.toBe(r2);
    expect(r3).not.toBe(r1);

    await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'fn-rev', AuthType: 'NONE' }));
    await lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'fn-rev', AuthType: 'AWS_IAM' }));
    const r4 = (await getPolicy('fn-rev')).revisionId;
    expect(r4).toBe(r3); // moto: URL config changes do not touch the policy revision

    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'fn-rev',
        Environment: { Variables: { X: '1' } },
      }),
    );
    const r5 = (await getPolicy('fn-rev')).revisionId;
    // moto: config updates do not touch the policy revision. Real AWS: the
    // function RevisionId changes on UpdateFunctionConfiguration; whether the
    // policy RevisionId follows is not documented, so always re-read GetPolicy
    // right before a conditional Add/RemovePermission.
    expect(r5).toBe(r4);

    const cfg = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-rev' }));
    // PATCHED (patch 5): the function has its own RevisionId; it is not the policy's.
    expect(cfg.RevisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(cfg.RevisionId).not.toBe(r5);
  });

  it('RemovePermission honours RevisionId (wrong -> 412, right -> removed)', async () => {
    await createFunction('fn-rm', roleArn);
    for (const sid of ['pub', 'pub2']) {
      await lambda.send(
        new AddPermissionCommand({
          FunctionName: 'fn-rm',
          StatementId: sid,
          Action: 'lambda:InvokeFunction',
          Principal: '*',
        }),
      );
    }
    const { revisionId } = await getPolicy('fn-rm');

    const wrong = await failure(
      lambda.send(
        new RemovePermissionCommand({
          FunctionName: 'fn-rm',
          StatementId: 'pub',
          RevisionId: 'a3c1b6e0-0000-4000-8000-000000000000',
        }),
      ),
    );
    expect(wrong.name).toBe('PreconditionFailedException'); // as in real AWS
    expect(wrong.$metadata?.httpStatusCode).toBe(412);
    expect((await getPolicy('fn-rm')).revisionId).toBe(revisionId); // a rejected call changes nothing

    // PATCHED: moto 5.2.5 compares the policy revision with the raw query-string
    // list, so it rejects EVERY RevisionId, the right one included. AWS removes the
    // statement when the RevisionId matches; moto_patches.py (patch 3) restores that.
    await lambda.send(
      new RemovePermissionCommand({ FunctionName: 'fn-rm', StatementId: 'pub', RevisionId: revisionId }),
    );
    const after = await getPolicy('fn-rm');
    expect(after.doc.Statement.map((s) => s.Sid)).toEqual(['pub2']);

    // The old RevisionId is now stale (patch 4: a removal issues a new one).
    const stale = await failure(
      lambda.send(
        new RemovePermissionCommand({ FunctionName: 'fn-rm', StatementId: 'pub2', RevisionId: revisionId }),
      ),
    );
    expect(stale.name).toBe('PreconditionFailedException');

    // Without a RevisionId the removal is unconditional (as in real AWS).
    await lambda.send(new RemovePermissionCommand({ FunctionName: 'fn-rm', StatementId: 'pub2' }));
    // Last statement removed -> no policy -> ResourceNotFoundException (as in real AWS).
    const none = await failure(lambda.send(new GetPolicyCommand({ FunctionName: 'fn-rm' })));
    expect(none.name).toBe('ResourceNotFoundException');

    const missingSid = await failure(
      lambda.send(new RemovePermissionCommand({ FunctionName: 'fn-rm', StatementId: 'nope' })),
    );
    expect(missingSid.name).toBe('ResourceNotFoundException'); // as in real AWS (message differs)
  });

  it('AddPermission honours RevisionId (wrong -> 412, right -> ok)', async () => {
    await createFunction('fn-addrev', roleArn);
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-addrev',
        StatementId: 'a',
        Action: 'lambda:InvokeFunction',
        Principal: '*',
      }),
    );
    const { revisionId } = await getPolicy('fn-addrev');
    const wrong = await failure(
      lambda.send(
        new AddPermissionCommand({
          FunctionName: 'fn-addrev',
          StatementId: 'b',
          Action: 'lambda:InvokeFunction',
          Principal: 's3.amazonaws.com',
          RevisionId: 'stale-revision',
        }),
      ),
    );
    expect(wrong.name).toBe('PreconditionFailedException');
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-addrev',
        StatementId: 'b',
        Action: 'lambda:InvokeFunction',
        Principal: 's3.amazonaws.com',
        RevisionId: revisionId,
      }),
    );
    expect((await getPolicy('fn-addrev')).doc.Statement).toHaveLength(2);
  });

  it('AddPermission/GetPolicy accept Qualifier (alias) but moto keeps ONE policy per function', async () => {
    await createFunction('fn-q', roleArn);
    await lambda.send(new PublishVersionCommand({ FunctionName: 'fn-q' }));
    await lambda.send(new CreateAliasCommand({ FunctionName: 'fn-q', Name: 'live', FunctionVersion: '1' }));
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-q',
        StatementId: 'latest',
        Action: 'lambda:InvokeFunction',
        Principal: '*',
      }),
    );
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'fn-q',
        Qualifier: 'live',
        StatementId: 'alias',
        Action: 'lambda:InvokeFunction',
        Principal: '*',
      }),
    );
    const aliasPolicy = await getPolicy('fn-q', 'live');
    const latestPolicy = await getPolicy('fn-q');
    const fnArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn-q`;
    // The alias statement's Resource is qualified (as in real AWS)...
    expect(aliasPolicy.doc.Statement.find((s) => s.Sid === 'alias')?.Resource).toBe(`${fnArn}:live`);
    // MOTO DIFFERS: ...but moto stores both statements in the same policy, so
    // the unqualified and the alias GetPolicy return the same document. Real AWS
    // has one policy per version/alias: 'latest' only on the function, 'alias'
    // only on fn-q:live.
    expect(latestPolicy.doc).toEqual(aliasPolicy.doc);
    expect(latestPolicy.doc.Statement.map((s) => s.Sid).sort()).toEqual(['alias', 'latest']);

    const noAlias = await failure(
      lambda.send(new GetPolicyCommand({ FunctionName: 'fn-q', Qualifier: 'nope' })),
    );
    expect(noAlias.name).toBe('ResourceNotFoundException');
  });
});

describe('d. Tags', () => {
  beforeAll(async () => {
    await resetEmulator(emu.endpoint);
    await createFunction('fn-tags', await createRole(), { tags: { team: 'payments' } });
  });

  it('ListTags / TagResource / UntagResource on the function ARN', async () => {
    const arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn-tags`;
    expect((await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags).toEqual({ team: 'payments' });

    await lambda.send(new TagResourceCommand({ Resource: arn, Tags: { 'guardrail:quarantined': 'true' } }));
    expect((await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags).toEqual({
      team: 'payments',
      'guardrail:quarantined': 'true',
    });

    await lambda.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['team'] }));
    expect((await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags).toEqual({
      'guardrail:quarantined': 'true',
    });

    // GetFunction also returns the tags.
    expect((await lambda.send(new GetFunctionCommand({ FunctionName: 'fn-tags' }))).Tags).toEqual({
      'guardrail:quarantined': 'true',
    });
  });
});

describe('e. IAM', () => {
  beforeAll(async () => {
    await resetEmulator(emu.endpoint);
    await createRole('iam-probe-role');
  });

  it('GetRolePolicy returns the PolicyDocument URL-encoded (like real AWS); the SDK does not decode it', async () => {
    const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'iam-probe-role',
        PolicyName: 'wild',
        PolicyDocument: JSON.stringify(doc),
      }),
    );
    const res = await iam.send(new GetRolePolicyCommand({ RoleName: 'iam-probe-role', PolicyName: 'wild' }));
    expect(res.PolicyDocument).toMatch(/^%7B/);
    expect(JSON.parse(decodeURIComponent(res.PolicyDocument as string))).toEqual(doc);

    // The trust policy from GetRole is URL-encoded too.
    const role = await iam.send(new GetRoleCommand({ RoleName: 'iam-probe-role' }));
    expect(JSON.parse(decodeURIComponent(role.Role?.AssumeRolePolicyDocument as string))).toEqual(
      JSON.parse(TRUST_POLICY),
    );

    const missing = await failure(
      iam.send(new GetRolePolicyCommand({ RoleName: 'iam-probe-role', PolicyName: 'nope' })),
    );
    expect(missing.name).toBe('NoSuchEntityException');
  });

  it('PutRolePolicy rejects invalid JSON with MalformedPolicyDocumentException', async () => {
    const err = await failure(
      iam.send(
        new PutRolePolicyCommand({
          RoleName: 'iam-probe-role',
          PolicyName: 'bad',
          PolicyDocument: '{not json',
        }),
      ),
    );
    expect(err.name).toBe('MalformedPolicyDocumentException');
    expect(err.$metadata?.httpStatusCode).toBe(400);
  });

  it('PutRolePolicy without "Version" is rejected by moto', async () => {
    const err = await failure(
      iam.send(
        new PutRolePolicyCommand({
          RoleName: 'iam-probe-role',
          PolicyName: 'noversion',
          PolicyDocument: JSON.stringify({
            Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
          }),
        }),
      ),
    );
    // MOTO DIFFERS: real IAM accepts a policy without Version (defaults to
    // 2008-10-17). Always write "Version": "2012-10-17" in fixtures and fixes.
    expect(err.name).toBe('MalformedPolicyDocumentException');
  });
});

describe('f. SSM and DynamoDB', () => {
  beforeAll(async () => {
    await resetEmulator(emu.endpoint);
  });

  it('SSM PutParameter / GetParameter (SecureString)', async () => {
    const ssm = new SSMClient(emulatorClientConfig(emu.endpoint, REGION));
    await ssm.send(
      new PutParameterCommand({ Name: '/guardrail/test/secret', Value: 's3cr3t', Type: 'SecureString' }),
    );
    const dec = await ssm.send(
      new GetParameterCommand({ Name: '/guardrail/test/secret', WithDecryption: true }),
    );
    expect(dec.Parameter?.Value).toBe('s3cr3t');
    expect(dec.Parameter?.Type).toBe('SecureString');
    const enc = await ssm.send(new GetParameterCommand({ Name: '/guardrail/test/secret' }));
    // MOTO DIFFERS (cosmetic): without decryption moto returns
    // "kms:alias/aws/ssm:<value>"; real AWS returns an opaque ciphertext.
    expect(enc.Parameter?.Value).not.toBe('s3cr3t');
    ssm.destroy();
  });

  it('DynamoDB CreateTable / PutItem (conditional) / GetItem', async () => {
    const ddb = new DynamoDBClient(emulatorClientConfig(emu.endpoint, REGION));
    const table = await ddb.send(
      new CreateTableCommand({
        TableName: 'guardrail-test',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    // moto: ACTIVE immediately (real AWS: CREATING first; use a waiter there).
    expect(table.TableDescription?.TableStatus).toBe('ACTIVE');
    const put = () =>
      ddb.send(
        new PutItemCommand({
          TableName: 'guardrail-test',
          Item: { pk: { S: 'fn#1' }, n: { N: '1' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    await put();
    const dup = await failure(put());
    expect(dup.name).toBe('ConditionalCheckFailedException');
    const got = await ddb.send(
      new GetItemCommand({ TableName: 'guardrail-test', Key: { pk: { S: 'fn#1' } }, ConsistentRead: true }),
    );
    expect(got.Item).toEqual({ pk: { S: 'fn#1' }, n: { N: '1' } });
    ddb.destroy();
  });
});
