/**
 * Secret detection for Lambda environment variables (issue 4, rule LAMBDA.ENV.SECRET, detection
 * half). Pure: no I/O, no clock. See docs/secret-detection.md for the policy and the measurements.
 */
export { DETECTOR_IDS, detectSecret, scanEnvironment } from './detect.ts';
export { FINGERPRINT_PREFIX, fingerprint } from './fingerprint.ts';
export type { Confidence, Detection, EnvFinding } from './types.ts';
