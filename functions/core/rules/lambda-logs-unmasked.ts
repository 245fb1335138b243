import { functionArnOf, functionConfiguration } from '../snapshot.ts';
import type { PlanStep, Precondition, Rule } from '../types.ts';

/**
 * LAMBDA.LOGS.UNMASKED: the function's CloudWatch Logs log group (`LoggingConfig.LogGroup`, else
 * `/aws/lambda/<name>`) has no data protection policy that masks credentials: a Deidentify statement
 * (MaskConfig) over AWS's five managed data identifiers for credentials (AwsSecretKey,
 * OpenSshPrivateKey, PgpPrivateKey, PkcsPrivateKey, PuttyPrivateKey; CloudWatch Logs User Guide,
 * "Credentials" under "Types of data that you can protect").
 *
 * Reads `GetDataProtectionPolicy {logGroupIdentifier}` in its exact response shape
 * (`{logGroupIdentifier, policyDocument?, lastUpdatedTime?}`; `null` when the log group does not
 * exist). An account-level data protection policy (PutAccountPolicy) is not read: see the known
 * false positives.
 *
 * Plan: one `logs:PutDataProtectionPolicy` on the log group. Without a policy, the guardrail's own
 * (an Audit statement with no findings destination, as AWS requires one, and a Deidentify statement,
 * both over the credential identifiers); inverse `DeleteDataProtectionPolicy`. With a policy that
 * masks only some of them, the same policy with the missing identifiers added to its Audit and
 * Deidentify statements (a log group has one policy, with one Audit statement, and the Deidentify
 * statement's DataIdentifier array must match the Audit one exactly: PutDataProtectionPolicy API
 * reference); inverse: put the previous document back.
 */

export const RULE_ID = 'LAMBDA.LOGS.UNMASKED';
export const POLICY_NAME = 'lambda-guardrail-mask-credentials';
export const POLICY_VERSION = '2021-06-01';

/** AWS's managed data identifiers for credentials (names as in their ARNs). */
export const CREDENTIAL_IDENTIFIERS = [
  'AwsSecretKey',
  'OpenSshPrivateKey',
  'PgpPrivateKey',
  'PkcsPrivateKey',
  'PuttyPrivateKey',
] as const;

export const dataIdentifierArn = (partition: string, name: string) =>
  `arn:${partition}:dataprotection::aws:data-identifier/${name}`;

const partitionOf = (arn: string | undefined) =>
  (arn ? /^arn:(aws[a-z-]*):/.exec(arn)?.[1] : undefined) ?? 'aws';

/** The log group Lambda writes the function's logs to. */
export function logGroupOf(config: { FunctionName: string; [k: string]: unknown }): string {
  const configured = (config['LoggingConfig'] as { LogGroup?: string } | undefined)?.LogGroup;
  return configured || `/aws/lambda/${config.FunctionName}`;
}

interface DataProtectionStatement {
  Sid?: string;
  DataIdentifier?: string[];
  Operation?: { Audit?: unknown; Deidentify?: { MaskConfig?: unknown } };
  [k: string]: unknown;
}
interface DataProtectionDocument {
  Name?: string;
  Description?: string;
  Version?: string;
  Statement?: DataProtectionStatement[];
  [k: string]: unknown;
}

/** The identifier name of a data identifier ARN (`.../data-identifier/AwsSecretKey` -> `AwsSecretKey`). */
const identifierName = (arn: string) => arn.split('/').pop() ?? arn;

/** Credential identifiers the document masks (a Deidentify statement with MaskConfig lists them). */
export function maskedCredentials(doc: DataProtectionDocument): string[] {
  const masked = new Set<string>();
  for (const st of doc.Statement ?? []) {
    if (!st.Operation?.Deidentify?.MaskConfig) continue;
    for (const id of st.DataIdentifier ?? []) masked.add(identifierName(id));
  }
  // Names compared case-insensitively: the AWS table spells one `OpenSSHPrivateKey`, its ARN `OpenSshPrivateKey`.
  const lower = new Set([...masked].map((m) => m.toLowerCase()));
  return CREDENTIAL_IDENTIFIERS.filter((c) => lower.has(c.toLowerCase()));
}

/** The guardrail's own policy: audit and mask the credential identifiers. */
export function credentialMaskingPolicy(partition: string): DataProtectionDocument {
  const ids = CREDENTIAL_IDENTIFIERS.map((n) => dataIdentifierArn(partition, n));
  return {
    Name: POLICY_NAME,
    Description: 'Masks credentials in log events (Lambda Guardrail, LAMBDA.LOGS.UNMASKED)',
    Version: POLICY_VERSION,
    Statement: [
      { Sid: 'audit-credentials', DataIdentifier: ids, Operation: { Audit: { FindingsDestination: {} } } },
      { Sid: 'mask-credentials', DataIdentifier: ids, Operation: { Deidentify: { MaskConfig: {} } } },
    ],
  };
}

