import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectByName, detectSecret } from '../../functions/core/secrets/detect.ts';

/**
 * Secret detection benchmark over the labelled corpus in test/fixtures/secrets (a copy of
 * shared/fixtures/secrets, see its SOURCES.md). Prints precision and recall per source file and
 * overall on (name, value) pairs for three detectors:
 *   - own: functions/core/secrets (known formats + names + entropy), the one the rule uses;
 *   - library: secretlint's recommended preset (@secretlint/core + rule-preset-recommend);
 *   - library+names: the preset for known formats plus our name/entropy logic.
 * Then every flag on the real-world Lambda environment variables (name, detector, reason; never a
 * value) and the minified bundle size each detector adds. Prints numbers, asserts nothing; the
 * quality bar is asserted by test/unit/secrets-corpus.test.ts with the same code.
 *
 * How records become (name, value) pairs, and which labels are adjusted and why, is documented
 * below and in docs/secret-detection.md ("Corpus mapping").
 */

export const CORPUS_DIR = new URL('../../test/fixtures/secrets/', import.meta.url).pathname;

export type Label = 'secret' | 'not_secret';

export interface Pair {
  /** Source file, e.g. `detect-secrets-plugin-tests.jsonl`. */
  source: string;
  /** 1-based line of the record in its file. */
  line: number;
  /** Plugin, rule or test the record comes from. */
  group: string;
  name: string;
  value: string;
  label: Label;
  /** Set when the label differs from the source's; the reason says why. */
  adjusted?: string;
}

export interface Exclusion {
  source: string;
  line: number;
  reason: string;
}

export interface Corpus {
  pairs: Pair[];
  excluded: Exclusion[];
  /** The real-world variables (unlabelled): every flag is listed, none is scored. */
  realWorld: { name: string; value: string; where: string }[];
}

export const LABELLED_SOURCES = [
  'detect-secrets-plugin-tests.jsonl',
  'secretlint-snapshots.jsonl',
  'prowler-lambda-env-tests.jsonl',
  'harvested-real-nonsecret-values.jsonl',
] as const;
export const REAL_WORLD_SOURCE = 'real-world-lambda-env-vars.jsonl';

/** Quality bar (issue 4), on labelled (name, value) pairs over all sources together. */
export const BAR = { precision: 0.95, recall: 0.9 };

type Json = Record<string, unknown>;

