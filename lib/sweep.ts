import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { GuardrailConfig } from '../functions/core/config.ts';
import { orgEnabled } from '../functions/core/org.ts';
import { GuardrailFunction } from './functions.ts';
import { allowStatement } from './iam.ts';

/**
 * The scheduled sweep (CloudTrail -> EventBridge delivery is best effort): an EventBridge Scheduler
 * schedule (`sweepSchedule`, default daily) invokes the sweep function, which scans the home region in
 * report mode, writes the report (HTML + JSON) to an encrypted bucket, starts one execution per
 * function through the guardrail's state machine, and emails a digest of new and resolved findings
 * (functions/aws/sweep.ts). In organization mode it scans every member account through the member
 * collector role (the role's trust names the sweep's role: lib/app.ts passes it to lib/org/).
 */

export const SWEEP_SID = {
  listFunctions: 'ListFunctions',
  listLayers: 'ListLayers',
  readWriteReports: 'ReadWriteReports',
  findPreviousReport: 'FindPreviousReport',
  sendDigestEmail: 'SendDigestEmail',
  invokeSweep: 'InvokeSweep',
  readFingerprintKey: 'ReadFingerprintKey',
  listAccounts: 'ListOrganizationAccounts',
  assumeCollector: 'AssumeMemberCollectorRole',
} as const;

/** Sweep reports are kept this long (the `reports/` prefix; `latest.json` is rewritten by every sweep). */
export const REPORT_RETENTION = Duration.days(400);
/** Objects under this prefix expire after REPORT_RETENTION. */
export const REPORTS_PREFIX = 'reports/';

/**
 * LambdaInvoke, but the schedule's role may invoke exactly the function's unqualified ARN (the
 * target): `grantInvoke` would add `<arn>:*` (every version and alias) too.
 */
class ExactLambdaInvoke extends schedulerTargets.LambdaInvoke {
  constructor(
    private readonly target: lambda.IFunction,
    props: schedulerTargets.ScheduleTargetBaseProps,
  ) {
    super(target, props);
  }

  protected override addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      allowStatement(SWEEP_SID.invokeSweep, ['lambda:InvokeFunction'], [this.target.functionArn]),
    );
  }
}

export interface GuardrailSweepProps {
  config: GuardrailConfig;
  /** Environment every function gets (config, service name, log level). */
  environment: Record<string, string>;
  stateMachine: sfn.StateMachine;
  /** Grants the collectors' read actions (the same grants Collect has) to the sweep function. */
  grantReads: (fn: GuardrailFunction) => void;
  /** A layer rule is deployed: the scan lists every layer version (ListLayers, ListLayerVersions). */
  listLayers?: boolean;
  /** The deployment's fingerprint key (secret markers), so the sweep's fingerprints match Collect's. */
  fingerprintKey?: secretsmanager.ISecret;
}

