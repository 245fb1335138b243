import type { Severity } from '../types.ts';
import { allFindings, keyFingerprint, type ReportResource, type ScanReport } from './model.ts';

/**
 * SARIF 2.1.0 (OASIS), for GitHub code scanning and other SARIF viewers. One run; one reportingDescriptor
 * per rule; one result per finding. Cloud resources have no source file, so each result's physical
 * location is a stable, repository-relative pseudo path `aws/<account>/<region>/<kind>/<name>`
 * (code scanning rejects results without a location and URIs with a scheme such as `arn:`), and its
 * logical location is the resource ARN. Exempt findings carry an accepted external suppression.
 * Unreadable resources are tool execution notifications, and the invocation is then not successful.
 */

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

/** GitHub maps `security-severity` to critical (>= 9.0), high (7.0-8.9), medium (4.0-6.9), low (0.1-3.9). */
export const SECURITY_SEVERITY: Record<Severity, string> = {
  CRITICAL: '9.5',
  HIGH: '8.0',
  MEDIUM: '5.5',
  LOW: '3.0',
  INFORMATIONAL: '0.0',
};

export const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  CRITICAL: 'error',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note',
  INFORMATIONAL: 'note',
};

/** `LAMBDA.URL.PUBLIC` -> `LambdaUrlPublic` (reportingDescriptor.name is an identifier-like label). */
export function ruleName(id: string): string {
  return id
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

export function artifactUri(
  report: Pick<ScanReport, 'account'>,
  r: Pick<ReportResource, 'region' | 'kind' | 'name'> & { account?: string },
): string {
  const safe = (s: string) => encodeURIComponent(s);
  return `aws/${safe(r.account ?? report.account)}/${safe(r.region)}/${safe(r.kind)}/${safe(r.name)}`;
}

export function toSarif(report: ScanReport) {
  const ruleIndex = new Map(report.rules.map((r, i) => [r.id, i]));
  const rules = report.rules.map((r) => ({
    id: r.id,
    name: ruleName(r.id),
    shortDescription: { text: r.title },
    fullDescription: { text: r.rationale },
    help: {
      text: `${r.fix}\nKnown false positives: ${r.knownFalsePositives.join(' ') || 'none'}`,
      markdown: `**Fix:** ${r.fix}\n\n**Known false positives:** ${r.knownFalsePositives.join(' ') || 'none'}`,
    },
    defaultConfiguration: { level: SARIF_LEVEL[r.severity] },
    properties: {
      'security-severity': SECURITY_SEVERITY[r.severity],
      severity: r.severity,
      resource: r.resource,
      defaultMode: r.defaultMode,
      enforcementMode: r.enforcementMode,
      tags: ['security', 'aws', 'lambda'],
      precision: 'high',
    },
  }));
  const results = allFindings(report).map(({ resource, finding: f }) => ({
    ruleId: f.ruleId,
    ...(ruleIndex.has(f.ruleId) ? { ruleIndex: ruleIndex.get(f.ruleId) } : {}),
    kind: 'fail' as const,
    level: SARIF_LEVEL[f.severity],
    message: { text: f.summary },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: artifactUri(report, resource) },
          region: { startLine: 1 },
        },
        logicalLocations: [{ name: resource.name, fullyQualifiedName: f.resourceArn, kind: 'resource' }],
      },
    ],
    partialFingerprints: { 'guardrailFinding/v1': keyFingerprint(f.key) },
    ...(f.exempt
      ? {
          suppressions: [
            {
              kind: 'external' as const,
              status: 'accepted' as const,
              justification: `${f.exemption?.reason ?? 'exempt'}${f.exemption?.until ? ` (until ${f.exemption.until})` : ''}`,
            },
          ],
        }
      : {}),
    properties: {
      severity: f.severity,
      resourceArn: f.resourceArn,
      region: f.region,
      mode: f.mode,
      enforcementMode: f.enforcementMode,
      exempt: f.exempt,
      ...(f.exemption ? { exemption: f.exemption } : {}),
      evidence: f.evidence,
      plan: f.plan,
    },
  }));
  const notifications = report.errors.map((x) => ({
    level: 'error' as const,
    message: {
      text: `${x.scope}${x.name ? ` ${x.name}` : ''}${x.region ? ` (${x.region})` : ''} could not be read: ${x.error}: ${x.message}`,
    },
    ...(x.arn
      ? { locations: [{ logicalLocations: [{ fullyQualifiedName: x.arn, kind: 'resource' }] }] }
      : {}),
    properties: { error: x.error, scope: x.scope },
  }));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0' as const,
    runs: [
      {
        tool: {
          driver: {
            name: 'Lambda Guardrail',
            version: report.tool.version,
            semanticVersion: report.tool.version,
            rules,
          },
        },
        automationDetails: { id: `lambda-guardrail/${report.origin}/${report.account}/` },
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            startTimeUtc: report.startedAt,
            endTimeUtc: report.finishedAt,
            toolExecutionNotifications: notifications,
          },
        ],
        results,
        properties: {
          account: report.account,
          regions: report.regions,
          dryRun: true,
          summary: report.summary,
        },
      },
    ],
  };
}
