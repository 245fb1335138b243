import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * functions/core is the pure domain (DESIGN.md §3): no AWS SDK, no file system, network or child
 * processes, no environment, no clock. Time is an argument. This test reads the source text.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CORE = join(ROOT, 'functions', 'core');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return /\.(c|m)?[jt]sx?$/.test(d.name) && !/\.d\.ts$/.test(d.name) ? [p] : [];
  });
}

/** Blanks out comments, keeping string and template literals (module specifiers live in strings). */
function stripComments(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === '/' && n === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && n === '*') {
      i += 2;
      while (i < src.length && !(src[i] === '*' && src[i + 1] === '/')) i++;
      i += 2;
    } else if (c === '"' || c === "'" || c === '`') {
      const start = i++;
      while (i < src.length && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
      i++;
      out += src.slice(start, i);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const FORBIDDEN_MODULES = [
  /^@aws-sdk\//,
  /^@smithy\//,
  /^(node:)?fs(\/promises)?$/,
  /^(node:)?net$/,
  /^(node:)?tls$/,
  /^(node:)?dgram$/,
  /^(node:)?https?2?$/,
  /^(node:)?child_process$/,
  /^(node:)?worker_threads$/,
];

const FORBIDDEN_CODE: [RegExp, string][] = [
  [/\bprocess\s*\.\s*env\b/, 'reads process.env'],
  [/\bprocess\s*\[\s*['"]env['"]\s*\]/, 'reads process.env'],
  [/\bDate\s*\.\s*now\s*\(/, 'reads the clock (Date.now())'],
  [/\bnew\s+Date\s*\(\s*\)/, 'reads the clock (new Date())'],
  [/\bnew\s+Date\b(?!\s*\()/, 'reads the clock (new Date)'],
  [/\bperformance\s*\.\s*now\s*\(/, 'reads the clock (performance.now())'],
  [/\bfetch\s*\(/, 'does network I/O (fetch)'],
];

/** Every problem in one source text. */
function purityViolations(source: string): string[] {
  const code = stripComments(source);
  const problems: string[] = [];
  const specifiers = [
    ...code.matchAll(/\b(?:import|export)\s[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g),
    ...code.matchAll(/\bimport\s*(['"])([^'"]+)\1/g),
    ...code.matchAll(/\b(?:import|require)\s*\(\s*(['"`])([^'"`]+)\1\s*\)/g),
  ].map((m) => m[2]);
  for (const s of specifiers) {
    if (FORBIDDEN_MODULES.some((re) => re.test(s))) problems.push(`imports ${s}`);
  }
  for (const [re, what] of FORBIDDEN_CODE) if (re.test(code)) problems.push(what);
  return problems;
}

describe('the purity scanner itself', () => {
  it.each([
    ["import { LambdaClient } from '@aws-sdk/client-lambda';", 'imports @aws-sdk/client-lambda'],
    ["import type { X } from '@aws-sdk/client-iam';", 'imports @aws-sdk/client-iam'],
    ["import { readFileSync } from 'node:fs';", 'imports node:fs'],
    ["import * as fs from 'fs';", 'imports fs'],
    ["import { readFile } from 'node:fs/promises';", 'imports node:fs/promises'],
    ["import net from 'node:net';", 'imports node:net'],
    ["import { request } from 'node:https';", 'imports node:https'],
    ["import http from 'http';", 'imports http'],
    ["import { execSync } from 'node:child_process';", 'imports node:child_process'],
    ["import 'node:http';", 'imports node:http'],
    ["export { x } from 'node:fs';", 'imports node:fs'],
    ["const m = await import('@aws-sdk/client-sts');", 'imports @aws-sdk/client-sts'],
    ["const fs = require('fs');", 'imports fs'],
    ['const r = process.env.AWS_REGION;', 'reads process.env'],
    ["const r = process['env'];", 'reads process.env'],
    ['const t = Date.now();', 'reads the clock (Date.now())'],
    ['const t = new Date();', 'reads the clock (new Date())'],
    ['const t = new Date;', 'reads the clock (new Date)'],
  ])('flags %s', (source, problem) => {
    expect(purityViolations(source)).toContain(problem);
  });

  it.each([
    "import { createHash } from 'node:crypto';",
    "import { z } from 'zod';",
    'const t = new Date(Date.parse(s)).toISOString();',
    'const t = new Date(now);',
    '// Date.now() and process.env are mentioned in a comment only',
    '/* import x from "@aws-sdk/client-lambda" */',
    "const note = 'no @aws-sdk here';",
  ])('accepts %s', (source) => {
    expect(purityViolations(source)).toEqual([]);
  });
});

describe('functions/core is pure', () => {
  const files = sourceFiles(CORE);

  it('has source files to check, rules included', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(files.some((f) => f.includes(`${join('core', 'rules')}`))).toBe(true);
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))('%s does no I/O and reads no clock', (_rel, file) => {
    expect(purityViolations(readFileSync(file, 'utf8'))).toEqual([]);
  });
});
