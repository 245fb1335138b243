import { existsSync } from 'node:fs';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { describe, expect, it } from 'vitest';
import {
  bundlingOptions,
  ESBUILD_TARGET,
  ESM_REQUIRE_BANNER,
  HANDLER_NAMES,
  handlerEntry,
  LAMBDA_RUNTIME,
  localEsbuildVersion,
} from '../../lib/functions.ts';
import { defaultSynth } from './helpers.ts';

describe('Lambda bundling', () => {
  it('uses local esbuild, never Docker: minified ESM for Node 22, AWS SDK v3 bundled', () => {
    const b = bundlingOptions();
    expect(b.forceDockerBundling).toBe(false);
    expect(b.dockerImage).toBeUndefined();
    expect(b.minify).toBe(true);
    expect(b.format).toBe(nodejs.OutputFormat.ESM);
    expect(b.target).toBe(ESBUILD_TARGET);
    expect(ESBUILD_TARGET).toBe('node22');
    expect(b.banner).toBe(ESM_REQUIRE_BANNER);
    expect(b.banner).toMatch(/createRequire\(import\.meta\.url\)/);
    // @aws-sdk/* is bundled: no external modules at all, and the SDK is not left to the runtime.
    expect(b.externalModules).toEqual([]);
    expect(b.bundleAwsSDK).toBe(true);
    expect(b.nodeModules).toBeUndefined();
  });

  it('esbuild is installed locally (a major version NodejsFunction accepts)', () => {
    expect(localEsbuildVersion()).toMatch(/^0\.\d+\.\d+$/);
  });

  it('every handler entry exists', () => {
    for (const name of HANDLER_NAMES) expect(existsSync(handlerEntry(name)), handlerEntry(name)).toBe(true);
  });

  it('every function in the stack runs on the runtime the bundles target (Node.js 22 or newer)', () => {
    const { stack } = defaultSynth();
    for (const name of HANDLER_NAMES) {
      const fn = stack.functions[name].fn;
      expect(fn.runtime).toBe(LAMBDA_RUNTIME);
      expect(fn.runtime.name).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    }
  });
});
