import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.ts';

/**
 * `guardrail snapshot` against mocked Lambda and STS: it writes the documented format, with
 * environment values redacted, and what it writes is what `guardrail evaluate` reads.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FX = join(ROOT, 'test', 'fixtures', 'cli');
const fixture = JSON.parse(readFileSync(join(FX, 'snapshot-public.json'), 'utf8'));
const ACCOUNT = '880896431042';
const REGION = 'ca-centralnorth-1r';
const NAME = 'stratus-red-team-backdoor-f-func';
const ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${NAME}`;
const SECRET = 'debug-token-4f9a1c2e7b3d8a6f';
const NOW = '2024-08-02T00:00:00.000Z';

const lambda = mockClient(LambdaClient);
const sts = mockClient(STSClient);
const tmp = mkdtempSync(join(tmpdir(), 'guardrail-snapshot-'));

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) }, () => NOW);
  return { code, out, err, stdout: out.join('\n') };
}

/** Serves the fixture's function, with a real value in its environment (what AWS returns). */
function serve() {
  const r = fixture.responses;
  const $metadata = { httpStatusCode: 200, requestId: 'r' };
  lambda.on(GetFunctionConfigurationCommand).resolves({
    $metadata,
    ...r.GetFunctionConfiguration,
    Environment: { Variables: { LOG_LEVEL: SECRET } },
  });
  lambda.on(ListTagsCommand).resolves({ $metadata, ...r.ListTags });
  lambda.on(ListAliasesCommand).resolves({ $metadata, ...r.ListAliases });
  lambda.on(ListFunctionUrlConfigsCommand).resolves({ $metadata, ...r.ListFunctionUrlConfigs });
  lambda.on(GetPolicyCommand).resolves({ $metadata, ...r.GetPolicy });
  // No asynchronous invocation settings: AWS answers ResourceNotFoundException (the fixture's null).
  lambda
    .on(GetFunctionEventInvokeConfigCommand)
    .rejects(new ResourceNotFoundException({ message: 'no EventInvokeConfig', $metadata: {} }));
}

beforeEach(() => {
  lambda.reset();
  sts.reset();
  serve();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/alice` });
});
afterEach(() => vi.unstubAllEnvs());
afterAll(() => {
  lambda.restore();
  sts.restore();
  rmSync(tmp, { recursive: true, force: true });
});

describe('guardrail snapshot', () => {
  it('--function <arn> prints the snapshot in the exact fixture format, environment values redacted', async () => {
    const r = await run('snapshot', '--function', ARN);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(JSON.parse(r.stdout)).toEqual(fixture);
    expect(r.stdout).not.toContain(SECRET);
    // The account came from the ARN: no STS call.
    expect(sts).not.toHaveReceivedAnyCommand();
    expect(lambda).toHaveReceivedCommandWith(GetFunctionConfigurationCommand, { FunctionName: NAME });
  });

  it('--function <name> --region: the account comes from sts:GetCallerIdentity', async () => {
    const r = await run('snapshot', '--function', NAME, '--region', REGION);
    expect(r.code).toBe(0);
    expect(sts).toHaveReceivedCommandTimes(GetCallerIdentityCommand, 1);
    expect(JSON.parse(r.stdout).account).toBe(ACCOUNT);
  });

  it('the region can come from AWS_REGION', async () => {
    vi.stubEnv('AWS_REGION', REGION);
    const r = await run('snapshot', '--function', NAME);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).region).toBe(REGION);
  });

  it('--output writes the file (what evaluate reads) and says so on stderr', async () => {
    const file = join(tmp, 'snap.json');
    const r = await run('snapshot', '--function', ARN, '--output', file);
    expect(r).toMatchObject({ code: 0, out: [], err: [`wrote ${file}`] });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text)).toEqual(fixture);

    const e = await run(
      'evaluate',
      '--event',
      join(FX, 'event-addpermission.json'),
      '--snapshot',
      file,
      '--format',
      'json',
    );
    expect(e.code).toBe(1);
    expect(JSON.parse(e.stdout).findings.map((f: { ruleId: string }) => f.ruleId)).toEqual([
      'LAMBDA.POLICY.PUBLIC',
    ]);
  });

  it('a function without a policy is written with GetPolicy: null', async () => {
    lambda
      .on(GetPolicyCommand)
      .rejects(new ResourceNotFoundException({ message: 'No policy', $metadata: {} }));
    const r = await run('snapshot', '--function', ARN);
    expect(JSON.parse(r.stdout).responses.GetPolicy).toBeNull();
  });

  it('no region anywhere -> exit 2 with one line', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    const r = await run('snapshot', '--function', NAME);
    expect(r).toMatchObject({
      code: 2,
      out: [],
      err: ['guardrail: no region: pass --region or a function ARN, or set AWS_REGION'],
    });
    expect(lambda).not.toHaveReceivedAnyCommand();
  });

  it('no --function -> exit 2', async () => {
    const r = await run('snapshot');
    expect(r).toMatchObject({ code: 2, err: ['guardrail: snapshot needs --function <name|arn>'] });
  });

  it('an invalid function name -> exit 2, nothing read', async () => {
    const r = await run('snapshot', '--function', 'bad name!', '--region', REGION);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^guardrail: invalid function name/);
    expect(lambda).not.toHaveReceivedAnyCommand();
  });

  it('missing credentials -> exit 2 with one line, no stack trace', async () => {
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    const r = await run('snapshot', '--function', NAME, '--region', REGION);
    expect(r).toMatchObject({
      code: 2,
      err: ['guardrail: AWS credentials problem: Could not load credentials from any providers'],
    });
  });
});
