import { CloudWatchLogsClient, GetDataProtectionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient, paginateListAttachedRolePolicies } from '@aws-sdk/client-iam';
import {
  BatchGetAccountStatusCommand,
  Inspector2Client,
  ListFindingsCommand,
} from '@aws-sdk/client-inspector2';
import { logGroupOf } from '../core/rules/lambda-logs-unmasked.ts';
import {
  type InspectorFinding,
  lambdaScanning,
  listFindingsFilter,
  MAX_FINDINGS,
} from '../core/rules/lambda-vulnerable.ts';
import type { FunctionConfiguration } from '../core/snapshot.ts';
import type { Snapshot } from '../core/types.ts';
import { type AwsClients, body, errorName, isNotFound } from './clients.ts';

/**
 * Reads about a function that live outside Lambda, for the rules that need them (docs/snapshot.md):
 *
 * - `DescribeSecurityGroups` (EC2): the function's security groups, only for a function in a VPC
 *   (LAMBDA.VPC.EGRESS). `null` when a group no longer exists.
 * - `GetDataProtectionPolicy` (CloudWatch Logs): the data protection policy of the function's log
 *   group (LAMBDA.LOGS.UNMASKED). `null` when the log group does not exist.
 * - `BatchGetAccountStatus` and, when Lambda scanning is enabled, `ListFindings` (Amazon Inspector):
 *   the function's ACTIVE HIGH/CRITICAL findings (LAMBDA.VULNERABLE), each reduced to the fields the
 *   rule reads (same names; the rest of a finding is several KB and would not fit a workflow payload). The account status is read once
 *   per region and client set within 15 minutes (a scan of 1,000 functions asks once, not 1,000 times).
 *
 * - `ListAttachedRolePolicies:<role name>` (IAM): the execution role's managed policies, only when
 *   asked (LAMBDA.TRACING enabled), the role is in the function's account and tracing is not Active.
 *
 * Each is optional: a read the caller may not make (AccessDenied), the endpoint does not implement
 * (the local emulator has no CloudWatch Logs data protection) or that has no credentials is left out
 * of the snapshot, and the rule that needs it says it was not read (NOT_APPLICABLE). Any other error
 * (throttling past the retries, a 5xx) fails the collection like a Lambda read does.
 */

const OPTIONAL_READ_ERRORS = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'CredentialsProviderError',
  'NotImplementedError',
  'NotImplemented',
  'UnknownOperationException',
  'InvalidAction',
]);

/** A read that may be left out (see above): undefined instead of an error. */
export async function optional<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
    if (OPTIONAL_READ_ERRORS.has(errorName(err)) || status === 501) return undefined;
    // An answer that is not in the service's protocol at all (an HTML error page): the endpoint does
    // not implement the operation (moto 5.2.5 answers CloudWatch Logs data protection this way).
    if (errorName(err) === 'SyntaxError' && (err as { $response?: unknown }).$response) return undefined;
    throw err;
  }
}

/** Caches the Inspector account status per region for this long (the deployed clients live across invocations). */
const STATUS_TTL_MS = 15 * 60_000;
const statusCache = new WeakMap<AwsClients, Map<string, Promise<unknown>>>();

