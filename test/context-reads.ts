import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Inspector2Client } from '@aws-sdk/client-inspector2';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * For tests that run the real collector with only Lambda mocked: the context reads of
 * functions/aws/collect-context.ts (EC2, CloudWatch Logs, Inspector) answer AccessDenied, so they are
 * left out of the snapshot (as for a caller without those permissions) and no call leaves the process.
 * Returns the function that restores the clients.
 */
export function denyContextReads(): () => void {
  const denied = () =>
    Object.assign(new Error('not authorized (test)'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
  const mocks = [mockClient(EC2Client), mockClient(CloudWatchLogsClient), mockClient(Inspector2Client)];
  for (const m of mocks) m.rejects(denied());
  return () => {
    for (const m of mocks) m.restore();
  };
}
