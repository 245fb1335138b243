import {
  App,
  Aws,
  BootstraplessSynthesizer,
  CfnCondition,
  CfnParameter,
  Fn,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import type { ResourceKind } from '../../functions/core/actions.ts';
import type { GuardrailConfig } from '../../functions/core/config.ts';
import { RULES, triggerPrefixes } from '../../functions/core/rules/index.ts';
import type { Rule } from '../../functions/core/types.ts';
import { cloudTrailEventPatterns, splitExcludedPrincipals } from '../event-pattern.ts';
import { wildcardResourceFinding } from '../nag.ts';
import { configuredGrants, PROTECTED_ROLE_TAG, readGrants, remediationGrants } from '../permissions.ts';

/**
 * The member template of organization mode (docs/organization.md): one CloudFormation template the
 * service-managed StackSet deploys to every target account and region. It is synthesized from its own
 * App with a synthesizer that needs no bootstrap and no assets, and embedded as the StackSet's
 * TemplateBody. IAM is global, so the two member roles and the IAM rule exist in us-east-1 only
 * (a CloudFormation condition on AWS::Region: one template serves every region).
 */

/** The region where IAM events reach EventBridge and where the member roles are created. */
export const IAM_REGION = 'us-east-1';

export const MEMBER_PARAMETERS = {
  centralBus: 'CentralEventBusArn',
  centralPrincipals: 'CentralPrincipalArns',
  orgId: 'OrganizationId',
  externalId: 'ExternalId',
} as const;

export const MEMBER_SID = {
  read: (kind: string) => `Read${pascal(kind)}`,
  remediate: (kind: string) => `Remediate${pascal(kind)}`,
  configured: (kind: string) => `Configured${pascal(kind)}`,
  denyGuardrailRoles: 'DenyWritesToGuardrailRoles',
  denyProtectedRoles: 'DenyWritesToProtectedRoles',
} as const;

function pascal(s: string): string {
  return s
    .split(/[^A-Za-z0-9]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

export interface MemberStackProps {
  config: GuardrailConfig;
  rules?: readonly Rule[];
}

/** Resources of one kind in the member account, in any region (the roles are global). */
export function memberResourcePattern(kind: ResourceKind, secretsPrefix: string): string {
  const p = Aws.PARTITION;
  const a = Aws.ACCOUNT_ID;
  switch (kind) {
    case 'any':
      return '*';
    case 'function':
      return `arn:${p}:lambda:*:${a}:function:*`;
    case 'layer':
      return `arn:${p}:lambda:*:${a}:layer:*`;
    case 'role':
      return `arn:${p}:iam::${a}:role/*`;
    case 'policy':
      return `arn:${p}:iam::${a}:policy/*`;
    case 'log-group':
      return `arn:${p}:logs:*:${a}:log-group:*`;
    case 'secret':
      return `arn:${p}:secretsmanager:*:${a}:secret:${secretsPrefix}*`;
    default:
      throw new Error(`no member-account pattern for ${kind}`);
  }
}

/** The member stack: forwarding rules in every region, the two roles in us-east-1 only. */
export class GuardrailMemberStack extends Stack {
  readonly collectorRole: iam.CfnRole;
  readonly remediationRole: iam.CfnRole;
  readonly rules: events.Rule[];
  readonly isIamRegion: CfnCondition;

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id, {
      synthesizer: new BootstraplessSynthesizer(),
      analyticsReporting: false,
      description:
        'Lambda Guardrail member account: forwards Lambda/IAM CloudTrail events to the central bus; member roles',
    });
    const { config } = props;
    const rules = props.rules ?? RULES;
    const names = config.organization.memberRoleNames;

    const bus = new CfnParameter(this, MEMBER_PARAMETERS.centralBus, {
      type: 'String',
      description: 'ARN of the central account event bus',
      allowedPattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/.+$',
    });
    const principals = new CfnParameter(this, MEMBER_PARAMETERS.centralPrincipals, {
      type: 'CommaDelimitedList',
      description: 'ARNs of the central workflow roles that may assume the member roles',
    });
    const orgId = new CfnParameter(this, MEMBER_PARAMETERS.orgId, {
      type: 'String',
      allowedPattern: '^o-[a-z0-9]{10,32}$',
    });
    const externalId = new CfnParameter(this, MEMBER_PARAMETERS.externalId, {
      type: 'String',
      noEcho: true,
      description: 'sts:ExternalId the member roles require',
    });
    this.isIamRegion = new CfnCondition(this, 'IsIamRegion', {
      expression: Fn.conditionEquals(Aws.REGION, IAM_REGION),
    });

    // ---- Forwarding rules ---------------------------------------------------------------------------
    const memberRoleArns = [names.collector, names.remediation].map(
      (n) => `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${n}`,
    );
    const excluded = splitExcludedPrincipals(config.excludedPrincipals);
    const patterns = cloudTrailEventPatterns({
      prefixes: triggerPrefixes(rules),
      // The guardrail's own calls in this account are its member roles' sessions.
      excludedRoleArns: [...memberRoleArns, ...excluded.roles],
      excludedPrincipalArns: excluded.others,
    });
    const central = events.EventBus.fromEventBusArn(this, 'CentralBus', bus.valueAsString);
    // One role per region for EventBridge to put events on the central bus (events:PutEvents on it only).
    const forwardRole = new iam.Role(this, 'ForwardRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'Lambda Guardrail: EventBridge forwards CloudTrail events to the central bus',
    });
    this.rules = patterns.map(({ service, pattern }) => {
      const rule = new events.Rule(this, `${pascal(service)}ApiCalls`, {
        description: `Lambda Guardrail: ${service} changes, forwarded to the central account`,
        eventPattern: pattern,
        targets: [new targets.EventBus(central, { role: forwardRole })],
      });
      // IAM events reach EventBridge only in us-east-1: the rule exists only there.
      if (service === 'iam')
        (rule.node.defaultChild as events.CfnRule).cfnOptions.condition = this.isIamRegion;
      return rule;
    });

    // ---- Member roles (us-east-1 only) ----------------------------------------------------------------
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: principals.valueAsList },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: {
              'aws:PrincipalOrgID': orgId.valueAsString,
              'sts:ExternalId': externalId.valueAsString,
            },
          },
        },
      ],
    };
    const prefix = config.secrets.namePrefix;
    const statement = (sid: string, actions: readonly string[], resources: string[], extra = {}) => ({
      Sid: sid,
      Effect: 'Allow',
      Action: [...actions],
      Resource: resources,
      ...extra,
    });
    const reads = readGrants(rules).map((g) =>
      statement(MEMBER_SID.read(g.kind), g.actions, [memberResourcePattern(g.kind, prefix)]),
    );
    const writes = remediationGrants(rules).map((g) =>
      statement(MEMBER_SID.remediate(g.kind), g.actions, [memberResourcePattern(g.kind, prefix)]),
    );
    const configured = configuredGrants(config.secrets, rules).map((g) =>
      statement(MEMBER_SID.configured(g.kind), g.actions, g.resources),
    );
    const roleWrites = ['iam:DeleteRolePolicy', 'iam:PutRolePolicy'];
    const denies = remediationGrants(rules).some((g) => g.kind === 'role')
      ? [
          {
            Sid: MEMBER_SID.denyGuardrailRoles,
            Effect: 'Deny',
            Action: roleWrites,
            Resource: memberRoleArns,
          },
          {
            Sid: MEMBER_SID.denyProtectedRoles,
            Effect: 'Deny',
            Action: roleWrites,
            Resource: [memberResourcePattern('role', prefix)],
            Condition: { StringEquals: { [`aws:ResourceTag/${PROTECTED_ROLE_TAG}`]: 'true' } },
          },
        ]
      : [];

    this.collectorRole = new iam.CfnRole(this, 'CollectorRole', {
      roleName: names.collector,
      description: 'Lambda Guardrail: read-only collector, assumed by the central workflow',
      assumeRolePolicyDocument: trust,
      maxSessionDuration: 3600,
      policies: [{ policyName: 'collect', policyDocument: { Version: '2012-10-17', Statement: reads } }],
    });
    this.remediationRole = new iam.CfnRole(this, 'RemediationRole', {
      roleName: names.remediation,
      description:
        'Lambda Guardrail: remediation (declared write actions only), assumed by the central workflow',
      assumeRolePolicyDocument: trust,
      maxSessionDuration: 3600,
      policies: [
        {
          policyName: 'remediate',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [...reads, ...writes, ...configured, ...denies],
          },
        },
      ],
    });
    const acknowledge = (role: iam.CfnRole, statements: { Resource: string[] }[]) => {
      for (const arn of new Set(statements.flatMap((st) => st.Resource).filter((r) => r.includes('*')))) {
        Validations.of(role).acknowledge({
          id: wildcardResourceFinding(role, arn),
          reason:
            arn === '*'
              ? 'Only reads that support no resource-level permissions (declared in functions/core/actions.ts with resource "any", e.g. ec2:DescribeSecurityGroups) use Resource "*".'
              : 'The guardrail watches every resource of this kind in the member account and cannot know names in advance; on this pattern the role gets only the named actions declared in functions/core/actions.ts (never a wildcard action).',
        });
      }
    };
    acknowledge(this.collectorRole, reads);
    acknowledge(this.remediationRole, [...reads, ...writes, ...configured]);
    for (const role of [this.collectorRole, this.remediationRole])
      role.cfnOptions.condition = this.isIamRegion;
  }
}

/** The member template as the StackSet's TemplateBody (JSON), synthesized in its own App (validated by cdk-nag). */
export function memberTemplate(props: MemberStackProps & { nag?: boolean }): {
  stack: GuardrailMemberStack;
  template: Record<string, unknown>;
} {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new GuardrailMemberStack(app, 'LambdaGuardrailMember', props);
  if (props.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  return { stack, template: assembly.getStackByName(stack.stackName).template as Record<string, unknown> };
}
