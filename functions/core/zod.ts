import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * Every module of the guardrail validates with the tree-shakable `zod/mini` API (the full API adds
 * ~70 KB to each deployed function) and imports this module once for English error messages, so a
 * rejected input says why.
 */
config(en());
