import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListFunctionUrlConfigsCommand,
  ListLayersCommand,
  ListTagsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { collectFunction } from '../../functions/aws/collect.ts';
import { createLimiter, mapLimit } from '../../functions/aws/limit.ts';
import {
  DEFAULT_COLLECTORS,
  SCAN_CLIENT_OPTIONS,
  type ScanProgress,
  scanAccount,
} from '../../functions/aws/scan.ts';
import { importFindings } from '../../functions/aws/securityhub.ts';
import { runSweep } from '../../functions/aws/sweep.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { toAsff } from '../../functions/core/report/asff.ts';
import {
  renderScanReport,
  SCAN_FORMATS,
  type ScanReport,
  scanExitCode,
} from '../../functions/core/report/index.ts';
import { RULES } from '../../functions/core/rules/index.ts';
import type { Rule } from '../../functions/core/types.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { makeSweep, sweepDepsFromEnv } from '../../functions/handlers/sweep.ts';
import { PROJECT_ROOT } from '../../lib/functions.ts';
import { asffProblems, validateSarif, validateScanReport } from '../report-validators.ts';
import { ACCOUNT, functionArn, functionUrl, NOW, REGION } from '../unit/helpers.ts';

/**
 * The scan's read side with SDK mocks: every page of ListFunctions, bounded concurrency, one read per
 * role, and reads that fail (access denied, throttled past the retries, deleted meanwhile, a region
 * that cannot be listed) reported without stopping the scan. Then Security Hub import batches and the
 * sweep (S3, Step Functions, SES) with mocks. The emulator runs are in test/integration/scan.test.ts.
 */

const lambda = mockClient(LambdaClient);
const sts = mockClient(STSClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const ses = mockClient(SESv2Client);
const hub = mockClient(SecurityHubClient);

const SECRET = 'sk_live_51HxXdQ2eZvKYlo2C0aBcDeFgHiJkLmNoP';
const awsError = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
const notFound = () =>
  new ResourceNotFoundException({ message: 'Function not found', $metadata: { httpStatusCode: 404 } });

const roleOf = (i: number) => `arn:aws:iam::${ACCOUNT}:role/app-role-${i % 3}`;
const config = (name: string, i = 0) => ({
  FunctionName: name,
  FunctionArn: functionArn(name),
  Role: roleOf(i),
  Runtime: 'nodejs22.x',
  Environment: {
    Variables: { TABLE: 'orders', ...(name === 'fn-secret' ? { STRIPE_SECRET_KEY: SECRET } : {}) },
  },
});
const publicPolicy = (name: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'open',
        Effect: 'Allow',
        Principal: '*',
        Action: 'lambda:InvokeFunction',
        Resource: functionArn(name),
      },
    ],
  });

/** 57 functions: more than one ListFunctions page (50). */
const NAMES = [
  'fn-public',
  'fn-denied',
  'fn-throttled',
  'fn-vanishing',
  'fn-secret',
  ...Array.from({ length: 52 }, (_, i) => `fn-plain-${i}`),
];

