import { RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { GuardrailConfig } from '../functions/core/config.ts';
import { EXEMPT_REASON_TAG, EXEMPT_TAG, EXEMPT_UNTIL_TAG } from '../functions/core/mode.ts';
import { GuardrailFunction } from './functions.ts';
import { allowStatement } from './iam.ts';

/**
 * Approvals (docs/approvals.md): the approvals table, the HMAC key secret, the RequestApproval
 * function the state machine invokes with `.waitForTaskToken`, and the callback function behind a
 * function URL with AuthType NONE. Only the callback may send task results (`states:SendTask*`), on
 * this state machine only. That grant is a separate policy added after the state machine exists:
 * the callback function does not depend on it, so there is no cycle (state machine -> RequestApproval
 * -> its environment -> callback URL -> callback function).
 */

export const APPROVAL_SID = {
  readWriteApprovals: 'ReadWriteApprovals',
  readApprovalKeys: 'ReadApprovalKeys',
  sendApprovalEmail: 'SendApprovalEmail',
  sendTaskResult: 'SendTaskResult',
} as const;

/** The only Step Functions actions the callback needs (no heartbeat: it never sends one). */
export const TASK_RESULT_ACTIONS = ['states:SendTaskFailure', 'states:SendTaskSuccess'];

/** The callback function's own exemption from LAMBDA.URL.PUBLIC: it is public by design. */
export const CALLBACK_EXEMPTION = {
  [EXEMPT_TAG]: 'LAMBDA.URL.PUBLIC',
  [EXEMPT_REASON_TAG]:
    'Lambda Guardrail approval endpoint: public by design and protected by HMAC-signed single-use links - see docs/approvals.md',
  [EXEMPT_UNTIL_TAG]: '2099-12-31',
};

export interface GuardrailApprovalsProps {
  config: GuardrailConfig;
  /** Environment every function gets (config, service name, log level). */
  environment: Record<string, string>;
}

export class GuardrailApprovals extends Construct {
  readonly table: dynamodb.Table;
  readonly keys: secretsmanager.Secret;
  readonly requestApproval: GuardrailFunction;
  readonly callback: GuardrailFunction;
  readonly callbackUrl: lambda.FunctionUrl;
  private taskResultPolicy?: iam.Policy;

  constructor(scope: Construct, id: string, props: GuardrailApprovalsProps) {
    super(scope, id);
    const { config } = props;

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'ttl',
      // Pending approvals only (the decisions are in the ledger): nothing to keep without the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.keys = new secretsmanager.Secret(this, 'Keys', {
      description:
        'Lambda Guardrail: HMAC keys that sign approval links, {"current": ..., "previous": ...} (rotation: docs/approvals.md)',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'current',
        passwordLength: 64,
        excludePunctuation: true,
        includeSpace: false,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.keys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the link-signing key invalidates approval links already sent, so it is rotated by hand with a grace period: the new key becomes "current" and the old one stays "previous" until the longest approval timeout has passed (docs/approvals.md).',
    });

    const approvalEnv = {
      ...props.environment,
      APPROVALS_TABLE: this.table.tableName,
      APPROVAL_KEY_SECRET: this.keys.secretArn,
    };

    this.callback = new GuardrailFunction(this, 'Callback', {
      name: 'approval-callback',
      description:
        'Lambda Guardrail: approval endpoint (verifies signed links, records the decision, resumes the workflow)',
      environment: approvalEnv,
      memorySize: 256,
    });
    // AuthType NONE: approvers click a link in an email and have no AWS credentials. Every request is
    // checked by the handler (HMAC-signed link, expiry, approver list, CSRF token, single-use write).
    this.callbackUrl = this.callback.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    for (const [k, v] of Object.entries(CALLBACK_EXEMPTION)) Tags.of(this.callback.fn).add(k, v);
    this.callback.addToPolicy(
      allowStatement(
        APPROVAL_SID.readWriteApprovals,
        ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        [this.table.tableArn],
      ),
    );
    this.callback.addToPolicy(
      allowStatement(APPROVAL_SID.readApprovalKeys, ['secretsmanager:GetSecretValue'], [this.keys.secretArn]),
    );

    this.requestApproval = new GuardrailFunction(this, 'RequestApproval', {
      name: 'request-approval',
      description:
        'Lambda Guardrail: store an approval request and email each approver a signed link; expire it on timeout',
      environment: { ...approvalEnv, APPROVAL_BASE_URL: this.callbackUrl.url },
      memorySize: 256,
    });
    this.requestApproval.addToPolicy(
      allowStatement(
        APPROVAL_SID.readWriteApprovals,
        ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        [this.table.tableArn],
      ),
    );
    this.requestApproval.addToPolicy(
      allowStatement(APPROVAL_SID.readApprovalKeys, ['secretsmanager:GetSecretValue'], [this.keys.secretArn]),
    );
    if (config.approvalSender) {
      // SendEmail is authorized on the identity the mail is sent from (the address, or its verified
      // domain) and, in the SES sandbox, on each recipient's identity too.
      const stack = Stack.of(this);
      const identity = (name: string) =>
        stack.formatArn({ service: 'ses', resource: 'identity', resourceName: name });
      const domain = config.approvalSender.split('@')[1];
      const identities = [...new Set([config.approvalSender, domain, ...config.approvers])].map(identity);
      this.requestApproval.addToPolicy(
        allowStatement(APPROVAL_SID.sendApprovalEmail, ['ses:SendEmail'], identities, {
          StringEquals: { 'ses:FromAddress': config.approvalSender },
        }),
      );
    }
  }

  /**
   * Lets the callback (and nothing else) send task results to this state machine. A separate policy
   * the callback function does not depend on, which keeps CloudFormation free of a cycle.
   */
  grantTaskResults(stateMachine: sfn.IStateMachine): iam.Policy {
    this.taskResultPolicy ??= new iam.Policy(this, 'CallbackTaskResults', {
      roles: [this.callback.role],
      statements: [
        allowStatement(APPROVAL_SID.sendTaskResult, TASK_RESULT_ACTIONS, [stateMachine.stateMachineArn]),
      ],
    });
    return this.taskResultPolicy;
  }
}
