import { describe, expect, it } from 'vitest';
import { READ_ACTIONS, WRITE_ACTIONS } from '../../functions/core/actions.ts';
import { RULES } from '../../functions/core/rules/index.ts';
import { SID } from '../../lib/guardrail-stack.ts';
import {
  assertNoWildcardActions,
  isWildcardAction,
  readGrants,
  remediationActions,
  remediationGrants,
} from '../../lib/permissions.ts';
import {
  allPolicyStatements,
  asArray,
  defaultSynth,
  logicalIdOf,
  type PolicyStatementJson,
  resourcesOfType,
  roleStatements,
  sorted,
} from './helpers.ts';

/**
 * The roles must equal the data in functions/core/actions.ts. Expected values are derived from that
 * module directly (not from lib/permissions.ts), so a role that drifts from the data fails here.
 */
const EXPECTED_READS = sorted(new Set(READ_ACTIONS.function));
const EXPECTED_WRITES = sorted(
  new Set(WRITE_ACTIONS.filter((a) => a.resource === 'function').flatMap((a) => a.iamActions)),
);
const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

const built = defaultSynth();
const { json, stack } = built;
const fns = stack.functions;
const roleId = (name: keyof typeof fns) => logicalIdOf(built, fns[name].role);
const ref = (logicalId: string) => ({ Ref: logicalId });
const getAtt = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const accountWide = {
  'Fn::Join': ['', ['arn:aws:lambda:us-east-1:', { Ref: 'AWS::AccountId' }, ':function:*']],
};
const killSwitchArn = {
  'Fn::Join': [
    '',
    [
      'arn:aws:ssm:us-east-1:',
      { Ref: 'AWS::AccountId' },
      ':parameter',
      ref(logicalIdOf(built, stack.killSwitch)),
    ],
  ],
};

/** An expected Allow statement in template form. */
const allow = (actions: string[], resource: unknown, sid?: string): PolicyStatementJson => ({
  ...(sid ? { Sid: sid } : {}),
  Effect: 'Allow',
  Action: actions,
  Resource: resource,
});

