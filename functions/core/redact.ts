import { detectSecret } from './secrets/detect.ts';
import { fingerprint } from './secrets/fingerprint.ts';
import type { Confidence } from './secrets/types.ts';
import type { Snapshot } from './types.ts';

export const REDACTED = '[redacted]';

/**
 * What survives of a secret value after redaction: the detector that recognised it, its confidence
 * and a keyed fingerprint. Never the value, nor any part of it.
 */
export interface SecretMarker {
  detector: string;
  confidence: Confidence;
  fingerprint: string;
}

const MARKER = /^\[redacted:([a-z0-9][a-z0-9-]{0,63}):(high|medium):(hmac-sha256:[0-9a-f]{32})\]$/;

/** `[redacted:<detector>:<confidence>:<fingerprint>]`, the value an environment variable holding a secret gets. */
export const secretMarker = (m: SecretMarker) => `[redacted:${m.detector}:${m.confidence}:${m.fingerprint}]`;

/** The marker a redacted value carries, or undefined for `[redacted]` and anything else. */
export function parseSecretMarker(value: unknown): SecretMarker | undefined {
  if (typeof value !== 'string') return undefined;
  const m = MARKER.exec(value);
  return m ? { detector: m[1], confidence: m[2] as Confidence, fingerprint: m[3] } : undefined;
}

/**
 * The redacted form of one environment variable: a marker when `detectSecret` says the value is a
 * secret (and a fingerprint key is given), `[redacted]` otherwise. A value that already is a marker
 * (a snapshot redacted earlier) is kept as it is.
 */
export function redactValue(name: string, value: unknown, fingerprintKey?: Uint8Array | string): string {
  if (parseSecretMarker(value)) return value as string;
  if (fingerprintKey === undefined || typeof value !== 'string') return REDACTED;
  const d = detectSecret(name, value);
  return d
    ? secretMarker({
        detector: d.detector,
        confidence: d.confidence,
        fingerprint: fingerprint(value, fingerprintKey),
      })
    : REDACTED;
}

/**
 * Removes secret values from a snapshot before it leaves the function that read it (Step Functions
 * payloads are logged with level ALL; the ledger keeps what it is given). Environment variable names
 * stay, values go. With a fingerprint key, secret detection survives redaction: each variable that
 * holds a secret gets a marker `[redacted:<detector>:<confidence>:<fingerprint>]` (so the rules can
 * still find it and tell whether the value changed), every other one `[redacted]`. Without a key,
 * every value is `[redacted]` and LAMBDA.ENV.SECRET finds nothing.
 *
 * The key is an argument (core stays pure): deployed, a Secrets Manager secret of the stack; the CLI
 * takes `--fingerprint-key` or makes a random one per run (docs/secret-remediation.md).
 */
export function redactSnapshot(s: Snapshot, fingerprintKey?: Uint8Array | string): Snapshot {
  const responses: Record<string, unknown> = { ...s.responses };
  for (const [key, value] of Object.entries(responses)) {
    if (key !== 'GetFunctionConfiguration' && !key.startsWith('GetFunctionConfiguration:')) continue;
    const cfg = value as { Environment?: { Variables?: Record<string, unknown> } } | null;
    if (!cfg?.Environment?.Variables) continue;
    responses[key] = {
      ...cfg,
      Environment: {
        ...cfg.Environment,
        Variables: Object.fromEntries(
          Object.entries(cfg.Environment.Variables).map(([k, v]) => [k, redactValue(k, v, fingerprintKey)]),
        ),
      },
    };
  }
  return { ...s, responses };
}
