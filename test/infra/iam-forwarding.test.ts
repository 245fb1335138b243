/**
 * IAM events reach EventBridge only in us-east-1 (docs/deployment.md): with another home region the
 * app adds a us-east-1 stack whose rule forwards the IAM triggers to the home region's default bus.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { triggerPrefixes } from '../../functions/core/rules/index.ts';
import { synth } from './helpers.ts';

const ACCOUNT = '123456789012';

describe('IAM event forwarding to the home region', () => {
  const built = synth({ guardrail: { homeRegion: 'eu-west-1' }, account: ACCOUNT });
  const fwd = built.forwarding!;
  const t = Template.fromStack(fwd);

  it('is deployed in us-east-1 when the home region is elsewhere', () => {
    expect(fwd).toBeDefined();
    expect(fwd.region).toBe('us-east-1');
    expect(built.stack.region).toBe('eu-west-1');
  });

  it("matches exactly the IAM triggers (prefix), successful calls only, not the guardrail's own roles", () => {
    const iam = triggerPrefixes(built.stack.rules)['iam']!;
    expect(iam).toEqual(
      expect.arrayContaining([
        'PutRolePolicy',
        'AttachRolePolicy',
        'CreatePolicyVersion',
        'SetDefaultPolicyVersion',
      ]),
    );
    t.resourceCountIs('AWS::Events::Rule', 1);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.iam'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['iam.amazonaws.com'],
          eventName: iam.map((a) => ({ prefix: a })),
          errorCode: [{ exists: false }],
          userIdentity: {
            sessionContext: {
              sessionIssuer: {
                arn: [
                  {
                    'anything-but': {
                      prefix: `arn:aws:iam::${ACCOUNT}:role/${built.stack.stackName}-`,
                    },
                  },
                  { exists: false },
                ],
              },
            },
          },
        },
      },
    });
  });

  it("targets the home region's default bus, with a role that may only put events there and a DLQ", () => {
    const busArn = `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/default`;
    t.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: busArn,
          RoleArn: Match.anyValue(),
          DeadLetterConfig: { Arn: Match.anyValue() },
        }),
      ],
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: busArn }],
      },
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })],
      },
    });
  });

  it('the home stack keeps its own iam rule, which matches the forwarded events (source aws.iam)', () => {
    built.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.iam'] }),
    });
  });

  it('passes cdk-nag AwsSolutions (its one acknowledgement is the DLQ that is itself a DLQ)', () => {
    const report = new AwsSolutionsChecks().validateScope(fwd);
    expect(
      report.violations.map(
        (v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(',')}`,
      ),
    ).toEqual([]);
  });

  it('is not deployed when the home region is us-east-1: the main stack rule covers IAM', () => {
    const home = synth({ guardrail: { homeRegion: 'us-east-1' }, account: ACCOUNT });
    expect(home.forwarding).toBeUndefined();
    expect(home.app.node.children.filter((c) => c instanceof Stack).map((c) => c.node.id)).toEqual([
      'LambdaGuardrail',
    ]);
  });
});
