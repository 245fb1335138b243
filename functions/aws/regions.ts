import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { AwsClients } from './clients.ts';

/**
 * `guardrail scan --all-regions`: the regions enabled for the account, from ec2:DescribeRegions
 * (without AllRegions it returns only regions that need no opt-in or that the account opted in to).
 * Lambda is offered in every commercial region, so these are the account's Lambda regions; a static
 * list would go stale with each new region and would include opt-in regions the account cannot call.
 * Kept apart from scan.ts so only the CLI loads the EC2 client.
 */
export async function enabledRegions(clients: AwsClients, region: string): Promise<string[]> {
  const r = await clients.get(EC2Client, region).send(new DescribeRegionsCommand({}));
  return (r.Regions ?? [])
    .filter((x) => !x.OptInStatus || x.OptInStatus !== 'not-opted-in')
    .flatMap((x) => (x.RegionName ? [x.RegionName] : []))
    .sort();
}
