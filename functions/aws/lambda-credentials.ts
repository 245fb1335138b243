import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Bundling alias for `@aws-sdk/credential-provider-node` in the deployed functions only (see
 * lib/bundling.ts). Inside Lambda the execution role's credentials are always in the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so the default chain's SSO, INI,
 * process, web-identity and IMDS providers are dead weight: about 90 KB minified per function.
 * The CLI and tests keep the full default chain.
 */
export const defaultProvider = (_init?: unknown) => fromEnv();
