import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { READ_ACTIONS, WRITE_ACTIONS } from '../../functions/core/actions.ts';
import { RULES } from '../../functions/core/rules/index.ts';
import { cdkJsonContext } from '../../lib/app.ts';
import { IAM_REGION, MEMBER_PARAMETERS, memberTemplate } from '../../lib/org/member-stack.ts';
import { ORG_SID, TEMPLATE_BODY_LIMIT } from '../../lib/org/organization.ts';
import {
  asArray,
  type CfnTemplate,
  defaultSynth,
  type Loose,
  logicalIdOf,
  type PolicyStatementJson,
  resourcesOfType,
  roleStatements,
  sorted,
  synth,
} from './helpers.ts';

/**
 * Organization mode (docs/organization.md): the central stack's bus policy, member-role grants and
 * service-managed StackSet, and the member template it embeds. Expected permissions are derived from
 * functions/core/actions.ts directly, as test/infra/iam.test.ts does for the single-account roles.
 */

/** AwsSolutions with acknowledgements ignored (as in nag.test.ts): what the rules find before any acknowledgement. */
class UnacknowledgedAwsSolutions extends AwsSolutionsChecks {}
(UnacknowledgedAwsSolutions.prototype as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () =>
  false;

const ORG_ID = 'o-a1b2c3d4e5';
const EXTERNAL_ID = 'lambda-guardrail-7f3a';
const OUS = ['ou-ab12-11111111', 'ou-ab12-22222222'];
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const base = cdkJsonContext().guardrail as Record<string, unknown>;
const orgGuardrail = (extra: Record<string, unknown> = {}) => ({
  ...base,
  organization: {
    enabled: true,
    orgId: ORG_ID,
    externalId: EXTERNAL_ID,
    targets: { organizationalUnitIds: OUS },
    regions: REGIONS,
    ...extra,
  },
});

const built = synth({ guardrail: orgGuardrail() });
const { json, stack } = built;
const [[, stackSet]] = resourcesOfType(json, 'AWS::CloudFormation::StackSet');
const props = stackSet.Properties as Loose;
const member = JSON.parse(props.TemplateBody) as CfnTemplate & Loose;
const memberResources = Object.entries(member.Resources) as [string, Loose][];
const ofType = (type: string) => memberResources.filter(([, r]) => r.Type === type);
const roleNamed = (name: string) => ofType('AWS::IAM::Role').find(([, r]) => r.Properties.RoleName === name)!;
const allowActions = (statements: PolicyStatementJson[]) =>
  sorted(new Set(statements.filter((s) => s.Effect === 'Allow').flatMap((s) => asArray(s.Action))));
const memberStatements = (name: string) =>
  (
    roleNamed(name)[1].Properties.Policies as { PolicyDocument: { Statement: PolicyStatementJson[] } }[]
  ).flatMap((p) => p.PolicyDocument.Statement);

/** What the declarations in functions/core/actions.ts say each member role may do (every rule deployed). */
const KINDS = [...new Set(RULES.map((r) => r.resource))];
const EXPECTED_READS = sorted(new Set(KINDS.flatMap((k) => READ_ACTIONS[k])));
const EXPECTED_WRITES = sorted(
  new Set(
    WRITE_ACTIONS.filter((a) =>
      a.usedBy ? a.usedBy.some((id) => RULES.some((r) => r.id === id)) : KINDS.includes(a.resource as never),
    ).flatMap((a) => a.iamActions),
  ),
);

describe('the member StackSet', () => {
  it('is service-managed, auto-deployed to the configured OUs and regions, as delegated administrator', () => {
    expect(props.PermissionModel).toBe('SERVICE_MANAGED');
    expect(props.AutoDeployment).toEqual({ Enabled: true, RetainStacksOnAccountRemoval: false });
    expect(props.CallAs).toBe('DELEGATED_ADMIN');
    expect(props.Capabilities).toEqual(['CAPABILITY_NAMED_IAM']);
    expect(props.ManagedExecution).toEqual({ Active: true });
    expect(props.StackInstancesGroup).toEqual([
      { DeploymentTargets: { OrganizationalUnitIds: OUS }, Regions: REGIONS },
    ]);
    expect(props.OperationPreferences.RegionConcurrencyType).toBe('PARALLEL');
  });

  it('embeds a template that fits inline, needs no bootstrap and has no assets', () => {
    expect(props.TemplateBody.length).toBeLessThan(TEMPLATE_BODY_LIMIT);
    expect(JSON.stringify(member)).not.toMatch(
      /BootstrapVersion|cdk-hnb659fds|AssetParameters|S3Bucket|CDKMetadata/,
    );
  });

  it('passes the central bus, the central workflow roles, the org id and the external id as parameters', () => {
    const params = Object.fromEntries(
      (props.Parameters as { ParameterKey: string; ParameterValue: unknown }[]).map((p) => [
        p.ParameterKey,
        p.ParameterValue,
      ]),
    );
    expect(params[MEMBER_PARAMETERS.orgId]).toBe(ORG_ID);
    expect(params[MEMBER_PARAMETERS.externalId]).toBe(EXTERNAL_ID);
    expect(JSON.stringify(params[MEMBER_PARAMETERS.centralBus])).toContain(':event-bus/default');
    const principals = JSON.stringify(params[MEMBER_PARAMETERS.centralPrincipals]);
    // the sweep reads every member account through the collector role (test/infra/sweep-org.test.ts)
    for (const fn of ['collect', 'verify', 'remediate', 'sweep'] as const)
      expect(principals).toContain(logicalIdOf(built, stack.functions[fn].role));
    for (const fn of ['ingest', 'evaluate', 'record'] as const)
      expect(principals).not.toContain(logicalIdOf(built, stack.functions[fn].role));
    expect(member.Parameters[MEMBER_PARAMETERS.externalId].NoEcho).toBe(true);
  });

  it('rules forward the same CloudTrail patterns to the central bus; the IAM rule only in us-east-1', () => {
    expect(member.Conditions.IsIamRegion).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, IAM_REGION] });
    const rules = ofType('AWS::Events::Rule');
    const byService = Object.fromEntries(rules.map(([, r]) => [r.Properties.EventPattern.source[0], r]));
    expect(Object.keys(byService).sort()).toEqual(['aws.iam', 'aws.lambda']);
    expect(byService['aws.lambda'].Condition).toBeUndefined();
    expect(byService['aws.iam'].Condition).toBe('IsIamRegion');
    // The same patterns as the central stack's rules, except for the excluded roles.
    const central = resourcesOfType(json, 'AWS::Events::Rule').map(
      ([, r]) => (r.Properties as Loose).EventPattern,
    );
    for (const [, r] of rules) {
      const p = r.Properties.EventPattern;
      const twin = central.find((c: Loose) => c.source[0] === p.source[0]);
      expect(p.detail.eventName).toEqual(twin.detail.eventName);
      expect(p.detail.errorCode).toEqual([{ exists: false }]);
      // The member roles' own sessions never trigger (and ingest checks again).
      const excluded = JSON.stringify(p.detail.userIdentity.sessionContext.sessionIssuer.arn);
      expect(excluded).toContain(':role/lambda-guardrail-collector');
      expect(excluded).toContain(':role/lambda-guardrail-remediation');
      expect(r.Properties.Targets).toEqual([
        expect.objectContaining({ Arn: { Ref: MEMBER_PARAMETERS.centralBus } }),
      ]);
    }
    // The forwarding role may put events on the central bus and do nothing else.
    const [[forwardId]] = ofType('AWS::IAM::Role').filter(([, r]) => !r.Properties.RoleName);
    expect(roleStatements(member, forwardId)).toEqual([
      { Action: 'events:PutEvents', Effect: 'Allow', Resource: { Ref: MEMBER_PARAMETERS.centralBus } },
    ]);
  });

  it('creates the collector and remediation roles in us-east-1 only (IAM is global)', () => {
    for (const name of ['lambda-guardrail-collector', 'lambda-guardrail-remediation']) {
      const [, role] = roleNamed(name);
      expect(role.Condition).toBe('IsIamRegion');
    }
    expect(ofType('AWS::IAM::Role').filter(([, r]) => r.Properties.RoleName)).toHaveLength(2);
  });

  it('trusts only the central workflow roles, under aws:PrincipalOrgID and sts:ExternalId', () => {
    for (const name of ['lambda-guardrail-collector', 'lambda-guardrail-remediation']) {
      const trust = roleNamed(name)[1].Properties.AssumeRolePolicyDocument;
      expect(trust.Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { AWS: { Ref: MEMBER_PARAMETERS.centralPrincipals } },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: {
              'aws:PrincipalOrgID': { Ref: MEMBER_PARAMETERS.orgId },
              'sts:ExternalId': { Ref: MEMBER_PARAMETERS.externalId },
            },
          },
        },
      ]);
    }
  });

  it('gives the member roles exactly the declared action permissions, never more', () => {
    expect(allowActions(memberStatements('lambda-guardrail-collector'))).toEqual(EXPECTED_READS);
    expect(allowActions(memberStatements('lambda-guardrail-remediation'))).toEqual(
      sorted(new Set([...EXPECTED_READS, ...EXPECTED_WRITES])),
    );
    for (const s of [
      ...memberStatements('lambda-guardrail-collector'),
      ...memberStatements('lambda-guardrail-remediation'),
    ]) {
      for (const a of asArray(s.Action)) expect(a).not.toMatch(/\*/);
      // Only this account's resources (or "*" for reads without resource-level permissions).
      for (const r of asArray(s.Resource as unknown)) {
        const text = JSON.stringify(r);
        if (text !== '"*"') expect(text).toContain('AWS::AccountId');
      }
    }
    // Remediation never writes the guardrail's own roles or roles tagged protected.
    const denies = memberStatements('lambda-guardrail-remediation').filter((s) => s.Effect === 'Deny');
    expect(denies.map((d) => d.Sid).sort()).toEqual([
      'DenyWritesToGuardrailRoles',
      'DenyWritesToProtectedRoles',
    ]);
  });

  it('follows the configured role names and the management-account mode (CallAs SELF)', () => {
    const other = synth({
      guardrail: orgGuardrail({
        delegatedAdmin: false,
        memberRoleNames: { collector: 'sec-read', remediation: 'sec-fix' },
      }),
    });
    const [[, set]] = resourcesOfType(other.json, 'AWS::CloudFormation::StackSet');
    expect((set.Properties as Loose).CallAs).toBe('SELF');
    const tpl = JSON.parse((set.Properties as Loose).TemplateBody);
    const names = Object.values(tpl.Resources as Record<string, Loose>)
      .map((r) => r.Properties?.RoleName)
      .filter(Boolean)
      .sort();
    expect(names).toEqual(['sec-fix', 'sec-read']);
  });
});

