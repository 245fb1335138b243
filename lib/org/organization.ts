import { Aws, Fn } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { GuardrailConfig } from '../../functions/core/config.ts';
import { needsOuChain } from '../../functions/core/org.ts';
import type { Rule } from '../../functions/core/types.ts';
import type { GuardrailFunction } from '../functions.ts';
import { allowStatement } from '../iam.ts';
import { MEMBER_PARAMETERS, memberTemplate } from './member-stack.ts';

/**
 * Organization mode in the central account (docs/organization.md): the default event bus admits
 * events from principals of the organization only, the central workflow's functions may assume the
 * member roles, and a service-managed StackSet (auto-deployment) puts the member template in every
 * account of the target OUs and regions. The rules on the central bus are the stack's own
 * (lib/guardrail-stack.ts): forwarded events keep the member account in `account`.
 */

export interface GuardrailOrganizationProps {
  config: GuardrailConfig;
  rules?: readonly Rule[];
  /** Functions that read member accounts through the collector role (collect, verify). */
  collectors: readonly GuardrailFunction[];
  /** Functions that also write through the remediation role (remediate). */
  remediators: readonly GuardrailFunction[];
  /**
   * Functions granted sts:AssumeRole on the collector role by their own construct (the sweep,
   * lib/sweep.ts): only named in the member roles' trust here.
   */
  sweepers?: readonly GuardrailFunction[];
}

/** The CloudFormation limit of a TemplateBody passed inline (CreateStackSet). */
export const TEMPLATE_BODY_LIMIT = 51_200;

export const ORG_SID = {
  busPolicy: 'AllowOrganizationPutEvents',
  assumeCollector: 'AssumeMemberCollectorRole',
  assumeRemediation: 'AssumeMemberRemediationRole',
  listParents: 'ReadOrganizationParents',
} as const;

export class GuardrailOrganization extends Construct {
  readonly busPolicy: events.CfnEventBusPolicy;
  readonly stackSet: cloudformation.CfnStackSet;
  readonly memberTemplate: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: GuardrailOrganizationProps) {
    super(scope, id);
    const org = props.config.organization;
    if (!org.enabled || !org.orgId || !org.externalId) throw new Error('organization mode is not configured');

    // ---- Central bus: only principals of the organization may put events ---------------------------
    const bus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.busPolicy = new events.CfnEventBusPolicy(this, 'BusPolicy', {
      eventBusName: 'default',
      statementId: ORG_SID.busPolicy,
      statement: {
        Sid: ORG_SID.busPolicy,
        Effect: 'Allow',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: bus.eventBusArn,
        Condition: { StringEquals: { 'aws:PrincipalOrgID': org.orgId } },
      },
    });

    // ---- Central roles may assume the member roles (in any account: the member's name only) --------
    const roleArn = (name: string) => `arn:${Aws.PARTITION}:iam::*:role/${name}`;
    const grant = (fn: GuardrailFunction, sid: string, name: string) => {
      fn.addToPolicy(allowStatement(sid, ['sts:AssumeRole'], [roleArn(name)]));
      fn.acknowledgeWildcardResource(
        roleArn(name),
        `Organization mode: the workflow assumes the member role ${name} in the account of each event (the account is only known at run time, and only accounts where the StackSet created the role, whose trust names this function's role under aws:PrincipalOrgID and sts:ExternalId, accept it).`,
      );
    };
    for (const fn of new Set([...props.collectors, ...props.remediators]))
      grant(fn, ORG_SID.assumeCollector, org.memberRoleNames.collector);
    for (const fn of props.remediators) grant(fn, ORG_SID.assumeRemediation, org.memberRoleNames.remediation);
    // OU mode overrides: the workflow reads the account's OU chain (Organizations ListParents).
    if (needsOuChain(props.config)) {
      const resources = org.managementAccountId
        ? ['account', 'ou', 'root'].map(
            (t) => `arn:${Aws.PARTITION}:organizations::${org.managementAccountId}:${t}/${org.orgId}/*`,
          )
        : ['*'];
      for (const fn of new Set([...props.collectors, ...props.remediators])) {
        fn.addToPolicy(allowStatement(ORG_SID.listParents, ['organizations:ListParents'], resources));
        for (const r of resources)
          fn.acknowledgeWildcardResource(
            r,
            'OU mode overrides: the workflow reads the OU chain of the event account (organizations:ListParents only); organizationalUnit and account ARNs are under the management account, "*" when managementAccountId is not configured.',
          );
      }
    }

    // ---- StackSet -----------------------------------------------------------------------------------
    const { template } = memberTemplate({
      config: props.config,
      ...(props.rules ? { rules: props.rules } : {}),
    });
    this.memberTemplate = template;
    const body = JSON.stringify(template);
    if (body.length > TEMPLATE_BODY_LIMIT)
      throw new Error(
        `member template is ${body.length} bytes; StackSets take at most ${TEMPLATE_BODY_LIMIT} inline`,
      );
    const principals = [
      ...new Set([...props.collectors, ...props.remediators, ...(props.sweepers ?? [])]),
    ].map((f) => f.role.roleArn);
    this.stackSet = new cloudformation.CfnStackSet(this, 'MemberStackSet', {
      stackSetName: 'lambda-guardrail-member',
      description: 'Lambda Guardrail member accounts: event forwarding and member roles (organization mode)',
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      ...(org.delegatedAdmin ? { callAs: 'DELEGATED_ADMIN' } : { callAs: 'SELF' }),
      capabilities: ['CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      operationPreferences: {
        regionConcurrencyType: 'PARALLEL',
        maxConcurrentPercentage: 25,
        failureTolerancePercentage: 10,
      },
      templateBody: body,
      parameters: [
        { parameterKey: MEMBER_PARAMETERS.centralBus, parameterValue: bus.eventBusArn },
        {
          parameterKey: MEMBER_PARAMETERS.centralPrincipals,
          parameterValue: Fn.join(',', principals),
        },
        { parameterKey: MEMBER_PARAMETERS.orgId, parameterValue: org.orgId },
        { parameterKey: MEMBER_PARAMETERS.externalId, parameterValue: org.externalId },
      ],
      stackInstancesGroup: [
        {
          deploymentTargets: { organizationalUnitIds: [...org.targets.organizationalUnitIds] },
          regions: [...org.regions],
        },
      ],
    });
  }
}
