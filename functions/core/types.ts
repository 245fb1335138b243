/**
 * The contracts every layer shares. These shapes are public: `guardrail evaluate` prints them,
 * the ledger stores them and later rules build on them. Change them only in a compatible way.
 */
import type { GuardrailConfig } from './config.ts';

export type Mode = 'auto' | 'approve' | 'report';
export const MODES: readonly Mode[] = ['report', 'approve', 'auto'];

export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFORMATIONAL';
export const SEVERITY_ORDER: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'];

/** Who made the change, from CloudTrail's userIdentity. */
export interface Actor {
  type: string;
  arn?: string;
  accountId?: string;
  principalId?: string;
  /** For assumed roles: the role the session was issued from. */
  sessionIssuerArn?: string;
  /** Set when an AWS service made the call on the principal's behalf (e.g. cloudformation.amazonaws.com). */
  invokedBy?: string;
}

/** References to the resources an event is about; only the ones the event names are set. */
export interface ResourceRefs {
  functionName?: string;
  functionArn?: string;
  qualifier?: string;
  roleName?: string;
  roleArn?: string;
  policyArn?: string;
  layerArn?: string;
}

export interface NormalizedEvent {
  eventId: string;
  /** The raw CloudTrail eventName, e.g. `AddPermission20150331v2`. */
  eventName: string;
  /** The API action without its version suffix, e.g. `AddPermission`. */
  action: string;
  /** `lambda` or `iam` (the eventSource without `.amazonaws.com`). */
  service: string;
  account: string;
  region: string;
  /** ISO-8601 event time. */
  time: string;
  actor: Actor;
  resources: ResourceRefs;
  /** Request parameters with anything secret-like replaced by `[redacted]`. */
  requestParameters: Record<string, unknown>;
  /** `event` for CloudTrail-driven runs, `sweep` for scheduled re-evaluation, `scan` for the CLI. */
  origin: 'event' | 'sweep' | 'scan';
}

/**
 * A snapshot: AWS API responses keyed by operation name, in the exact SDK/CLI response shapes.
 * `<Operation>:<discriminator>` keys carry the qualifier, policy name or policy ARN.
 * A key whose value is `null` was read and did not exist (e.g. a function without a policy);
 * a missing key was not read.
 */
export interface Snapshot {
  account: string;
  region: string;
  responses: Record<string, unknown>;
}

/** A value the executor resolves at apply time instead of carrying it through the plan. */
export type DeferredValue =
  /** The value of an environment variable, read from the function when the step runs (never stored). */
  | { fromEnvironment: string }
  /** The resource policy's RevisionId, read right before the step; the executor first checks that
   * the policy differs from the evaluated one only by this plan's earlier steps. */
  | { fromPolicyRevision: { FunctionName: string; Qualifier?: string } }
  /** The function's RevisionId, read right before the step; the executor first checks that the
   * function's environment is still the one this plan read (earlier steps of the plan wrote to the function). */
  | { fromFunctionRevision: { FunctionName: string } }
  /** A layer version policy's RevisionId, read right before the step; the executor first checks that
   * the policy differs from the evaluated one only by this plan's earlier steps (LAMBDA.LAYER.PUBLIC). */
  | { fromLayerPolicyRevision: { LayerName: string; VersionNumber: number } }
  /** The ARN Secrets Manager returned for the secret of this name, created by an earlier step of the
   * same plan (an ARN ends with 6 random characters, so it is only known once the secret exists). */
  | { fromSecretArn: string }
  /** The function's whole environment map as it is when the step runs, with `remove` taken out and
   * `set` put in (values there may be deferred too). Other variables travel by reference only. */
  | { fromEnvironmentWith: { remove: string[]; set: Record<string, unknown> } }
  /** The current value of a secret (`GetSecretValue` when the step runs; rollback only, never stored). */
  | { fromSecretValue: unknown }
  /** The JSON text of this value after its deferred values are resolved (IAM policy documents). */
  | { jsonOf: unknown };

export interface PlanStep {
  /** AWS service, as in the IAM action prefix: `lambda`, `iam`, ... */
  service: string;
  /** The AWS API operation name, e.g. `UpdateFunctionUrlConfig`. */
  operation: string;
  /** The exact request, in the SDK's own field names. */
  parameters: Record<string, unknown>;
  /** Why this call is made, for people. */
  reason: string;
  /** The call that undoes this one, where one exists (used by rollback). */
  inverse?: Omit<PlanStep, 'inverse'>;
}

/** A read-only expectation the executor checks on a fresh read before the first write. */
export interface Precondition {
  /** Snapshot key, e.g. `GetFunctionUrlConfig:live` or `GetPolicy`. */
  read: string;
  /** Dotted path into the response, e.g. `AuthType`. */
  path: string;
  equals: unknown;
  description: string;
}

/** The kinds of resource a snapshot can be about (see `targetOf` in evaluate.ts). */
export type TargetKind = 'function' | 'role' | 'layer';

