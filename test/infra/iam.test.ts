import { describe, expect, it } from 'vitest';
import { PROOF_ACTIONS, READ_ACTIONS, READ_RESOURCES, WRITE_ACTIONS } from '../../functions/core/actions.ts';
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
  synth,
} from './helpers.ts';

/**
 * The roles must equal the data in functions/core/actions.ts. Expected values are derived from that
 * module directly (not from lib/permissions.ts), so a role that drifts from the data fails here.
 */
/** The function reads granted on functions: those READ_RESOURCES does not send elsewhere. */
const EXPECTED_READS = sorted(new Set(READ_ACTIONS.function.filter((a) => !READ_RESOURCES[a])));
/** The declared writes on one resource kind (every rule is deployed by default). */
const writesOn = (kind: string) =>
  sorted(new Set(WRITE_ACTIONS.filter((a) => a.resource === kind).flatMap((a) => a.iamActions)));
const EXPECTED_WRITES = writesOn('function');
/** Every IAM action the declared writes need, whatever the resource (what the remediate role may do). */
const ALL_WRITES = sorted(new Set(WRITE_ACTIONS.flatMap((a) => a.iamActions)));
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
const logGroups = {
  'Fn::Join': ['', ['arn:aws:logs:us-east-1:', { Ref: 'AWS::AccountId' }, ':log-group:*']],
};
const layers = { 'Fn::Join': ['', ['arn:aws:lambda:us-east-1:', { Ref: 'AWS::AccountId' }, ':layer:*']] };
const customerPolicies = { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':policy/*']] };
/** Where the stack grants each kind of resource (lib/guardrail-stack.ts resourceArnPattern), in template form. */
const patternOf = (kind: string, purpose: 'read' | 'remediate'): unknown => {
  switch (kind) {
    case 'function':
      return accountWide;
    case 'log-group':
      return logGroups;
    case 'layer':
      return layers;
    case 'any':
      return '*';
    case 'policy':
      // Reads also cover AWS-managed policies attached to execution roles.
      return purpose === 'read' ? ['arn:aws:iam::aws:policy/*', customerPolicies] : customerPolicies;
    default:
      return kind === 'role'
        ? { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':role/*']] }
        : kind;
  }
};
const sidOf = (purpose: 'read' | 'remediate', kind: string) =>
  (SID as Record<string, string>)[
    `${purpose}${kind
      .split('-')
      .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
      .join('')}s`
  ];
/** Every rule kind's READ_ACTIONS, by the resource each is granted on (READ_RESOURCES, else the kind). */
const RULE_KINDS = sorted(new Set(RULES.map((r) => r.resource))) as (keyof typeof READ_ACTIONS)[];
const readsOn = (kind: string) =>
  sorted(
    new Set(RULE_KINDS.flatMap((k) => READ_ACTIONS[k].filter((a) => (READ_RESOURCES[a] ?? k) === kind))),
  );
const READ_KINDS = ['function', 'role', 'layer', 'policy', 'log-group', 'any'].filter(
  (k) => readsOn(k).length,
);
const reads = [
  ...READ_KINDS.map((k) => allow(readsOn(k), patternOf(k, 'read'), sidOf('read', k))),
  allow(['ssm:GetParameter'], killSwitchArn, SID.readKillSwitch),
];
const WRITE_KINDS = sorted(new Set(WRITE_ACTIONS.map((a) => a.resource)));
const ledgerPut = allow(['dynamodb:PutItem'], getAtt(logicalIdOf(built, stack.ledger)), SID.putLedgerRecord);
// The fingerprint key of LAMBDA.ENV.SECRET: collect, verify and remediate read it; nobody reads moved secrets.
const fingerprintKeyRead = allow(
  ['secretsmanager:GetSecretValue'],
  ref(logicalIdOf(built, stack.fingerprintKey)),
  SID.readFingerprintKey,
);
const anyRole = { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':role/*']] };
const guardrailSecrets = {
  'Fn::Join': [
    '',
    ['arn:aws:secretsmanager:us-east-1:', { Ref: 'AWS::AccountId' }, ':secret:lambda-guardrail/*'],
  ],
};
/** The two denies that narrow PutRolePolicy/DeleteRolePolicy on `role/*` (lib/guardrail-stack.ts). */
const roleWriteDenies = (statements: PolicyStatementJson[]) =>
  statements.filter((s) => s.Effect === 'Deny' && String(s.Sid).startsWith('DenyWritesTo'));

