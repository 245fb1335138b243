import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { AwsClients } from './clients.ts';

/** The result of a `.waitForTaskToken` task: success with an output, or failure with an error name. */
export type TaskResult =
  | { taskToken: string; success: true; output: unknown }
  | { taskToken: string; success: false; error: string; cause: string };

/** Errors meaning "the workflow is no longer waiting for this token" (timed out, ended, unknown). */
export const TASK_GONE_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** `SendTaskSuccess` / `SendTaskFailure`. Only the approval callback function is allowed to call these. */
export async function sendTaskResult(clients: AwsClients, region: string, r: TaskResult): Promise<void> {
  const sfn = clients.get(SFNClient, region);
  if (r.success) {
    await sfn.send(new SendTaskSuccessCommand({ taskToken: r.taskToken, output: JSON.stringify(r.output) }));
  } else {
    await sfn.send(
      new SendTaskFailureCommand({
        taskToken: r.taskToken,
        error: r.error.slice(0, 256),
        cause: r.cause.slice(0, 32768),
      }),
    );
  }
}
