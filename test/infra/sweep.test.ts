import { describe, expect, it } from 'vitest';
import { LEDGER_BY_DAY_INDEX } from '../../functions/aws/ledger-report.ts';
import { readGrants } from '../../lib/permissions.ts';
import { REPORT_RETENTION, REPORTS_PREFIX, SWEEP_SID } from '../../lib/sweep.ts';
import {
  asArray,
  type CfnTemplate,
  defaultSynth,
  type Loose,
  logicalIdOf,
  type PolicyStatementJson,
  resourcesOfType,
  roleStatements,
  synth,
} from './helpers.ts';

/**
 * The scheduled sweep (lib/sweep.ts): the schedule and its target, the reports bucket, and the exact
 * IAM of the sweep function and of the schedule's role. cdk-nag over the whole app is in nag.test.ts.
 */

const built = defaultSynth();
const { json, stack, config } = built;
const sweep = stack.sweep;
const fnId = logicalIdOf(built, sweep.function.fn);
const roleId = logicalIdOf(built, sweep.function.role);
const bucketId = logicalIdOf(built, sweep.bucket);
const props = (id: string): Loose => json.Resources[id].Properties;
const getAtt = (id: string, attr = 'Arn') => ({ 'Fn::GetAtt': [id, attr] });

/** Statements without CDK's formatting differences (single action/resource as arrays). */
const shape = (xs: PolicyStatementJson[]) =>
  xs.map((s) => ({
    sid: s.Sid,
    actions: asArray(s.Action).sort(),
    resources: asArray(s.Resource),
    ...(s.Condition ? { condition: s.Condition } : {}),
  }));

describe('the sweep schedule', () => {
  const [[scheduleId, schedule]] = resourcesOfType(json, 'AWS::Scheduler::Schedule');

  it('runs on config.sweepSchedule (default daily), in UTC, always on', () => {
    expect(config.sweepSchedule).toBe('rate(1 day)');
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 day)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
    });
    expect(scheduleId).toBe(logicalIdOf(built, sweep.schedule));
  });

  it('follows the configured expression', () => {
    const other = synth({ guardrail: { sweepSchedule: 'cron(0 6 * * ? *)' } });
    const [[, s]] = resourcesOfType(other.json, 'AWS::Scheduler::Schedule');
    expect((s.Properties as Loose).ScheduleExpression).toBe('cron(0 6 * * ? *)');
  });

  it('invokes the sweep function with the scheduled time; 2 retries in an hour, then a TLS-only, encrypted DLQ', () => {
    const target = (schedule.Properties as Loose).Target;
    expect(target.Arn).toEqual(getAtt(fnId));
    expect(JSON.parse(target.Input)).toEqual({ scheduledTime: '<aws.scheduler.scheduled-time>' });
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 2 });
    const dlqId = logicalIdOf(built, sweep.deadLetterQueue);
    expect(target.DeadLetterConfig).toEqual({ Arn: getAtt(dlqId) });
    expect(props(dlqId)).toMatchObject({ SqsManagedSseEnabled: true });
  });

  it("the schedule's role may invoke exactly the sweep function (its unqualified ARN) and send to the DLQ", () => {
    const role = (schedule.Properties as Loose).Target.RoleArn['Fn::GetAtt'][0] as string;
    const trust = props(role).AssumeRolePolicyDocument.Statement;
    expect(trust).toHaveLength(1);
    expect(trust[0].Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust[0].Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    expect(shape(roleStatements(json, role))).toEqual([
      { sid: SWEEP_SID.invokeSweep, actions: ['lambda:InvokeFunction'], resources: [getAtt(fnId)] },
      {
        sid: undefined,
        actions: ['sqs:SendMessage'],
        resources: [getAtt(logicalIdOf(built, sweep.deadLetterQueue))],
      },
    ]);
  });
});

