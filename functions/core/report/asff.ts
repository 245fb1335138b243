import type { PlanStep } from '../types.ts';
import {
  allFindings,
  partitionOf,
  type ReportFinding,
  type ReportResource,
  type ScanReport,
} from './model.ts';

/**
 * AWS Security Finding Format (ASFF) for Security Hub `BatchImportFindings`. Every required top-level
 * attribute is set (AwsAccountId, CreatedAt, Description, GeneratorId, Id, ProductArn, Resources,
 * SchemaVersion, Severity, Title, Types, UpdatedAt), with the documented length limits applied
 * (Title 256, Description 1024, Recommendation text 512 characters). The product is the account's own
 * default product (`product/<account>/default`), so findings must be imported in the finding's region
 * with credentials of that account. Ids are stable (rule + resource), so a later scan updates a finding
 * instead of adding a duplicate.
 */

export const ASFF_SCHEMA_VERSION = '2018-10-08';
export const ASFF_TYPE = 'Software and Configuration Checks/AWS Security Best Practices';
/** Security Hub accepts at most 100 findings per BatchImportFindings call. */
export const ASFF_BATCH_SIZE = 100;
export const ASFF_REQUIRED_FIELDS = [
  'AwsAccountId',
  'CreatedAt',
  'Description',
  'GeneratorId',
  'Id',
  'ProductArn',
  'Resources',
  'SchemaVersion',
  'Severity',
  'Title',
  'Types',
  'UpdatedAt',
] as const;

/** ASFF resource type per rule resource kind. */
export const ASFF_RESOURCE_TYPE: Record<string, string> = {
  function: 'AwsLambdaFunction',
  role: 'AwsIamRole',
  // LAMBDA.LAYER.PUBLIC: the resource is a layer version ARN.
  layer: 'AwsLambdaLayerVersion',
};

export interface AsffResource {
  Type: string;
  Id: string;
  Partition: string;
  Region: string;
  Details?: Record<string, unknown>;
}

export interface AsffFinding {
  SchemaVersion: string;
  Id: string;
  ProductArn: string;
  GeneratorId: string;
  AwsAccountId: string;
  Types: string[];
  CreatedAt: string;
  UpdatedAt: string;
  LastObservedAt: string;
  Severity: { Label: string; Original: string };
  Title: string;
  Description: string;
  Remediation: { Recommendation: { Text: string } };
  ProductFields: Record<string, string>;
  Resources: AsffResource[];
  Compliance: { Status: 'FAILED' };
  RecordState: 'ACTIVE';
  Region: string;
}

/** `lambda:RemovePermission backdoor`: the operation and what it targets. */
export function stepLabel(s: Pick<PlanStep, 'service' | 'operation' | 'parameters'>): string {
  const target = s.parameters['StatementId'] ?? s.parameters['Qualifier'] ?? s.parameters['FunctionName'];
  return `${s.service}:${s.operation}${typeof target === 'string' ? ` ${target}` : ''}`;
}

/** Truncates to `max` characters, marking the cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

export function productArn(partition: string, region: string, account: string): string {
  return `arn:${partition}:securityhub:${region}:${account}:product/${account}/default`;
}

/** Stable ASFF finding id: the tool, the region and the finding key (rule and resource). */
export function asffId(f: Pick<ReportFinding, 'key' | 'region'>): string {
  return clip(`lambda-guardrail/${f.region}/${f.key}`, 512);
}

function resourceOf(resource: ReportResource, f: ReportFinding): AsffResource {
  const type = ASFF_RESOURCE_TYPE[resource.kind] ?? 'Other';
  const details =
    resource.kind === 'function'
      ? {
          AwsLambdaFunction: {
            FunctionName: resource.name,
            ...(resource.roleArn ? { Role: resource.roleArn } : {}),
          },
        }
      : undefined;
  return {
    Type: type,
    Id: f.resourceArn,
    Partition: partitionOf(f.resourceArn),
    Region: f.region,
    ...(details ? { Details: details } : {}),
  };
}

export function toAsff(report: ScanReport): AsffFinding[] {
  const at = report.finishedAt;
  const fixOf = new Map(report.rules.map((r) => [r.id, r.fix]));
  return allFindings(report).map(({ resource, finding: f }) => {
    const partition = partitionOf(f.resourceArn);
    const steps = f.plan.steps.map((s) => stepLabel(s));
    const recommendation =
      `${fixOf.get(f.ruleId) ?? ''}${steps.length ? ` Planned calls: ${steps.join('; ')}.` : ''}`.trim();
    return {
      SchemaVersion: ASFF_SCHEMA_VERSION,
      Id: asffId(f),
      // Organization scans: each finding belongs to (and is imported in) its resource's account.
      ProductArn: productArn(partition, f.region, f.account ?? report.account),
      GeneratorId: `lambda-guardrail/${f.ruleId}`,
      AwsAccountId: f.account ?? report.account,
      Types: [ASFF_TYPE],
      CreatedAt: at,
      UpdatedAt: at,
      LastObservedAt: at,
      Severity: { Label: f.severity, Original: f.severity },
      Title: clip(`${f.ruleId}: ${f.title}`, 256),
      Description: clip(f.summary, 1024),
      Remediation: {
        Recommendation: { Text: clip(recommendation || 'See the Lambda Guardrail report.', 512) },
      },
      ProductFields: {
        'lambda-guardrail/RuleId': f.ruleId,
        'lambda-guardrail/Mode': f.mode,
        'lambda-guardrail/EnforcementMode': f.enforcementMode,
        'lambda-guardrail/Exempt': String(f.exempt),
        ...(f.exemption
          ? {
              'lambda-guardrail/Exemption': clip(
                `${f.exemption.status}${f.exemption.reason ? `: ${f.exemption.reason}` : ''}${f.exemption.until ? ` until ${f.exemption.until}` : ''}`,
                2048,
              ),
            }
          : {}),
        'lambda-guardrail/PlannedSteps': clip(steps.join('; ') || 'none', 2048),
        'lambda-guardrail/Origin': report.origin,
      },
      Resources: [resourceOf(resource, f)],
      Compliance: { Status: 'FAILED' },
      RecordState: 'ACTIVE',
      Region: f.region,
    };
  });
}

/** Splits findings into BatchImportFindings requests: at most 100 per call, one region per call. */
export function asffBatches(
  findings: readonly AsffFinding[],
  size = ASFF_BATCH_SIZE,
): { region: string; findings: AsffFinding[] }[] {
  const byRegion = new Map<string, AsffFinding[]>();
  for (const f of findings) {
    const list = byRegion.get(f.Region) ?? [];
    list.push(f);
    byRegion.set(f.Region, list);
  }
  const out: { region: string; findings: AsffFinding[] }[] = [];
  for (const [region, list] of [...byRegion.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    for (let i = 0; i < list.length; i += size) out.push({ region, findings: list.slice(i, i + size) });
  }
  return out;
}