/** One status read per client set, region, account and 15-minute window; a failed read is not kept. */
function inspectorStatus(clients: AwsClients, key: string, read: () => Promise<unknown>): Promise<unknown> {
  let cache = statusCache.get(clients);
  if (!cache) {
    cache = new Map();
    statusCache.set(clients, cache);
  }
  let p = cache.get(key);
  if (!p) {
    p = read();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

export async function collectFunctionContext(
  clients: AwsClients,
  snapshot: Snapshot,
  config: FunctionConfiguration,
  opts: { attachedRolePolicies?: boolean; now?: () => number } = {},
): Promise<void> {
  const now = opts.now ?? Date.now;
  const { responses, region, account } = snapshot;
  const set = (key: string, value: unknown) => {
    if (value !== undefined) responses[key] = value;
  };

  const groupIds =
    (config['VpcConfig'] as { SecurityGroupIds?: string[] } | undefined)?.SecurityGroupIds ?? [];
  const securityGroups = groupIds.length
    ? optional(async () => {
        try {
          return body(
            await clients
              .get(EC2Client, region)
              .send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds })),
          );
        } catch (err) {
          if (errorName(err) === 'InvalidGroup.NotFound') return null;
          throw err;
        }
      })
    : Promise.resolve(undefined);

  const dataProtection = optional(async () => {
    try {
      return body(
        await clients
          .get(CloudWatchLogsClient, region)
          .send(new GetDataProtectionPolicyCommand({ logGroupIdentifier: logGroupOf(config) })),
      );
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  });

  const inspector = clients.get(Inspector2Client, region);
  const status = inspectorStatus(clients, `${region}:${account}:${Math.floor(now() / STATUS_TTL_MS)}`, () =>
    optional(async () =>
      body(await inspector.send(new BatchGetAccountStatusCommand({ accountIds: [account] }))),
    ),
  );

  // LAMBDA.TRACING's plan: is an X-Ray policy already attached to the execution role (same account only)?
  const role = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(config.Role ?? '');
  const tracing = (config['TracingConfig'] as { Mode?: string } | undefined)?.Mode;
  const attached =
    opts.attachedRolePolicies && role && role[1] === account && tracing !== 'Active'
      ? optional(() => attachedPolicies(clients, region, role[2]))
      : Promise.resolve(undefined);

  const [sg, dp, st, ap] = await Promise.all([securityGroups, dataProtection, status, attached]);
  if (role) set(`ListAttachedRolePolicies:${role[2]}`, ap);
  set('DescribeSecurityGroups', sg);
  set('GetDataProtectionPolicy', dp);
  set('BatchGetAccountStatus', st);
  const scanning = lambdaScanning(st ?? null, account);
  if (st !== undefined && (scanning.standard || scanning.code)) {
    set(
      'ListFindings',
      await optional(() => listFindings(inspector, listFindingsFilter(account, config.FunctionName))),
    );
  }
}

/** Every page of ListAttachedRolePolicies merged (`null` when the role does not exist). */
async function attachedPolicies(clients: AwsClients, region: string, roleName: string) {
  const out: unknown[] = [];
  try {
    for await (const page of paginateListAttachedRolePolicies(
      { client: clients.get(IAMClient, region) },
      { RoleName: roleName },
    ))
      out.push(...(page.AttachedPolicies ?? []));
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  return { AttachedPolicies: out };
}

/** Every page of ListFindings merged into one body, at most MAX_FINDINGS; a capped read keeps `nextToken`. */
async function listFindings(
  inspector: Inspector2Client,
  filterCriteria: ReturnType<typeof listFindingsFilter>,
): Promise<{ findings: unknown[]; nextToken?: string }> {
  const findings: unknown[] = [];
  let nextToken: string | undefined;
  do {
    const page = await inspector.send(
      new ListFindingsCommand({
        filterCriteria,
        maxResults: Math.min(100, MAX_FINDINGS - findings.length),
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    findings.push(...(page.findings ?? []));
    nextToken = page.nextToken;
  } while (nextToken && findings.length < MAX_FINDINGS);
  return {
    findings: findings.slice(0, MAX_FINDINGS).map(projectFinding),
    ...(nextToken ? { nextToken } : {}),
  };
}

/**
 * The fields of an Inspector finding the rule reads, under their own names (a subset of the exact
 * shape). A full finding is several KB (description, CVSS, EPSS, references, remediation text): 100
 * of them would not fit the workflow's 256 KB state payload.
 */
function projectFinding(f: unknown): unknown {
  const x = f as InspectorFinding;
  const pick = <T extends object>(o: T, keys: (keyof T)[]) =>
    Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  const out: Record<string, unknown> = pick(x, [
    'findingArn',
    'awsAccountId',
    'title',
    'severity',
    'status',
    'type',
  ]);
  if (x.resources) out['resources'] = x.resources.map((r) => pick(r, ['id', 'type', 'region']));
  if (x.packageVulnerabilityDetails)
    out['packageVulnerabilityDetails'] = {
      ...pick(x.packageVulnerabilityDetails, ['vulnerabilityId']),
      vulnerablePackages: (x.packageVulnerabilityDetails.vulnerablePackages ?? []).map((p) =>
        pick(p, ['name', 'version', 'fixedInVersion', 'sourceLayerHash']),
      ),
    };
  if (x.codeVulnerabilityDetails)
    out['codeVulnerabilityDetails'] = {
      ...pick(x.codeVulnerabilityDetails, ['detectorName']),
      ...(x.codeVulnerabilityDetails.filePath
        ? { filePath: pick(x.codeVulnerabilityDetails.filePath, ['filePath']) }
        : {}),
    };
  return out;
}
