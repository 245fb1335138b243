import {
  ArnFormat,
  CfnOutput,
  Duration,
  Lazy,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { INGEST_READS, PROOF_ACTIONS } from '../functions/core/actions.ts';
import type { GuardrailConfig } from '../functions/core/config.ts';
import { RULES, triggerPrefixes } from '../functions/core/rules/index.ts';
import type { Rule } from '../functions/core/types.ts';
import { GuardrailApprovals } from './approvals.ts';
import { cloudTrailEventPatterns, splitExcludedPrincipals } from './event-pattern.ts';
import { GuardrailFunction, LOG_RETENTION } from './functions.ts';
import { allowStatement } from './iam.ts';
import {
  type ActionGrant,
  configuredGrants,
  PROTECTED_ROLE_TAG,
  type ReadGrant,
  readGrants,
  remediationGrants,
} from './permissions.ts';
import { checkSubstitutions, deployedAsl } from './state-machine.ts';
import { GuardrailSweep } from './sweep.ts';

export interface GuardrailStackProps extends StackProps {
  /** The validated configuration (`parseConfig` of the `guardrail` context). */
  config: GuardrailConfig;
  /** The rules whose triggers and resource kinds shape the event rules and roles (default: all). */
  rules?: readonly Rule[];
}

/** POWERTOOLS_SERVICE_NAME of every function (the handlers' logger uses the same name). */
export const SERVICE_NAME = 'lambda-guardrail';

/** Names the IAM statements the stack writes, so tests and reviewers can find each one. */
export const SID = {
  readFunctions: 'ReadFunctions',
  readRoles: 'ReadRoles',
  readPolicys: 'ReadPolicies',
  // Reads without resource-level permissions (Resource "*"): last-accessed reports, security groups, Inspector.
  readAnys: 'ReadWithoutResourceLevelPermissions',
  readLogGroups: 'ReadLogGroups',
  remediateLogGroups: 'RemediateLogGroups',
  remediateFunctions: 'RemediateFunctions',
  remediateRoles: 'RemediateRoles',
  remediatePolicys: 'RemediatePolicies',
  remediateSecrets: 'RemediateSecrets',
  readLayers: 'ReadLayers',
  remediateLayers: 'RemediateLayers',
  useSecretsKey: 'UseSecretsKey',
  useExtensionLayer: 'UseExtensionLayer',
  denyGuardrailRoles: 'DenyWritesToGuardrailRoles',
  denyProtectedRoles: 'DenyWritesToProtectedRoles',
  readFingerprintKey: 'ReadFingerprintKey',
  readKillSwitch: 'ReadKillSwitch',
  putLedgerRecord: 'PutLedgerRecord',
  invokeTaskFunctions: 'InvokeTaskFunctions',
  proveRewrites: 'ProveRewrittenPolicies',
  listPolicyRoles: 'ListRolesOfChangedPolicies',
} as const;

/**
 * The deployed guardrail: CloudTrail events on the default bus -> ingest Lambda -> STANDARD state
 * machine (collect, evaluate, remediate, verify, record) -> DynamoDB ledger.
 */
export class GuardrailStack extends Stack {
  readonly config: GuardrailConfig;
  /** The rules this stack is built for (they decide the event rules and the roles' permissions). */
  readonly rules: readonly Rule[];
  readonly ledger: dynamodb.Table;
  readonly killSwitch: ssm.StringParameter;
  /** HMAC key of the fingerprints of secret values (LAMBDA.ENV.SECRET). */
  readonly fingerprintKey: secretsmanager.Secret;
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<
    | 'ingest'
    | 'collect'
    | 'evaluate'
    | 'prove'
    | 'remediate'
    | 'verify'
    | 'record'
    | 'request-approval'
    | 'approval-callback'
    | 'sweep',
    GuardrailFunction
  >;
  readonly approvals: GuardrailApprovals;
  readonly sweep: GuardrailSweep;
  readonly eventRules: events.Rule[];
  readonly ingestTargetDlq: sqs.Queue;
  readonly ingestAsyncDlq: sqs.Queue;

  constructor(scope: Construct, id: string, props: GuardrailStackProps) {
    super(scope, id, {
      description:
        'Lambda Guardrail: evaluates and safely remediates public function URLs and public invoke permissions',
      ...props,
    });
    const config = props.config;
    const rules = props.rules ?? RULES;
    this.config = config;
    this.rules = rules;

    // ---- Ledger -------------------------------------------------------------------------------
    this.ledger = new dynamodb.Table(this, 'Ledger', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // AWS managed key (aws/dynamodb): encrypted with a KMS key the account can audit in
      // CloudTrail, and callers need no kms:* grants.
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // The ledger is the audit trail and the source of rollbacks: it outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.ledger.addGlobalSecondaryIndex({
      indexName: 'byDay',
      partitionKey: { name: 'day', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'recordedAt', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    // ---- Kill switch ----------------------------------------------------------------------------
    this.killSwitch = new ssm.StringParameter(this, 'KillSwitch', {
      parameterName: config.killSwitchParameter,
      stringValue: 'off',
      description:
        'Lambda Guardrail kill switch: "on" downgrades every finding to report (nothing is changed)',
      tier: ssm.ParameterTier.STANDARD,
    });

    // ---- Task functions -------------------------------------------------------------------------
    const common = {
      GUARDRAIL_CONFIG: JSON.stringify(config),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      LOG_LEVEL: 'INFO',
    };
    const killSwitchEnv = { KILL_SWITCH_PARAMETER: config.killSwitchParameter };

    // ---- Fingerprint key (LAMBDA.ENV.SECRET, docs/secret-remediation.md) ------------------------
    // Secret values are never stored: findings and plans carry a keyed fingerprint instead. Collect,
    // Remediate and Verify share this key (a plan's fingerprints are part of the digest Remediate checks).
    this.fingerprintKey = new secretsmanager.Secret(this, 'FingerprintKey', {
      description:
        'Lambda Guardrail: HMAC key of the fingerprints of secret values (never the values themselves)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(this.fingerprintKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The fingerprint key is not a credential: it keys the HMAC that lets findings say "the same value" without holding it. Rotating it makes every recorded fingerprint incomparable (and in-flight plans end resource-changed); rotate by hand when needed (docs/secret-remediation.md).',
    });
    const fingerprintEnv = { FINGERPRINT_KEY_SECRET: this.fingerprintKey.secretArn };

    const collect = new GuardrailFunction(this, 'Collect', {
      name: 'collect',
      description: 'Lambda Guardrail: snapshot of the changed resource and the kill switch',
      environment: { ...common, ...killSwitchEnv, ...fingerprintEnv },
      timeout: Duration.seconds(60),
    });
    const evaluate = new GuardrailFunction(this, 'Evaluate', {
      name: 'evaluate',
      description: 'Lambda Guardrail: evaluate the rules (pure, no AWS calls)',
      environment: common,
    });
    // Prove (docs/iam-roles.md): Access Analyzer checks of rewritten IAM documents, nothing else.
    const prove = new GuardrailFunction(this, 'Prove', {
      name: 'prove',
      description: 'Lambda Guardrail: prove rewritten IAM policies with Access Analyzer before any write',
      environment: common,
      timeout: Duration.seconds(60),
    });
    prove.addToPolicy(allowStatement(SID.proveRewrites, [...PROOF_ACTIONS], ['*']));
    prove.acknowledgeWildcardResource(
      '*',
      'access-analyzer:ValidatePolicy and access-analyzer:CheckNoNewAccess have no resource-level permissions (the catalog lists no resource type): they analyze the policy text in the request and read no resource.',
    );
    const remediate = new GuardrailFunction(this, 'Remediate', {
      name: 'remediate',
      description: 'Lambda Guardrail: re-read, check preconditions, apply the automatic plan steps',
      environment: { ...common, ...killSwitchEnv, ...fingerprintEnv },
      timeout: Duration.seconds(120),
    });
    const verify = new GuardrailFunction(this, 'Verify', {
      name: 'verify',
      description: 'Lambda Guardrail: re-collect and re-evaluate after remediation',
      environment: { ...common, ...killSwitchEnv, ...fingerprintEnv },
      timeout: Duration.seconds(60),
    });
    const record = new GuardrailFunction(this, 'Record', {
      name: 'record',
      description: 'Lambda Guardrail: write the execution record to the ledger',
      environment: { ...common, LEDGER_TABLE: this.ledger.tableName },
    });

    // Reads: collect, verify and remediate (which re-reads before it writes).
    for (const f of [collect, verify, remediate]) {
      this.grantOnAccountResources(f, readGrants(rules), 'read');
      f.addToPolicy(allowStatement(SID.readKillSwitch, ['ssm:GetParameter'], [this.killSwitch.parameterArn]));
      f.addToPolicy(
        allowStatement(
          SID.readFingerprintKey,
          ['secretsmanager:GetSecretValue'],
          [this.fingerprintKey.secretArn],
        ),
      );
    }
    // Writes: only remediate, only the operations plans may use (lib/permissions.ts).
    this.grantOnAccountResources(remediate, remediationGrants(rules), 'remediate');
    for (const g of configuredGrants(config.secrets, rules)) {
      remediate.addToPolicy(
        allowStatement(g.kind === 'key' ? SID.useSecretsKey : SID.useExtensionLayer, g.actions, g.resources),
      );
    }
    if (remediationGrants(rules).some((g) => g.kind === 'role')) this.denyRoleWrites(remediate);
    // Ledger: PutItem only (grantWriteData would add BatchWriteItem, UpdateItem and DeleteItem).
    record.addToPolicy(allowStatement(SID.putLedgerRecord, ['dynamodb:PutItem'], [this.ledger.tableArn]));

    // ---- Approvals (docs/approvals.md) ----------------------------------------------------------
    this.approvals = new GuardrailApprovals(this, 'Approvals', { config, environment: common });
    const requestApproval = this.approvals.requestApproval;

    // ---- State machine --------------------------------------------------------------------------
    const asl = deployedAsl(config);
    const taskFunctions = { collect, evaluate, prove, remediate, verify, record };
    const substitutions = {
      CollectFunctionArn: collect.fn.functionArn,
      EvaluateFunctionArn: evaluate.fn.functionArn,
      ProveFunctionArn: prove.fn.functionArn,
      RemediateFunctionArn: remediate.fn.functionArn,
      VerifyFunctionArn: verify.fn.functionArn,
      RecordFunctionArn: record.fn.functionArn,
      RequestApprovalFunctionArn: requestApproval.fn.functionArn,
    };
    checkSubstitutions(asl, substitutions);

    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      // The /aws/vendedlogs/ prefix keeps CloudWatch Logs resource policies small for vended logs.
      logGroupName: `/aws/vendedlogs/states/${this.stackName}-guardrail`,
      retention: LOG_RETENTION,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(asl),
      definitionSubstitutions: substitutions,
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The ASL names unqualified function ARNs, so InvokeFunction on exactly those (no `:*`).
    this.stateMachine.addToRolePolicy(
      allowStatement(
        SID.invokeTaskFunctions,
        ['lambda:InvokeFunction'],
        [...Object.values(taskFunctions), requestApproval].map((f) => f.fn.functionArn),
      ),
    );
    // Only the approval callback sends task results, and only to this state machine.
    this.approvals.grantTaskResults(this.stateMachine);
    const smPolicy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (smPolicy) {
      Validations.of(smPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only the statements Step Functions needs for logging and tracing use Resource "*": the CloudWatch Logs delivery actions (logs:CreateLogDelivery, ...) and xray:PutTraceSegments/PutTelemetryRecords/GetSamplingRules/GetSamplingTargets do not support resource-level permissions.',
      });
    }

    // ---- Ingest ---------------------------------------------------------------------------------
    // The guardrail's own roles: their changes never trigger it (rule pattern, and again in ingest).
    const ownRoleArns = Object.values(taskFunctions).map((f) => f.role.roleArn);
    this.ingestAsyncDlq = encryptedDlq(this, 'IngestFailures');
    this.ingestTargetDlq = encryptedDlq(this, 'IngestDeliveryFailures');
    // cdk-nag recognises a queue used as a Lambda DeadLetterConfig, not one used as an EventBridge
    // target's dead-letter queue.
    Validations.of(this.ingestTargetDlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the EventBridge -> ingest target (events that could not be delivered); it needs no DLQ of its own.',
    });
    const ingest = new GuardrailFunction(this, 'Ingest', {
      name: 'ingest',
      description: 'Lambda Guardrail: validate CloudTrail events and start one execution per event',
      environment: {
        ...common,
        STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
        LEDGER_TABLE: this.ledger.tableName,
        EXCLUDED_PRINCIPALS: this.toJsonString([...config.excludedPrincipals, ...ownRoleArns]),
      },
      deadLetterQueue: this.ingestAsyncDlq,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });
    this.stateMachine.grantStartExecution(ingest.role);
    // Execution roles: a changed managed policy starts one execution per role it is attached to.
    if (rules.some((r) => r.resource === 'role')) {
      const policies = this.resourceArnPattern('policy');
      ingest.addToPolicy(
        allowStatement(
          SID.listPolicyRoles,
          INGEST_READS.map((r) => r.iamAction),
          [policies],
        ),
      );
      ingest.acknowledgeWildcardResource(
        policies,
        'A CreatePolicyVersion or SetDefaultPolicyVersion event names any customer-managed policy of the account; ingest lists the roles it is attached to (iam:ListEntitiesForPolicy only) to evaluate each of them.',
      );
    }
    // Rejected (malformed) events are recorded in the ledger.
    ingest.addToPolicy(allowStatement(SID.putLedgerRecord, ['dynamodb:PutItem'], [this.ledger.tableArn]));
    // ---- Scheduled sweep (lib/sweep.ts) -----------------------------------------------------------
    this.sweep = new GuardrailSweep(this, 'Sweep', {
      config,
      environment: common,
      stateMachine: this.stateMachine,
      // The sweep's scan reads functions and layers; execution roles are read by the executions it starts.
      grantReads: (fn) =>
        this.grantOnAccountResources(fn, readGrants(rules.filter((r) => r.resource !== 'role')), 'read'),
      listLayers: rules.some((r) => r.resource === 'layer'),
      fingerprintKey: this.fingerprintKey,
    });
    this.functions = {
      ingest,
      ...taskFunctions,
      'request-approval': requestApproval,
      'approval-callback': this.approvals.callback,
      sweep: this.sweep.function,
    };

    // ---- EventBridge ----------------------------------------------------------------------------
    // IAM events are delivered to EventBridge only in us-east-1; an `iam` rule in another region
    // never fires (see docs/deployment.md).
    const excluded = splitExcludedPrincipals(config.excludedPrincipals);
    const patterns = cloudTrailEventPatterns({
      prefixes: triggerPrefixes(rules),
      excludedRoleArns: [...ownRoleArns, ...excluded.roles],
      excludedPrincipalArns: excluded.others,
    });
    this.eventRules = patterns.map(({ service, pattern }) => {
      const rule = new events.Rule(this, `${capitalize(service)}ApiCalls`, {
        description: `Lambda Guardrail: ${service} changes recorded by CloudTrail`,
        eventPattern: pattern,
      });
      rule.addTarget(
        new targets.LambdaFunction(ingest.fn, {
          deadLetterQueue: this.ingestTargetDlq,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      );
      return rule;
    });

    // ---- Outputs --------------------------------------------------------------------------------
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'LedgerTableName', { value: this.ledger.tableName });
    new CfnOutput(this, 'KillSwitchParameterName', { value: this.killSwitch.parameterName });
    new CfnOutput(this, 'SweepReportBucketName', { value: this.sweep.bucket.bucketName });
    new CfnOutput(this, 'ApprovalEndpointUrl', { value: this.approvals.callbackUrl.url });
    new CfnOutput(this, 'ApprovalsTableName', { value: this.approvals.table.tableName });
    new CfnOutput(this, 'ApprovalKeySecretArn', { value: this.approvals.keys.secretArn });
  }

  /** ARN pattern of every resource of a kind in this account and region. */
  resourceArnPattern(kind: ReadGrant['kind']): string {
    switch (kind) {
      case 'any':
        return '*';
      case 'log-group':
        // Every log group of this account and region (a function's group is /aws/lambda/<name> or configured).
        return this.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
      case 'policy':
        // Customer-managed policies of this account (IAM ARNs have no region).
        return this.formatArn({ service: 'iam', region: '', resource: 'policy', resourceName: '*' });
      case 'function':
        // IAM's `*` also matches `:`, so this covers every function and its qualified ARNs (versions, aliases).
        return this.formatArn({
          service: 'lambda',
          resource: 'function',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
      case 'role':
        return this.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*' });
      case 'layer':
        // Every layer version of this account and region (`layer:<name>:<version>`; `*` matches `:`).
        return this.formatArn({
          service: 'lambda',
          resource: 'layer',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
      case 'secret':
        // Only the secrets the guardrail creates: names under the configured prefix (any suffix).
        return this.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${this.config.secrets.namePrefix}*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
      default:
        throw new Error(`no account-wide pattern for ${kind}: grant it on the exact resources`);
    }
  }

  /**
   * PutRolePolicy/DeleteRolePolicy must name any role (the execution roles of the account's functions
   * are not known in advance, live under any path, and IAM has no condition key for "a role Lambda
   * trusts"). Two denies narrow that: never the guardrail's own roles (no self-escalation), and never
   * a role tagged `lambda-guardrail:protected=true` (opt-out for admin and break-glass roles).
   */
  private denyRoleWrites(fn: GuardrailFunction): void {
    const actions = remediationGrants(this.rules)
      .filter((g) => g.kind === 'role')
      .flatMap((g) => g.actions.filter((a) => a.startsWith('iam:')));
    fn.addToPolicy(
      new iam.PolicyStatement({
        sid: SID.denyGuardrailRoles,
        effect: iam.Effect.DENY,
        actions,
        // Every role this stack creates, including roles added by constructs built after this call.
        resources: Lazy.list({
          produce: () =>
            this.node
              .findAll()
              .filter((c): c is iam.Role => c instanceof iam.Role)
              .map((r) => r.roleArn),
        }),
      }),
    );
    fn.addToPolicy(
      new iam.PolicyStatement({
        sid: SID.denyProtectedRoles,
        effect: iam.Effect.DENY,
        actions,
        resources: [this.resourceArnPattern('role')],
        conditions: { StringEquals: { [`aws:ResourceTag/${PROTECTED_ROLE_TAG}`]: 'true' } },
      }),
    );
  }

  /**
   * Adds one statement per resource kind on the account-wide pattern, and acknowledges the
   * resulting IAM5 finding for exactly that pattern on exactly this function's policy.
   */
  private grantOnAccountResources(
    fn: GuardrailFunction,
    grants: (ActionGrant | ReadGrant)[],
    purpose: 'read' | 'remediate',
  ): void {
    for (const g of grants) {
      const sid = (SID as Record<string, string>)[`${purpose}${capitalize(g.kind)}s`];
      if (!sid) throw new Error(`no statement id for ${purpose} grants on ${g.kind}`);
      const pattern = this.resourceArnPattern(g.kind);
      // Reads of policy versions also cover the AWS-managed policies an execution role may attach.
      const awsManaged = this.formatArn({
        service: 'iam',
        region: '',
        account: 'aws',
        resource: 'policy',
        resourceName: '*',
      });
      const resources = g.kind === 'policy' && purpose === 'read' ? [pattern, awsManaged] : [pattern];
      fn.addToPolicy(allowStatement(sid, g.actions, resources));
      if (resources.length > 1)
        fn.acknowledgeWildcardResource(
          awsManaged,
          'AWS-managed policies (AdministratorAccess, PowerUserAccess, ...) attached to execution roles are read to evaluate them; only ListPolicyVersions and GetPolicyVersion, never a write (AWS-managed policies cannot be changed).',
        );
      fn.acknowledgeWildcardResource(
        pattern,
        g.kind === 'any'
          ? `${g.actions.join(', ')}: read-only actions without resource-level permissions in IAM (the catalog lists no resource type). GetServiceLastAccessedDetails reads a last-accessed report by job id (the job is generated with iam:GenerateServiceLastAccessedDetails on roles only); DescribeSecurityGroups reads the security groups of functions in a VPC; the Inspector reads are the account status and the findings of each function.`
          : g.kind === 'log-group'
            ? purpose === 'read'
              ? "The functions' log groups (/aws/lambda/<name> or the configured LoggingConfig.LogGroup) are not known in advance; only logs:GetDataProtectionPolicy, to check that credentials are masked."
              : "LAMBDA.LOGS.UNMASKED puts a data protection policy masking credentials on the function's log group (names not known in advance); only Put/DeleteDataProtectionPolicy, as declared in functions/core/actions.ts."
            : g.kind === 'policy'
              ? "The execution roles' customer-managed policies are not known in advance; the guardrail rewrites a policy only after proving the new version grants nothing new (docs/iam-roles.md), with exactly the version actions declared in functions/core/actions.ts."
              : g.kind === 'secret'
                ? `The secrets the guardrail creates get a name per function and variable under the configured prefix (${this.config.secrets.namePrefix}) and a random ARN suffix; on this pattern the role gets only the named actions declared in functions/core/actions.ts, and no GetSecretValue: it can never read a secret it moved.`
                : g.kind === 'role' && purpose === 'remediate'
                  ? 'Execution-role remediation writes to roles: moving a secret grants the function\'s execution role GetSecretValue on that secret (an inline policy), and the IAM.ROLE rules replace wildcard policies (inline put, AWS-managed detach after an inline replacement; docs/iam-roles.md). Execution roles are not known in advance and live under any path, and IAM has no condition key for "a role Lambda trusts". Explicit denies exclude the guardrail\'s own roles and roles tagged lambda-guardrail:protected=true; the executor only writes to the role named in the function configuration it read.'
                  : `The guardrail watches every ${g.kind} in the account and cannot know their names in advance; on this pattern the role gets only the named actions declared in functions/core/actions.ts (never a wildcard action).`,
      );
    }
  }
}

/** `function` -> `Function`, `log-group` -> `LogGroup` (statement id keys). */
function capitalize(s: string): string {
  return s
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

/** SQS dead-letter queue: SSE-SQS encryption (EventBridge can deliver to it without a KMS grant), TLS only. */
function encryptedDlq(scope: Construct, id: string): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}