function mockAccount() {
  lambda.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
  lambda.on(ListFunctionsCommand).callsFake((input: { Marker?: string; MaxItems?: number }) => {
    const start = input.Marker ? Number(input.Marker) : 0;
    const size = Math.min(input.MaxItems ?? 50, 50);
    const page = NAMES.slice(start, start + size).map((n, i) => config(n, start + i));
    return { Functions: page, ...(start + size < NAMES.length ? { NextMarker: String(start + size) } : {}) };
  });
  lambda
    .on(GetFunctionConfigurationCommand)
    .callsFake(({ FunctionName }) => config(FunctionName, NAMES.indexOf(FunctionName)));
  lambda.on(ListTagsCommand).callsFake(({ Resource }) => {
    if (Resource.endsWith(':fn-vanishing')) throw notFound(); // deleted between two reads
    return { Tags: {} };
  });
  lambda.on(ListAliasesCommand).resolves({ Aliases: [] });
  // No event invoke configs and no layers (test/aws/layer.test.ts scans layers).
  lambda.on(GetFunctionEventInvokeConfigCommand).rejects(notFound());
  lambda.on(ListLayersCommand).resolves({ Layers: [] });
  lambda.on(ListFunctionUrlConfigsCommand).callsFake(({ FunctionName }) => ({
    FunctionUrlConfigs:
      FunctionName === 'fn-public'
        ? [
            {
              FunctionUrl: functionUrl(FunctionName),
              FunctionArn: functionArn(FunctionName),
              AuthType: 'AWS_IAM',
            },
          ]
        : [],
  }));
  lambda.on(GetFunctionUrlConfigCommand).rejects(notFound());
  lambda.on(GetPolicyCommand).callsFake(({ FunctionName }) => {
    if (FunctionName === 'fn-denied')
      throw awsError(
        'AccessDeniedException',
        403,
        `User is not authorized to perform: lambda:GetPolicy on ${FunctionName}`,
      );
    if (FunctionName === 'fn-throttled') throw awsError('TooManyRequestsException', 429, 'Rate exceeded');
    if (FunctionName === 'fn-public') return { Policy: publicPolicy(FunctionName), RevisionId: 'rev-1' };
    throw notFound();
  });
}

const scan = (over: Partial<Parameters<typeof scanAccount>[0]> = {}) =>
  scanAccount({ clients: createClients({ maxAttempts: 1 }), regions: [REGION], now: () => NOW, ...over });

beforeEach(() => mockAccount());

