import { describe, expect, it } from 'vitest';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import type { AppliedStep } from '../../functions/core/outcome.ts';
import { RollbackError, rollbackDrift, rollbackPlan } from '../../functions/core/rollback.ts';
import type { Snapshot } from '../../functions/core/types.ts';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:orders';
const url: AppliedStep = {
  ruleId: 'LAMBDA.URL.PUBLIC',
  resourceArn: ARN,
  service: 'lambda',
  operation: 'UpdateFunctionUrlConfig',
  parameters: { FunctionName: 'orders', AuthType: 'AWS_IAM', Cors: { AllowOrigins: ['https://a.example'] } },
  status: 'applied',
  before: { AuthType: 'NONE', Cors: { AllowOrigins: ['https://a.example'] }, InvokeMode: 'BUFFERED' },
  after: { AuthType: 'AWS_IAM', Cors: { AllowOrigins: ['https://a.example'] }, InvokeMode: 'BUFFERED' },
  inverse: {
    service: 'lambda',
    operation: 'UpdateFunctionUrlConfig',
    parameters: { FunctionName: 'orders', AuthType: 'NONE', Cors: { AllowOrigins: ['https://a.example'] } },
  },
};
const remove = (sid: string, status: AppliedStep['status'] = 'applied'): AppliedStep => ({
  ruleId: 'LAMBDA.POLICY.PUBLIC',
  resourceArn: ARN,
  service: 'lambda',
  operation: 'RemovePermission',
  parameters: { FunctionName: 'orders', StatementId: sid, RevisionId: 'r1' },
  status,
  before: { Sid: sid, Effect: 'Allow', Principal: '*', Action: 'lambda:InvokeFunction', Resource: ARN },
  after: null,
  inverse: {
    service: 'lambda',
    operation: 'AddPermission',
    parameters: { FunctionName: 'orders', StatementId: sid, Action: 'lambda:InvokeFunction', Principal: '*' },
  },
});

const record = (steps: AppliedStep[]): LedgerRecord => ({
  pk: 'EXEC#e1',
  sk: 'RECORD',
  day: '2026-11-26',
  recordedAt: '2026-11-26T10:00:00Z',
  executionName: 'e1',
  target: { kind: 'function', arn: ARN },
  findings: [],
  remediation: { status: 'applied', steps },
  outcome: 'remediated',
});

const snapshot = (authType: string, sids: string[]): Snapshot => ({
  account: '123456789012',
  region: 'us-east-1',
  responses: {
    GetFunctionConfiguration: { FunctionName: 'orders', FunctionArn: ARN },
    ListFunctionUrlConfigs: {
      FunctionUrlConfigs: [
        {
          FunctionUrl: 'https://x.lambda-url.us-east-1.on.aws/',
          FunctionArn: ARN,
          AuthType: authType,
          Cors: { AllowOrigins: ['https://a.example'] },
          InvokeMode: 'BUFFERED',
        },
      ],
    },
    GetPolicy: sids.length
      ? {
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: sids.map((Sid) => ({
              Sid,
              Effect: 'Allow',
              Principal: '*',
              Action: 'lambda:InvokeFunction',
            })),
          }),
          RevisionId: 'r9',
        }
      : null,
  },
});

describe('rollbackPlan', () => {
  it('undoes applied steps newest first, skipping failed ones', () => {
    const plan = rollbackPlan(record([url, remove('a'), remove('b'), remove('c', 'failed')]));
    expect(
      plan.findings.map(
        (f) => `${f.plan.steps[0].operation}:${f.plan.steps[0].parameters['StatementId'] ?? ''}`,
      ),
    ).toEqual(['AddPermission:b', 'AddPermission:a', 'UpdateFunctionUrlConfig:']);
    expect(plan.findings[2].plan.steps[0].parameters).toEqual(url.inverse!.parameters);
    expect(plan.functionName).toBe('orders');
    expect(plan.irreversible).toEqual([]);
  });

  it('lists steps without an inverse instead of pretending to undo them', () => {
    const { inverse: _, ...noInverse } = remove('z');
    const plan = rollbackPlan(record([url, noInverse]));
    expect(plan.findings).toHaveLength(1);
    expect(plan.irreversible[0]).toContain('RemovePermission');
  });

  it('refuses a record that applied nothing', () => {
    expect(() => rollbackPlan(record([remove('a', 'failed')]))).toThrow(RollbackError);
  });
});

describe('rollbackDrift', () => {
  it('is empty while the resource is as the remediation left it', () => {
    expect(rollbackDrift(record([url, remove('a')]), snapshot('AWS_IAM', ['keep']))).toEqual([]);
  });
  it('reports a URL changed since the remediation', () => {
    expect(rollbackDrift(record([url]), snapshot('NONE', []))[0]).toMatch(/function URL of \$LATEST changed/);
  });
  it('with two updates of the same URL (URL.PUBLIC, then URL.CORS) compares only with the last one', () => {
    const cors: AppliedStep = {
      ...url,
      ruleId: 'LAMBDA.URL.CORS',
      parameters: { FunctionName: 'orders', Cors: { AllowOrigins: ['https://a.example'] } },
      before: { AuthType: 'AWS_IAM', Cors: { AllowOrigins: ['*'] }, InvokeMode: 'BUFFERED' },
      after: { AuthType: 'AWS_IAM', Cors: { AllowOrigins: ['https://a.example'] }, InvokeMode: 'BUFFERED' },
    };
    const first: AppliedStep = {
      ...url,
      after: { AuthType: 'AWS_IAM', Cors: { AllowOrigins: ['*'] }, InvokeMode: 'BUFFERED' },
    };
    expect(rollbackDrift(record([first, cors]), snapshot('AWS_IAM', []))).toEqual([]);
    expect(rollbackDrift(record([first, cors]), snapshot('NONE', []))).toHaveLength(1);
  });
  it('reports a removed statement that exists again', () => {
    expect(rollbackDrift(record([remove('a')]), snapshot('AWS_IAM', ['a']))[0]).toMatch(
      /statement a .*exists again/,
    );
  });
});
