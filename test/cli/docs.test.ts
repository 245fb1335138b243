import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import { keyFor, parseSnapshot } from '../../functions/core/snapshot.ts';

/**
 * docs/snapshot.md cannot rot: its JSON blocks parse, its example snapshot and event evaluate to its
 * example output, and its AWS CLI recipe produces the same snapshot as `guardrail snapshot`.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'snapshot.md'), 'utf8');
const NOW = '2025-06-15T12:00:00.000Z';

interface Block {
  lang: string;
  label?: string;
  text: string;
  line: number;
}
/** Fenced blocks, each with the `<!-- example: name -->` label on the line before it, if any. */
function blocks(md: string): Block[] {
  const out: Block[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`unclosed fence at line ${i + 1}`);
    const label = /^<!-- example: ([\w-]+) -->$/.exec(lines[i - 1] ?? '')?.[1];
    out.push({
      lang: open[1],
      ...(label ? { label } : {}),
      text: lines.slice(i + 1, end).join('\n'),
      line: i + 1,
    });
    i = end;
  }
  return out;
}
const ALL = blocks(DOC);
const example = (label: string) => {
  const found = ALL.filter((b) => b.label === label);
  expect(found, `exactly one block labelled ${label}`).toHaveLength(1);
  return found[0];
};
const exampleJson = (label: string) => JSON.parse(example(label).text);

const tmp = mkdtempSync(join(tmpdir(), 'guardrail-docs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, value: unknown) => {
  const p = join(tmp, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return p;
};

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) }, () => NOW);
  return { code, out, err, stdout: out.join('\n') };
}

describe('docs/snapshot.md', () => {
  it('every json block parses', () => {
    const json = ALL.filter((b) => b.lang === 'json');
    expect(json.length).toBeGreaterThanOrEqual(5);
    for (const b of json) {
      expect(() => JSON.parse(b.text), `json block at line ${b.line}`).not.toThrow();
    }
  });

  it('has the labelled examples the tests below use', () => {
    for (const label of ['snapshot', 'snapshot-deleted', 'event', 'output', 'config', 'recipe'])
      example(label);
  });

  it('the example snapshots are valid snapshots with documented keys only', () => {
    for (const label of ['snapshot', 'snapshot-deleted']) {
      const s = parseSnapshot(exampleJson(label));
      for (const key of Object.keys(s.responses)) {
        expect(key).toMatch(
          /^(GetFunctionConfiguration|ListTags|ListAliases|ListFunctionUrlConfigs|GetPolicy(:.+)?|GetFunctionEventInvokeConfig(:.+)?)$/,
        );
      }
    }
    // Lambda's Policy is a string, as AWS returns it.
    expect(typeof exampleJson('snapshot').responses.GetPolicy.Policy).toBe('string');
  });

  it('the example event and snapshot evaluate to the example output (exit 1)', async () => {
    const r = await run(
      'evaluate',
      '--event',
      write('event.json', exampleJson('event')),
      '--snapshot',
      write('snapshot.json', exampleJson('snapshot')),
      '--format',
      'json',
    );
    expect(r.err).toEqual([]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject(exampleJson('output'));
  });

  it('the table output shown matches the real one, line by line where it is not elided', async () => {
    const r = await run(
      'evaluate',
      '--event',
      write('event.json', exampleJson('event')),
      '--snapshot',
      write('snapshot.json', exampleJson('snapshot')),
    );
    const shown = ALL.find((b) => b.lang === 'text' && b.text.includes('[CRITICAL] LAMBDA.URL.PUBLIC'));
    expect(shown).toBeDefined();
    for (const line of shown!.text.split('\n')) {
      if (line.includes('...')) continue;
      expect(r.stdout.split('\n')).toContain(line);
    }
  });

  it('the example config turns the same finding into report mode', async () => {
    const r = await run(
      'evaluate',
      '--event',
      write('event.json', exampleJson('event')),
      '--snapshot',
      write('snapshot.json', exampleJson('snapshot')),
      '--config',
      write('config.json', exampleJson('config')),
      '--format',
      'json',
    );
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.route).toBe('report');
    expect(doc.findings.map((f: { mode: string }) => f.mode)).toEqual(['report']);
  });

  it('the deleted-function snapshot evaluates to compliant (exit 0): every rule NOT_APPLICABLE', async () => {
    const r = await run(
      'evaluate',
      '--event',
      write('event.json', exampleJson('event')),
      '--snapshot',
      write('deleted.json', exampleJson('snapshot-deleted')),
      '--format',
      'json',
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.findings).toEqual([]);
    expect(doc.results.every((x: { status: string }) => x.status === 'NOT_APPLICABLE')).toBe(true);
  });

  it('the stable JSON fields named in the contract are all present in real output', async () => {
    const r = await run(
      'evaluate',
      '--event',
      write('event.json', exampleJson('event')),
      '--snapshot',
      write('snapshot.json', exampleJson('snapshot')),
      '--format',
      'json',
    );
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(['event', 'findings']));
    for (const f of doc.findings) {
      expect(Object.keys(f)).toEqual(
        expect.arrayContaining(['ruleId', 'severity', 'resourceArn', 'summary', 'mode', 'exempt', 'plan']),
      );
      for (const s of f.plan.steps) {
        expect(Object.keys(s)).toEqual(
          expect.arrayContaining(['service', 'operation', 'parameters', 'reason']),
        );
      }
    }
    // Every field the doc says was added today exists, so the doc lists no phantom fields.
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(['target', 'route', 'results']));
    expect(Object.keys(doc.findings[0])).toEqual(expect.arrayContaining(['title', 'modeReason', 'evidence']));
    expect(Object.keys(doc.findings[0].plan)).toContain('preconditions');
    expect(Object.keys(doc.findings[0].plan.steps[0])).toContain('inverse');
  });
});

