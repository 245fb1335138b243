/**
 * Policy documents: parsing and the small questions rules ask of statements.
 * `Statement` may be an object or an array; `Action`, `Resource`, `NotAction` a string or an array;
 * condition operators and keys are case-insensitive in AWS.
 */

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: Statement[];
}

/**
 * Parses a policy document given as an object, a JSON string, or a URL-encoded JSON string
 * (IAM `Get*Policy*` responses are RFC 3986 encoded and the JS SDK v3 does not decode them).
 */
export function parsePolicyDocument(doc: unknown): PolicyDocument {
  let value = doc;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{')) value = JSON.parse(text);
    else value = JSON.parse(decodeURIComponent(text));
  }
  if (!value || typeof value !== 'object') throw new Error('policy document is not an object');
  const raw = value as { Statement?: unknown; Version?: string; Id?: string };
  const statements =
    raw.Statement === undefined ? [] : Array.isArray(raw.Statement) ? raw.Statement : [raw.Statement];
  return { ...raw, Statement: statements as Statement[] };
}

export const asArray = <T>(v: T | T[] | undefined | null): T[] =>
  v == null ? [] : Array.isArray(v) ? v : [v];

/** Principal values of one kind (`AWS`, `Service`, `Federated`); `"*"` counts as `AWS: "*"`. */
export function principals(stmt: Statement, kind: 'AWS' | 'Service' | 'Federated'): string[] {
  const p = stmt.Principal;
  if (p === '*') return kind === 'AWS' ? ['*'] : [];
  if (p && typeof p === 'object') return asArray((p as Record<string, string | string[]>)[kind]);
  return [];
}

/** Principal `*` or `{"AWS": "*"}`: anyone, in any account. */
export function isPublicPrincipal(stmt: Statement): boolean {
  return principals(stmt, 'AWS').includes('*');
}

/** Matches an IAM action pattern (`lambda:*`, `lambda:Invoke*`, `*`) against an action, case-insensitively. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*').replaceAll('?', '.')}$`, 'i');
  return re.test(action);
}

const escapeRe = (s: string) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&');

/** True when the statement's Action list allows any of the given actions. */
export function allowsAnyAction(stmt: Statement, actions: readonly string[]): boolean {
  if (stmt.Effect !== 'Allow') return false;
  if (stmt.NotAction !== undefined) {
    const not = asArray(stmt.NotAction);
    return actions.some((a) => !not.some((p) => actionMatches(p, a)));
  }
  const patterns = asArray(stmt.Action);
  return actions.some((a) => patterns.some((p) => actionMatches(p, a)));
}

/** All condition entries as `{operator, key, values}`, with the key lower-cased. */
export function conditionEntries(stmt: Statement): { operator: string; key: string; values: unknown[] }[] {
  const out: { operator: string; key: string; values: unknown[] }[] = [];
  for (const [operator, block] of Object.entries(stmt.Condition ?? {})) {
    for (const [key, values] of Object.entries(block ?? {})) {
      out.push({ operator, key: key.toLowerCase(), values: asArray(values as unknown) });
    }
  }
  return out;
}

/** The values a condition key is compared with, under any operator (keys compared case-insensitively). */
export function conditionValues(stmt: Statement, key: string): unknown[] {
  const k = key.toLowerCase();
  return conditionEntries(stmt)
    .filter((e) => e.key === k)
    .flatMap((e) => e.values);
}

export function hasConditionKey(stmt: Statement, keys: readonly string[]): boolean {
  const wanted = new Set(keys.map((k) => k.toLowerCase()));
  return conditionEntries(stmt).some((e) => wanted.has(e.key) && !isNegatedOrVacuous(e.operator, e.values));
}

/**
 * A condition only restricts the caller when it narrows to specific values: `StringNotEquals`,
 * `...IfExists`, `Null`, `ForAllValues:...` (true when the key is absent) and wildcard-only values do not.
 */
function isNegatedOrVacuous(operator: string, values: unknown[]): boolean {
  const op = operator.toLowerCase();
  if (op.includes('not') || op.endsWith('ifexists') || op === 'null' || op.startsWith('forallvalues:'))
    return true;
  return values.length === 0 || values.every((v) => v === '*' || v === '' || v == null);
}
