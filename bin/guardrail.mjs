#!/usr/bin/env node
// Entry point of the `guardrail` CLI: runs the TypeScript sources through tsx, so `npx guardrail`
// works straight after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
