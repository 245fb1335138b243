import { functionArnOf, functionConfiguration } from '../snapshot.ts';
import type { Rule } from '../types.ts';

/**
 * LAMBDA.VPC.EGRESS: a function in a VPC (VpcConfig.SecurityGroupIds non-empty) whose security
 * groups allow all outbound traffic to the whole internet: an egress rule with IpProtocol `-1` (all
 * traffic), or TCP/UDP on every port (0-65535), to `0.0.0.0/0` or `::/0`.
 *
 * Reads `DescribeSecurityGroups` (EC2, the function's region, `GroupIds` = the function's groups) in
 * its exact response shape. No plan: a security group is usually shared with other resources, and
 * which destinations a function needs is a network decision; the finding carries the exact commands.
 */

export const RULE_ID = 'LAMBDA.VPC.EGRESS';

/** The parts of an EC2 IpPermission the rule reads (the SDK's own field names). */
export interface IpPermission {
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges?: { CidrIp?: string; Description?: string }[];
  Ipv6Ranges?: { CidrIpv6?: string; Description?: string }[];
  PrefixListIds?: unknown[];
  UserIdGroupPairs?: unknown[];
}

export interface SecurityGroup {
  GroupId?: string;
  GroupName?: string;
  VpcId?: string;
  IpPermissionsEgress?: IpPermission[];
}

const ANYWHERE_V4 = '0.0.0.0/0';
const ANYWHERE_V6 = '::/0';

/** True when the permission covers every protocol, or every port of TCP or UDP. */
export function allTraffic(p: IpPermission): boolean {
  const proto = String(p.IpProtocol ?? '').toLowerCase();
  if (proto === '-1' || proto === 'all') return true;
  if (!['tcp', 'udp', '6', '17'].includes(proto)) return false;
  return (p.FromPort ?? 0) <= 0 && (p.ToPort ?? 65535) >= 65535;
}

/** The internet-wide destinations (`0.0.0.0/0`, `::/0`) of an all-traffic egress permission. */
export function openDestinations(p: IpPermission): string[] {
  if (!allTraffic(p)) return [];
  return [
    ...(p.IpRanges ?? []).filter((r) => r.CidrIp === ANYWHERE_V4).map(() => ANYWHERE_V4),
    ...(p.Ipv6Ranges ?? []).filter((r) => r.CidrIpv6 === ANYWHERE_V6).map(() => ANYWHERE_V6),
  ];
}

/** The `--ip-permissions` JSON that revokes exactly the open part of a permission. */
function revokeJson(p: IpPermission): string {
  const out: Record<string, unknown> = { IpProtocol: p.IpProtocol };
  if (p.FromPort !== undefined) out['FromPort'] = p.FromPort;
  if (p.ToPort !== undefined) out['ToPort'] = p.ToPort;
  if ((p.IpRanges ?? []).some((r) => r.CidrIp === ANYWHERE_V4)) out['IpRanges'] = [{ CidrIp: ANYWHERE_V4 }];
  if ((p.Ipv6Ranges ?? []).some((r) => r.CidrIpv6 === ANYWHERE_V6))
    out['Ipv6Ranges'] = [{ CidrIpv6: ANYWHERE_V6 }];
  return JSON.stringify([out]);
}

export const lambdaVpcEgress: Rule = {
  id: RULE_ID,
  title: 'VPC function with unrestricted egress',
  severity: 'LOW',
  rationale:
    'A function in a VPC is usually there to reach private resources. If its security groups also allow all traffic to 0.0.0.0/0 or ::/0, ' +
    'code running in it (a compromised dependency, an injected command) can send data anywhere the route tables reach, which defeats much of the point of the VPC.',
  knownFalsePositives: [
    'The default egress rule of every security group allows all traffic to 0.0.0.0/0; functions whose subnets have no route to the internet (no NAT gateway or internet gateway) cannot use it. The rule does not read route tables.',
    'Functions that call many third-party HTTPS APIs whose addresses are not known in advance. Exempt them by tag, with a reason and an expiry, or restrict egress to TCP 443.',
  ],
  triggers: [{ service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] }],
  resource: 'function',
  defaultMode: 'report',
  fix: 'None automatic (a security group is often shared, and which destinations a function needs is a network decision). A person adds the egress the function needs (for example TCP 443 to a VPC endpoint prefix list) with AuthorizeSecurityGroupEgress, then removes the all-traffic rule with RevokeSecurityGroupEgress; the finding carries both commands per group.',
  evaluate(s) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const vpc = config['VpcConfig'] as { SecurityGroupIds?: string[]; VpcId?: string } | undefined;
    const groupIds = vpc?.SecurityGroupIds ?? [];
    if (!groupIds.length) return { status: 'NOT_APPLICABLE', reason: 'the function is not in a VPC' };
    const read = s.responses['DescribeSecurityGroups'] as
      | { SecurityGroups?: SecurityGroup[] }
      | null
      | undefined;
    if (read === undefined)
      return {
        status: 'NOT_APPLICABLE',
        reason: 'the security groups were not read (DescribeSecurityGroups)',
      };
    if (read === null)
      return { status: 'NOT_APPLICABLE', reason: 'the security groups of the function no longer exist' };
    const groups = (read.SecurityGroups ?? []).filter((g) => g.GroupId && groupIds.includes(g.GroupId));
    const open = groups.flatMap((g) =>
      (g.IpPermissionsEgress ?? [])
        .filter((p) => openDestinations(p).length)
        .map((p) => ({ group: g, permission: p, destinations: openDestinations(p) })),
    );
    if (!open.length) return { status: 'COMPLIANT' };
    const fn = config.FunctionName;
    const ids = [...new Set(open.map((o) => o.group.GroupId as string))];
    return {
      status: 'NON_COMPLIANT',
      findings: [
        {
          resourceArn: functionArnOf(s) ?? config.FunctionArn,
          summary: `${fn} runs in ${vpc?.VpcId ?? 'a VPC'} and its security group(s) ${ids.join(', ')} allow all outbound traffic to ${[...new Set(open.flatMap((o) => o.destinations))].join(' and ')}.`,
          evidence: {
            vpcId: vpc?.VpcId ?? null,
            securityGroupIds: groupIds,
            openEgress: open.map((o) => ({
              groupId: o.group.GroupId,
              groupName: o.group.GroupName ?? null,
              ipProtocol: o.permission.IpProtocol,
              fromPort: o.permission.FromPort ?? null,
              toPort: o.permission.ToPort ?? null,
              destinations: o.destinations,
            })),
            remediation: open.flatMap((o) => [
              `aws ec2 authorize-security-group-egress --group-id ${o.group.GroupId} --ip-permissions '<the egress ${fn} needs, e.g. [{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"PrefixListIds":[{"PrefixListId":"<VPC endpoint prefix list>"}]}]>'`,
              `aws ec2 revoke-security-group-egress --group-id ${o.group.GroupId} --ip-permissions '${revokeJson(o.permission)}'`,
            ]),
            note: 'Check what else uses each group first (aws ec2 describe-network-interfaces --filters Name=group-id,Values=<group id>): revoking egress affects all of them. Or give the function its own group. Set the same in the template that owns the group.',
          },
          plan: { steps: [], preconditions: [] },
        },
      ],
    };
  },
};
