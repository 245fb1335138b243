/**
 * Issue 7 part A against the emulator, through the real ingest handler, the real ASL and the real
 * task handlers (scripts/local/runtime.ts): LAMBDA.LAYER.PUBLIC (auto), LAMBDA.POLICY.CONFUSED_DEPUTY
 * (approve; auto by config) and LAMBDA.ASYNC.NO_FAILURE_DESTINATION (report), and `guardrail scan`'s
 * layer units.
 *
 * Where moto differs from AWS, the assertions follow AWS:
 * - AddLayerVersionPermission with OrganizationId: moto 5.2.5 stores a top-level `OrganizationId`
 *   field; AWS writes the condition `{"StringEquals": {"aws:PrincipalOrgID": ...}}`.
 *   scripts/local/moto_patches.py (patch 8) restores AWS's shape; the first test pins it.
 * - moto does not implement GetLayerVersionByArn (HTTP 500): the collector uses GetLayerVersion,
 *   which returns the same shape on AWS.
 * - moto ignores the Qualifier of the event-invoke-config calls (one config per function): these
 *   tests use unqualified functions only (aliases are covered by the unit and SDK-mock tests).
 */
import { randomUUID } from 'node:crypto';
import {
  AddLayerVersionPermissionCommand,
  GetLayerVersionPolicyCommand,
  GetPolicyCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PutFunctionEventInvokeConfigCommand,
  RemoveLayerVersionPermissionCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { rollback } from '../../functions/aws/rollback.ts';
import { scanAccount } from '../../functions/aws/scan.ts';
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
  seedLayer,
  ZIP,
} from '../../scripts/local/seed.ts';
import { PATH_RECORD_ONLY, PATH_REMEDIATED } from '../support/paths.ts';

const ORG = 'o-a1b2c3d4e5';
const PARTNER = '210987654321';

let emu: EmulatorHandle;
let lambda: LambdaClient;

beforeAll(async () => {
  emu = await startEmulator({ log: (s) => console.error(s) });
  lambda = new LambdaClient(emulatorClientConfig(emu.endpoint, REGION));
  await guardrail().setup();
}, 300_000);

afterAll(async () => {
  logger.setLogLevel('INFO');
  lambda?.destroy();
  await emu?.stop();
});

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

function guardrail(config?: Partial<GuardrailConfig>) {
  return new LocalGuardrail({
    endpoint: emu.endpoint,
    region: REGION,
    logLevel: 'SILENT',
    ...(config ? { config } : {}),
  });
}

async function run(g: LocalGuardrail, event: unknown) {
  const r = await g.ingest(event);
  expect(r.status).toBe('started');
  const name = (r as { executionName: string }).executionName;
  const execution = g.executions.get(name) as ExecutionResult;
  const record = (await g.ledgerRecord(name)) as LedgerRecord;
  expect(record, `ledger record of ${name}`).toBeDefined();
  return { execution, record };
}

interface St {
  Sid: string;
  Condition?: Record<string, Record<string, string>>;
  [k: string]: unknown;
}

async function layerStatements(name: string, version: number): Promise<St[]> {
  try {
    const r = await lambda.send(
      new GetLayerVersionPolicyCommand({ LayerName: name, VersionNumber: version }),
    );
    return (JSON.parse(r.Policy!) as { Statement: St[] }).Statement;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return [];
    throw err;
  }
}

async function functionStatements(name: string): Promise<St[]> {
  try {
    const r = await lambda.send(new GetPolicyCommand({ FunctionName: name }));
    return (JSON.parse(r.Policy!) as { Statement: St[] }).Statement;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return [];
    throw err;
  }
}

const layerEvent = (name: string, version: number, statementId: string) =>
  lambdaEvent('AddLayerVersionPermission20181031', {
    layerName: name,
    versionNumber: version,
    statementId,
    action: 'lambda:GetLayerVersion',
    principal: '*',
  });

describe('emulator: layer version permissions have AWS shapes', () => {
  it('OrganizationId becomes an aws:PrincipalOrgID condition (PATCHED, patch 8); a stale RevisionId is refused', async () => {
    const name = unique('pin-layer');
    const v = await lambda.send(
      new PublishLayerVersionCommand({ LayerName: name, Content: { ZipFile: ZIP } }),
    );
    const res = await lambda.send(
      new AddLayerVersionPermissionCommand({
        LayerName: name,
        VersionNumber: v.Version!,
        StatementId: 'org',
        Action: 'lambda:GetLayerVersion',
        Principal: '*',
        OrganizationId: ORG,
      }),
    );
    // PATCHED: moto 5.2.5 returns {"OrganizationId": ...} as a statement field; AWS writes this condition.
    const st = JSON.parse(res.Statement!) as St;
    expect(st.Condition).toEqual({ StringEquals: { 'aws:PrincipalOrgID': ORG } });
    expect(st).not.toHaveProperty('OrganizationId');
    expect((await layerStatements(name, v.Version!))[0]).toEqual(st);
    // RemoveLayerVersionPermission honours RevisionId as on AWS (patches 3 and 4 cover layer policies too).
    const stale = await lambda
      .send(
        new RemoveLayerVersionPermissionCommand({
          LayerName: name,
          VersionNumber: v.Version!,
          StatementId: 'org',
          RevisionId: '00000000-0000-0000-0000-000000000000',
        }),
      )
      .catch((e: Error) => e);
    expect((stale as Error).name).toBe('PreconditionFailedException');
    const current = await lambda.send(
      new GetLayerVersionPolicyCommand({ LayerName: name, VersionNumber: v.Version! }),
    );
    await lambda.send(
      new RemoveLayerVersionPermissionCommand({
        LayerName: name,
        VersionNumber: v.Version!,
        StatementId: 'org',
        RevisionId: current.RevisionId,
      }),
    );
    expect(await layerStatements(name, v.Version!)).toEqual([]);
  });
});