/** `doc` with the missing identifiers added to its Audit and Deidentify statements (one policy per group). */
export function withCredentialMasking(
  doc: DataProtectionDocument,
  missing: readonly string[],
  partition: string,
): DataProtectionDocument {
  const add = missing.map((n) => dataIdentifierArn(partition, n));
  const statements = doc.Statement ?? [];
  const hasAudit = statements.some((s) => s.Operation?.Audit);
  const hasMask = statements.some((s) => s.Operation?.Deidentify?.MaskConfig);
  const merged = statements.map((s) =>
    s.Operation?.Audit || s.Operation?.Deidentify?.MaskConfig
      ? { ...s, DataIdentifier: [...new Set([...(s.DataIdentifier ?? []), ...add])] }
      : s,
  );
  // A policy has exactly one Audit statement, and CloudWatch Logs requires the Deidentify statement's
  // DataIdentifier array to match the Audit statement's exactly: a missing one copies the other's.
  const idsOf = (pred: (st: DataProtectionStatement) => unknown) => merged.find(pred)?.DataIdentifier ?? add;
  if (!hasAudit)
    merged.push({
      Sid: 'audit-credentials',
      DataIdentifier: [...idsOf((st) => st.Operation?.Deidentify?.MaskConfig)],
      Operation: { Audit: { FindingsDestination: {} } },
    });
  if (!hasMask)
    merged.push({
      Sid: 'mask-credentials',
      DataIdentifier: [...idsOf((st) => st.Operation?.Audit)],
      Operation: { Deidentify: { MaskConfig: {} } },
    });
  return { ...doc, Statement: merged };
}

export const lambdaLogsUnmasked: Rule = {
  id: RULE_ID,
  title: 'Log group does not mask credentials',
  severity: 'MEDIUM',
  rationale:
    'Functions log what they receive and what fails; an access key or private key in a log line is readable by everyone who can read the log group, ' +
    'for as long as the logs are kept. A CloudWatch Logs data protection policy masks these values as they are ingested (only logs:Unmask reveals them).',
  knownFalsePositives: [
    'Accounts with an account-level data protection policy (PutAccountPolicy, DATA_PROTECTION_POLICY) that masks credentials in every log group: the rule reads only the log group policy.',
    'Functions that log to a destination other than CloudWatch Logs (an extension shipping logs elsewhere), whose log group stays empty.',
  ],
  triggers: [{ service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] }],
  resource: 'function',
  defaultMode: 'report',
  fix: "PutDataProtectionPolicy on the function's log group: Audit and Deidentify (mask) statements over AWS's managed data identifiers for credentials (AwsSecretKey, OpenSshPrivateKey, PgpPrivateKey, PkcsPrivateKey, PuttyPrivateKey); an existing policy is kept and gets the missing identifiers added. Masks log events ingested from then on, not older ones. Undo: DeleteDataProtectionPolicy, or the previous policy put back. Report by default; rules.LAMBDA.LOGS.UNMASKED.mode may make it auto.",
  evaluate(s) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const logGroup = logGroupOf(config);
    const read = s.responses['GetDataProtectionPolicy'] as
      | { logGroupIdentifier?: string; policyDocument?: string; lastUpdatedTime?: number }
      | null
      | undefined;
    if (read === undefined)
      return {
        status: 'NOT_APPLICABLE',
        reason: `the data protection policy of ${logGroup} was not read (GetDataProtectionPolicy)`,
      };
    if (read === null)
      return {
        status: 'NOT_APPLICABLE',
        reason: `the log group ${logGroup} does not exist yet (the function has not logged); the scheduled sweep checks it again`,
      };
    const partition = partitionOf(functionArnOf(s) ?? config.FunctionArn);
    let current: DataProtectionDocument | undefined;
    if (read.policyDocument) {
      try {
        current = JSON.parse(read.policyDocument) as DataProtectionDocument;
      } catch {
        return {
          status: 'NOT_APPLICABLE',
          reason: `the data protection policy of ${logGroup} is not valid JSON`,
        };
      }
    }
    const masked = current ? maskedCredentials(current) : [];
    const missing = CREDENTIAL_IDENTIFIERS.filter((c) => !masked.includes(c));
    if (!missing.length) return { status: 'COMPLIANT' };
    const next = current
      ? withCredentialMasking(current, missing, partition)
      : credentialMaskingPolicy(partition);
    const step: PlanStep = {
      service: 'logs',
      operation: 'PutDataProtectionPolicy',
      parameters: { logGroupIdentifier: logGroup, policyDocument: JSON.stringify(next) },
      reason: current
        ? `add masking of ${missing.join(', ')} to the data protection policy of ${logGroup}`
        : `mask credentials in ${logGroup} as log events are ingested`,
      inverse: current
        ? {
            service: 'logs',
            operation: 'PutDataProtectionPolicy',
            parameters: { logGroupIdentifier: logGroup, policyDocument: read.policyDocument },
            reason: `put the previous data protection policy of ${logGroup} back`,
          }
        : {
            service: 'logs',
            operation: 'DeleteDataProtectionPolicy',
            parameters: { logGroupIdentifier: logGroup },
            reason: `remove the data protection policy the guardrail put on ${logGroup}`,
          },
    };
    const preconditions: Precondition[] = current
      ? [
          {
            read: 'GetDataProtectionPolicy',
            path: 'policyDocument',
            equals: read.policyDocument,
            description: `the data protection policy of ${logGroup} is still the one evaluated`,
          },
        ]
      : [];
    return {
      status: 'NON_COMPLIANT',
      findings: [
        {
          resourceArn: functionArnOf(s) ?? config.FunctionArn,
          summary: current
            ? `The data protection policy of ${logGroup} (${config.FunctionName}'s logs) does not mask ${missing.join(', ')}.`
            : `${logGroup} (${config.FunctionName}'s logs) has no data protection policy: credentials written to the logs are stored and shown in clear.`,
          evidence: {
            logGroup,
            policy: current ? { name: current.Name ?? null, maskedCredentials: masked } : null,
            missingIdentifiers: missing,
            note: 'Masking applies to log events ingested after the policy is set; rotate any credential already logged.',
          },
          plan: { steps: [step], preconditions },
        },
      ],
    };
  },
};
