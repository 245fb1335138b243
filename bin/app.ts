#!/usr/bin/env node
/**
 * CDK app entry (`cdk.json`: `npx tsx bin/app.ts`). The configuration is the `guardrail` context
 * object in cdk.json; an invalid one stops synth with one readable line.
 */
import { InvalidConfigError } from '../functions/core/config.ts';
import { createGuardrailApp } from '../lib/app.ts';

try {
  createGuardrailApp().app.synth();
} catch (err) {
  if (!(err instanceof InvalidConfigError)) throw err;
  console.error(err.message);
  process.exitCode = 1;
}
