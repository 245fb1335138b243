/**
 * What is wrong with an identity-policy statement, as data: the three IAM.ROLE rules read this.
 * Only Allow statements can be findings; Deny statements never are.
 */
import {
  type CatalogAction,
  catalogAction,
  expandNotAction,
  expandPattern,
  isWildcardPattern,
} from './catalog.ts';
import { conditionKeys, isAllow, type Statement, statementLists } from './document.ts';

export interface StatementIssues {
  /** Allow with `Action: "*"` (or `*:*`) or with `NotAction`. */
  admin: boolean;
  /** Wildcard action patterns other than a bare `*`: `s3:*`, `s3:Put*`, `*:Get*`. */
  serviceWildcards: string[];
  /**
   * On `Resource: "*"` (or `NotResource`), the granted actions that support resource-level
   * permissions (outside the Lambda baseline), at most a few named; and whether iam:PassRole is one.
   */
  resourceWildcard?: { actions: number; examples: string[]; passRole: boolean };
}

/**
 * Actions every Lambda function's role needs and AWS's own Lambda execution policies grant on `*`
 * (AWSLambdaBasicExecutionRole: the three log actions; AWSLambdaVPCAccessExecutionRole and
 * AWSLambdaENIManagementAccess: network interfaces for VPC functions). IAM.ROLE.RESOURCE_WILDCARD
 * does not count them: flagging them would make nearly every function a finding, and scoping them
 * to the function's own log group and subnets changes little (see the rule's known false positives).
 */
export const LAMBDA_BASELINE_ACTIONS: ReadonlySet<string> = new Set(
  [
    'logs:CreateLogGroup',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'ec2:CreateNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DeleteNetworkInterface',
    'ec2:AssignPrivateIpAddresses',
    'ec2:UnassignPrivateIpAddresses',
    'ec2:DescribeSubnets',
    'ec2:DetachNetworkInterface',
  ].map((a) => a.toLowerCase()),
);

/**
 * Condition keys that narrow a `Resource: "*"` to particular resources (tags, account, organization):
 * with one of them under a narrowing operator, the statement is not a resource wildcard. Keys compare
 * case-insensitively (`AWS:ResourceTag/team` = `aws:resourcetag/team`).
 */
function narrowsResources(s: Statement): boolean {
  return conditionKeys(s).some((e) => {
    const op = e.operator.toLowerCase();
    if (op.includes('not') || op.endsWith('ifexists') || op === 'null' || op.startsWith('forallvalues:'))
      return false;
    if (!e.values.length || e.values.every((v) => v === '*' || v === '' || v == null)) return false;
    return (
      /^[a-z0-9-]+:resourcetag\//.test(e.key) ||
      ['aws:resourceaccount', 'aws:resourceorgid', 'aws:resourceorgpaths'].includes(e.key)
    );
  });
}

const grants = new WeakMap<Statement, ReadonlySet<CatalogAction>>();

/**
 * The catalog actions a statement's Action or NotAction grants (NotAction: all the others).
 * Memoized per statement object (the rules and the planner ask for the same statements).
 */
export function grantedActions(s: Statement): ReadonlySet<CatalogAction> {
  const hit = grants.get(s);
  if (hit) return hit;
  const l = statementLists(s);
  let out: Set<CatalogAction>;
  if (l.hasNotAction) out = expandNotAction(l.notActions);
  else {
    out = new Set<CatalogAction>();
    for (const p of l.actions) for (const a of expandPattern(p)) out.add(a);
  }
  grants.set(s, out);
  return out;
}

const isEverything = (p: string) => p === '*' || p === '*:*';

export function statementIssues(s: Statement): StatementIssues {
  const none: StatementIssues = { admin: false, serviceWildcards: [] };
  if (!isAllow(s)) return none;
  const l = statementLists(s);
  const admin = l.hasNotAction || l.actions.some(isEverything);
  const serviceWildcards = l.actions.filter((p) => isWildcardPattern(p) && !isEverything(p));
  const issues: StatementIssues = { admin, serviceWildcards };
  const onEverything = l.resources.includes('*') || l.hasNotResource;
  if (onEverything && !narrowsResources(s)) {
    let count = 0;
    const examples: string[] = [];
    let passRole = false;
    const consider = (a: CatalogAction) => {
      if (!a.resourceLevel || LAMBDA_BASELINE_ACTIONS.has(a.action.toLowerCase())) return;
      count++;
      if (a.action === 'iam:PassRole') passRole = true;
      else if (examples.length < 5) examples.push(a.action);
    };
    if (l.hasNotAction || l.actions.some(isWildcardPattern)) for (const a of grantedActions(s)) consider(a);
    else
      for (const p of new Set(l.actions.map((x) => x.toLowerCase()))) {
        const a = catalogAction(p);
        if (a) consider(a);
      }
    // iam:PassRole named first: the one that lets the function hand any role to a service.
    if (count)
      issues.resourceWildcard = {
        actions: count,
        examples: passRole ? ['iam:PassRole', ...examples.slice(0, 4)] : examples,
        passRole,
      };
  }
  return issues;
}

/** Whether the rewrite replaces the statement: an Allow with `*`, NotAction or any wildcard action. */
export const needsRewrite = (i: StatementIssues) => i.admin || i.serviceWildcards.length > 0;