describe('scanAccount (SDK mocks)', () => {
  it('reads every page of ListFunctions and every function', async () => {
    const r = await scan();
    expect(lambda).toHaveReceivedCommandTimes(ListFunctionsCommand, 2);
    expect(lambda.commandCalls(ListFunctionsCommand)[1].args[0].input).toMatchObject({ Marker: '50' });
    expect(r.summary.resources).toBe(NAMES.length);
    expect(new Set(r.resources.map((x) => x.name))).toEqual(new Set(NAMES));
    expect(lambda).toHaveReceivedCommandTimes(GetFunctionConfigurationCommand, NAMES.length);
  });

  it('a denied and a throttled read are reported, the deleted one is gone, and the scan goes on', async () => {
    const r = await scan();
    const by = Object.fromEntries(r.resources.map((x) => [x.name, x]));
    expect(by['fn-denied']).toMatchObject({
      status: 'unreadable',
      error: { error: 'AccessDeniedException' },
    });
    expect(by['fn-throttled']).toMatchObject({
      status: 'unreadable',
      error: { error: 'TooManyRequestsException', message: 'Rate exceeded' },
    });
    expect(by['fn-vanishing'].status).toBe('deleted');
    expect(by['fn-public'].status).toBe('non-compliant');
    expect(by['fn-public'].findings.map((f) => f.ruleId)).toEqual(['LAMBDA.POLICY.PUBLIC']);
    expect(by['fn-plain-51'].status).toBe('compliant');
    expect(r.errors.map((e) => e.name).sort()).toEqual(['fn-denied', 'fn-throttled']);
    expect(scanExitCode(r)).toBe(1);
    // The report of a partly failed scan is still valid in every format.
    expect(validateScanReport(r)).toEqual([]);
    expect(validateSarif(JSON.parse(renderScanReport(r, 'sarif')))).toEqual([]);
    for (const f of toAsff(r)) expect(asffProblems(f)).toEqual([]);
  });

  it('secret values read from the environment reach no format', async () => {
    const r = await scan();
    for (const format of SCAN_FORMATS)
      expect(renderScanReport(r, format).includes(SECRET), format).toBe(false);
  });

  it('a region that cannot be listed is reported; the other regions are scanned', async () => {
    lambda.on(ListFunctionsCommand).callsFake(async function (this: unknown, input: { Marker?: string }) {
      return { Functions: input.Marker ? [] : [config('fn-plain-0')] };
    });
    const clients = createClients({ maxAttempts: 1 });
    const denied = clients.get(LambdaClient, 'eu-west-1');
    const send = denied.send.bind(denied);
    denied.send = ((cmd: unknown) =>
      cmd instanceof ListFunctionsCommand
        ? Promise.reject(
            awsError(
              'UnrecognizedClientException',
              403,
              'The security token included in the request is invalid',
            ),
          )
        : send(cmd as never)) as typeof denied.send;
    const r = await scanAccount({ clients, regions: [REGION, 'eu-west-1'], now: () => NOW });
    expect(r.errors).toEqual([
      {
        scope: 'region',
        region: 'eu-west-1',
        error: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid',
      },
    ]);
    expect(r.resources.map((x) => x.name)).toEqual(['fn-plain-0']);
    expect(r.regions).toEqual([REGION, 'eu-west-1']);
  });

  it('a bug in our own code is not "unreadable": it surfaces', async () => {
    await expect(
      scan({
        collectors: {
          function: async () => {
            throw new TypeError('cannot read x of undefined');
          },
        },
      }),
    ).rejects.toThrow(TypeError);
  });

  it('the account comes from sts:GetCallerIdentity unless given', async () => {
    expect((await scan()).account).toBe(ACCOUNT);
    sts.reset();
    expect((await scan({ account: '999999999999' })).account).toBe('999999999999');
    expect(sts).not.toHaveReceivedAnyCommand();
  });

  it('never sends more reads at once than the concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const r = await scan({
      concurrency: 3,
      collectors: {
        function: async (clients, target) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((res) => setTimeout(res, 2));
          try {
            return await collectFunction(clients, target);
          } finally {
            inFlight--;
          }
        },
      },
    });
    expect(r.summary.resources).toBe(NAMES.length);
    expect(peak).toBe(3);
  });

  it('reads each execution role once, however many functions share it (role collector plug-in)', async () => {
    const reads: string[] = [];
    const roleRule: Rule = {
      id: 'TEST.ROLE.READ',
      title: 'test role rule',
      severity: 'LOW',
      rationale: '',
      knownFalsePositives: [],
      triggers: [],
      resource: 'role',
      defaultMode: 'report',
      fix: '',
      evaluate: () => ({ status: 'COMPLIANT' }),
    };
    const r = await scan({
      rules: [...RULES, roleRule],
      collectors: {
        ...DEFAULT_COLLECTORS,
        role: async (_clients, { account, region, roleArn }) => {
          reads.push(roleArn);
          return {
            account,
            region,
            responses: { GetRole: { Role: { Arn: roleArn, RoleName: roleArn.split('/').pop() } } },
          };
        },
      },
    });
    expect(reads.sort()).toEqual([roleOf(0), roleOf(1), roleOf(2)]);
    expect(
      r.resources
        .filter((x) => x.kind === 'role')
        .map((x) => x.name)
        .sort(),
    ).toEqual(['app-role-0', 'app-role-1', 'app-role-2']);
    expect(r.summary.byKind).toEqual({ function: NAMES.length, role: 3 });
    // Without a role rule (the IAM.ROLE rules left out), no role is read.
    reads.length = 0;
    await scan({
      rules: RULES.filter((x) => x.resource !== 'role'),
      collectors: {
        ...DEFAULT_COLLECTORS,
        role: async () => {
          reads.push('x');
          return { account: ACCOUNT, region: REGION, responses: {} };
        },
      },
    });
    expect(reads).toEqual([]);
  });

  it('reports progress: listing, then each read, then done', async () => {
    const seen: ScanProgress[] = [];
    await scan({ onProgress: (p) => seen.push(p) });
    expect(seen[0].phase).toBe('listing');
    expect(seen.at(-1)).toMatchObject({ phase: 'done', done: NAMES.length, total: NAMES.length, errors: 2 });
    expect(seen.filter((p) => p.phase === 'reading').length).toBeGreaterThan(NAMES.length);
  });
});

