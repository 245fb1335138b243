import { foreignAccounts, needsOuChain, orgEnabled } from '../core/org.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import { CrossAccountError, eventClients } from './assume.ts';
import type { AwsClients } from './clients.ts';
import { ouChainResponses } from './org-parents.ts';
import type { Deps } from './target.ts';

/**
 * Organization mode around the collectors (functions/aws/target.ts): reads go through the collector
 * role of the event's own account, a target in another account is refused before anything is read,
 * and what was read must belong to the event's account.
 */

/** The clients that read the event's resource; throws CrossAccountError for a target in another account. */
export function readClients(deps: Deps, event: NormalizedEvent): AwsClients {
  if (!orgEnabled(deps.config)) return deps.clients;
  const r = event.resources;
  const foreign = foreignAccounts(event.account, r.functionArn ?? r.roleArn ?? r.layerArn ?? '', {
    ...(r.functionName ? { FunctionName: r.functionName } : {}),
  });
  if (foreign.length)
    throw new CrossAccountError(
      `event of account ${event.account} names a resource in account ${foreign.join(', ')}; nothing is read or changed`,
    );
  return eventClients(deps, event, 'collector');
}

/**
 * Checks a snapshot read in organization mode (its account and the ARN the service returned are the
 * event's account) and adds the account's OU chain when OU mode overrides are configured.
 */
export async function inEventAccount(
  deps: Deps,
  event: NormalizedEvent,
  snapshot: Snapshot,
): Promise<Snapshot> {
  if (!orgEnabled(deps.config)) return snapshot;
  const config = snapshot.responses['GetFunctionConfiguration'] as
    | { FunctionArn?: string }
    | null
    | undefined;
  const foreign = foreignAccounts(event.account, config?.FunctionArn ?? '', {});
  if (snapshot.account !== event.account) foreign.push(snapshot.account);
  if (foreign.length)
    throw new CrossAccountError(
      `what was read for account ${event.account} belongs to account ${foreign.join(', ')}; nothing is changed`,
    );
  if (needsOuChain(deps.config))
    Object.assign(snapshot.responses, await ouChainResponses(deps.clients, event.account));
  return snapshot;
}