describe('the central account in organization mode', () => {
  it('admits events on the default bus only from principals of the organization', () => {
    const policies = resourcesOfType(json, 'AWS::Events::EventBusPolicy');
    expect(policies).toHaveLength(1);
    const p = policies[0][1].Properties as Loose;
    expect(p.EventBusName).toBe('default');
    expect(p.Statement).toMatchObject({
      Sid: ORG_SID.busPolicy,
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG_ID } },
    });
  });

  it('lets collect and verify assume the collector role, and only remediate the remediation role', () => {
    const assumes = (fn: keyof typeof stack.functions) =>
      roleStatements(json, logicalIdOf(built, stack.functions[fn].role))
        .filter((s) => asArray(s.Action).includes('sts:AssumeRole'))
        .map((s) => JSON.stringify(s.Resource))
        .sort();
    const collector = JSON.stringify([
      'arn:',
      { Ref: 'AWS::Partition' },
      ':iam::*:role/lambda-guardrail-collector',
    ]);
    const remediation = JSON.stringify([
      'arn:',
      { Ref: 'AWS::Partition' },
      ':iam::*:role/lambda-guardrail-remediation',
    ]);
    expect(assumes('collect').join()).toContain(collector.slice(1, -1));
    expect(assumes('collect').join()).not.toContain('remediation');
    expect(assumes('verify').join()).not.toContain('remediation');
    expect(assumes('remediate')).toHaveLength(2);
    expect(assumes('remediate').join()).toContain(remediation.slice(1, -1));
    // the sweep: the collector role only (test/infra/sweep-org.test.ts)
    expect(assumes('sweep')).toHaveLength(1);
    expect(assumes('sweep')[0]).toContain(collector.slice(1, -1));
    for (const fn of ['ingest', 'evaluate', 'record'] as const) expect(assumes(fn)).toEqual([]);
  });

  it('passes cdk-nag AwsSolutions (central stack and member template) with acknowledgements', () => {
    const checked = synth({ guardrail: orgGuardrail({ modeOverrides: { ous: { [OUS[0]]: 'report' } } }) });
    const report = new AwsSolutionsChecks().validateScope(checked.app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    // The member template is checked in its own App: the same plugin finds nothing unacknowledged there.
    const { stack: memberStack } = memberTemplate({ config: checked.config, nag: false });
    expect(new AwsSolutionsChecks().validateScope(memberStack).violations.map((v) => v.ruleName)).toEqual([]);
    // ...and without the acknowledgements it would: the check is real.
    const raw = new UnacknowledgedAwsSolutions().validateScope(memberStack);
    expect(raw.violations.some((v) => v.ruleName.startsWith('AwsSolutions-IAM5'))).toBe(true);
    const centralRaw = new UnacknowledgedAwsSolutions().validateScope(checked.app);
    const assumeFindings = centralRaw.violations
      .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))
      .filter((f) => f.includes('IAM5') && /Collect|Remediate|Verify/.test(f));
    expect(assumeFindings.length).toBeGreaterThan(0);
  });

  it('leaves single-account mode unchanged: no StackSet, no bus policy, no sts:AssumeRole', () => {
    const single = defaultSynth().json;
    expect(resourcesOfType(single, 'AWS::CloudFormation::StackSet')).toEqual([]);
    expect(resourcesOfType(single, 'AWS::Events::EventBusPolicy')).toEqual([]);
    const fns = defaultSynth().stack.functions;
    for (const fn of Object.values(fns)) {
      const statements = roleStatements(single, logicalIdOf(defaultSynth(), fn.role));
      expect(statements.flatMap((st) => asArray(st.Action))).not.toContain('sts:AssumeRole');
    }
  });
});