describe('dry run by construction', () => {
  it('makes only List/Get calls', async () => {
    const clients = createClients({ maxAttempts: 1 });
    await scanAccount({ clients, regions: [REGION], now: () => NOW });
    // Lambda and STS, plus the context reads of functions/aws/collect-context.ts (EC2, Logs, Inspector, IAM).
    for (const op of clients.calls.keys())
      expect(op).toMatch(
        /^(lambda|sts|ec2|cloudwatchlogs|inspector2|iam):(List|Get|Describe|BatchGet)[A-Za-z]+$/,
      );
  });

  it('functions/aws/scan.ts never loads the executor or any other writer', () => {
    // Walk the static import graph from scan.ts through the project's own modules.
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(
        /^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|^\s*import\s+'(\.[^']+)'/gm,
      )) {
        visit(resolve(dirname(file), m[1] ?? m[2]));
      }
    };
    visit(join(PROJECT_ROOT, 'functions', 'aws', 'scan.ts'));
    const rel = [...seen].map((f) => f.slice(PROJECT_ROOT.length).replace(/\\/g, '/'));
    expect(rel).toContain('functions/aws/collect.ts');
    expect(rel).toContain('functions/core/evaluate.ts');
    for (const writer of [
      'functions/aws/execute.ts',
      'functions/aws/workflow.ts',
      'functions/aws/rollback.ts',
      'functions/aws/start.ts',
    ]) {
      expect(rel, writer).not.toContain(writer);
    }
  });

  it('evaluates in report mode whatever the configured mode', async () => {
    const r = await scan({ config: parseConfig({ mode: 'auto' }) });
    const f = r.resources.flatMap((x) => x.findings);
    expect(f.length).toBeGreaterThan(0);
    for (const x of f) {
      expect(x.mode).toBe('report');
      expect(x.enforcementMode).toBe(RULES.find((rule) => rule.id === x.ruleId)!.defaultMode);
    }
  });

  it('scan clients use the adaptive retry mode', async () => {
    const client = createClients(SCAN_CLIENT_OPTIONS).get(LambdaClient, REGION);
    const strategy = (await client.config.retryStrategy()) as unknown as {
      mode: string;
      maxAttemptsProvider: () => Promise<number>;
    };
    expect(strategy.mode).toBe('adaptive');
    expect(await strategy.maxAttemptsProvider()).toBe(6);
  });
});

describe('limiter', () => {
  it('keeps order and bounds concurrency, also when tasks finish out of order', async () => {
    let active = 0;
    let peak = 0;
    const out = await mapLimit([30, 5, 20, 1, 10, 2, 8], 2, async (ms, i) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, ms));
      active--;
      return i;
    });
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(2);
  });
  it('a new task never takes a slot handed to a waiter', async () => {
    const l = createLimiter(1);
    let active = 0;
    let peak = 0;
    const task = () =>
      l.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await Promise.resolve();
        active--;
      });
    const a = task();
    const b = task();
    await Promise.resolve();
    const c = task();
    await Promise.all([a, b, c]);
    expect(peak).toBe(1);
    expect(() => createLimiter(0)).toThrow(RangeError);
  });
});

describe('Security Hub import', () => {
  it("BatchImportFindings in batches of at most 100, in each finding's region; refusals are returned", async () => {
    hub.reset();
    hub.on(BatchImportFindingsCommand).callsFake(({ Findings }) => ({
      SuccessCount: Findings.length - (Findings[0].Id === 'id-0' ? 1 : 0),
      FailedCount: Findings[0].Id === 'id-0' ? 1 : 0,
      FailedFindings:
        Findings[0].Id === 'id-0' ? [{ Id: 'id-0', ErrorCode: 'InvalidInput', ErrorMessage: 'bad' }] : [],
    }));
    const r = await scan();
    const [one] = toAsff(r);
    const many = Array.from({ length: 205 }, (_, i) => ({
      ...one,
      Id: `id-${i}`,
      Region: i < 201 ? REGION : 'eu-west-1',
    }));
    const result = await importFindings(createClients({ maxAttempts: 1 }), many);
    const calls = hub.commandCalls(BatchImportFindingsCommand).map((c) => c.args[0].input.Findings!.length);
    expect(calls).toEqual([4, 100, 100, 1]);
    for (const c of hub.commandCalls(BatchImportFindingsCommand)) {
      expect(c.args[0].input.Findings!.length).toBeLessThanOrEqual(100);
    }
    expect(result).toEqual({
      batches: 4,
      succeeded: 204,
      failed: [{ id: 'id-0', error: 'InvalidInput', message: 'bad' }],
    });
  });
});

