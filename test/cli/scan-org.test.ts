import { describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';

/**
 * `guardrail scan --org` flag handling (exit 2, one line, before any AWS call). The organization scan
 * itself runs against the emulator in test/integration/org-emulator.test.ts.
 */

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('guardrail scan --org flags', () => {
  it('organization-only flags need --org', async () => {
    for (const flag of [
      ['--accounts', '123456789012'],
      ['--role-name', 'r'],
      ['--external-id', 'x'],
      ['--account-concurrency', '2'],
    ]) {
      const r = await run('scan', '--region', 'us-east-1', ...flag);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${flag[0]} needs --org`);
      expect(r.stderr.split('\n')).toHaveLength(1);
    }
  });

  it('rejects malformed account ids, role names and concurrency, and --import', async () => {
    const cases: [string[], RegExp][] = [
      [['--accounts', '12345,123456789012'], /--accounts takes 12-digit account ids, got 12345/],
      [['--accounts', ','], /--accounts takes 12-digit account ids/],
      [['--role-name', 'no spaces'], /--role-name must be an IAM role name/],
      [['--account-concurrency', '0'], /--account-concurrency must be an integer from 1 to 32/],
      [['--import'], /--import is not supported with --org/],
    ];
    for (const [flags, message] of cases) {
      const r = await run('scan', '--org', '--region', 'us-east-1', ...flags);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('the help names the organization scan', async () => {
    const r = await run('--help');
    expect(r.stdout).toContain('scan --org [--accounts id,...] [--role-name n] [--external-id x]');
  });
});
