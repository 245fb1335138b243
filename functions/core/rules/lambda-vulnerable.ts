import { functionArnOf, functionConfiguration } from '../snapshot.ts';
import type { Rule, Severity } from '../types.ts';

/**
 * LAMBDA.VULNERABLE: Amazon Inspector reports ACTIVE findings of severity HIGH or CRITICAL for the
 * function: vulnerable packages in its code or its layers (Lambda standard scanning) and code
 * vulnerabilities (Lambda code scanning).
 *
 * Reads, in their exact response shapes:
 * - `BatchGetAccountStatus {accountIds: [account]}` (inspector2, the function's region): whether
 *   Lambda scanning is enabled (`accounts[].resourceState.lambda.status` / `.lambdaCode.status`).
 *   When it is not, the rule is NOT_APPLICABLE with an account-wide reason that `guardrail scan` states
 *   once per region in the report's notices, not once per function.
 * - `ListFindings` with filterCriteria awsAccountId, resourceType AWS_LAMBDA_FUNCTION,
 *   lambdaFunctionName, findingStatus ACTIVE and severity HIGH or CRITICAL: every page merged into
 *   `findings`, at most MAX_FINDINGS; a capped read keeps the response's `nextToken` (more exist).
 *
 * No plan: fixing a vulnerable package means rebuilding and testing the code or the layer.
 */

export const RULE_ID = 'LAMBDA.VULNERABLE';
/** The collector stops after this many findings per function (the finding says so). */
export const MAX_FINDINGS = 100;
export const SEVERITIES = ['CRITICAL', 'HIGH'] as const;

/** The filterCriteria of the ListFindings read (inspector2 FilterCriteria; StringFilter EQUALS). */
export function listFindingsFilter(account: string, functionName: string) {
  const eq = (value: string) => ({ comparison: 'EQUALS' as const, value });
  return {
    awsAccountId: [eq(account)],
    resourceType: [eq('AWS_LAMBDA_FUNCTION')],
    lambdaFunctionName: [eq(functionName)],
    findingStatus: [eq('ACTIVE')],
    severity: SEVERITIES.map(eq),
  };
}

/** The fields of an Inspector finding the rule reads (the collector stores only these). */
export interface InspectorFinding {
  findingArn?: string;
  awsAccountId?: string;
  title?: string;
  severity?: string;
  status?: string;
  type?: string;
  resources?: { id?: string; type?: string; region?: string }[];
  packageVulnerabilityDetails?: {
    vulnerabilityId?: string;
    vulnerablePackages?: {
      name?: string;
      version?: string;
      fixedInVersion?: string;
      sourceLayerHash?: string;
    }[];
  };
  codeVulnerabilityDetails?: { detectorName?: string; filePath?: { filePath?: string; startLine?: number } };
}

interface AccountState {
  accountId?: string;
  resourceState?: { lambda?: { status?: string }; lambdaCode?: { status?: string } };
}

/** Whether Inspector scans this account's Lambda functions, from a BatchGetAccountStatus body. */
export function lambdaScanning(body: unknown, account: string): { standard: boolean; code: boolean } {
  const accounts = ((body as { accounts?: AccountState[] } | null)?.accounts ?? []).filter(
    (a) => a.accountId === account,
  );
  const st = accounts[0]?.resourceState;
  return { standard: st?.lambda?.status === 'ENABLED', code: st?.lambdaCode?.status === 'ENABLED' };
}

const sevRank = (s: string | undefined) => (s === 'CRITICAL' ? 0 : s === 'HIGH' ? 1 : 2);