describe('IAM: exact statements per role', () => {
  it('remediate: reads + kill switch + exactly the write actions of functions/core/actions.ts', () => {
    const statements = roleStatements(json, roleId('remediate'));
    expect(shape(statements.filter((s) => s.Effect === 'Allow'))).toEqual(
      shape([
        ...base('remediate'),
        ...reads,
        fingerprintKeyRead,
        ...WRITE_KINDS.map((k) =>
          allow(
            writesOn(k),
            k === 'secret' ? guardrailSecrets : patternOf(k, 'remediate'),
            sidOf('remediate', k),
          ),
        ),
      ]),
    );
    // Together the Allow statements grant exactly the declared writes (and no GetSecretValue on moved secrets).
    const granted = new Set(
      statements
        .filter((s) => s.Effect === 'Allow' && String(s.Sid).startsWith('Remediate'))
        .flatMap((s) => asArray(s.Action)),
    );
    expect(sorted(granted)).toEqual(ALL_WRITES);
    expect(
      statements.filter(
        (s) =>
          asArray(s.Action).includes('secretsmanager:GetSecretValue') && s.Sid !== SID.readFingerprintKey,
      ),
    ).toEqual([]);
    expect(roleWriteDenies(statements)).toHaveLength(2);
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
      expect(shape(roleStatements(json, roleId(name)))).toEqual(
        shape([...base(name), ...reads, fingerprintKeyRead]),
      );
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
        // A changed managed policy: the roles it is attached to (docs/iam-roles.md).
        allow(['iam:ListEntitiesForPolicy'], patternOf('policy', 'remediate'), SID.listPolicyRoles),
      ]),
    );
  });

  it('prove: Access Analyzer ValidatePolicy and CheckNoNewAccess only (they take no resource)', () => {
    expect(shape(roleStatements(json, roleId('prove')))).toEqual(
      shape([...base('prove'), allow([...PROOF_ACTIONS], '*', SID.proveRewrites)]),
    );
  });

  it('state machine: InvokeFunction on exactly the seven task functions (unqualified), plus logging/tracing', () => {
    const smRole = logicalIdOf(
      built,
      stack.stateMachine.role as unknown as { node: { defaultChild?: unknown } },
    );
    const statements = roleStatements(json, smRole);
    const invoke = statements.find((s) => s.Sid === SID.invokeTaskFunctions);
    expect(invoke?.Action).toBe('lambda:InvokeFunction');
    const expected = (
      ['collect', 'evaluate', 'prove', 'remediate', 'verify', 'record', 'request-approval'] as const
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

  it('the only Deny statements are the queues’ TLS-only (aws:SecureTransport=false) statements and the role-write denies', () => {
    for (const s of statements.filter(
      (x) => x.Effect === 'Deny' && !String(x.Sid).startsWith('DenyWritesTo'),
    )) {
      expect(s.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    }
  });

  it('Resource "*" is used only for X-Ray, the Step Functions log delivery actions, the sweep\'s ListFunctions/ListLayers and reads without resource-level permissions', () => {
    const star = statements.filter((s) => s.Effect === 'Allow' && asArray(s.Resource).includes('*'));
    const actions = new Set(star.flatMap((s) => asArray(s.Action)));
    // Declared in functions/core/actions.ts READ_RESOURCES as kind `any` (the IAM catalog lists no resource type).
    const unscoped = new Set(
      Object.entries(READ_RESOURCES)
        .filter(([, k]) => k === 'any')
        .map(([a]) => a),
    );
    expect(unscoped).toEqual(
      new Set([
        'iam:GetServiceLastAccessedDetails',
        'ec2:DescribeSecurityGroups',
        'inspector2:BatchGetAccountStatus',
        'inspector2:ListFindings',
      ]),
    );
    for (const a of actions) {
      if (unscoped.has(a)) continue;
      expect(a).toMatch(
        /^(xray:|logs:(Create|Delete|Get|Update)LogDelivery$|logs:ListLogDeliveries$|logs:PutResourcePolicy$|logs:Describe(LogGroups|ResourcePolicies)$|lambda:ListFunctions$|lambda:ListLayers$|lambda:ListLayerVersions$|access-analyzer:(ValidatePolicy|CheckNoNewAccess)$)/,
      );
    }
  });
});

describe('lib/permissions', () => {
  it('remediationActions() is every WRITE_ACTIONS entry, grouped by the resource it acts on', () => {
    expect(remediationActions()).toEqual(ALL_WRITES);
    expect(remediationGrants()).toEqual(WRITE_KINDS.map((kind) => ({ kind, actions: writesOn(kind) })));
    // Only the rules that use an operation bring it: the first two rules declare no `usedBy` writes.
    const firstRules = RULES.filter((r) => ['LAMBDA.URL.PUBLIC', 'LAMBDA.POLICY.PUBLIC'].includes(r.id));
    expect(remediationGrants(firstRules)).toEqual([
      {
        kind: 'function',
        actions: sorted(
          new Set(
            WRITE_ACTIONS.filter((a) => a.resource === 'function' && !a.usedBy).flatMap((a) => a.iamActions),
          ),
        ),
      },
    ]);
  });

  it('readGrants() is READ_ACTIONS for the resource kinds the rules evaluate', () => {
    // Grouped by the resource each action is granted on (READ_RESOURCES, else the rule's kind).
    expect(readGrants().map((g) => g.kind)).toEqual(sorted(READ_KINDS));
    for (const g of readGrants()) expect(g.actions, g.kind).toEqual(readsOn(g.kind));
    expect(readGrants().find((g) => g.kind === 'function')?.actions).toEqual(EXPECTED_READS);
    // The context reads of functions/aws/collect-context.ts: log groups, and `*` where IAM has no resource type.
    expect(readsOn('log-group')).toEqual(['logs:GetDataProtectionPolicy']);
    expect(readsOn('any')).toEqual(
      expect.arrayContaining([
        'ec2:DescribeSecurityGroups',
        'inspector2:BatchGetAccountStatus',
        'inspector2:ListFindings',
      ]),
    );
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

describe('IAM: moving secrets (LAMBDA.ENV.SECRET)', () => {
  const remediate = roleStatements(json, roleId('remediate'));

  it('PutRolePolicy/DeleteRolePolicy never on the guardrail’s own roles, nor on roles tagged lambda-guardrail:protected', () => {
    const [own, protectedRoles] = roleWriteDenies(remediate).sort((a, b) =>
      String(a.Sid).localeCompare(String(b.Sid)),
    );
    // Every write on roles: moving secrets (Put/DeleteRolePolicy) and the IAM.ROLE rewrites (Attach/Detach too).
    expect(sorted(asArray(own.Action))).toEqual(writesOn('role'));
    const roles = resourcesOfType(json, 'AWS::IAM::Role').map(([id]) => JSON.stringify(getAtt(id)));
    expect(sorted(asArray(own.Resource).map((r) => JSON.stringify(r)))).toEqual(sorted(roles));
    expect(roles).toContain(JSON.stringify(getAtt(roleId('remediate'))));
    expect(protectedRoles).toMatchObject({
      Sid: SID.denyProtectedRoles,
      Resource: anyRole,
      Condition: { StringEquals: { 'aws:ResourceTag/lambda-guardrail:protected': 'true' } },
    });
  });

  it('no iam:PassRole anywhere (the fix never changes a function’s role)', () => {
    expect(allPolicyStatements(json).flatMap((s) => asArray(s.Action))).not.toContain('iam:PassRole');
  });

  it('a customer-managed key and extension layers add exactly their grants, on exactly those resources', () => {
    const kms = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const layer =
      'arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:12';
    const other = synth({ guardrail: { secrets: { kmsKeyArn: kms, extensionLayerArns: { arm64: layer } } } });
    const st = roleStatements(other.json, logicalIdOf(other, other.stack.functions.remediate.role));
    expect(st.find((s) => s.Sid === SID.useSecretsKey)).toMatchObject({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: kms,
    });
    expect(st.find((s) => s.Sid === SID.useExtensionLayer)).toMatchObject({
      Effect: 'Allow',
      Action: 'lambda:GetLayerVersion',
      Resource: layer,
    });
    // Without them, neither statement exists.
    expect(remediate.filter((s) => s.Sid === SID.useSecretsKey || s.Sid === SID.useExtensionLayer)).toEqual(
      [],
    );
  });

  it('the secret prefix of the configuration scopes the secret writes', () => {
    const other = synth({ guardrail: { secrets: { namePrefix: 'prod/moved/' } } });
    const st = roleStatements(other.json, logicalIdOf(other, other.stack.functions.remediate.role));
    expect(JSON.stringify(st.find((s) => s.Sid === SID.remediateSecrets)?.Resource)).toContain(
      ':secret:prod/moved/*',
    );
  });
});
