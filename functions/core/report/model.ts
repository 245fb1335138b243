import { createHash } from 'node:crypto';
import type { GuardrailConfig } from '../config.ts';
import type { Evaluation, RuleOutcome } from '../evaluate.ts';
import { resolveMode } from '../mode.ts';
import { findingJson } from '../render.ts';
import { type Finding, type Mode, type Rule, SEVERITY_ORDER, type Severity } from '../types.ts';

/**
 * The one report model every output format is rendered from (table, JSON, SARIF, Markdown, HTML,
 * ASFF). Built from evaluations only: it never sees a snapshot, so it can never hold a secret value
 * (findings carry names and fingerprints, see DESIGN.md §6). Everything in it is driven by the rules
 * and by the findings' own data: a new rule shows up in every format without a change here.
 *
 * The JSON form of this model is a public contract: docs/scan-report.md and
 * docs/schemas/scan-report.schema.json. Change it only by adding fields.
 */

export const REPORT_KIND = 'lambda-guardrail.scan-report';
export const REPORT_SCHEMA_VERSION = 1;
/** The product version stamped into reports (a test keeps it equal to package.json). */
export const TOOL_VERSION = '0.1.0';
export const TOOL_NAME = 'lambda-guardrail';

export type ResourceKind = Rule['resource'];

/** What happened to one resource in a scan. */
export type ResourceStatus =
  /** Every rule compliant or not applicable. */
  | 'compliant'
  /** At least one finding that is not exempt. */
  | 'non-compliant'
  /** Findings, all of them under an active exemption. */
  | 'exempt'
  /** It could not be read (access denied, throttled past the retries, ...): nothing is known. */
  | 'unreadable'
  /** It was listed, then no longer existed when it was read (deleted meanwhile). */
  | 'deleted';

export const RESOURCE_STATUSES: readonly ResourceStatus[] = [
  'non-compliant',
  'exempt',
  'unreadable',
  'deleted',
  'compliant',
];

export interface ReportRule {
  id: string;
  title: string;
  severity: Severity;
  resource: ResourceKind;
  defaultMode: Mode;
  /** The mode the deployed guardrail would give this rule's findings under the config used. */
  enforcementMode: Mode;
  rationale: string;
  fix: string;
  knownFalsePositives: string[];
}

export type ReportFinding = ReturnType<typeof findingJson> & {
  /** Stable identity of the finding across scans (rule, resource and, if needed, an ordinal). */
  key: string;
  region: string;
  /** What the deployed guardrail would do with it (rule default / config override, global ceiling). */
  enforcementMode: Mode;
  enforcementModeReason: string;
  /** The account of the resource (an organization scan covers several). */
  account: string;
};

export interface ReportError {
  scope: 'account' | 'region' | ResourceKind;
  /** The account the failure happened in (organization scans: also an account that could not be entered). */
  account?: string;
  region?: string;
  arn?: string;
  name?: string;
  /** The AWS error name, e.g. `AccessDeniedException`. */
  error: string;
  message: string;
}

export interface ReportResource {
  kind: ResourceKind;
  /** The account the resource is in. */
  account: string;
  arn: string;
  name: string;
  region: string;
  /** A function's execution role. */
  roleArn?: string;
  status: ResourceStatus;
  results: RuleOutcome[];
  findings: ReportFinding[];
  error?: ReportError;
}

export interface RuleSummary {
  findings: number;
  exempt: number;
  resources: number;
}

export interface ReportSummary {
  resources: number;
  byKind: Record<string, number>;
  byStatus: Record<ResourceStatus, number>;
  /** Every finding, exempt or not. */
  findings: number;
  /** Findings that are not exempt: what exit code 1 means. */
  liveFindings: number;
  exemptFindings: number;
  /** Live findings per severity (every severity present, zero included). */
  bySeverity: Record<Severity, number>;
  /** Per rule of the scan (every rule present, zero included). */
  byRule: Record<string, RuleSummary>;
  /** Plan steps enforcement would send for the live findings. */
  plannedSteps: number;
  errors: number;
}

export interface ScanReport {
  kind: typeof REPORT_KIND;
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: string; version: string };
  /** `scan` from the CLI, `sweep` from the scheduled sweep. */
  origin: 'scan' | 'sweep';
  /** Always true: reports are computed in report mode and change nothing. */
  dryRun: true;
  /** The account scanned; for an organization scan, the account the scan ran from. */
  account: string;
  /** Every account the report covers (one for `guardrail scan`, several for `scan --org`). */
  accounts: string[];
  partition: string;
  regions: string[];
  startedAt: string;
  finishedAt: string;
  rules: ReportRule[];
  summary: ReportSummary;
  resources: ReportResource[];
  /** Every read that failed: whole regions (listing) and single resources. */
  errors: ReportError[];
  /**
   * Facts about a whole account and region that made a rule not applicable to every resource there
   * (Amazon Inspector not enabled: LAMBDA.VULNERABLE), each stated once instead of once per resource.
   */
  notices: ReportNotice[];
}