/** Statements normalised for comparison: sorted action lists, Sid kept, Resource as written. */
function shape(statements: PolicyStatementJson[]) {
  return statements
    .map((s) => ({ sid: s.Sid, effect: s.Effect, actions: sorted(asArray(s.Action)), resource: s.Resource }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

const base = (name: keyof typeof fns) => [
  allow(LOGS, getAtt(logicalIdOf(built, fns[name].logGroup))),
  allow(XRAY, '*'),
];
const reads = [
  allow(EXPECTED_READS, accountWide, SID.readFunctions),
  allow(['ssm:GetParameter'], killSwitchArn, SID.readKillSwitch),
];
const ledgerPut = allow(['dynamodb:PutItem'], getAtt(logicalIdOf(built, stack.ledger)), SID.putLedgerRecord);

describe('IAM: exact statements per role', () => {
  it('remediate: reads + kill switch + exactly the write actions of functions/core/actions.ts', () => {
    const statements = roleStatements(json, roleId('remediate'));
    expect(shape(statements)).toEqual(
      shape([...base('remediate'), ...reads, allow(EXPECTED_WRITES, accountWide, SID.remediateFunctions)]),
    );
    // The action lists of the remediate role, statement by statement, equal the data.
    const bySid = Object.fromEntries(
      statements.filter((s) => s.Sid).map((s) => [s.Sid, sorted(asArray(s.Action))]),
    );
    expect(bySid[SID.readFunctions]).toEqual(EXPECTED_READS);
    expect(bySid[SID.remediateFunctions]).toEqual(EXPECTED_WRITES);
    expect(bySid[SID.readKillSwitch]).toEqual(['ssm:GetParameter']);
  });

  it('collect and verify: reads and the kill switch, no writes', () => {
    for (const name of ['collect', 'verify'] as const) {
      expect(shape(roleStatements(json, roleId(name)))).toEqual(shape([...base(name), ...reads]));
    }
  });

  it('evaluate: logs and tracing only (it makes no AWS calls)', () => {
    expect(shape(roleStatements(json, roleId('evaluate')))).toEqual(shape(base('evaluate')));
  });

  it('record: PutItem on the ledger only (not the whole grantWriteData set)', () => {
    expect(shape(roleStatements(json, roleId('record')))).toEqual(shape([...base('record'), ledgerPut]));
  });

  it('ingest: StartExecution on the state machine, PutItem on the ledger, SendMessage to its DLQ', () => {
    expect(shape(roleStatements(json, roleId('ingest')))).toEqual(
      shape([
        ...base('ingest'),
        ledgerPut,
        allow(['states:StartExecution'], ref(logicalIdOf(built, stack.stateMachine))),
        allow(['sqs:SendMessage'], getAtt(logicalIdOf(built, stack.ingestAsyncDlq))),
      ]),
    );
  });

  it('state machine: InvokeFunction on exactly the six task functions (unqualified), plus logging/tracing', () => {
    const smRole = logicalIdOf(
      built,
      stack.stateMachine.role as unknown as { node: { defaultChild?: unknown } },
    );
    const statements = roleStatements(json, smRole);
    const invoke = statements.find((s) => s.Sid === SID.invokeTaskFunctions);
    expect(invoke?.Action).toBe('lambda:InvokeFunction');
    const expected = (
      ['collect', 'evaluate', 'remediate', 'verify', 'record', 'request-approval'] as const
    ).map((n) => getAtt(logicalIdOf(built, fns[n].fn)));
    expect(sorted(asArray(invoke?.Resource).map((r) => JSON.stringify(r)))).toEqual(
      sorted(expected.map((r) => JSON.stringify(r))),
    );
    const rest = statements.filter((s) => s !== invoke);
    expect(rest.every((s) => s.Resource === '*')).toBe(true);
    expect(sorted(rest.flatMap((s) => asArray(s.Action)))).toEqual(
      sorted([
        'logs:CreateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:DescribeLogGroups',
        'logs:DescribeResourcePolicies',
        'logs:GetLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:UpdateLogDelivery',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
        ...XRAY,
      ]),
    );
  });

  it('no role has a managed policy', () => {
    for (const [id, role] of resourcesOfType(json, 'AWS::IAM::Role')) {
      expect(role.Properties?.ManagedPolicyArns, id).toBeUndefined();
    }
  });
});

describe('IAM: no wildcards', () => {
  const statements = allPolicyStatements(json);

  it('no Allow statement anywhere in the template has a `*`, `service:*` or partial wildcard action', () => {
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows.length).toBeGreaterThan(10);
    const bad = allows.flatMap((s) => asArray(s.Action)).filter((a) => a.includes('*'));
    expect(bad).toEqual([]);
  });

  it('the only Deny statements are the queues’ TLS-only (aws:SecureTransport=false) statements', () => {
    for (const s of statements.filter((x) => x.Effect === 'Deny')) {
      expect(s.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    }
  });

  it('Resource "*" is used only for X-Ray, the Step Functions log delivery actions and the sweep\'s ListFunctions', () => {
    const star = statements.filter((s) => s.Effect === 'Allow' && asArray(s.Resource).includes('*'));
    const actions = new Set(star.flatMap((s) => asArray(s.Action)));
    for (const a of actions)
      expect(a).toMatch(
        /^(xray:|logs:(Create|Delete|Get|Update)LogDelivery$|logs:ListLogDeliveries$|logs:PutResourcePolicy$|logs:Describe(LogGroups|ResourcePolicies)$|lambda:ListFunctions$)/,
      );
  });
});

describe('lib/permissions', () => {
  it('remediationActions() is every WRITE_ACTIONS entry on functions', () => {
    expect(remediationActions()).toEqual(EXPECTED_WRITES);
    expect(remediationGrants()).toEqual([{ kind: 'function', actions: EXPECTED_WRITES }]);
  });

  it('readGrants() is READ_ACTIONS for the resource kinds the rules evaluate', () => {
    const kinds = sorted(new Set(RULES.map((r) => r.resource)));
    expect(readGrants().map((g) => g.kind)).toEqual(
      kinds.filter((k) => READ_ACTIONS[k as 'function'].length),
    );
    expect(readGrants().find((g) => g.kind === 'function')?.actions).toEqual(EXPECTED_READS);
  });

  it('no rules, no writes', () => {
    expect(remediationActions([])).toEqual([]);
    expect(readGrants([])).toEqual([]);
  });

  it('wildcard actions are refused', () => {
    for (const a of ['*', 'lambda:*', 'iam:*', 'lambda:Get*', 'lambda:?etPolicy'])
      expect(isWildcardAction(a)).toBe(true);
    for (const a of ['lambda:GetPolicy', 'ssm:GetParameter']) expect(isWildcardAction(a)).toBe(false);
    expect(() => assertNoWildcardActions(['lambda:GetPolicy', 'lambda:*'])).toThrow(/lambda:\*/);
    expect(() => assertNoWildcardActions(EXPECTED_WRITES)).not.toThrow();
  });
});