export const lambdaVulnerable: Rule = {
  id: RULE_ID,
  title: 'Amazon Inspector reports HIGH or CRITICAL vulnerabilities',
  severity: 'HIGH',
  rationale:
    'A function that ships a package with a known HIGH or CRITICAL vulnerability (in its code or in a layer) can be exploited through whatever input reaches it; ' +
    'Inspector already found it, and the fix (upgrading the package) is usually small.',
  knownFalsePositives: [
    'Vulnerabilities in code paths the function never runs, or in a package used only at build time but shipped. Suppress them in Inspector (a suppression rule), or exempt the function by tag with a reason and an expiry.',
    'Findings Inspector has not yet closed after a fixed deployment (it rescans on update; closing can lag).',
  ],
  // Inspector scans a new or updated function asynchronously (minutes later): an event-driven read
  // sees the findings of the previous code. The scheduled sweep and `guardrail scan` catch new ones.
  triggers: [{ service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] }],
  resource: 'function',
  defaultMode: 'report',
  fix: 'None automatic (the code or the layer must be rebuilt and tested). A person upgrades each package named in the finding to its fixed version, rebuilds the deployment package or the layer, and deploys it; Inspector rescans on update and closes the findings.',
  evaluate(s) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const status = s.responses['BatchGetAccountStatus'];
    if (status === undefined)
      return {
        status: 'NOT_APPLICABLE',
        reason: 'the Amazon Inspector status was not read (BatchGetAccountStatus)',
      };
    const scanning = lambdaScanning(status, s.account);
    if (!scanning.standard && !scanning.code)
      return {
        status: 'NOT_APPLICABLE',
        reason: `Amazon Inspector does not scan Lambda functions in account ${s.account}, region ${s.region} (Lambda scanning is not enabled)`,
        accountWide: true,
      };
    const list = s.responses['ListFindings'] as
      | { findings?: InspectorFinding[]; nextToken?: string }
      | undefined;
    if (list === undefined)
      return {
        status: 'NOT_APPLICABLE',
        reason: 'the Amazon Inspector findings were not read (ListFindings)',
      };
    const findings = (list?.findings ?? [])
      .filter((f) => f.status === 'ACTIVE' && (SEVERITIES as readonly string[]).includes(String(f.severity)))
      .sort(
        (a, b) =>
          sevRank(a.severity) - sevRank(b.severity) ||
          String(a.findingArn).localeCompare(String(b.findingArn)),
      );
    if (!findings.length) return { status: 'COMPLIANT' };
    const fn = config.FunctionName;
    const critical = findings.filter((f) => f.severity === 'CRITICAL').length;
    const packages = [
      ...new Set(
        findings.flatMap((f) =>
          (f.packageVulnerabilityDetails?.vulnerablePackages ?? []).map(
            (p) => `${p.name ?? '?'}@${p.version ?? '?'}`,
          ),
        ),
      ),
    ].sort();
    const severity: Severity = critical ? 'CRITICAL' : 'HIGH';
    return {
      status: 'NON_COMPLIANT',
      findings: [
        {
          resourceArn: functionArnOf(s) ?? config.FunctionArn,
          severity,
          summary: `Amazon Inspector reports ${findings.length}${list?.nextToken ? '+' : ''} active HIGH/CRITICAL finding(s) for ${fn} (${critical} CRITICAL)${packages.length ? ` in ${packages.slice(0, 5).join(', ')}${packages.length > 5 ? ', ...' : ''}` : ''}.`,
          evidence: {
            findings: findings.map((f) => ({
              findingArn: f.findingArn ?? null,
              title: f.title ?? null,
              severity: f.severity,
              type: f.type ?? null,
              vulnerabilityId: f.packageVulnerabilityDetails?.vulnerabilityId ?? null,
              packages: (f.packageVulnerabilityDetails?.vulnerablePackages ?? []).map((p) => ({
                name: p.name ?? null,
                version: p.version ?? null,
                fixedInVersion: p.fixedInVersion ?? null,
                ...(p.sourceLayerHash ? { inLayer: true } : {}),
              })),
              ...(f.codeVulnerabilityDetails
                ? {
                    detector: f.codeVulnerabilityDetails.detectorName ?? null,
                    file: f.codeVulnerabilityDetails.filePath?.filePath ?? null,
                  }
                : {}),
            })),
            ...(list?.nextToken
              ? {
                  note: `more than ${MAX_FINDINGS} findings: only the first ${MAX_FINDINGS} were read; see the Inspector console`,
                }
              : {}),
            remediation: `Upgrade each package to its fixedInVersion, rebuild and deploy ${fn} (or the layer version it uses); list them with: aws inspector2 list-findings --filter-criteria '${JSON.stringify(listFindingsFilter(s.account, fn))}'`,
          },
          plan: { steps: [], preconditions: [] },
        },
      ],
    };
  },
};
