import { existsSync } from 'node:fs';

/**
 * Debian's chromium, as every browser test launches it (`npm test` installs it first when missing:
 * scripts/ensure-test-tools.sh). The flags keep it off the network this machine does not have.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

/** Fails (never skips) when the browser is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/ensure-test-tools.sh (apt-get install chromium)`);
  }
}
