import { allowsAnyAction, principals } from '../policy.ts';
import { functionArnOf, functionConfiguration, resourcePolicies, splitKey } from '../snapshot.ts';
import type { RawFinding, Rule, Snapshot } from '../types.ts';

/**
 * LAMBDA.ASYNC.NO_FAILURE_DESTINATION: a function that is invoked asynchronously has neither a
 * dead-letter queue (`DeadLetterConfig.TargetArn` in its configuration) nor an on-failure destination
 * (`GetFunctionEventInvokeConfig` -> `DestinationConfig.OnFailure.Destination`). After the retries
 * (2 by default, up to 6 hours) Lambda drops the event and nobody learns which one.
 *
 * "Invoked asynchronously": its resource policy (unqualified or an alias's) lets EventBridge, SNS or
 * S3 invoke it (those services always invoke asynchronously), or it has an event invoke config (someone
 * configured asynchronous invocation for it). Judged per qualifier: the unqualified function and each
 * alias, each with its own event invoke config (`GetFunctionEventInvokeConfig` and
 * `GetFunctionEventInvokeConfig:<alias>`; null = none).
 *
 * Report only: a destination is a queue, topic, bucket, function or event bus the owner chooses, and
 * the execution role needs permission to send to it. The finding carries the exact commands.
 */

export const RULE_ID = 'LAMBDA.ASYNC.NO_FAILURE_DESTINATION';

/** Services that invoke Lambda asynchronously (event type `Event`). */
export const ASYNC_SERVICES = ['events.amazonaws.com', 'sns.amazonaws.com', 's3.amazonaws.com'] as const;

export interface EventInvokeConfig {
  FunctionArn?: string;
  MaximumRetryAttempts?: number;
  MaximumEventAgeInSeconds?: number;
  DestinationConfig?: { OnSuccess?: { Destination?: string }; OnFailure?: { Destination?: string } };
}

/** Every event invoke config read: qualifier (undefined = unqualified) -> config or null. */
export function eventInvokeConfigs(s: Snapshot): Map<string | undefined, EventInvokeConfig | null> {
  const out = new Map<string | undefined, EventInvokeConfig | null>();
  for (const [key, value] of Object.entries(s.responses)) {
    const { operation, discriminator } = splitKey(key);
    if (operation !== 'GetFunctionEventInvokeConfig') continue;
    out.set(discriminator, value && typeof value === 'object' ? (value as EventInvokeConfig) : null);
  }
  return out;
}

const quote = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;

export const lambdaAsyncFailureDestination: Rule = {
  id: RULE_ID,
  title: 'Asynchronously invoked function drops failed events',
  severity: 'MEDIUM',
  rationale:
    'EventBridge, SNS and S3 invoke functions asynchronously: Lambda queues the event, retries a failed invocation twice (by default, for up to 6 hours) ' +
    'and then discards the event. Without a dead-letter queue or an on-failure destination nobody learns which events were lost.',
  knownFalsePositives: [
    'Functions whose events are safe to lose (best-effort notifications) or whose failures are captured by the code itself. Exempt them by tag, with a reason and an expiry.',
    'Aliases are judged with the dead-letter queue of $LATEST (the snapshot holds the unqualified configuration); an alias pointing to a published version with a different DeadLetterConfig may be reported wrongly.',
    'A permission for EventBridge, SNS or S3 that no rule, topic or bucket uses any more.',
  ],
  triggers: [
    {
      service: 'lambda',
      actions: [
        'AddPermission',
        'CreateFunction',
        'UpdateFunctionConfiguration',
        'PutFunctionEventInvokeConfig',
        'UpdateFunctionEventInvokeConfig',
      ],
    },
  ],
  resource: 'function',
  defaultMode: 'report',
  fix: 'None automatic (the destination and the execution role’s permission to send to it are the owner’s choice): the exact commands to add an on-failure destination (put-function-event-invoke-config) or a dead-letter queue.',
  evaluate(s) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const configs = eventInvokeConfigs(s);
    if (!configs.size)
      return {
        status: 'NOT_APPLICABLE',
        reason: 'GetFunctionEventInvokeConfig was not read (older snapshot)',
      };
    const dlq = (config['DeadLetterConfig'] as { TargetArn?: string } | undefined)?.TargetArn;
    if (dlq) return { status: 'COMPLIANT' };
    const fn = config.FunctionName;
    const baseArn = functionArnOf(s) ?? config.FunctionArn;

    // Which qualifiers are invoked asynchronously, and by whom.
    const callers = new Map<string | undefined, Set<string>>();
    const add = (q: string | undefined, why: string) => {
      const set = callers.get(q) ?? new Set<string>();
      set.add(why);
      callers.set(q, set);
    };
    for (const policy of resourcePolicies(s)) {
      for (const st of policy.document.Statement) {
        if (!allowsAnyAction(st, ['lambda:InvokeFunction'])) continue;
        for (const svc of principals(st, 'Service'))
          if ((ASYNC_SERVICES as readonly string[]).includes(svc)) add(policy.qualifier, svc);
      }
    }
    for (const [q, c] of configs) if (c) add(q, 'event invoke config');

    const findings: RawFinding[] = [];
    for (const [q, why] of [...callers].sort(([a], [b]) => (a ?? '').localeCompare(b ?? ''))) {
      const own = configs.get(q);
      if (own?.DestinationConfig?.OnFailure?.Destination) continue;
      const qual = q ? ` --qualifier ${quote(q)}` : '';
      const where = q ? `alias ${q} of ${fn}` : fn;
      findings.push({
        resourceArn: q ? `${baseArn}:${q}` : baseArn,
        summary: `${where} is invoked asynchronously (${[...why].sort().join(', ')}) and has neither a dead-letter queue nor an on-failure destination: events that still fail after the retries are dropped.`,
        evidence: {
          qualifier: q ?? null,
          asyncCallers: [...why].sort(),
          eventInvokeConfig: own ?? null,
          deadLetterConfig: null,
          remediation: [
            // Update keeps the other settings of an existing config; put creates (and replaces) one.
            `aws lambda ${own ? 'update' : 'put'}-function-event-invoke-config --function-name ${quote(fn)}${qual} --destination-config '{"OnFailure":{"Destination":"<ARN of an SQS queue, SNS topic, S3 bucket, Lambda function or EventBridge event bus>"}}'`,
            `or a dead-letter queue: aws lambda update-function-configuration --function-name ${quote(fn)} --dead-letter-config TargetArn=<ARN of an SQS queue or SNS topic>`,
            'then allow the execution role to send there (sqs:SendMessage, sns:Publish, s3:PutObject, lambda:InvokeFunction or events:PutEvents on that resource)',
          ],
        },
        plan: { steps: [], preconditions: [] },
      });
    }
    return findings.length ? { status: 'NON_COMPLIANT', findings } : { status: 'COMPLIANT' };
  },
};