describe('LAMBDA.LAYER.PUBLIC', () => {
  it('an AddLayerVersionPermission event: the public statement is removed, the org and account grants stay', async () => {
    const name = unique('shared-utils');
    const { arn, version } = await seedLayer(emu.endpoint, {
      name,
      permissions: [
        {
          StatementId: 'org-accounts',
          Action: 'lambda:GetLayerVersion',
          Principal: '*',
          OrganizationId: ORG,
        },
        { StatementId: 'partner', Action: 'lambda:GetLayerVersion', Principal: PARTNER },
        { StatementId: 'everyone', Action: 'lambda:GetLayerVersion', Principal: '*' },
      ],
    });
    const { execution, record } = await run(guardrail(), layerEvent(name, version, 'everyone'));
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toEqual(PATH_REMEDIATED);
    expect(record.target).toEqual({ kind: 'layer', arn });
    expect(record.outcome).toBe('remediated');
    expect(record.findings.map((f) => [f.ruleId, f.mode])).toEqual([['LAMBDA.LAYER.PUBLIC', 'auto']]);
    expect(record.remediation?.steps).toEqual([
      expect.objectContaining({
        operation: 'RemoveLayerVersionPermission',
        status: 'applied',
        parameters: expect.objectContaining({
          LayerName: name,
          VersionNumber: version,
          StatementId: 'everyone',
        }),
        before: expect.objectContaining({ Sid: 'everyone', Principal: '*' }),
        inverse: expect.objectContaining({ operation: 'AddLayerVersionPermission' }),
      }),
    ]);
    expect(record.verification).toEqual({ verified: true, remaining: [] });
    expect((await layerStatements(name, version)).map((s) => s.Sid).sort()).toEqual([
      'org-accounts',
      'partner',
    ]);

    // guardrail rollback re-shares exactly what was removed.
    const clients = createClients({
      endpoint: emu.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const back = await rollback(clients, record);
    expect(back.status).toBe('rolled-back');
    const restored = (await layerStatements(name, version)).find((s) => s.Sid === 'everyone');
    expect(restored).toMatchObject({ Principal: '*', Action: 'lambda:GetLayerVersion' });
    expect(restored).not.toHaveProperty('Condition');
  });

  it('a layer shared only with an organization and an account is compliant: nothing is written', async () => {
    const name = unique('org-only');
    const { version } = await seedLayer(emu.endpoint, {
      name,
      permissions: [
        { StatementId: 'org', Action: 'lambda:GetLayerVersion', Principal: '*', OrganizationId: ORG },
      ],
    });
    const g = guardrail();
    const { execution, record } = await run(g, layerEvent(name, version, 'org'));
    expect(execution.states).toEqual(PATH_RECORD_ONLY);
    expect(record.outcome).toBe('compliant');
    expect([...g.clients.calls.keys()].filter((k) => /LayerVersionPermission$/.test(k))).toEqual([]);
  });
});

describe('LAMBDA.POLICY.CONFUSED_DEPUTY', () => {
  const addEvent = (fn: string) =>
    lambdaEvent('AddPermission20150331v2', {
      functionName: fn,
      statementId: 'any-bus',
      action: 'lambda:InvokeFunction',
      principal: 'events.amazonaws.com',
    });

  it('default approve, no approvers: recorded as approval-required, nothing written', async () => {
    const fn = unique('deputy');
    await seedFunction(emu.endpoint, {
      name: fn,
      permissions: [
        { StatementId: 'any-bus', Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' },
      ],
    });
    const before = await functionStatements(fn);
    const { record } = await run(guardrail(), addEvent(fn));
    expect(record.outcome).toBe('approval-required');
    const f = record.findings.find((x) => x.ruleId === 'LAMBDA.POLICY.CONFUSED_DEPUTY')!;
    expect(f.mode).toBe('approve');
    expect(f.plan.steps.map((s) => s.operation)).toEqual(['AddPermission', 'RemovePermission']);
    expect(await functionStatements(fn)).toEqual(before);
  });

  it('in auto mode: the statement is re-created with SourceAccount under a new Sid, then the old one removed', async () => {
    const fn = unique('deputy-auto');
    await seedFunction(emu.endpoint, {
      name: fn,
      permissions: [
        { StatementId: 'any-bus', Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' },
        {
          StatementId: 'nightly',
          Action: 'lambda:InvokeFunction',
          Principal: 'events.amazonaws.com',
          SourceArn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/nightly`,
        },
      ],
    });
    const g = guardrail({ rules: { 'LAMBDA.POLICY.CONFUSED_DEPUTY': { mode: 'auto' } } });
    const { execution, record } = await run(g, addEvent(fn));
    expect(execution.states).toEqual(PATH_REMEDIATED);
    expect(record.outcome).toBe('remediated');
    const after = await functionStatements(fn);
    expect(after.map((s) => s.Sid).sort()).toEqual(['any-bus-SourceAccount', 'nightly']);
    const replaced = after.find((s) => s.Sid === 'any-bus-SourceAccount')!;
    expect(replaced).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'lambda:InvokeFunction',
      Condition: { StringEquals: { 'AWS:SourceAccount': ACCOUNT } },
    });
    const steps = record.remediation!.steps.filter((s) => s.ruleId === 'LAMBDA.POLICY.CONFUSED_DEPUTY');
    expect(steps.map((s) => [s.operation, s.status])).toEqual([
      ['AddPermission', 'applied'],
      ['RemovePermission', 'applied'],
    ]);
    // Each write carried the policy's RevisionId of the moment (the second one re-read).
    expect(typeof steps[0].parameters['RevisionId']).toBe('string');
    expect(steps[1].parameters['RevisionId']).toEqual({ fromPolicyRevision: { FunctionName: fn } });
  });
});

describe('LAMBDA.ASYNC.NO_FAILURE_DESTINATION', () => {
  it('reports an SNS-invoked function without a destination; after PutFunctionEventInvokeConfig it is compliant', async () => {
    const fn = unique('async');
    const topic = `arn:aws:sns:${REGION}:${ACCOUNT}:orders`;
    await seedFunction(emu.endpoint, {
      name: fn,
      permissions: [
        {
          StatementId: 'topic',
          Action: 'lambda:InvokeFunction',
          Principal: 'sns.amazonaws.com',
          SourceArn: topic,
        },
      ],
    });
    const g = guardrail();
    const first = await run(
      g,
      lambdaEvent('AddPermission20150331v2', {
        functionName: fn,
        statementId: 'topic',
        principal: 'sns.amazonaws.com',
      }),
    );
    expect(first.execution.states).toEqual(PATH_RECORD_ONLY);
    expect(first.record.outcome).toBe('reported');
    const f = first.record.findings.find((x) => x.ruleId === 'LAMBDA.ASYNC.NO_FAILURE_DESTINATION')!;
    expect(f).toMatchObject({
      mode: 'report',
      evidence: { asyncCallers: ['sns.amazonaws.com'], eventInvokeConfig: null },
    });

    await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: fn,
        DestinationConfig: { OnFailure: { Destination: `arn:aws:sqs:${REGION}:${ACCOUNT}:orders-failed` } },
      }),
    );
    const second = await run(g, lambdaEvent('PutFunctionEventInvokeConfig', { functionName: fn }));
    expect(second.record.findings.filter((x) => x.ruleId === 'LAMBDA.ASYNC.NO_FAILURE_DESTINATION')).toEqual(
      [],
    );
  });
});

describe('guardrail scan: layer versions', () => {
  it('lists every layer version and reports the public one with its planned call, changing nothing', async () => {
    const name = unique('scan-layer');
    const pub = await seedLayer(emu.endpoint, {
      name,
      permissions: [{ StatementId: 'everyone', Action: 'lambda:GetLayerVersion', Principal: '*' }],
    });
    const priv = await seedLayer(emu.endpoint, { name });
    const report = await scanAccount({
      clients: createClients({
        endpoint: emu.endpoint,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      }),
      regions: [REGION],
      account: ACCOUNT,
      now: () => new Date().toISOString(),
    });
    const mine = report.resources.filter((r) => r.kind === 'layer' && r.name.startsWith(`${name}:`));
    expect(mine.map((r) => [r.arn, r.status]).sort()).toEqual(
      [
        [pub.arn, 'non-compliant'],
        [priv.arn, 'compliant'],
      ].sort(),
    );
    const f = mine.find((r) => r.arn === pub.arn)!.findings[0];
    expect(f).toMatchObject({ ruleId: 'LAMBDA.LAYER.PUBLIC', mode: 'report' });
    expect(JSON.stringify(f)).toContain('RemoveLayerVersionPermission');
    expect((await layerStatements(name, pub.version)).map((s) => s.Sid)).toEqual(['everyone']);
  });
});
