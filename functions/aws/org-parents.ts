import { ListParentsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { listParentsKey } from '../core/org.ts';
import { type AwsClients, body } from './clients.ts';

/**
 * Organization mode with OU mode overrides: the account's parents up to the root, as
 * `ListParents:<child>` responses in their SDK shape (docs/snapshot.md), read with the central
 * account's own credentials (Organizations answers the management account and delegated
 * administrators). Organizations is a global service served from us-east-1.
 */
export async function ouChainResponses(
  clients: AwsClients,
  account: string,
): Promise<Record<string, unknown>> {
  const org = clients.get(OrganizationsClient, 'us-east-1');
  const out: Record<string, unknown> = {};
  let child = account;
  for (let depth = 0; depth < 8; depth++) {
    const r = body(await org.send(new ListParentsCommand({ ChildId: child })));
    out[listParentsKey(child)] = r;
    const parent = r.Parents?.[0];
    if (!parent?.Id || parent.Type === 'ROOT') break;
    child = parent.Id;
  }
  return out;
}
