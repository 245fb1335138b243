import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsClients } from './clients.ts';

/**
 * The key of the fingerprints that secret markers carry (core/redact.ts, rule LAMBDA.ENV.SECRET).
 *
 * Deployed, a Secrets Manager secret the stack creates (FINGERPRINT_KEY_SECRET): Collect, Remediate
 * and Verify must use the same key, because the fingerprints are part of the plan whose digest
 * Remediate compares (a value that changed between evaluation and remediation changes the plan).
 * Read once per cold start (GetSecretValue; the Secrets Manager client adds ~17 KB to a bundle).
 *
 * Without a configured secret (local runtime, tests, the CLI) the key is random per process:
 * detection works, and fingerprints are comparable only within that process.
 */

export interface FingerprintKeySource {
  /** An explicit key loader (the local runtime and tests). */
  fingerprintKey?: () => Promise<Uint8Array | string>;
  /** Secrets Manager id (name or ARN) of the key (deployed). */
  fingerprintKeySecret?: string;
}

const MIN_KEY_LENGTH = 16;
const cache = new Map<string, Promise<string>>();
let processKey: Buffer | undefined;

export class InvalidFingerprintKeyError extends Error {
  override name = 'InvalidFingerprintKeyError';
}

/** 32 random bytes, the same for the whole process. */
export function processFingerprintKey(): Buffer {
  processKey ??= randomBytes(32);
  return processKey;
}

/** The region of a secret ARN, else the given one. */
const regionOf = (secretId: string, fallback: string) =>
  /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(secretId)?.[1] ?? fallback;

/** Reads the key secret once per process (a failed read is not cached). */
export function loadFingerprintKey(clients: AwsClients, region: string, secretId: string): Promise<string> {
  const cacheKey = `${regionOf(secretId, region)}/${secretId}`;
  let hit = cache.get(cacheKey);
  if (!hit) {
    hit = clients
      .get(SecretsManagerClient, regionOf(secretId, region))
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((r) => {
        const key = r.SecretString ?? '';
        if (key.length < MIN_KEY_LENGTH) {
          throw new InvalidFingerprintKeyError(
            `the fingerprint key secret must hold at least ${MIN_KEY_LENGTH} characters`,
          );
        }
        return key;
      });
    hit.catch(() => cache.delete(cacheKey));
    cache.set(cacheKey, hit);
  }
  return hit;
}

/** The key for this deployment or run (see the module comment). */
export async function fingerprintKeyOf(
  deps: FingerprintKeySource & { clients: AwsClients; config: { homeRegion: string } },
): Promise<Uint8Array | string> {
  if (deps.fingerprintKey) return deps.fingerprintKey();
  if (deps.fingerprintKeySecret)
    return loadFingerprintKey(deps.clients, deps.config.homeRegion, deps.fingerprintKeySecret);
  return processFingerprintKey();
}
