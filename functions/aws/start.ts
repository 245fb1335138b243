import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { executionName } from '../core/event.ts';
import type { NormalizedEvent } from '../core/types.ts';
import { type AwsClients, errorName } from './clients.ts';

/** Starts one execution per CloudTrail event; a duplicate delivery of the same event is a no-op. */
export async function startExecution(
  clients: AwsClients,
  stateMachineArn: string,
  event: NormalizedEvent,
): Promise<{ started: boolean; executionName: string; executionArn?: string }> {
  const name = executionName(event.eventId);
  const region = stateMachineArn.split(':')[3];
  try {
    const r = await clients
      .get(SFNClient, region)
      .send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ event }) }));
    return {
      started: true,
      executionName: name,
      ...(r.executionArn ? { executionArn: r.executionArn } : {}),
    };
  } catch (err) {
    // STANDARD executions with the same name and input within 90 days are idempotent; the same name
    // with a different input raises ExecutionAlreadyExists. Either way the event is already handled.
    if (errorName(err) === 'ExecutionAlreadyExists') return { started: false, executionName: name };
    throw err;
  }
}