describe('runSweep (SDK mocks)', () => {
  const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:guardrail`;
  const objects = new Map<string, string>();
  const deps = (over: Partial<Parameters<typeof runSweep>[0]> = {}) => ({
    clients: createClients({ maxAttempts: 1 }),
    config: parseConfig({
      approvers: ['sec@example.com', 'ops@example.com'],
      approvalSender: 'guardrail@example.com',
    }),
    region: REGION,
    account: ACCOUNT,
    stateMachineArn,
    reportBucket: 'reports-bucket',
    now: () => NOW,
    ...over,
  });

  beforeEach(() => {
    objects.clear();
    s3.reset();
    sfn.reset();
    ses.reset();
    s3.on(PutObjectCommand).callsFake(({ Key, Body }) => {
      objects.set(Key, String(Body));
      return {};
    });
    s3.on(GetObjectCommand).callsFake(({ Key }) => {
      const text = objects.get(Key);
      if (text === undefined) throw awsError('NoSuchKey', 404, 'The specified key does not exist.');
      return { Body: { transformToString: async () => text } };
    });
    sfn.on(StartExecutionCommand).callsFake(({ name }) => {
      if (name.endsWith('0')) throw awsError('ExecutionAlreadyExists', 400, 'exists');
      return {
        executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
        startDate: new Date(NOW),
      };
    });
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
  });

  it('stores the report, starts one sweep-named execution per function, emails the digest', async () => {
    const r = await runSweep(deps(), { scheduledTime: '2025-06-15T12:00:00Z' });
    expect([...objects.keys()].sort()).toEqual([
      'latest.json',
      'reports/2025/06/15/20250615T120000Z.html',
      'reports/2025/06/15/20250615T120000Z.json',
    ]);
    const html = objects.get(r.reportKeys.html)!;
    expect(html).toMatch(/^<!DOCTYPE html>/);
    const stored = JSON.parse(objects.get('latest.json')!) as ScanReport;
    expect(stored.origin).toBe('sweep');
    expect(validateScanReport(stored)).toEqual([]);
    for (const text of objects.values()) expect(text.includes(SECRET)).toBe(false);

    const all = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    const starts = all.filter((s) => JSON.parse(s.input!).event.resources.functionName);
    // deleted functions are skipped; unreadable ones still get an execution (it reads for itself)
    expect(starts).toHaveLength(NAMES.length - 1);
    // The IAM.ROLE rules are registered: one execution per distinct execution role as well.
    const roleStarts = all.filter((s) => !JSON.parse(s.input!).event.resources.functionName);
    expect(roleStarts.map((s) => JSON.parse(s.input!).event.resources.roleArn).sort()).toEqual([
      roleOf(0),
      roleOf(1),
      roleOf(2),
    ]);
    for (const s of starts) {
      expect(s.stateMachineArn).toBe(stateMachineArn);
      expect(s.name).toMatch(/^sweep-20250615T1200-[0-9a-f]{16}$/);
      const { event } = JSON.parse(s.input!);
      expect(event).toMatchObject({
        origin: 'sweep',
        eventId: s.name,
        account: ACCOUNT,
        region: REGION,
        time: '2025-06-15T12:00:00.000Z',
      });
      expect(event.resources.functionArn).toBe(functionArn(event.resources.functionName));
    }
    expect(new Set(all.map((s) => s.name)).size).toBe(all.length);
    const already = all.filter((s) => s.name!.endsWith('0')).length;
    expect(r.executions).toEqual({ started: all.length - already, alreadyStarted: already, failed: [] });

    // first sweep: everything is new; one email per approver, from the sender
    expect(r.digest).toEqual({ new: r.summary.liveFindings, resolved: 0, emailed: 2 });
    const mails = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(mails.map((m) => m.Destination!.ToAddresses)).toEqual([['sec@example.com'], ['ops@example.com']]);
    expect(mails[0].FromEmailAddress).toBe('guardrail@example.com');
    expect(mails[0].Content!.Simple!.Subject!.Data).toMatch(/new, 0 resolved/);
  });

  it('a second sweep with nothing new sends no email; a fixed finding is reported resolved', async () => {
    await runSweep(deps(), { scheduledTime: '2025-06-15T12:00:00Z' });
    ses.resetHistory();
    const again = await runSweep(deps(), { scheduledTime: '2025-06-16T12:00:00Z' });
    expect(again.digest).toEqual({ new: 0, resolved: 0, emailed: 0 });
    expect(ses).not.toHaveReceivedAnyCommand();
    lambda.on(GetPolicyCommand).callsFake(({ FunctionName }) => {
      if (FunctionName === 'fn-denied') throw awsError('AccessDeniedException', 403);
      throw notFound();
    });
    const fixed = await runSweep(deps(), { scheduledTime: '2025-06-17T12:00:00Z' });
    expect(fixed.digest).toMatchObject({ new: 0, resolved: 1, emailed: 2 });
  });

  it('without approvers and sender, no email', async () => {
    const r = await runSweep(deps({ config: parseConfig({}) }), { scheduledTime: '2025-06-15T12:00:00Z' });
    expect(r.digest.emailed).toBe(0);
    expect(ses).not.toHaveReceivedAnyCommand();
  });

  it('an execution that cannot be started is reported, the others still start', async () => {
    sfn.on(StartExecutionCommand).callsFake(({ name }) => {
      if (name.endsWith('1')) throw awsError('StateMachineDoesNotExist', 400, 'gone');
      return { executionArn: 'x', startDate: new Date(NOW) };
    });
    const r = await runSweep(deps(), { scheduledTime: '2025-06-15T12:00:00Z' });
    expect(r.executions.failed.length).toBeGreaterThan(0);
    // every function but the deleted one, and the three execution roles (IAM.ROLE rules)
    expect(r.executions.started + r.executions.failed.length).toBe(NAMES.length - 1 + 3);
  });
});

describe('sweep handler', () => {
  it('builds its dependencies from the environment: account from the state machine ARN, adaptive clients', () => {
    const deps = sweepDepsFromEnv({
      STATE_MACHINE_ARN: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:guardrail`,
      REPORT_BUCKET: 'bucket',
      AWS_REGION: REGION,
      SWEEP_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/sweep`,
      GUARDRAIL_CONFIG: JSON.stringify({ sweepSchedule: 'rate(6 hours)' }),
    });
    expect(deps).toMatchObject({
      account: ACCOUNT,
      region: REGION,
      reportBucket: 'bucket',
      actor: { type: 'GuardrailSweep', arn: `arn:aws:iam::${ACCOUNT}:role/sweep` },
    });
    expect(deps.config.sweepSchedule).toBe('rate(6 hours)');
    expect(deps.clients.options).toMatchObject(SCAN_CLIENT_OPTIONS);
    expect(() => sweepDepsFromEnv({ REPORT_BUCKET: 'b' })).toThrow(/STATE_MACHINE_ARN/);
    expect(() =>
      sweepDepsFromEnv({ STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:1:stateMachine:x' }),
    ).toThrow(/REPORT_BUCKET/);
  });

  it('takes the scheduled time from the schedule, and rejects anything else', async () => {
    s3.reset();
    sfn.reset();
    s3.on(PutObjectCommand).resolves({});
    s3.on(GetObjectCommand).rejects(awsError('NoSuchKey', 404));
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: new Date(NOW) });
    const handler = makeSweep(() => ({
      clients: createClients({ maxAttempts: 1 }),
      config: parseConfig({}),
      region: REGION,
      account: ACCOUNT,
      stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:guardrail`,
      reportBucket: 'bucket',
      now: () => NOW,
    }));
    logger.setLogLevel('SILENT');
    const r = await handler({ scheduledTime: '2025-06-15T06:00:00Z' });
    expect(r.time).toBe('2025-06-15T06:00:00.000Z');
    expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.name).toMatch(/^sweep-20250615T0600-/);
    await expect(handler({ scheduledTime: 'yesterday' })).rejects.toThrow();
  });
});
