/**
 * The code of the committed action catalog (catalog-data.ts), shared by its generator
 * (scripts/iam-catalog.ts) and its decoder (catalog.ts).
 */

export const ACCESS_LEVELS = ['List', 'Read', 'Write', 'Permissions management', 'Tagging'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/** Printable ASCII without space, quotes, backslash, `$` (no `${` in a string) and the separators `=` and `;`. */
export const ALPHABET = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i))
  .filter((c) => !`'"\`\\$=;`.includes(c))
  .join('');

/** One per (access level, resource-level support): index = level * 2 + (resource-level ? 1 : 0). */
export const TERMINATORS = ALPHABET.slice(0, ACCESS_LEVELS.length * 2);

/** How many of the most frequent words get a one-character code; the rest of the alphabet leads two-character codes. */
export const SINGLE_CODES = 45;
