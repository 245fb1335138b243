import { createHmac } from 'node:crypto';

export const FINGERPRINT_PREFIX = 'hmac-sha256:';
/** 128 bits of the HMAC, as 32 hex digits. */
const FINGERPRINT_HEX_CHARS = 32;
const MIN_KEY_BYTES = 16;

/**
 * A keyed fingerprint of a secret value, so findings, plans and the ledger can say "the same value"
 * (or "a different value") without holding it: `hmac-sha256:` + the first 128 bits of
 * HMAC-SHA256(key, value) in hex. Keyed, so nobody without the key can test guesses against it
 * (a plain hash of a short password is reversed by a dictionary). The key must be at least 16
 * bytes; keep it out of the ledger (e.g. in Secrets Manager or an SSM SecureString).
 */
export function fingerprint(value: string, key: Uint8Array | string): string {
  const k = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (k.length < MIN_KEY_BYTES) {
    throw new Error(`fingerprint key must be at least ${MIN_KEY_BYTES} bytes`);
  }
  const mac = createHmac('sha256', k).update(value, 'utf8').digest('hex');
  return FINGERPRINT_PREFIX + mac.slice(0, FINGERPRINT_HEX_CHARS);
}