// ---- the AWS CLI recipe, run against a fake `aws` ------------------------------------------------

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

// jq and bash are required (`npm test` installs jq first when missing: scripts/ensure-test-tools.sh).
describe('docs/snapshot.md AWS CLI recipe', () => {
  it('has jq and bash to run the recipe with', () => {
    expect(have('jq')).toBe(true);
    expect(have('bash')).toBe(true);
  });
  const SECRET = 'sk_live_docs_example_value_123456';
  const snapshot = () => exampleJson('snapshot');
  /** What AWS returns for the example function: real environment values. */
  const awsResponses = () => {
    const r = structuredClone(snapshot().responses);
    r.GetFunctionConfiguration.Environment.Variables = { TABLE_NAME: 'orders', STRIPE_KEY: SECRET };
    return r;
  };

  /**
   * A stand-in for the AWS CLI on PATH: answers the calls the recipe makes from files, as the real CLI
   * prints them (--output json), and fails for anything else. Nothing reaches AWS.
   */
  function fakeAws(): { env: NodeJS.ProcessEnv; calls: () => string[] } {
    const dir = join(tmp, 'fake-aws');
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const r = awsResponses();
    for (const [k, v] of Object.entries(r)) {
      if (v !== null) writeFileSync(join(dir, `${k}.json`), JSON.stringify(v, null, 2));
    }
    writeFileSync(join(dir, 'calls.log'), '');
    const script = `#!/usr/bin/env bash
d=${JSON.stringify(dir)}
echo "$*" >> "$d/calls.log"
q=""; prev=""; for a in "$@"; do [ "$prev" = "--qualifier" ] && q="$a"; prev="$a"; done
case "$1 $2" in
  "sts get-caller-identity") echo ${snapshot().account} ;;
  "lambda get-function-configuration") cat "$d/GetFunctionConfiguration.json" ;;
  "lambda list-tags") cat "$d/ListTags.json" ;;
  "lambda list-aliases") cat "$d/ListAliases.json" ;;
  "lambda list-function-url-configs") cat "$d/ListFunctionUrlConfigs.json" ;;
  "lambda get-policy")
    f="$d/GetPolicy\${q:+:$q}.json"
    if [ -f "$f" ]; then cat "$f"; else
      echo "An error occurred (ResourceNotFoundException) when calling the GetPolicy operation: The resource you requested does not exist." >&2
      exit 254
    fi ;;
  "lambda get-function-event-invoke-config")
    f="$d/GetFunctionEventInvokeConfig\${q:+:$q}.json"
    if [ -f "$f" ]; then cat "$f"; else
      echo "An error occurred (ResourceNotFoundException) when calling the GetFunctionEventInvokeConfig operation: The function orders-api doesn't have an EventInvokeConfig" >&2
      exit 254
    fi ;;
  *) echo "fake aws: unexpected call: $*" >&2; exit 252 ;;
esac
`;
    writeFileSync(join(bin, 'aws'), script);
    chmodSync(join(bin, 'aws'), 0o755);
    return {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      calls: () => readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n'),
    };
  }

  function runRecipe() {
    const fake = fakeAws();
    const script = write('snapshot.sh', example('recipe').text);
    const out = join(tmp, 'recipe-snapshot.json');
    const p = spawnSync('bash', [script], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...fake.env, FN: 'orders-api', REGION: snapshot().region, OUT: out },
    });
    return { p, out, calls: fake.calls() };
  }

  it('produces the example snapshot, with environment values redacted', () => {
    const { p, out, calls } = runRecipe();
    expect(p.stderr).toBe(`wrote ${out}\n`);
    expect(p.status).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text)).toEqual(snapshot());
    expect(calls).toEqual([
      'sts get-caller-identity --query Account --output text',
      'lambda get-function-configuration --function-name orders-api --output json',
      'lambda list-tags --resource arn:aws:lambda:us-east-1:123456789012:function:orders-api --output json',
      'lambda list-aliases --function-name orders-api --output json',
      'lambda list-function-url-configs --function-name orders-api --output json',
      'lambda get-policy --function-name orders-api --output json',
      'lambda get-policy --function-name orders-api --qualifier live --output json',
      'lambda get-function-event-invoke-config --function-name orders-api --output json',
      'lambda get-function-event-invoke-config --function-name orders-api --qualifier live --output json',
    ]);
  });

  it('produces exactly what `guardrail snapshot` produces from the same responses', async () => {
    const { out } = runRecipe();
    const lambda = mockClient(LambdaClient);
    const sts = mockClient(STSClient);
    try {
      const r = awsResponses();
      lambda.on(GetFunctionConfigurationCommand).resolves(r.GetFunctionConfiguration);
      lambda.on(ListTagsCommand).resolves(r.ListTags);
      lambda.on(ListAliasesCommand).resolves(r.ListAliases);
      lambda.on(ListFunctionUrlConfigsCommand).resolves(r.ListFunctionUrlConfigs);
      lambda.on(GetPolicyCommand).callsFake(async (input: { Qualifier?: string }) => {
        const v = r[keyFor('GetPolicy', input.Qualifier)];
        if (!v) throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
        return v;
      });
      lambda.on(GetFunctionEventInvokeConfigCommand).callsFake(async (input: { Qualifier?: string }) => {
        const v = r[keyFor('GetFunctionEventInvokeConfig', input.Qualifier)];
        if (!v) throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
        return v;
      });
      sts.on(GetCallerIdentityCommand).resolves({ Account: snapshot().account });
      const g = await run('snapshot', '--function', 'orders-api', '--region', snapshot().region);
      expect(g.code).toBe(0);
      expect(JSON.parse(g.stdout)).toEqual(JSON.parse(readFileSync(out, 'utf8')));
    } finally {
      lambda.restore();
      sts.restore();
    }
  });

  it('any error other than "no policy" stops the recipe', () => {
    const fake = fakeAws();
    // A GetPolicy that fails with AccessDenied must not be recorded as "no policy".
    const dir = join(tmp, 'fake-aws');
    const aws = readFileSync(join(dir, 'bin', 'aws'), 'utf8').replace(
      'ResourceNotFoundException) when calling the GetPolicy',
      'AccessDeniedException) when calling the GetPolicy',
    );
    writeFileSync(join(dir, 'bin', 'aws'), aws);
    const script = write('snapshot.sh', example('recipe').text);
    const p = spawnSync('bash', [script], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...fake.env, FN: 'orders-api', REGION: 'us-east-1', OUT: join(tmp, 'denied.json') },
    });
    expect(p.status).not.toBe(0);
    expect(p.stderr).toContain('AccessDeniedException');
  });
});