export interface ReportNotice {
  /** Set in organization reports (one per member account). */
  account?: string;
  ruleId: string;
  region: string;
  message: string;
  /** How many resources of the scan it applied to. */
  resources: number;
}

/** One resource as the scan saw it: an evaluation, or why there is none. */
export interface ScanUnit {
  kind: ResourceKind;
  /** Default: the report's account. */
  account?: string;
  arn: string;
  name: string;
  region: string;
  roleArn?: string;
  evaluation?: Evaluation;
  /** Read and found gone. */
  deleted?: boolean;
  error?: { error: string; message: string };
}

export interface BuildReportInput {
  origin: 'scan' | 'sweep';
  account: string;
  regions: readonly string[];
  startedAt: string;
  finishedAt: string;
  /** The rules the scan evaluated. */
  rules: readonly Rule[];
  /** The configuration enforcement would use (the scan itself always evaluates in report mode). */
  config: GuardrailConfig;
  units: readonly ScanUnit[];
  /** Failures not tied to one resource (listing a region, ...). */
  errors?: readonly ReportError[];
}

const sevRank = (s: Severity) => SEVERITY_ORDER.indexOf(s);

export function partitionOf(arn: string): string {
  return /^arn:([^:]+):/.exec(arn)?.[1] ?? 'aws';
}

/** SHA-256 (hex) of a finding key: a compact, stable fingerprint for SARIF and digests. */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Stable ordering: severity, then rule, then resource. */
export function compareFindings(
  a: Pick<Finding, 'severity' | 'ruleId' | 'resourceArn'>,
  b: typeof a,
): number {
  return (
    sevRank(a.severity) - sevRank(b.severity) ||
    a.ruleId.localeCompare(b.ruleId) ||
    a.resourceArn.localeCompare(b.resourceArn)
  );
}

function statusOf(unit: ScanUnit): ResourceStatus {
  if (unit.error) return 'unreadable';
  if (unit.deleted) return 'deleted';
  const findings = unit.evaluation?.findings ?? [];
  if (findings.some((f) => !f.exempt)) return 'non-compliant';
  if (findings.length) return 'exempt';
  return 'compliant';
}

export function buildScanReport(input: BuildReportInput): ScanReport {
  const ruleIndex = new Map(input.rules.map((r) => [r.id, r]));
  const enforcement = (ruleId: string) => {
    const rule = ruleIndex.get(ruleId);
    return rule ? resolveMode(rule, input.config, false) : { mode: 'report' as Mode, reason: 'unknown rule' };
  };
  const errors: ReportError[] = [...(input.errors ?? [])];
  const resources: ReportResource[] = [];
  const notices = new Map<string, ReportNotice>();
  for (const unit of input.units) {
    for (const r of unit.evaluation?.results ?? []) {
      if (!r.accountWide || !r.reason) continue;
      const k = `${r.ruleId}|${unit.region}|${r.reason}`;
      const n = notices.get(k) ?? { ruleId: r.ruleId, region: unit.region, message: r.reason, resources: 0 };
      n.resources++;
      notices.set(k, n);
    }
    const seen = new Map<string, number>();
    const findings = [...(unit.evaluation?.findings ?? [])].sort(compareFindings).map((f) => {
      const base = `${f.ruleId}|${f.resourceArn}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      const e = enforcement(f.ruleId);
      return {
        ...findingJson(f),
        key: n === 1 ? base : `${base}#${n}`,
        region: unit.region,
        enforcementMode: e.mode,
        enforcementModeReason: e.reason,
        account: unit.account ?? input.account,
      };
    });
    const error: ReportError | undefined = unit.error
      ? {
          scope: unit.kind,
          account: unit.account ?? input.account,
          region: unit.region,
          arn: unit.arn,
          name: unit.name,
          error: unit.error.error,
          message: unit.error.message,
        }
      : undefined;
    if (error) errors.push(error);
    resources.push({
      kind: unit.kind,
      account: unit.account ?? input.account,
      arn: unit.arn,
      name: unit.name,
      region: unit.region,
      ...(unit.roleArn ? { roleArn: unit.roleArn } : {}),
      status: statusOf(unit),
      results: unit.evaluation?.results ?? [],
      findings,
      ...(error ? { error } : {}),
    });
  }
  resources.sort(
    (a, b) => a.region.localeCompare(b.region) || a.kind.localeCompare(b.kind) || a.arn.localeCompare(b.arn),
  );
  const rules: ReportRule[] = input.rules.map((r) => ({
    id: r.id,
    title: r.title,
    severity: r.severity,
    resource: r.resource,
    defaultMode: r.defaultMode,
    enforcementMode: enforcement(r.id).mode,
    rationale: r.rationale,
    fix: r.fix,
    knownFalsePositives: [...r.knownFalsePositives],
  }));
  return {
    kind: REPORT_KIND,
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    origin: input.origin,
    dryRun: true,
    account: input.account,
    accounts: [input.account],
    partition: partitionOf(resources[0]?.arn ?? ''),
    regions: [...input.regions],
    startedAt: input.startedAt,
    finishedAt: input.finishedAt,
    rules,
    summary: summarize(resources, rules, errors),
    resources,
    errors,
    notices: [...notices.values()].sort(
      (a, b) => a.region.localeCompare(b.region) || a.ruleId.localeCompare(b.ruleId),
    ),
  };
}