function readJsonl(file: string): Json[] {
  return readFileSync(join(CORPUS_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Json);
}

const IDENT = String.raw`[A-Za-z_$][\w.$-]*`;

/** Strips quotes (and ObjC's `@"..."`), a trailing `;` or `,`, and an unmatched trailing quote. */
function cleanValue(rhs: string): { value: string; quoted: boolean } {
  let v = rhs.trim();
  if (/^@["']/.test(v)) v = v.slice(1);
  const q = v[0];
  if (q === '"' || q === "'" || q === '`') {
    const end = v.indexOf(q, 1);
    if (end > 0) return { value: v.slice(1, end), quoted: true };
  }
  v = v.replace(/[;,]+$/, '').trim();
  v = v.replace(/["'`]$/, '');
  return { value: v, quoted: false };
}

/**
 * Reads a line of code or config as (name, value) where it is an assignment, a comparison or a call
 * with one string argument: `KEY = value`, `key: value`, `key := value`, `key => value`,
 * `"key": "value"`, `if (key == "value")`, `if ("value" == key)`, `std::string key("value")`,
 * `key.assign("value", n)`, `key "value";`, `export const KEY = "value"`. Anything else is
 * (name '', value = the whole line). URLs (`https://...`) are never split at their colon.
 */
export function parseLine(text: string): { name: string; value: string; quoted: boolean } {
  const t = text.trim();
  let m = t.match(new RegExp(String.raw`^if\s*\(\s*(${IDENT})\s*[!=]==?\s*(["'\`])(.*)\2\s*\)\s*\{?$`));
  if (m) return { name: m[1], value: m[3], quoted: true };
  m = t.match(new RegExp(String.raw`^if\s*\(\s*(["'\`])(.*)\1\s*[!=]==?\s*(${IDENT})\s*\)\s*\{?$`));
  if (m) return { name: m[3], value: m[2], quoted: true };
  m = t.match(
    new RegExp(
      String.raw`^(?:[\w:<>]+\s+)?(${IDENT}?)(?:\.assign)?\(\s*(["'\`])(.*?)\2\s*(?:,[^)]*)?\)\s*;?$`,
    ),
  );
  if (m?.[1]) return { name: m[1].replace(/\.assign$/, ''), value: m[3], quoted: true };
  m = t.match(
    new RegExp(
      String.raw`^(?:(?:export|const|let|var|char|final|static|private|public|std::string|string)\s+)*["']?(${IDENT})["']?(?:\[\d*\])?\s*(:=|=>|=(?!=)|:)\s*(.*)$`,
    ),
  );
  if (m && !(m[2] === ':' && m[3].startsWith('//'))) {
    const { value, quoted } = cleanValue(m[3]);
    return { name: m[1], value, quoted };
  }
  m = t.match(new RegExp(String.raw`^(${IDENT})\s+(["'\`])(.*)\2\s*;?$`));
  if (m) return { name: m[1], value: m[3], quoted: true };
  // Command-line flags: `--name value`, `--name=value`.
  m = t.match(/^--?([A-Za-z][\w-]*)(?:=|\s+)(.+)$/);
  if (m) {
    const { value, quoted } = cleanValue(m[2]);
    return { name: m[1], value, quoted };
  }
  return { name: '', value: t, quoted: false };
}

/**
 * Placeholder policy (docs/secret-detection.md): `xxxx` fills and documentation `example` values are
 * not findings. A source label `secret` on such a record is adjusted to `not_secret`. `example` in a
 * host name (`user:pw@example.com`) does not count.
 */
export function isPolicyPlaceholder(text: string): boolean {
  if (/[xX]{4,}/.test(text)) return true;
  return /(?<![@.])example(?!\.(com|org|net))/i.test(text);
}

/** Label adjustments that do not depend on any detector; each has a reason. */
function adjust(source: string, r: Json, label: Label): { label?: Label; reason?: string; exclude?: string } {
  const text = String(r.text ?? r.value ?? '');
  if (source === 'detect-secrets-plugin-tests.jsonl' && r.detector === 'ip_public') {
    return label === 'secret'
      ? { label: 'not_secret', reason: 'a public IP address is not a credential' }
      : {};
  }
  if (source === 'secretlint-snapshots.jsonl') {
    const rule = String(r.rule);
    const kase = String(r.case);
    if (r.form === 'value' && (/^input\.\w+$/.test(text) || (rule.endsWith('-github') && /\s/.test(text)))) {
      return { exclude: 'snapshot metadata (a file name or a description), not a value' };
    }
    if (kase === 'ok.database-urls-not-detected') {
      return { exclude: 'negative only because another rule owns database URLs (rule-scoped label)' };
    }
    if (label === 'secret' && (rule.endsWith('-no-homedir') || kase === 'ng.AWS Account ID')) {
      return { label: 'not_secret', reason: 'a home directory or an AWS account id is not a credential' };
    }
    if (label === 'secret' && (kase === 'ng.ad_tenant_id' || kase === 'ng.azure_client_id')) {
      return {
        label: 'not_secret',
        reason: 'a tenant or client id (a UUID) is an identifier, not a credential',
      };
    }
    if (label === 'not_secret' && (kase === 'ok.allows' || /enableIDScanRule-false/.test(kase))) {
      return { label: 'secret', reason: 'negative only because of a rule option (allow list, ID scan off)' };
    }
  }
  if (label === 'secret' && isPolicyPlaceholder(text)) {
    return { label: 'not_secret', reason: 'placeholder policy: xxxx fill or documentation example' };
  }
  return {};
}

const LANGUAGE_GROUPS = new Set([
  'QUOTES_REQUIRED_TEST_CASES',
  'COMMON_C_TEST_CASES',
  'C_PLUS_PLUS_TEST_CASES',
]);

/** Loads the corpus as labelled (name, value) pairs. */
export function loadCorpus(): Corpus {
  const pairs: Pair[] = [];
  const excluded: Exclusion[] = [];
  const push = (
    source: string,
    line: number,
    group: string,
    name: string,
    value: string,
    r: Json,
    label: Label,
    adjusted?: string,
  ) => {
    const a = adjust(source, r, label);
    if (a.exclude) {
      excluded.push({ source, line, reason: a.exclude });
      return;
    }
    pairs.push({ source, line, group, name, value, label: a.label ?? label, adjusted: a.reason ?? adjusted });
  };

  // detect-secrets: one line of code/config per record; parsed into (name, value).
  const ds = 'detect-secrets-plugin-tests.jsonl';
  const dsRecords = readJsonl(ds);
  const positivesByGroup = new Map<string, Set<string>>();
  for (const r of dsRecords) {
    if (r.label !== 'secret') continue;
    const set = positivesByGroup.get(String(r.test)) ?? new Set<string>();
    set.add(parseLine(String(r.text)).value);
    positivesByGroup.set(String(r.test), set);
  }
  const positiveTexts = new Set(dsRecords.filter((r) => r.label === 'secret').map((r) => String(r.text)));
  dsRecords.forEach((r, i) => {
    const p = parseLine(String(r.text));
    let label: Label = r.label === 'secret' ? 'secret' : 'not_secret';
    // A negative of one plugin that another plugin's tests label positive (a GitHub token in the
    // GitLab plugin's tests) is a secret of another type.
    let crossPlugin: string | undefined;
    if (label === 'not_secret' && positiveTexts.has(String(r.text))) {
      label = 'secret';
      crossPlugin = "negative for one plugin, positive in another plugin's tests (a secret of another type)";
    }
    // In these languages an unquoted (or, in C, single-quoted) right-hand side is an expression,
    // not a string; the record is the twin of a quoted positive. No environment-variable equivalent.
    if (
      label === 'not_secret' &&
      LANGUAGE_GROUPS.has(String(r.test)) &&
      !p.quoted &&
      positivesByGroup.get(String(r.test))?.has(p.value.replace(/^'(.*)'$/, '$1'))
    ) {
      excluded.push({
        source: ds,
        line: i + 1,
        reason: 'label rests on source-language quoting (unquoted twin)',
      });
      return;
    }
    if (
      label === 'not_secret' &&
      (r.test === 'COMMON_C_TEST_CASES' || r.test === 'C_PLUS_PLUS_TEST_CASES') &&
      /=\s*@?'/.test(String(r.text))
    ) {
      excluded.push({
        source: ds,
        line: i + 1,
        reason: 'label rests on source-language quoting (C char literal)',
      });
      return;
    }
    push(ds, i + 1, String(r.detector), p.name, p.value, r, label, crossPlugin);
  });

  // secretlint: `value` records are the reported secret alone (name ''); `line` records are parsed.
  const sl = 'secretlint-snapshots.jsonl';
  readJsonl(sl).forEach((r, i) => {
    const label: Label = r.label === 'secret' ? 'secret' : 'not_secret';
    const group = String(r.rule).replace(/^secretlint-rule-/, '');
    if (r.form === 'value') push(sl, i + 1, group, '', String(r.text), r, label);
    else {
      const p = parseLine(String(r.text));
      push(sl, i + 1, group, p.name, p.value, r, label);
    }
  });

  // Prowler: each environment map is scored per variable; FAIL -> secret, PASS -> not_secret,
  // MANUAL (scanner failure) has no verdict. Every map has one variable, so the map's status is
  // the variable's label.
  const pr = 'prowler-lambda-env-tests.jsonl';
  readJsonl(pr).forEach((r, i) => {
    const status = String(r.expected_status);
    if (status !== 'FAIL' && status !== 'PASS') {
      excluded.push({ source: pr, line: i + 1, reason: `expected status ${status} is not a verdict` });
      return;
    }
    for (const [k, v] of Object.entries(r.environment as Record<string, string>)) {
      push(pr, i + 1, String(r.test), k, String(v), r, status === 'FAIL' ? 'secret' : 'not_secret');
    }
  });

  // Harvested: real non-secret values under their own key. The six cloud-custodian records are
  // marked unlabelled in the file (an SNS ARN, booleans, `Prod`, `test`); reviewed as not secret.
  const hv = 'harvested-real-nonsecret-values.jsonl';
  readJsonl(hv).forEach((r, i) => {
    push(hv, i + 1, String(r.origin), String(r.key), String(r.value), r, 'not_secret');
  });

  const realWorld = readJsonl(REAL_WORLD_SOURCE)
    .filter((r) => r.value !== null && r.value !== undefined)
    .map((r) => {
      const src = r.source as Json;
      return {
        name: String(r.key),
        value: typeof r.value === 'string' ? r.value : JSON.stringify(r.value),
        where: `${src.repo}/${src.path} (${r.function})`,
      };
    });
  return { pairs, excluded, realWorld };
}

export interface Score {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number;
  recall: number;
}

export function score(pairs: Pair[], flagged: boolean[]): Score {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  pairs.forEach((p, i) => {
    if (p.label === 'secret') flagged[i] ? tp++ : fn++;
    else flagged[i] ? fp++ : tn++;
  });
  return {
    tp,
    fp,
    fn,
    tn,
    precision: tp + fp ? tp / (tp + fp) : Number.NaN,
    recall: tp + fn ? tp / (tp + fn) : Number.NaN,
  };
}

/** Scores per source and overall. */
export function scoreBySource(pairs: Pair[], flagged: boolean[]): Map<string, Score> {
  const out = new Map<string, Score>();
  for (const source of LABELLED_SOURCES) {
    const idx = pairs.map((p, i) => (p.source === source ? i : -1)).filter((i) => i >= 0);
    out.set(
      source,
      score(
        idx.map((i) => pairs[i]),
        idx.map((i) => flagged[i]),
      ),
    );
  }
  out.set('overall', score(pairs, flagged));
  return out;
}

export const ownDetector = (p: { name: string; value: string }) =>
  detectSecret(p.name, p.value) !== undefined;

// ---------------------------------------------------------------------------------------------
// The library alternative: secretlint's recommended preset, run on `NAME=value` (a dotenv line;
// the value alone when there is no name). The AWS rule's access-key-id scan is switched on
// (it is off by default) so that the comparison covers the formats the issue asks for.

type Lint = (pair: { name: string; value: string }) => Promise<boolean>;

export async function libraryDetector(): Promise<Lint> {
  const { lintSource } = await import('@secretlint/core');
  const { creator } = await import('@secretlint/secretlint-rule-preset-recommend');
  const config = {
    rules: [
      {
        id: '@secretlint/secretlint-rule-preset-recommend',
        rule: creator,
        rules: [{ id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } }],
      },
    ],
  };
  return async ({ name, value }) => {
    const content = name ? `${name}=${value}` : value;
    const result = await lintSource({
      source: { content, filePath: '/lambda/.env', contentType: 'text' },
      options: { config, noPhysicFilePath: true },
    });
    return result.messages.length > 0;
  };
}

// ---------------------------------------------------------------------------------------------

const pct = (x: number) => (Number.isNaN(x) ? '  n/a' : x.toFixed(3));

function printTable(title: string, scores: Map<string, Score>) {
  console.log(`\n### ${title}`);
  console.log('source                                   pairs   TP   FP   FN   TN  precision  recall');
  for (const [source, s] of scores) {
    const n = s.tp + s.fp + s.fn + s.tn;
    console.log(
      `${source.padEnd(40)} ${String(n).padStart(5)} ${String(s.tp).padStart(4)} ${String(s.fp).padStart(4)} ${String(s.fn).padStart(4)} ${String(s.tn).padStart(4)}  ${pct(s.precision).padStart(9)}  ${pct(s.recall).padStart(6)}`,
    );
  }
}

/** Names (never values) of the records a detector got wrong, for review. */
function printErrors(pairs: Pair[], flagged: boolean[]) {
  const rows = pairs
    .map((p, i) => ({ p, f: flagged[i] }))
    .filter(({ p, f }) => (p.label === 'secret') !== f)
    .map(({ p, f }) => `  ${f ? 'FP' : 'FN'} ${p.source}:${p.line} [${p.group}] name=${p.name || "''"}`);
  if (rows.length) console.log(rows.join('\n'));
}

async function bundleSizes(): Promise<{ own: number; library: number }> {
  const { build } = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'guardrail-secrets-bench-'));
  try {
    const core = new URL('../../functions/core/secrets/index.ts', import.meta.url).pathname;
    const entries = {
      own: `import { scanEnvironment, fingerprint } from ${JSON.stringify(core)};\nexport { scanEnvironment, fingerprint };\n`,
      library:
        "import { lintSource } from '@secretlint/core';\nimport { creator } from '@secretlint/secretlint-rule-preset-recommend';\nexport { lintSource, creator };\n",
    };
    const sizes: Record<string, number> = {};
    for (const [k, src] of Object.entries(entries)) {
      const entry = join(dir, `${k}.ts`);
      writeFileSync(entry, src);
      const outfile = join(dir, `${k}.mjs`);
      await build({
        entryPoints: [entry],
        bundle: true,
        minify: true,
        platform: 'node',
        format: 'esm',
        mainFields: ['module', 'main'],
        outfile,
        logLevel: 'silent',
        nodePaths: [new URL('../../node_modules/', import.meta.url).pathname],
      });
      sizes[k] = statSync(outfile).size;
    }
    return { own: sizes.own, library: sizes.library };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The source's own labels: adjustments undone (exclusions stay out: they have no verdict). */
function publishedLabels(pairs: Pair[]): Pair[] {
  return pairs.map((p) => ({
    ...p,
    label: (p.adjusted ? (p.label === 'secret' ? 'not_secret' : 'secret') : p.label) as Label,
  }));
}

export async function benchSecrets(): Promise<void> {
  const { pairs, excluded, realWorld } = loadCorpus();
  console.log('\n## Secret detection (test/fixtures/secrets, labelled (name, value) pairs)');
  const adjusted = pairs.filter((p) => p.adjusted);
  console.log(
    `pairs: ${pairs.length} (${pairs.filter((p) => p.label === 'secret').length} secret); label adjustments: ${adjusted.length}; records excluded: ${excluded.length}`,
  );
  const reasons = new Map<string, number>();
  const count = (k: string) => reasons.set(k, (reasons.get(k) ?? 0) + 1);
  for (const p of adjusted) count(`adjusted: ${p.adjusted}`);
  for (const e of excluded) count(`excluded: ${e.reason}`);
  for (const [r, n] of reasons) console.log(`  ${String(n).padStart(3)}  ${r}`);

  const published = publishedLabels(pairs);
  const summary: [string, Score, Score, number][] = [];

  let t = performance.now();
  const own = pairs.map(ownDetector);
  const ownMs = performance.now() - t;
  const ownScores = scoreBySource(pairs, own);
  printTable('own detector (functions/core/secrets): known formats + names + entropy', ownScores);
  console.log('errors (names only; look the line up in the fixture):');
  printErrors(pairs, own);
  summary.push(['own', ownScores.get('overall')!, scoreBySource(published, own).get('overall')!, ownMs]);

  let lint: Lint | undefined;
  try {
    lint = await libraryDetector();
  } catch (e) {
    console.log(`\n(library alternative not run: ${(e as Error).message})`);
  }
  if (lint) {
    const lib: boolean[] = [];
    t = performance.now();
    for (const p of pairs) lib.push(await lint(p));
    const libMs = performance.now() - t;
    const libScores = scoreBySource(pairs, lib);
    printTable('library: secretlint preset-recommend (AWS id scan on), run on NAME=value', libScores);
    summary.push([
      'library',
      libScores.get('overall')!,
      scoreBySource(published, lib).get('overall')!,
      libMs,
    ]);
    const combo = pairs.map((p, i) => lib[i] || detectByName(p.name, p.value) !== undefined);
    const comboScores = scoreBySource(pairs, combo);
    printTable('library formats + own name/entropy logic', comboScores);
    summary.push([
      'library+names',
      comboScores.get('overall')!,
      scoreBySource(published, combo).get('overall')!,
      Number.NaN,
    ]);
  }

  console.log('\n### Summary, overall (bar: precision >= 0.95, recall >= 0.90 with the adjusted labels)');
  console.log('approach        adjusted P   adjusted R   published P   published R   ms for all pairs');
  for (const [name, a, p, ms] of summary) {
    console.log(
      `${name.padEnd(15)} ${pct(a.precision).padStart(10)}   ${pct(a.recall).padStart(10)}   ${pct(p.precision).padStart(11)}   ${pct(p.recall).padStart(11)}   ${Number.isNaN(ms) ? '' : ms.toFixed(0).padStart(8)}`,
    );
  }

  console.log(
    `\n### Real-world Lambda environment variables (${REAL_WORLD_SOURCE}): every flag, never a value`,
  );
  const flags = realWorld
    .map((v) => ({ v, d: detectSecret(v.name, v.value) }))
    .filter((x) => x.d !== undefined);
  console.log(`own detector: ${realWorld.length} variables with a value, ${flags.length} flagged`);
  for (const { v, d } of flags) {
    console.log(`  ${v.name}  ${d!.detector} (${d!.confidence})  ${d!.reason}  [${v.where}]`);
  }
  if (lint) {
    const rwLib: string[] = [];
    for (const v of realWorld) if (await lint(v)) rwLib.push(`  ${v.name}  [${v.where}]`);
    console.log(`library: ${rwLib.length} flagged`);
    if (rwLib.length) console.log(rwLib.join('\n'));
  }

  try {
    const sizes = await bundleSizes();
    console.log(
      '\n### Bundle size added (esbuild --bundle --minify --platform=node --format=esm --main-fields=module,main)',
    );
    console.log(`own detector (scanEnvironment + fingerprint): ${(sizes.own / 1024).toFixed(1)} KB`);
    console.log(`secretlint core + preset-recommend:           ${(sizes.library / 1024).toFixed(1)} KB`);
  } catch (e) {
    console.log(`\n(bundle sizes not measured: ${(e as Error).message})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchSecrets();
}
