/**
 * Public shapes of the secret detector. A detection describes *why* a value is treated as a secret;
 * it never carries the value or any part of it (DESIGN.md §6: secret values never reach logs, the
 * ledger or reports; findings carry the variable name, the detector id and a keyed fingerprint).
 */

export type Confidence = 'high' | 'medium';

export interface Detection {
  /**
   * Stable detector id, e.g. `aws-access-key-id`, `github-token`, `db-url-password`, `private-key`,
   * `jwt`, `basic-auth`, `json-password`, `named-password`, `named-secret`,
   * `named-secret-high-entropy`. The full list is `DETECTOR_IDS`.
   */
  detector: string;
  /** `high`: a known credential format, or a secret-named variable holding a random-looking value. */
  confidence: Confidence;
  /** Human readable. Built from fixed text and the variable name only: never the value, nor part of it. */
  reason: string;
}

/** One flagged environment variable. */
export interface EnvFinding extends Detection {
  name: string;
}
