import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CLOUDTRAIL_DETAIL_TYPE, notOneOfOrAbsent } from './event-pattern.ts';

/** The only region where IAM's CloudTrail events reach EventBridge (IAM is a global service). */
export const IAM_EVENTS_REGION = 'us-east-1';

export interface IamForwardingStackProps extends StackProps {
  /** The guardrail's home region: the forwarded events go to its default event bus. */
  homeRegion: string;
  /** IAM trigger actions (`triggerPrefixes().iam`), matched by prefix. */
  actions: readonly string[];
  /**
   * Name of the guardrail's stack: the roles CloudFormation creates for it are named
   * `<stack name>-<logical id>-<suffix>`, so their sessions are excluded here by ARN prefix (the exact
   * ARNs live in another region and cannot be referenced). The home region's rule and ingest exclude
   * the exact ARNs again.
   */
  guardrailStackName: string;
  /** Configured excluded principals that are not roles (literal ARNs, matched on userIdentity.arn). */
  excludedPrincipalArns?: readonly string[];
}

/**
 * Deployed in us-east-1 when the guardrail's home region is elsewhere (docs/deployment.md): one
 * EventBridge rule for the IAM triggers, whose target is the home region's default event bus (a
 * cross-region bus target, same account: no bus policy needed, EventBridge assumes the role the
 * target creates, which may only events:PutEvents to that bus). The guardrail stack's own `iam` rule in
 * the home region then matches the forwarded events (they keep source `aws.iam`).
 */
export class IamForwardingStack extends Stack {
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: IamForwardingStackProps) {
    super(scope, id, {
      description: `Lambda Guardrail: forwards IAM CloudTrail events from ${IAM_EVENTS_REGION} to the guardrail in ${props.homeRegion}`,
      ...props,
    });
    const ownRolePrefix = `arn:${this.partition}:iam::${this.account}:role/${props.guardrailStackName}-`;
    // Configured excluded roles are excluded again by the home region's rule and by ingest (exactly);
    // here only the guardrail's own roles (by prefix) and configured non-role principals.
    const others = props.excludedPrincipalArns ?? [];
    this.rule = new events.Rule(this, 'IamApiCalls', {
      description: `Lambda Guardrail: IAM changes recorded by CloudTrail, forwarded to ${props.homeRegion}`,
      eventPattern: {
        source: ['aws.iam'],
        detailType: [CLOUDTRAIL_DETAIL_TYPE],
        detail: {
          eventSource: ['iam.amazonaws.com'],
          eventName: events.Match.anyOf(...props.actions.map((a) => events.Match.prefix(a))),
          errorCode: events.Match.doesNotExist(),
          userIdentity: {
            sessionContext: {
              sessionIssuer: {
                arn: events.Match.anyOf(
                  events.Match.anythingButPrefix(ownRolePrefix),
                  events.Match.doesNotExist(),
                ),
              },
            },
            ...(others.length ? { arn: notOneOfOrAbsent(others) } : {}),
          },
        },
      },
    });
    this.deadLetterQueue = new sqs.Queue(this, 'ForwardingFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the forwarding target (IAM events that could not be delivered to the home region); it needs no DLQ of its own.',
    });
    const homeBus = events.EventBus.fromEventBusArn(
      this,
      'HomeBus',
      `arn:${this.partition}:events:${props.homeRegion}:${this.account}:event-bus/default`,
    );
    this.rule.addTarget(new targets.EventBus(homeBus, { deadLetterQueue: this.deadLetterQueue }));
  }
}
