import { describe, expect, it } from 'vitest';
import { HANDLER_NAMES, LAMBDA_RUNTIME, LOG_RETENTION } from '../../lib/functions.ts';
import { defaultSynth, type Loose, logicalIdOf, resourcesOfType, synth } from './helpers.ts';

const built = defaultSynth();
const { json, stack, config } = built;

describe('ledger', () => {
  const table = json.Resources[logicalIdOf(built, stack.ledger)];
  const p = table.Properties as Loose;

  it('pk/sk strings, on-demand, retained and deletion-protected', () => {
    expect(p.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(p.DeletionProtectionEnabled).toBe(true);
  });

  it('is encrypted with KMS (AWS managed key) and has point-in-time recovery', () => {
    // SSEEnabled true without a key = KMS with the AWS managed key aws/dynamodb (false or absent would
    // be the AWS owned key).
    expect(p.SSESpecification).toEqual({ SSEEnabled: true });
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('has the byDay index (day, recordedAt) for reports', () => {
    expect(p.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byDay',
        KeySchema: [
          { AttributeName: 'day', KeyType: 'HASH' },
          { AttributeName: 'recordedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(p.AttributeDefinitions).toEqual(
      expect.arrayContaining(
        ['pk', 'sk', 'day', 'recordedAt'].map((n) => ({ AttributeName: n, AttributeType: 'S' })),
      ),
    );
  });
});

describe('kill switch', () => {
  it('is a String parameter named from the config, default "off"', () => {
    const p = json.Resources[logicalIdOf(built, stack.killSwitch)].Properties;
    expect(p).toMatchObject({ Name: config.killSwitchParameter, Type: 'String', Value: 'off' });
  });

  it('follows killSwitchParameter from the config', () => {
    const s = synth({ guardrail: { killSwitchParameter: '/sec/guardrail/stop' } });
    expect(s.json.Resources[logicalIdOf(s, s.stack.killSwitch)].Properties?.Name).toBe('/sec/guardrail/stop');
    const collect = s.json.Resources[logicalIdOf(s, s.stack.functions.collect.fn)].Properties as Loose;
    expect(collect.Environment.Variables.KILL_SWITCH_PARAMETER).toBe('/sec/guardrail/stop');
  });
});

describe('functions', () => {
  const fnProps = (name: (typeof HANDLER_NAMES)[number]) =>
    json.Resources[logicalIdOf(built, stack.functions[name].fn)].Properties as Loose;

  it('one per handler: ARM64, newest Node.js runtime, ESM handler, active tracing, own log group', () => {
    expect(Object.keys(stack.functions).sort()).toEqual([...HANDLER_NAMES].sort());
    expect(resourcesOfType(json, 'AWS::Lambda::Function')).toHaveLength(HANDLER_NAMES.length);
    for (const name of HANDLER_NAMES) {
      const p = fnProps(name);
      expect(p.Runtime, name).toBe(LAMBDA_RUNTIME.name);
      expect(p.Architectures).toEqual(['arm64']);
      expect(p.Handler).toBe('index.handler');
      expect(p.TracingConfig).toEqual({ Mode: 'Active' });
      expect(p.LoggingConfig).toEqual({
        LogGroup: { Ref: logicalIdOf(built, stack.functions[name].logGroup) },
      });
      const lg = json.Resources[logicalIdOf(built, stack.functions[name].logGroup)].Properties;
      expect(lg?.RetentionInDays).toBe(LOG_RETENTION);
    }
  });

  it('environment: config, service name and log level everywhere; the rest only where it is read', () => {
    const common = {
      GUARDRAIL_CONFIG: JSON.stringify(config),
      POWERTOOLS_SERVICE_NAME: 'lambda-guardrail',
      LOG_LEVEL: 'INFO',
    };
    const vars = (n: (typeof HANDLER_NAMES)[number]) =>
      fnProps(n).Environment.Variables as Record<string, unknown>;
    const ledger = { Ref: logicalIdOf(built, stack.ledger) };
    expect(vars('evaluate')).toEqual(common);
    for (const n of ['collect', 'verify', 'remediate'] as const) {
      expect(vars(n)).toEqual({
        ...common,
        KILL_SWITCH_PARAMETER: config.killSwitchParameter,
        // The key of secret fingerprints: the three share it (docs/secret-remediation.md).
        FINGERPRINT_KEY_SECRET: { Ref: logicalIdOf(built, stack.fingerprintKey) },
      });
    }
    expect(vars('record')).toEqual({ ...common, LEDGER_TABLE: ledger });
    const ingest = vars('ingest');
    expect(Object.keys(ingest).sort()).toEqual(
      [...Object.keys(common), 'EXCLUDED_PRINCIPALS', 'LEDGER_TABLE', 'STATE_MACHINE_ARN'].sort(),
    );
    expect(ingest.LEDGER_TABLE).toEqual(ledger);
    expect(ingest.STATE_MACHINE_ARN).toEqual({ Ref: logicalIdOf(built, stack.stateMachine) });
    // A JSON array built by CloudFormation from the task roles' ARNs (collect, remediate, verify, ...).
    const excluded = JSON.stringify(ingest.EXCLUDED_PRINCIPALS);
    for (const n of ['collect', 'remediate', 'verify'] as const) {
      expect(excluded).toContain(logicalIdOf(built, stack.functions[n].role));
    }
    expect(excluded).not.toContain(logicalIdOf(built, stack.functions.ingest.role));
    expect(JSON.parse(ingest.GUARDRAIL_CONFIG as string)).toEqual(config);
  });
});

describe('stack', () => {
  it('is deployed to config.homeRegion; account from CDK_DEFAULT_ACCOUNT/option when given', () => {
    expect(stack.region).toBe(config.homeRegion);
    const s = synth({ guardrail: { homeRegion: 'eu-west-1' }, account: '123456789012' });
    expect(s.stack.region).toBe('eu-west-1');
    expect(s.stack.account).toBe('123456789012');
  });

  it('outputs the state machine ARN, the ledger table, the kill-switch parameter and the approval endpoint', () => {
    expect(json.Outputs).toEqual({
      StateMachineArn: { Value: { Ref: logicalIdOf(built, stack.stateMachine) } },
      LedgerTableName: { Value: { Ref: logicalIdOf(built, stack.ledger) } },
      KillSwitchParameterName: { Value: { Ref: logicalIdOf(built, stack.killSwitch) } },
      ApprovalEndpointUrl: {
        Value: { 'Fn::GetAtt': [logicalIdOf(built, stack.approvals.callbackUrl), 'FunctionUrl'] },
      },
      ApprovalsTableName: { Value: { Ref: logicalIdOf(built, stack.approvals.table) } },
      ApprovalKeySecretArn: { Value: { Ref: logicalIdOf(built, stack.approvals.keys) } },
      SweepReportBucketName: { Value: { Ref: logicalIdOf(built, stack.sweep.bucket) } },
    });
  });
});