describe('the reports bucket', () => {
  const p = props(bucketId);
  it('is encrypted, private, bucket-owner-enforced and retained', () => {
    expect(p.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(p.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(p.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(json.Resources[bucketId].DeletionPolicy).toBe('Retain');
  });

  it('expires reports after the retention period, and incomplete uploads after a week', () => {
    expect(p.LifecycleConfiguration.Rules).toEqual([
      {
        Id: 'ExpireSweepReports',
        Prefix: REPORTS_PREFIX,
        ExpirationInDays: REPORT_RETENTION.toDays(),
        Status: 'Enabled',
      },
      {
        Id: 'AbortIncompleteUploads',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        Status: 'Enabled',
      },
    ]);
  });

  it('refuses plain HTTP (enforceSSL)', () => {
    const [[, policy]] = resourcesOfType(json, 'AWS::S3::BucketPolicy').filter(
      ([, x]) => JSON.stringify((x.Properties as Loose).Bucket) === JSON.stringify({ Ref: bucketId }),
    );
    const st = (policy.Properties as Loose).PolicyDocument.Statement;
    expect(st).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    ]);
  });
});

describe('the sweep function', () => {
  const fn = props(fnId);

  it('15 minutes, 1 GB, not retried on error; knows the state machine, the bucket, its role and the fingerprint key', () => {
    expect(fn.Timeout).toBe(900);
    expect(fn.MemorySize).toBe(1024);
    const [[, invokeConfig]] = resourcesOfType(json, 'AWS::Lambda::EventInvokeConfig').filter(
      ([, x]) => JSON.stringify((x.Properties as Loose).FunctionName) === JSON.stringify({ Ref: fnId }),
    );
    expect((invokeConfig.Properties as Loose).MaximumRetryAttempts).toBe(0);
    const vars = fn.Environment.Variables;
    expect(vars.STATE_MACHINE_ARN).toEqual({ Ref: logicalIdOf(built, stack.stateMachine) });
    expect(vars.REPORT_BUCKET).toEqual({ Ref: bucketId });
    expect(vars.SWEEP_ROLE_ARN).toEqual(getAtt(roleId));
    expect(vars.FINGERPRINT_KEY_SECRET).toEqual({ Ref: logicalIdOf(built, stack.fingerprintKey) });
    expect(JSON.parse(vars.GUARDRAIL_CONFIG)).toEqual(config);
  });

  it("exact IAM: the collectors' reads, ListFunctions (own policy), StartExecution, its bucket, the key; no writes to functions", () => {
    const fnPattern = {
      'Fn::Join': ['', ['arn:aws:lambda:us-east-1:', { Ref: 'AWS::AccountId' }, ':function:*']],
    };
    const st = shape(roleStatements(json, roleId)).filter(
      (s) => !s.actions.some((a) => a.startsWith('logs:') || a.startsWith('xray:')),
    );
    const reads = readGrants().find((g) => g.kind === 'function')!;
    expect(st).toEqual(
      expect.arrayContaining([
        { sid: 'ReadFunctions', actions: [...reads.actions].sort(), resources: [fnPattern] },
        {
          sid: SWEEP_SID.readFingerprintKey,
          actions: ['secretsmanager:GetSecretValue'],
          resources: [{ Ref: logicalIdOf(built, stack.fingerprintKey) }],
        },
        {
          sid: undefined,
          actions: ['states:StartExecution'],
          resources: [{ Ref: logicalIdOf(built, stack.stateMachine) }],
        },
        {
          sid: SWEEP_SID.readWriteReports,
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [{ 'Fn::Join': ['', [getAtt(bucketId), '/*']] }],
        },
        { sid: SWEEP_SID.findPreviousReport, actions: ['s3:ListBucket'], resources: [getAtt(bucketId)] },
        { sid: SWEEP_SID.listFunctions, actions: ['lambda:ListFunctions'], resources: ['*'] },
      ]),
    );
    // read-only verbs of the collectors (the rules' reads), the execution start, its bucket; no write action anywhere
    const allActions = st.flatMap((s) => s.actions);
    for (const a of allActions)
      expect(a).toMatch(
        /^((lambda|iam|ec2|logs|inspector2):(Get|List|Describe|BatchGet)|states:StartExecution$|s3:(GetObject|PutObject|ListBucket)$|secretsmanager:GetSecretValue$|ses:SendEmail$)/,
      );
    // without approvers there is no email permission
    expect(allActions).not.toContain('ses:SendEmail');
    // ListFunctions (Resource "*") sits in a policy of its own, acknowledged there and nowhere else
    const listPolicies = resourcesOfType(json as CfnTemplate, 'AWS::IAM::Policy').filter(([, x]) =>
      JSON.stringify(x.Properties).includes('lambda:ListFunctions'),
    );
    expect(listPolicies).toHaveLength(1);
    expect(asArray((listPolicies[0][1].Properties as Loose).PolicyDocument.Statement)).toHaveLength(1);
  });

  it('with approvers and a sender: ses:SendEmail on their identities, from the sender only', () => {
    const other = synth({
      guardrail: { approvers: ['sec@example.com'], approvalSender: 'guardrail@example.org' },
    });
    const st = roleStatements(other.json, logicalIdOf(other, other.stack.sweep.function.role)).find(
      (s) => s.Sid === SWEEP_SID.sendDigestEmail,
    )!;
    expect(asArray(st.Action)).toEqual(['ses:SendEmail']);
    expect(st.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'guardrail@example.org' } });
    const ids = JSON.stringify(st.Resource);
    for (const id of ['identity/guardrail@example.org', 'identity/example.org', 'identity/sec@example.com'])
      expect(ids).toContain(id);
  });

  it('reads the ledger index the stack defines (guardrail report)', () => {
    const idx = (
      props(logicalIdOf(built, stack.ledger)).GlobalSecondaryIndexes as { IndexName: string }[]
    ).map((i) => i.IndexName);
    expect(idx).toContain(LEDGER_BY_DAY_INDEX);
  });
});
