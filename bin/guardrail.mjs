#!/usr/bin/env node
// Entry point of the `guardrail` CLI: runs the TypeScript sources through tsx, so `npx guardrail`
// works straight after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // Unexpected failure: one line by default, the stack with GUARDRAIL_DEBUG=1. Exit 3, so it can
  // never be mistaken for 1 (findings) or 2 (bad input).
  process.stderr.write(
    `guardrail: internal error: ${err?.name ?? 'Error'}: ${String(err?.message ?? err).split('\n')[0]}\n`,
  );
  if (process.env.GUARDRAIL_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
  process.exitCode = 3;
}
