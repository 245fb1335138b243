import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ApprovalKeys } from '../core/approval.ts';
import type { AwsClients } from './clients.ts';

/**
 * The HMAC keys that sign approval links, from a Secrets Manager secret holding
 * `{"current": "...", "previous": "..."}` (`previous` only during a rotation; docs/approvals.md).
 * Cached per container for a few minutes; `refresh` re-reads (the callback does so once when a
 * signature does not verify, so a freshly rotated key is picked up at once).
 */

const MAX_AGE_MS = 5 * 60_000;
const MIN_KEY_LENGTH = 32;

const cache = new Map<string, { keys: ApprovalKeys; at: number }>();

export class InvalidApprovalKeyError extends Error {
  override name = 'InvalidApprovalKeyError';
}

export function parseApprovalKeys(secretString: string | undefined): ApprovalKeys {
  let parsed: { current?: unknown; previous?: unknown };
  try {
    parsed = JSON.parse(secretString ?? '');
  } catch {
    throw new InvalidApprovalKeyError('the approval key secret is not JSON {"current": "..."}');
  }
  const ok = (v: unknown): v is string => typeof v === 'string' && v.length >= MIN_KEY_LENGTH;
  if (!ok(parsed.current))
    throw new InvalidApprovalKeyError(
      `the approval key secret needs "current" of ${MIN_KEY_LENGTH}+ characters`,
    );
  return { current: parsed.current, ...(ok(parsed.previous) ? { previous: parsed.previous } : {}) };
}

export async function loadApprovalKeys(
  clients: AwsClients,
  region: string,
  secretId: string,
  opts: { refresh?: boolean } = {},
): Promise<ApprovalKeys> {
  const cacheKey = `${region}/${secretId}`;
  const hit = cache.get(cacheKey);
  if (hit && !opts.refresh && Date.now() - hit.at < MAX_AGE_MS) return hit.keys;
  const r = await clients
    .get(SecretsManagerClient, region)
    .send(new GetSecretValueCommand({ SecretId: secretId }));
  const keys = parseApprovalKeys(r.SecretString);
  cache.set(cacheKey, { keys, at: Date.now() });
  return keys;
}
