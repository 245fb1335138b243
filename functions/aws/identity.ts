import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from './clients.ts';

/** The account the caller's credentials belong to. */
export async function callerAccount(clients: AwsClients, region: string): Promise<string> {
  const r = await clients.get(STSClient, region).send(new GetCallerIdentityCommand({}));
  if (!r.Account)
    throw new Error('could not determine the AWS account (sts:GetCallerIdentity returned none)');
  return r.Account;
}
