import { functionArnOf, functionConfiguration, tags } from '../snapshot.ts';
import type { Rule } from '../types.ts';

/**
 * LAMBDA.VPC.REQUIRED: a function that the configuration says must run in a VPC (by tag or by
 * name prefix, `vpcRequired`) has no VpcConfig.SubnetIds. Without a `vpcRequired` setting the rule
 * does not apply. No plan: which subnets and security groups a function belongs in is a network
 * decision, and attaching a VPC changes what the function can reach.
 */

export const RULE_ID = 'LAMBDA.VPC.REQUIRED';

/** The `vpcRequired` setting (core/config.ts validates it). */
export interface VpcRequirement {
  /** Tag key -> value; `*` matches any value. A function with any of these tags must be in a VPC. */
  tags: Record<string, string>;
  /** A function whose name starts with any of these must be in a VPC. */
  namePrefixes: string[];
}

/** Why the configuration requires a VPC for this function, or undefined. */
export function vpcRequiredBy(
  req: VpcRequirement,
  functionName: string,
  tagMap: Record<string, string>,
): string | undefined {
  for (const [key, value] of Object.entries(req.tags)) {
    if (key in tagMap && (value === '*' || tagMap[key] === value))
      return `tag ${key}=${tagMap[key]} (vpcRequired.tags)`;
  }
  const prefix = req.namePrefixes.find((p) => functionName.startsWith(p));
  return prefix === undefined ? undefined : `name prefix "${prefix}" (vpcRequired.namePrefixes)`;
}

export const lambdaVpcRequired: Rule = {
  id: RULE_ID,
  title: 'Function outside a VPC where one is required',
  severity: 'MEDIUM',
  rationale:
    'Functions that reach private data stores or must send traffic through inspected egress belong in a VPC. The configuration names them by tag or name prefix; a function among them without a VPC reaches the internet directly.',
  knownFalsePositives: [
    'Functions matched by a broad name prefix or tag that do not need private network access. Narrow vpcRequired, or exempt them by tag with a reason and an expiry.',
  ],
  triggers: [{ service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] }],
  resource: 'function',
  defaultMode: 'report',
  fix: 'None automatic (subnets and security groups are a network decision). A person runs UpdateFunctionConfiguration with VpcConfig SubnetIds and SecurityGroupIds; the execution role needs the ENI permissions of AWSLambdaVPCAccessExecutionRole.',
  evaluate(s, ctx) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const req = ctx.config?.vpcRequired;
    if (!req || (!Object.keys(req.tags).length && !req.namePrefixes.length)) {
      return { status: 'NOT_APPLICABLE', reason: 'vpcRequired is not configured' };
    }
    const fn = config.FunctionName;
    const because = vpcRequiredBy(req, fn, tags(s));
    if (!because)
      return {
        status: 'NOT_APPLICABLE',
        reason: 'the configuration does not require a VPC for this function',
      };
    const vpc = config['VpcConfig'] as { SubnetIds?: string[]; VpcId?: string } | undefined;
    if (vpc?.SubnetIds?.length) return { status: 'COMPLIANT' };
    return {
      status: 'NON_COMPLIANT',
      findings: [
        {
          resourceArn: functionArnOf(s) ?? config.FunctionArn,
          summary: `${fn} is not in a VPC, but the configuration requires one for it (${because}).`,
          evidence: {
            requiredBy: because,
            vpcConfig: vpc ?? null,
            remediation: [
              `aws iam attach-role-policy --role-name <execution role> --policy-arn arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole`,
              `aws lambda update-function-configuration --function-name ${fn} --vpc-config SubnetIds=<private subnet ids>,SecurityGroupIds=<security group ids>`,
            ],
            note: 'Use private subnets with a NAT gateway or VPC endpoints for the AWS services the function calls; set the same in the function template.',
          },
          plan: { steps: [], preconditions: [] },
        },
      ],
    };
  },
};
