import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import { ACCOUNT, functionSnapshot, REGION, serviceStatement } from '../unit/helpers.ts';

/**
 * `guardrail evaluate` (offline) on issue 7 part A inputs: a layer-version snapshot with an
 * AddLayerVersionPermission event, and a function whose policy lets EventBridge invoke for any account.
 */

const NOW = '2025-06-15T12:00:00.000Z';
const tmp = mkdtempSync(join(tmpdir(), 'guardrail-cli-7a-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, value: unknown) => {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
};

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) }, () => NOW);
  return { code, err, stdout: out.join('\n') };
}

const record = (eventName: string, requestParameters: object) => ({
  eventID: '6d0e2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6',
  eventName,
  eventSource: 'lambda.amazonaws.com',
  eventTime: '2025-06-15T11:58:00Z',
  awsRegion: REGION,
  recipientAccountId: ACCOUNT,
  userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/dev`, accountId: ACCOUNT },
  requestParameters,
  responseElements: null,
});

const layerArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-utils:3`;
const layerSnapshot = {
  account: ACCOUNT,
  region: REGION,
  responses: {
    GetLayerVersion: {
      LayerArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-utils`,
      LayerVersionArn: layerArn,
      Version: 3,
      CreatedDate: '2025-06-15T11:50:00.000+0000',
    },
    GetLayerVersionPolicy: {
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Id: 'default',
        Statement: [
          {
            Sid: 'everyone',
            Effect: 'Allow',
            Principal: '*',
            Action: 'lambda:GetLayerVersion',
            Resource: layerArn,
          },
        ],
      }),
      RevisionId: 'b1d2c3e4-0000-4000-8000-000000000001',
    },
  },
};

describe('guardrail evaluate: issue 7 part A', () => {
  it('a public layer version: target layer, LAMBDA.LAYER.PUBLIC in auto mode with its exact call, exit 1', async () => {
    const r = await run(
      'evaluate',
      '--event',
      file(
        'layer-event.json',
        record('AddLayerVersionPermission20181031', {
          layerName: 'shared-utils',
          versionNumber: 3,
          statementId: 'everyone',
          principal: '*',
          action: 'lambda:GetLayerVersion',
        }),
      ),
      '--snapshot',
      file('layer.json', layerSnapshot),
      '--format',
      'json',
    );
    expect(r.code, r.err.join('\n')).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.event.resources).toEqual({ layerArn });
    expect(doc.target).toEqual({ kind: 'layer', arn: layerArn });
    expect(doc.route).toBe('auto');
    expect(doc.findings).toHaveLength(1);
    expect(doc.findings[0]).toMatchObject({
      ruleId: 'LAMBDA.LAYER.PUBLIC',
      mode: 'auto',
      plan: {
        steps: [
          {
            service: 'lambda',
            operation: 'RemoveLayerVersionPermission',
            parameters: {
              LayerName: 'shared-utils',
              VersionNumber: 3,
              StatementId: 'everyone',
              RevisionId: 'b1d2c3e4-0000-4000-8000-000000000001',
            },
          },
        ],
      },
    });
  });

  it('EventBridge allowed for any account: CONFUSED_DEPUTY (approve) and NO_FAILURE_DESTINATION (report); table output names both', async () => {
    const snapshot = functionSnapshot({
      urls: [],
      policies: { '': { statements: [serviceStatement('any-bus', 'events.amazonaws.com')] } },
    });
    snapshot.responses['GetFunctionEventInvokeConfig'] = null;
    const event = file(
      'add-permission.json',
      record('AddPermission20150331v2', {
        functionName: 'orders-api',
        statementId: 'any-bus',
        principal: 'events.amazonaws.com',
        action: 'lambda:InvokeFunction',
      }),
    );
    const snap = file('deputy.json', snapshot);
    const json = await run('evaluate', '--event', event, '--snapshot', snap, '--format', 'json');
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(doc.findings.map((f: { ruleId: string; mode: string }) => [f.ruleId, f.mode])).toEqual([
      ['LAMBDA.POLICY.CONFUSED_DEPUTY', 'approve'],
      ['LAMBDA.ASYNC.NO_FAILURE_DESTINATION', 'report'],
    ]);
    expect(doc.route).toBe('approve');
    const table = await run('evaluate', '--event', event, '--snapshot', snap, '--format', 'table');
    expect(table.stdout).toContain('LAMBDA.POLICY.CONFUSED_DEPUTY');
    expect(table.stdout).toContain('AddPermission');
  });
});
