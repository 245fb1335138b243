import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectSecret, scanEnvironment } from '../../functions/core/secrets/index.ts';
import {
  BAR,
  CORPUS_DIR,
  LABELLED_SOURCES,
  loadCorpus,
  ownDetector,
  parseLine,
  REAL_WORLD_SOURCE,
  scoreBySource,
} from '../../scripts/bench/secrets.ts';

/**
 * The labelled corpus (test/fixtures/secrets, copied from shared/fixtures/secrets with its
 * SOURCES.md) scored with the same code as `npm run bench`: precision and recall are computed from
 * the fixtures and compared with the bar, overall and per source.
 */

const corpus = loadCorpus();
const flagged = corpus.pairs.map(ownDetector);
const scores = scoreBySource(corpus.pairs, flagged);

describe('secret-detection corpus', () => {
  it('has every source file, with its attribution', () => {
    const sources = readFileSync(join(CORPUS_DIR, 'SOURCES.md'), 'utf8');
    for (const f of [...LABELLED_SOURCES, REAL_WORLD_SOURCE]) expect(sources).toContain(f);
    for (const licence of ['Apache-2.0', 'MIT', 'MIT-0']) expect(sources).toContain(licence);
    for (const source of LABELLED_SOURCES) {
      expect(corpus.pairs.some((p) => p.source === source)).toBe(true);
    }
    expect(corpus.realWorld.length).toBeGreaterThan(500);
  });

  it(`meets the bar overall: precision >= ${BAR.precision}, recall >= ${BAR.recall}`, () => {
    const s = scores.get('overall')!;
    expect(s.tp + s.fn).toBeGreaterThan(300);
    expect(s.precision).toBeGreaterThanOrEqual(BAR.precision);
    expect(s.recall).toBeGreaterThanOrEqual(BAR.recall);
  });

  it.each(LABELLED_SOURCES.map((s) => [s]))('meets the bar on %s', (source) => {
    const s = scores.get(source)!;
    // A source with no positives (the harvested non-secret values) has no recall; nothing may be flagged.
    if (s.tp + s.fn === 0) expect(s.fp).toBe(0);
    else {
      expect(s.precision).toBeGreaterThanOrEqual(BAR.precision);
      expect(s.recall).toBeGreaterThanOrEqual(BAR.recall);
    }
  });

  it('adjusts or excludes few labels, each with a reason', () => {
    const adjusted = corpus.pairs.filter((p) => p.adjusted);
    expect(adjusted.length + corpus.excluded.length).toBeLessThan(corpus.pairs.length * 0.1);
    for (const e of corpus.excluded) expect(e.reason).toMatch(/\w{4}/);
  });

  it('never puts a value, or a part of one, in a reason', () => {
    for (const p of corpus.pairs) {
      const d = detectSecret(p.name, p.value);
      if (!d || p.value.trim().length < 6) continue;
      expect(d.reason).not.toContain(p.value.trim());
      // Parts of the value that are not plain words (a reason may say "database").
      const parts = p.value.split(/[\s"'=:;,@/]+/).filter((t) => t.length >= 8 && /\d/.test(t));
      for (const token of parts) {
        expect(d.reason).not.toContain(token);
      }
    }
  });

  it('flags no real-world variable whose value is a reference, a setting or a level', () => {
    const lines = readFileSync(join(CORPUS_DIR, REAL_WORLD_SOURCE), 'utf8').split('\n').filter(Boolean);
    const env: Record<string, string> = {};
    const names: string[] = [];
    lines.forEach((line, i) => {
      const r = JSON.parse(line) as { key: string; value: unknown; category: string };
      if (r.value === null) return;
      if (
        [
          'intrinsic/reference',
          'framework-variable-reference',
          'log-level',
          'number',
          'boolean-flag',
          'aws-region',
        ].includes(r.category)
      ) {
        const name = `${r.key}__${i}`;
        env[name] = typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
        names.push(name);
      }
    });
    expect(names.length).toBeGreaterThan(400);
    expect(scanEnvironment(env)).toEqual([]);
  });
});

describe('corpus line parser (bench adapter)', () => {
  it.each([
    ['password = "value with spaces"', 'password', 'value with spaces'],
    ["api_key: 'abc'", 'api_key', 'abc'],
    ['apikey := "abc";', 'apikey', 'abc'],
    ['password => "abc"', 'password', 'abc'],
    ['"iam_api_key" : "abc"', 'iam_api_key', 'abc'],
    ['if (db_pass !== "abc") {', 'db_pass', 'abc'],
    ['if ("abc" == passwd) {', 'passwd', 'abc'],
    ['std::string secret("abc");', 'secret', 'abc'],
    ['secrete.assign("abc",17);', 'secrete', 'abc'],
    ['char secrete[25] = "abc";', 'secrete', 'abc'],
    ['password = @"abc";', 'password', 'abc'],
    ['export const NOTION_API_KEY = "abc";', 'NOTION_API_KEY', 'abc'],
    ['--softlayer-api-key "abc"', 'softlayer-api-key', 'abc'],
    ['https://user:pw@host.example', '', 'https://user:pw@host.example'],
    ['glc_abcdefgh==', '', 'glc_abcdefgh=='],
    ['just text', '', 'just text'],
  ])('%s', (text, name, value) => {
    expect(parseLine(text)).toMatchObject({ name, value });
  });
});
