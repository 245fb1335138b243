/**
 * `guardrail scan`, `guardrail report` and the sweep against the emulator, seeded with a mixed account:
 * a compliant and a non-compliant function for every rule, an active and an expired exemption, a
 * secret in an environment variable, 60 more plain functions (more than one ListFunctions page: AWS
 * returns at most 50 per page; moto returns everything at once, so scripts/local/moto_patches.py makes
 * it page like AWS, and this file checks that it did) and three execution roles shared by all of them.
 *
 * Order matters: the dry-run tests run first and prove the scan changed nothing; the sweep runs last,
 * in auto mode, and does change things (through the workflow, like the deployed sweep).
 */
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import {
  GetFunctionConfigurationCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListTagsCommand,
  paginateListFunctions,
} from '@aws-sdk/client-lambda';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import { body, createClients } from '../../functions/aws/clients.ts';
import { ledgerRecordsBetween } from '../../functions/aws/ledger-report.ts';
import { SCAN_CLIENT_OPTIONS, scanAccount } from '../../functions/aws/scan.ts';
import { runSweep } from '../../functions/aws/sweep.ts';
import { parseConfig } from '../../functions/core/config.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { SCAN_FORMATS, type ScanReport } from '../../functions/core/report/index.ts';
import { RULES, ruleById } from '../../functions/core/rules/index.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { type EmulatorHandle, emulatorClientConfig, startEmulator } from '../../scripts/local/emulator.ts';
import { LocalGuardrail } from '../../scripts/local/runtime.ts';
import {
  DEMO_ACCOUNT as ACCOUNT,
  lambdaEvent,
  DEMO_REGION as REGION,
  seedLayer,
} from '../../scripts/local/seed.ts';
import { type MixedAccount, seedMixedAccount } from '../../scripts/local/seed-account.ts';
import { asffProblems, validateSarif, validateScanReport } from '../report-validators.ts';

const LEDGER_TABLE = 'lambda-guardrail-ledger';
let emu: EmulatorHandle;
let acct: MixedAccount;
let lambda: LambdaClient;
let iam: IAMClient;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  emu = await startEmulator({ log: (s) => console.error(s) });
  // The CLI builds its clients from the environment (as it does against AWS): fake credentials.
  for (const [k, v] of Object.entries({
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: REGION,
  })) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  const cfg = emulatorClientConfig(emu.endpoint, REGION);
  lambda = new LambdaClient(cfg);
  iam = new IAMClient(cfg);
  acct = await seedMixedAccount(emu.endpoint, { prefix: `mix${randomUUID().slice(0, 4)}` });
}, 300_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  logger.setLogLevel('INFO');
  lambda?.destroy();
  iam?.destroy();
  await emu?.stop();
});

// ---- helpers --------------------------------------------------------------------------------------

/** The emulator's whole Lambda and IAM state, as the API returns it, serialized. */
async function accountState(): Promise<string> {
  const fns: Record<string, unknown>[] = [];
  for await (const page of paginateListFunctions({ client: lambda }, {}))
    fns.push(...((page.Functions ?? []) as Record<string, unknown>[]));
  const names = fns.map((f) => f.FunctionName as string).sort();
  const per = await Promise.all(
    names.map(async (FunctionName) => {
      const arn = fns.find((f) => f.FunctionName === FunctionName)!.FunctionArn as string;
      const read = async (p: Promise<object>) => {
        try {
          return body(await p);
        } catch (err) {
          return { error: (err as Error).name };
        }
      };
      return {
        FunctionName,
        configuration: await read(lambda.send(new GetFunctionConfigurationCommand({ FunctionName }))),
        url: await read(lambda.send(new GetFunctionUrlConfigCommand({ FunctionName }))),
        policy: await read(lambda.send(new GetPolicyCommand({ FunctionName }))),
        tags: await read(lambda.send(new ListTagsCommand({ Resource: arn }))),
        aliases: await read(lambda.send(new ListAliasesCommand({ FunctionName }))),
      };
    }),
  );
  const roles = body(await iam.send(new ListRolesCommand({ MaxItems: 1000 })));
  return JSON.stringify({
    functions: fns.sort((a, b) => String(a.FunctionName).localeCompare(String(b.FunctionName))),
    per,
    roles,
  });
}

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const mine = (r: ScanReport) => r.resources.filter((x) => x.name.startsWith(`${acct.prefix}-`));

