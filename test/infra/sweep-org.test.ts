import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { cdkJsonContext } from '../../lib/app.ts';
import { MEMBER_PARAMETERS } from '../../lib/org/member-stack.ts';
import { SWEEP_SID } from '../../lib/sweep.ts';
import {
  asArray,
  type CfnTemplate,
  defaultSynth,
  type Loose,
  logicalIdOf,
  type PolicyStatementJson,
  resourcesOfType,
  roleStatements,
  synth,
} from './helpers.ts';

/**
 * The organization sweep's IAM (lib/sweep.ts): organizations:ListAccounts (Resource "*", in a policy of
 * its own, acknowledged there) unless an allow list names the accounts, sts:AssumeRole on the member
 * collector role name only, and the sweep's role in the member roles' trust (the StackSet parameter).
 * None of it in single-account mode.
 */

/** AwsSolutions with acknowledgements ignored: what the rules find before any acknowledgement. */
class UnacknowledgedAwsSolutions extends AwsSolutionsChecks {}
(UnacknowledgedAwsSolutions.prototype as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () =>
  false;

const base = cdkJsonContext().guardrail as Record<string, unknown>;
const orgSynth = (extra: Record<string, unknown> = {}) =>
  synth({
    guardrail: {
      ...base,
      organization: {
        enabled: true,
        orgId: 'o-a1b2c3d4e5',
        externalId: 'lambda-guardrail-7f3a',
        targets: { organizationalUnitIds: ['ou-ab12-11111111'] },
        regions: ['us-east-1'],
        ...extra,
      },
    },
  });

const sweepStatements = (built: ReturnType<typeof synth>) =>
  roleStatements(built.json, logicalIdOf(built, built.stack.sweep.function.role));
const withAction = (statements: PolicyStatementJson[], action: string) =>
  statements.filter((s) => asArray(s.Action).includes(action));
const COLLECTOR = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/lambda-guardrail-collector']],
};

describe('the sweep in organization mode', () => {
  const built = orgSynth();
  const st = sweepStatements(built);

  it('may list the accounts (Resource "*", alone in its own policy) and assume the collector role only', () => {
    const list = withAction(st, 'organizations:ListAccounts');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ Sid: SWEEP_SID.listAccounts, Effect: 'Allow', Resource: '*' });
    expect(asArray(list[0].Action)).toEqual(['organizations:ListAccounts']);
    const policies = resourcesOfType(built.json as CfnTemplate, 'AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties).includes('organizations:ListAccounts'),
    );
    expect(policies).toHaveLength(1);
    expect(asArray((policies[0][1].Properties as Loose).PolicyDocument.Statement)).toHaveLength(1);

    const assume = withAction(st, 'sts:AssumeRole');
    expect(assume).toHaveLength(1);
    expect(assume[0]).toMatchObject({ Sid: SWEEP_SID.assumeCollector, Effect: 'Allow', Resource: COLLECTOR });
    expect(asArray(assume[0].Action)).toEqual(['sts:AssumeRole']);
    expect(JSON.stringify(st)).not.toContain('lambda-guardrail-remediation');
    // no other Organizations action (ListParents is the workflow's, for OU overrides)
    expect(st.flatMap((s) => asArray(s.Action)).filter((a) => a.startsWith('organizations:'))).toEqual([
      'organizations:ListAccounts',
    ]);
  });

  it('follows the configured collector role name', () => {
    const other = orgSynth({ memberRoleNames: { collector: 'sec-reader', remediation: 'sec-fixer' } });
    const [assume] = withAction(sweepStatements(other), 'sts:AssumeRole');
    expect(JSON.stringify(assume.Resource)).toContain(':iam::*:role/sec-reader');
  });

  it('with organization.accounts.allow: no Organizations permission (the list is the configured one)', () => {
    const allowed = orgSynth({ accounts: { allow: ['111111111111', '222222222222'] } });
    const statements = sweepStatements(allowed);
    expect(withAction(statements, 'organizations:ListAccounts')).toEqual([]);
    expect(withAction(statements, 'sts:AssumeRole')).toHaveLength(1);
  });

  it("puts the sweep's role in the member roles' trust (the StackSet's central principals)", () => {
    const [[, stackSet]] = resourcesOfType(built.json, 'AWS::CloudFormation::StackSet');
    const params = (stackSet.Properties as Loose).Parameters as {
      ParameterKey: string;
      ParameterValue: unknown;
    }[];
    const principals = JSON.stringify(
      params.find((p) => p.ParameterKey === MEMBER_PARAMETERS.centralPrincipals)!.ParameterValue,
    );
    expect(principals).toContain(logicalIdOf(built, built.stack.sweep.function.role));
  });

  it('cdk-nag: both wildcards are acknowledged beside the sweep, and would be findings without that', () => {
    expect(new AwsSolutionsChecks().validateScope(built.app).violations.map((v) => v.ruleName)).toEqual([]);
    const raw = new UnacknowledgedAwsSolutions()
      .validateScope(built.app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))
      .filter((f) => f.includes('IAM5') && f.includes('/Sweep/'));
    expect(raw.some((f) => f.includes('ListAccountsPolicy'))).toBe(true);
    expect(raw.some((f) => f.includes('lambda-guardrail-collector'))).toBe(true);
  });
});

describe('the sweep in single-account mode', () => {
  it('has no Organizations permission and assumes no role', () => {
    const st = sweepStatements(defaultSynth());
    const actions = st.flatMap((s) => asArray(s.Action));
    expect(actions.filter((a) => a.startsWith('organizations:'))).toEqual([]);
    expect(actions).not.toContain('sts:AssumeRole');
    expect(actions).toContain('lambda:ListFunctions');
  });
});