/**
 * One report from the reports of several accounts (`guardrail scan --org`): every resource and error
 * keeps its account; accounts that could not be entered are errors of scope `account`.
 */
export function mergeScanReports(
  reports: readonly ScanReport[],
  input: {
    account: string;
    accounts: readonly string[];
    regions: readonly string[];
    startedAt: string;
    finishedAt: string;
    rules: readonly Rule[];
    config: GuardrailConfig;
    errors?: readonly ReportError[];
    /** Default `scan`; the organization sweep's report says `sweep`. */
    origin?: ScanReport['origin'];
  },
): ScanReport {
  const base = buildScanReport({
    origin: input.origin ?? 'scan',
    account: input.account,
    regions: input.regions,
    startedAt: input.startedAt,
    finishedAt: input.finishedAt,
    rules: input.rules,
    config: input.config,
    units: [],
  });
  const resources = reports
    .flatMap((r) => r.resources)
    .sort(
      (a, b) =>
        a.account.localeCompare(b.account) ||
        a.region.localeCompare(b.region) ||
        a.kind.localeCompare(b.kind) ||
        a.arn.localeCompare(b.arn),
    );
  const errors = [
    ...(input.errors ?? []),
    ...reports.flatMap((r) => r.errors.map((e) => ({ ...e, account: e.account ?? r.account }))),
  ];
  return {
    ...base,
    accounts: [...input.accounts].sort(),
    partition: reports.find((r) => r.resources.length)?.partition ?? base.partition,
    summary: summarize(resources, base.rules, errors),
    resources,
    errors,
    notices: reports.flatMap((r) =>
      (r.notices ?? []).map((n) => ({ ...n, account: n.account ?? r.account })),
    ),
  };
}

export function summarize(
  resources: readonly ReportResource[],
  rules: readonly Pick<ReportRule, 'id'>[],
  errors: readonly ReportError[],
): ReportSummary {
  const byKind: Record<string, number> = {};
  const byStatus = Object.fromEntries(RESOURCE_STATUSES.map((s) => [s, 0])) as Record<ResourceStatus, number>;
  const bySeverity = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0])) as Record<Severity, number>;
  const byRule: Record<string, RuleSummary> = Object.fromEntries(
    rules.map((r) => [r.id, { findings: 0, exempt: 0, resources: 0 }]),
  );
  let findings = 0;
  let exempt = 0;
  let plannedSteps = 0;
  for (const r of resources) {
    byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
    byStatus[r.status]++;
    const rulesHere = new Set<string>();
    for (const f of r.findings) {
      findings++;
      byRule[f.ruleId] ??= { findings: 0, exempt: 0, resources: 0 };
      if (f.exempt) {
        exempt++;
        byRule[f.ruleId].exempt++;
      } else {
        bySeverity[f.severity]++;
        byRule[f.ruleId].findings++;
        plannedSteps += f.plan.steps.length;
      }
      rulesHere.add(f.ruleId);
    }
    for (const id of rulesHere) byRule[id].resources++;
  }
  return {
    resources: resources.length,
    byKind,
    byStatus,
    findings,
    liveFindings: findings - exempt,
    exemptFindings: exempt,
    bySeverity,
    byRule,
    plannedSteps,
    errors: errors.length,
  };
}

/** `123456789012`, or for a report over several accounts `3 accounts (111..., 222..., 333...)`. */
export function accountsLabel(
  report: Pick<ScanReport, 'account'> & { accounts?: readonly string[] },
): string {
  const all = report.accounts ?? [report.account];
  return all.length > 1 ? `${all.length} accounts (${all.join(', ')})` : (all[0] ?? report.account);
}

/** Every finding of a report with the resource it belongs to, in report order. */
export function allFindings(
  report: Pick<ScanReport, 'resources'>,
): { resource: ReportResource; finding: ReportFinding }[] {
  return report.resources.flatMap((resource) => resource.findings.map((finding) => ({ resource, finding })));
}

/**
 * The exit code of a scan, as for `guardrail evaluate`: 1 when any finding is not exempt, else 2 when
 * something could not be read (the scan cannot say the account is compliant), else 0.
 */
export function scanExitCode(report: Pick<ScanReport, 'summary'>): 0 | 1 | 2 {
  if (report.summary.liveFindings > 0) return 1;
  if (report.summary.errors > 0) return 2;
  return 0;
}

/** Duration between two ISO times, for people: `850 ms`, `12.4 s`, `3 min 5 s`. */
export function formatDuration(fromIso: string, toIso: string): string {
  const ms = Math.max(0, Date.parse(toIso) - Date.parse(fromIso));
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