/**
 * A loopback proxy in front of the emulator that answers some Lambda requests itself: Lambda's REST
 * API names the function in the path (`GET /2015-03-31/functions/<name>/policy` is GetPolicy).
 */
async function faultProxy(
  target: string,
  fault: (method: string, path: string) => { status: number; type: string; message: string } | undefined,
) {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '');
    seen.push(`${req.method} ${path}`);
    const f = fault(req.method ?? 'GET', path);
    if (f) {
      res.writeHead(f.status, { 'content-type': 'application/json', 'x-amzn-errortype': f.type });
      res.end(JSON.stringify({ Type: 'User', message: f.message }));
      return;
    }
    const t = new URL(target);
    const up = request(
      {
        host: t.hostname,
        port: t.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: t.host },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

// ---- scan -----------------------------------------------------------------------------------------

describe('guardrail scan against the emulator (a mixed account)', () => {
  let report: ScanReport;
  let outputs: Record<string, string>;
  let calls: Map<string, number>;
  let before: string;
  let after: string;

  beforeAll(async () => {
    before = await accountState();
    const clients = createClients({
      endpoint: emu.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      ...SCAN_CLIENT_OPTIONS,
    });
    report = await scanAccount({ clients, regions: [REGION], now: () => new Date().toISOString() });
    calls = clients.calls;
    outputs = {};
    for (const format of SCAN_FORMATS) {
      const r = await cli('scan', '--region', REGION, '--endpoint-url', emu.endpoint, '--format', format);
      expect(r.code, r.stderr).toBe(1);
      outputs[format] = r.stdout;
    }
    after = await accountState();
  }, 300_000);

  it('is a dry run: after a scan and one CLI scan per format, the account is byte-for-byte unchanged', () => {
    expect(before.length).toBeGreaterThan(50_000);
    expect(before).toContain(`${acct.prefix}-url-public`);
    expect(after).toBe(before);
  });

  it('reads more than one ListFunctions page and every function', () => {
    expect(calls.get('lambda:ListFunctions')).toBeGreaterThanOrEqual(2);
    expect(mine(report)).toHaveLength(acct.functions.length);
    expect(acct.functions.length).toBeGreaterThan(50);
  });

  it('finds exactly what each seeded function should have, for every rule in the registry', () => {
    const byName = Object.fromEntries(mine(report).map((r) => [r.name, r]));
    const expected = (f: MixedAccount['functions'][number]) =>
      [
        ...f.expect,
        ...(f.name.endsWith('-env-secret') && ruleById('LAMBDA.ENV.SECRET') ? ['LAMBDA.ENV.SECRET'] : []),
      ].sort();
    for (const f of acct.functions) {
      const r = byName[f.name];
      expect([...new Set(r.findings.map((x) => x.ruleId))].sort(), f.name).toEqual(expected(f));
      const want = expected(f).length ? (f.exempt ? 'exempt' : 'non-compliant') : 'compliant';
      expect(r.status, f.name).toBe(want);
      // every rule was evaluated on every function
      expect(r.results.map((x) => x.ruleId)).toEqual(RULES.map((x) => x.id));
    }
    // every function rule so far has a compliant and a non-compliant function in this account, except:
    const notSeeded: Record<string, string> = {
      'LAMBDA.VPC.REQUIRED':
        'applies only with vpcRequired configured; this scan runs with the default config',
      'LAMBDA.TRACING': 'opt-in: not evaluated with the default config',
      'LAMBDA.LAYER.UNTRUSTED':
        'not seeded yet: needs a layer published from a second account in the emulator',
      'LAMBDA.RUNTIME.DEPRECATED':
        'not seeded: findings depend on the real clock here (the scan runs with the current time); unit tests pin the dates',
      'LAMBDA.LOGS.UNMASKED':
        'not applicable on the emulator: moto 5.2.5 has no CloudWatch Logs data protection (test/aws/collect-context.test.ts covers AWS)',
      'LAMBDA.VULNERABLE':
        'Inspector is not enabled in this emulated account: the scan states it once (notices); test/integration/checklist-b.test.ts enables it',
    };
    for (const rule of RULES.filter((x) => x.resource === 'function' && !(x.id in notSeeded))) {
      const hit = mine(report).filter((r) => r.findings.some((f) => f.ruleId === rule.id && !f.exempt));
      const clean = mine(report).filter(
        (r) => r.results.find((x) => x.ruleId === rule.id)?.status === 'COMPLIANT',
      );
      expect(hit.length, rule.id).toBeGreaterThan(0);
      expect(clean.length, rule.id).toBeGreaterThan(0);
    }
  });

  it('shared roles: three roles for all the functions', () => {
    expect(new Set(mine(report).map((r) => r.roleArn))).toEqual(new Set(acct.roles));
  });

  it('every format is valid, and no format holds the secret value', () => {
    expect(validateScanReport(JSON.parse(outputs.json))).toEqual([]);
    expect(validateSarif(JSON.parse(outputs.sarif))).toEqual([]);
    const asff = JSON.parse(outputs.asff).Findings as Record<string, unknown>[];
    expect(asff.length).toBeGreaterThan(0);
    for (const f of asff) expect(asffProblems(f)).toEqual([]);
    expect(outputs.html).toMatch(/^<!DOCTYPE html>/);
    expect(outputs.markdown).toMatch(/^# Lambda Guardrail scan report/);
    expect(outputs.table).toMatch(/^Lambda Guardrail scan \(dry run/);
    for (const [format, text] of Object.entries(outputs)) {
      expect(text.includes(acct.secretValue), format).toBe(false);
      expect(text, format).toContain(`${acct.prefix}-url-public`);
    }
    // same findings whichever way the scan ran (the CLI also reads the execution roles: IAM.ROLE rules)
    const cliReport = JSON.parse(outputs.json) as ScanReport;
    expect(
      mine(cliReport)
        .filter((r) => r.kind === 'function')
        .map((r) => [r.name, r.status]),
    ).toEqual(mine(report).map((r) => [r.name, r.status]));
  });

  it('finds what the workflow finds (same collector, same engine)', async () => {
    const g = new LocalGuardrail({
      endpoint: emu.endpoint,
      region: REGION,
      logLevel: 'SILENT',
      config: { mode: 'report' },
    });
    await g.setup();
    for (const f of acct.functions.filter((x) => x.expect.length && !x.name.endsWith('-env-secret'))) {
      const r = (await g.ingest(
        lambdaEvent('CreateFunctionUrlConfig', { functionName: f.name, authType: 'NONE' }),
      )) as { executionName: string };
      const record = (await g.ledgerRecord(r.executionName)) as LedgerRecord;
      const scanned = report.resources.find((x) => x.name === f.name)!;
      const shape = (
        xs: { ruleId: string; resourceArn: string; plan: { steps: unknown[] }; exempt: boolean }[],
      ) =>
        xs
          .map((x) => ({
            ruleId: x.ruleId,
            resourceArn: x.resourceArn,
            steps: x.plan.steps,
            exempt: x.exempt,
          }))
          .sort((a, b) => a.ruleId.localeCompare(b.ruleId));
      expect(shape(scanned.findings), f.name).toEqual(shape(record.findings));
    }
  });

  it('--all-regions scans the regions the account has enabled (ec2:DescribeRegions)', async () => {
    const r = await cli(
      'scan',
      '--all-regions',
      '--endpoint-url',
      emu.endpoint,
      '--format',
      'json',
      '--rules',
      'LAMBDA.URL.PUBLIC',
    );
    expect(r.code).toBe(1);
    const regions = (JSON.parse(r.stdout) as ScanReport).regions;
    expect(regions).toContain(REGION);
    expect(regions.length).toBeGreaterThan(10);
  }, 120_000);
});

describe('reads that fail: throttled and denied (through a faulting proxy)', () => {
  it('a throttled read is retried (adaptive), a denied one is reported, and the scan goes on', async () => {
    const throttled = `${acct.prefix}-url-public`;
    const denied = `${acct.prefix}-filler-001`;
    let throttledOnce = false;
    const proxy = await faultProxy(emu.endpoint, (method, path) => {
      if (
        method === 'GET' &&
        path.startsWith(`/2015-03-31/functions/${throttled}/policy`) &&
        !throttledOnce
      ) {
        throttledOnce = true;
        return { status: 429, type: 'TooManyRequestsException', message: 'Rate exceeded' };
      }
      if (method === 'GET' && path.startsWith(`/2015-03-31/functions/${denied}/policy`)) {
        return {
          status: 403,
          type: 'AccessDeniedException',
          message: `User is not authorized to perform: lambda:GetPolicy on resource: ${denied}`,
        };
      }
      return undefined;
    });
    try {
      const clients = createClients({
        endpoint: proxy.endpoint,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        ...SCAN_CLIENT_OPTIONS,
      });
      const r = await scanAccount({ clients, regions: [REGION], now: () => new Date().toISOString() });
      const byName = Object.fromEntries(r.resources.map((x) => [x.name, x]));
      expect(throttledOnce).toBe(true);
      expect(
        proxy.seen.filter((s) => s.startsWith(`GET /2015-03-31/functions/${throttled}/policy`)),
      ).toHaveLength(2);
      expect(byName[throttled].status).toBe('non-compliant');
      expect(byName[denied]).toMatchObject({
        status: 'unreadable',
        error: { error: 'AccessDeniedException' },
      });
      expect(r.errors.map((e) => e.name)).toEqual([denied]);
      expect(mine(r).filter((x) => x.status === 'unreadable')).toHaveLength(1);
      expect(mine(r)).toHaveLength(acct.functions.length);
    } finally {
      await proxy.close();
    }
  });
});

// ---- report (the ledger) ---------------------------------------------------------------------------

describe('guardrail report against the emulator ledger', () => {
  it('renders what the workflow recorded, and by whom (Scan of the table without the byDay index)', async () => {
    const g = new LocalGuardrail({
      endpoint: emu.endpoint,
      region: REGION,
      logLevel: 'SILENT',
      config: { mode: 'report' },
    });
    await g.setup();
    const actorArn = `arn:aws:iam::${ACCOUNT}:user/report-tester`;
    const r = (await g.ingest(
      lambdaEvent(
        'CreateFunctionUrlConfig',
        { functionName: `${acct.prefix}-url-public`, authType: 'NONE' },
        { actorArn },
      ),
    )) as { executionName: string };
    const since = new Date(Date.now() - 3600_000).toISOString();
    const out = await cli(
      'report',
      '--since',
      since,
      '--table',
      LEDGER_TABLE,
      '--region',
      REGION,
      '--endpoint-url',
      emu.endpoint,
      '--format',
      'json',
    );
    expect(out.code, out.stderr).toBe(0);
    const rep = JSON.parse(out.stdout);
    const entry = rep.entries.find((x: { executionName: string }) => x.executionName === r.executionName);
    expect(entry).toMatchObject({ outcome: 'reported', categories: ['found'], actor: { arn: actorArn } });
    expect(rep.summary.byCategory.found).toBeGreaterThan(0);
    const table = await cli(
      'report',
      '--since',
      since,
      '--table',
      LEDGER_TABLE,
      '--region',
      REGION,
      '--endpoint-url',
      emu.endpoint,
    );
    expect(table.stdout).toContain(`by ${actorArn}`);
  });

  it('queries the byDay index when the table has it', async () => {
    const table = `ledger-gsi-${randomUUID().slice(0, 6)}`;
    const ddb = new DynamoDBClient(emulatorClientConfig(emu.endpoint, REGION));
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'day', AttributeType: 'S' },
          { AttributeName: 'recordedAt', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byDay',
            KeySchema: [
              { AttributeName: 'day', KeyType: 'HASH' },
              { AttributeName: 'recordedAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    const doc = DynamoDBDocumentClient.from(ddb);
    const rec = (name: string, at: string): LedgerRecord => ({
      pk: `EXEC#${name}`,
      sk: 'RECORD',
      day: at.slice(0, 10),
      recordedAt: at,
      executionName: name,
      findings: [],
      outcome: 'compliant',
    });
    for (const [n, at] of [
      ['a', '2025-06-09T23:59:59.000Z'],
      ['b', '2025-06-10T00:00:01.000Z'],
      ['c', '2025-06-12T12:00:00.000Z'],
      ['d', '2025-06-14T00:00:00.000Z'],
    ] as const) {
      await doc.send(new PutCommand({ TableName: table, Item: rec(n, at) }));
    }
    const clients = createClients({
      endpoint: emu.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const got = await ledgerRecordsBetween(
      clients,
      REGION,
      table,
      '2025-06-10T00:00:00.000Z',
      '2025-06-13T23:59:59.999Z',
    );
    expect(got.via).toBe('index');
    expect(got.records.map((x) => x.executionName).sort()).toEqual(['b', 'c']);
    const viaScan = await ledgerRecordsBetween(
      clients,
      REGION,
      LEDGER_TABLE,
      '2025-06-10T00:00:00.000Z',
      '2025-06-13T23:59:59.999Z',
    );
    expect(viaScan.via).toBe('scan');
    ddb.destroy();
  });
});

// ---- the sweep (last: in auto mode it changes the account) -----------------------------------------

describe('the sweep against the emulator', () => {
  it('reports to S3, runs one workflow execution per function (auto mode), emails the digest', async () => {
    const cfg = emulatorClientConfig(emu.endpoint, REGION);
    const bucket = `sweep-reports-${randomUUID().slice(0, 8)}`;
    const s3 = new S3Client(cfg);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const ses = new SESv2Client(cfg);
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'guardrail@example.com' }));
    const config = { approvers: ['security@example.com'], approvalSender: 'guardrail@example.com' };
    const g = new LocalGuardrail({ endpoint: emu.endpoint, region: REGION, logLevel: 'SILENT', config });
    await g.setup();
    // A public layer version (LAMBDA.LAYER.PUBLIC, auto) whose CloudTrail event was missed, and a private one.
    const publicLayer = await seedLayer(emu.endpoint, {
      name: `${acct.prefix}-layer-public`,
      permissions: [{ StatementId: 'everyone', Action: 'lambda:GetLayerVersion', Principal: '*' }],
    });
    const privateLayer = await seedLayer(emu.endpoint, { name: `${acct.prefix}-layer-private` });
    const startedEvents: NormalizedEvent[] = [];
    const before = mine(
      await scanAccount({
        clients: createClients({
          endpoint: emu.endpoint,
          credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        }),
        regions: [REGION],
        now: () => new Date().toISOString(),
      }),
    );
    const clients = createClients({
      endpoint: emu.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      ...SCAN_CLIENT_OPTIONS,
    });
    const result = await runSweep({
      clients,
      config: parseConfig({ homeRegion: REGION, ...config }),
      region: REGION,
      account: ACCOUNT,
      stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:lambda-guardrail`,
      reportBucket: bucket,
      now: () => new Date().toISOString(),
      start: (event) => {
        startedEvents.push(event);
        return g.deps.startExecution!(event);
      },
      // The functions' rules: role executions (IAM.ROLE, approve by default) would also wait for a
      // person; the execution-role workflow is covered by test/integration/iam-role.test.ts.
      rules: RULES.filter((r) => r.resource !== 'role'),
    });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(
      ['latest.json', result.reportKeys.html, result.reportKeys.json].sort(),
    );
    const latest = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'latest.json' }));
    const stored = JSON.parse(await latest.Body!.transformToString()) as ScanReport;
    expect(validateScanReport(stored)).toEqual([]);
    expect(JSON.stringify(stored).includes(acct.secretValue)).toBe(false);
    expect(result.executions.failed).toEqual([]);
    expect(result.executions.started).toBeGreaterThanOrEqual(acct.functions.length);
    expect(result.digest.emailed).toBe(1);
    // the executions were named for the sweep, and the auto findings were fixed by the workflow
    const names = [...g.executions.keys()];
    expect(names.filter((n) => !/^sweep-\d{8}T\d{4}-[0-9a-f]{16}$/.test(n))).toEqual([]);
    // Every execution succeeded, except those asking a person (approve-mode findings, e.g. a secret).
    expect(
      [...g.executions.values()].filter((e) => e.status !== 'SUCCEEDED' && e.status !== 'WAITING'),
    ).toEqual([]);
    // One waiting execution per function whose findings include one enforcement asks a person for
    // (the secret, the confused deputy, ...), as the dry-run scan before the sweep reported them.
    const needPerson = before.filter(
      (r) => r.kind === 'function' && r.findings.some((f) => !f.exempt && f.enforcementMode === 'approve'),
    );
    expect(needPerson.length).toBeGreaterThan(0);
    const waiting = g.waitingExecutions();
    expect(waiting.length).toBe(needPerson.length);
    // Layer versions: an execution for the public one only (the private one has no finding).
    const layerEvents = startedEvents.flatMap((e) =>
      e.resources.layerArn?.includes(`:layer:${acct.prefix}-`) ? [e.resources.layerArn] : [],
    );
    expect(layerEvents).toEqual([publicLayer.arn]);
    expect(before.find((r) => r.arn === privateLayer.arn)?.status).toBe('compliant');
    expect(before.find((r) => r.arn === publicLayer.arn)?.status).toBe('non-compliant');
    await g.close();
    const after = mine(
      await scanAccount({
        clients: createClients({
          endpoint: emu.endpoint,
          credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        }),
        regions: [REGION],
        now: () => new Date().toISOString(),
      }),
    );
    const status = (rs: typeof before, name: string) =>
      rs.find((r) => r.name === `${acct.prefix}-${name}`)!.status;
    expect(status(before, 'url-public')).toBe('non-compliant');
    expect(status(after, 'url-public')).toBe('compliant');
    expect(status(after, 'exempt')).toBe('exempt');
    // the sweep's execution removed the public statement of the layer version
    expect(after.find((r) => r.arn === publicLayer.arn)?.status).toBe('compliant');
    // the ledger says it was the sweep
    const out = await cli(
      'report',
      '--since',
      new Date(Date.now() - 600_000).toISOString(),
      '--table',
      LEDGER_TABLE,
      '--region',
      REGION,
      '--endpoint-url',
      emu.endpoint,
      '--format',
      'json',
    );
    const swept = JSON.parse(out.stdout).entries.filter((x: { origin?: string }) => x.origin === 'sweep');
    // one record per finished execution (those waiting for a person have none yet)
    expect(swept.length).toBeGreaterThanOrEqual(acct.functions.length - waiting.length);
    expect(swept.some((x: { outcome: string }) => x.outcome === 'remediated')).toBe(true);
    s3.destroy();
    ses.destroy();
  }, 300_000);
});