export class GuardrailSweep extends Construct {
  readonly bucket: s3.Bucket;
  readonly function: GuardrailFunction;
  readonly schedule: scheduler.Schedule;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: GuardrailSweepProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);

    // ---- Reports bucket ---------------------------------------------------------------------------
    this.bucket = new s3.Bucket(this, 'Reports', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [
        { id: 'ExpireSweepReports', prefix: REPORTS_PREFIX, expiration: REPORT_RETENTION },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      // Reports are findings history: they outlive the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds only the sweep reports, written and read by the sweep function alone; object access is auditable with CloudTrail data events, and a server access log bucket would itself need a log bucket. Public access is blocked, TLS is enforced and objects expire.',
    });

    // ---- Sweep function ---------------------------------------------------------------------------
    this.function = new GuardrailFunction(this, 'Function', {
      name: 'sweep',
      description: 'Lambda Guardrail: scheduled sweep (scan report, one execution per function, digest)',
      environment: {
        ...props.environment,
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
        REPORT_BUCKET: this.bucket.bucketName,
        ...(props.fingerprintKey ? { FINGERPRINT_KEY_SECRET: props.fingerprintKey.secretArn } : {}),
      },
      timeout: Duration.minutes(15),
      memorySize: 1024,
      // The schedule retries delivery; the function is not retried on error (a sweep is not cheap).
      retryAttempts: 0,
    });
    this.function.fn.addEnvironment('SWEEP_ROLE_ARN', this.function.role.roleArn);
    const fn = this.function;

    props.grantReads(fn);
    if (props.fingerprintKey) {
      fn.addToPolicy(
        allowStatement(
          SWEEP_SID.readFingerprintKey,
          ['secretsmanager:GetSecretValue'],
          [props.fingerprintKey.secretArn],
        ),
      );
    }
    // ListFunctions has no resource-level permissions: it needs Resource "*". A policy of its own, so
    // the acknowledgement below covers exactly this statement.
    const listPolicy = new iam.Policy(this, 'ListFunctionsPolicy', {
      statements: [allowStatement(SWEEP_SID.listFunctions, ['lambda:ListFunctions'], ['*'])],
    });
    listPolicy.attachToRole(fn.role);
    Validations.of(listPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'lambda:ListFunctions does not support resource-level permissions (Resource must be "*"); it lists function names and configurations, which the sweep reads anyway.',
    });
    if (props.listLayers) {
      // Like ListFunctions: no resource-level permissions, so a policy of its own for the acknowledgement.
      const layerPolicy = new iam.Policy(this, 'ListLayersPolicy', {
        statements: [
          allowStatement(SWEEP_SID.listLayers, ['lambda:ListLayerVersions', 'lambda:ListLayers'], ['*']),
        ],
      });
      layerPolicy.attachToRole(fn.role);
      Validations.of(layerPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'lambda:ListLayers and lambda:ListLayerVersions do not support resource-level permissions (Resource must be "*"); they list layer names and versions, which the sweep then reads.',
      });
    }
    if (orgEnabled(config)) this.grantOrganization(config);
    props.stateMachine.grantStartExecution(fn.role);

    const reports = this.bucket.arnForObjects('*');
    fn.addToPolicy(allowStatement(SWEEP_SID.readWriteReports, ['s3:GetObject', 's3:PutObject'], [reports]));
    fn.acknowledgeWildcardResource(
      reports,
      'The sweep writes a new report object per run (reports/YYYY/MM/DD/<time>.json|.html) and reads and rewrites latest.json, all in its own bucket; the names are only known at run time.',
    );
    // Without s3:ListBucket a missing latest.json (the first sweep) is AccessDenied instead of NoSuchKey.
    fn.addToPolicy(allowStatement(SWEEP_SID.findPreviousReport, ['s3:ListBucket'], [this.bucket.bucketArn]));

    // Digest email: the approvers, from the approval sender (SES v2), when both are configured.
    if (config.approvalSender && config.approvers.length) {
      const domain = config.approvalSender.split('@')[1];
      const identity = (name: string) =>
        stack.formatArn({ service: 'ses', resource: 'identity', resourceName: name });
      const identities = [...new Set([config.approvalSender, domain, ...config.approvers])].map(identity);
      fn.addToPolicy(
        allowStatement(SWEEP_SID.sendDigestEmail, ['ses:SendEmail'], identities, {
          StringEquals: { 'ses:FromAddress': config.approvalSender },
        }),
      );
    }

    // ---- Schedule ---------------------------------------------------------------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the sweep schedule (invocations Scheduler could not deliver); it needs no DLQ of its own.',
    });
    const target = new ExactLambdaInvoke(fn.fn, {
      input: scheduler.ScheduleTargetInput.fromObject({
        scheduledTime: scheduler.ContextAttribute.scheduledTime,
      }),
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      deadLetterQueue: this.deadLetterQueue,
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.expression(config.sweepSchedule),
      target,
      description: 'Lambda Guardrail: sweep every function (report, executions, digest)',
    });
  }

  /** Organization mode: list the member accounts and enter each through its collector role. */
  private grantOrganization(config: GuardrailConfig): void {
    const fn = this.function;
    const org = config.organization;
    // With an allow list the sweep scans exactly those accounts and never calls Organizations.
    if (!org.accounts.allow.length) {
      const listAccounts = new iam.Policy(this, 'ListAccountsPolicy', {
        statements: [allowStatement(SWEEP_SID.listAccounts, ['organizations:ListAccounts'], ['*'])],
      });
      listAccounts.attachToRole(fn.role);
      Validations.of(listAccounts).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'organizations:ListAccounts does not support resource-level permissions (Resource must be "*"); the organization sweep lists the account ids it scans (organization.accounts.allow, when set, replaces the call and this policy).',
      });
    }
    const collector = `arn:${Aws.PARTITION}:iam::*:role/${org.memberRoleNames.collector}`;
    fn.addToPolicy(allowStatement(SWEEP_SID.assumeCollector, ['sts:AssumeRole'], [collector]));
    fn.acknowledgeWildcardResource(
      collector,
      `Organization mode: the sweep reads every member account through the read-only member role ${org.memberRoleNames.collector} (the accounts are only known at run time; only accounts where the StackSet created the role, whose trust names this function's role under aws:PrincipalOrgID and sts:ExternalId, accept it).`,
    );
  }
}