/**
 * A rewritten IAM policy document that must be proved before any write: Access Analyzer
 * `ValidatePolicy` reports no errors and `CheckNoNewAccess` (new vs existing) returns PASS.
 */
export interface PolicyProof {
  /** What the new document replaces, for people and the ledger: `inline:<name>` or a managed policy ARN. */
  replaces: string;
  /** JSON text of the document in force now (for an AWS-managed policy replaced inline: the managed document). */
  existingPolicyDocument: string;
  /** JSON text of the proposed document, exactly as the plan writes it. */
  newPolicyDocument: string;
}

export interface ProofCheck {
  replaces: string;
  /** `ValidatePolicy`: number of ERROR findings and their issue codes. */
  validatePolicy?: { errors: number; issues: string[] };
  /** `CheckNoNewAccess` result. */
  checkNoNewAccess?: 'PASS' | 'FAIL';
  /** Why the check could not run or failed, for people. */
  reason?: string;
}

/** The outcome of proving a finding's `plan.proofs` (set by the Prove step, never by a rule). */
export interface ProofResult {
  status: 'PASS' | 'FAIL' | 'UNAVAILABLE';
  checks: ProofCheck[];
}

export interface Plan {
  steps: PlanStep[];
  preconditions: Precondition[];
  /**
   * Documents this plan writes that must be proved first (IAM rewrites). A finding whose plan has
   * proofs is applied automatically only when its `proof.status` is `PASS`; otherwise it needs approval.
   */
  proofs?: PolicyProof[];
  /**
   * All or nothing: if a step fails after earlier steps of this plan were applied, the executor
   * undoes those steps (their inverses, newest first) before it reports the failure.
   */
  atomic?: boolean;
}

export type ExemptionStatus = 'active' | 'expired' | 'invalid';

export interface Exemption {
  status: ExemptionStatus;
  ruleIds: string[];
  reason?: string;
  until?: string;
  /** Why an exemption was not honoured (expired, no expiry, no reason). */
  note?: string;
}

export interface Finding {
  ruleId: string;
  title: string;
  severity: Severity;
  resourceArn: string;
  summary: string;
  /** Facts that support the finding: statement ids, the URL config, ... Never secret values. */
  evidence: Record<string, unknown>;
  mode: Mode;
  /** Why the finding has this mode (rule default, config override, global ceiling, kill switch). */
  modeReason: string;
  exempt: boolean;
  exemption?: Exemption;
  plan: Plan;
  /** Set by the Prove step for findings whose plan has `proofs`. */
  proof?: ProofResult;
}

export type RuleResult =
  | { status: 'COMPLIANT' }
  | {
      status: 'NOT_APPLICABLE';
      reason: string;
      /**
       * The reason is about the account and region, not this resource (Amazon Inspector is not
       * enabled): a scan report states it once, in its notices, not once per resource.
       */
      accountWide?: true;
    }
  | { status: 'NON_COMPLIANT'; findings: RawFinding[] };

/** What a rule returns: a finding before mode and exemptions are applied. */
export type RawFinding = Pick<Finding, 'resourceArn' | 'summary' | 'evidence' | 'plan'> & {
  severity?: Severity;
  /**
   * The highest mode this finding may get, with why (e.g. an IAM rewrite without enough usage
   * evidence stays `approve` even when the config asks for `auto`). evaluate() lowers the resolved
   * mode to it and appends the reason; it never raises a mode.
   */
  modeCap?: { mode: Mode; reason: string };
};

export interface RuleContext {
  /** ISO time of evaluation; rules never read the clock. */
  now: string;
  event?: NormalizedEvent;
  /** The validated configuration, for rules whose plans depend on it (secret names, KMS key, layer). */
  config?: GuardrailConfig;
}

export interface Rule {
  /** Stable, readable id such as `LAMBDA.URL.PUBLIC`. */
  id: string;
  title: string;
  severity: Severity;
  rationale: string;
  knownFalsePositives: string[];
  /** CloudTrail triggers: service plus event-name prefixes (matched by prefix, see DESIGN.md §5). */
  triggers: { service: 'lambda' | 'iam'; actions: string[] }[];
  /** What kind of resource the rule looks at; decides which collector runs. */
  resource: TargetKind;
  defaultMode: Mode;
  /**
   * Opt-in rules are evaluated only when the configuration enables them (`rules.<id>.enabled: true`):
   * checks that would flag most functions of most accounts (tracing) and so drown the findings that matter.
   */
  optIn?: boolean;
  /** What the fix does, for people (RULES.md, reports). */
  fix: string;
  evaluate(snapshot: Snapshot, ctx: RuleContext): RuleResult;
}

export type Outcome =
  | 'compliant'
  | 'reported'
  | 'approval-required'
  /** An approver rejected the findings that needed approval (automatic ones may still have been applied). */
  | 'rejected'
  /** Nobody decided before the approval timed out: nothing that needed approval was applied. */
  | 'expired'
  | 'remediated'
  | 'exempt'
  | 'resource-changed'
  | 'failed'
  | 'rejected-input';
