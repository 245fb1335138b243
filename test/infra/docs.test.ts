import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { configSchema, parseConfig } from '../../functions/core/config.ts';
import { PROJECT_ROOT } from '../../lib/functions.ts';
import { remediationActions } from '../../lib/permissions.ts';
import { defaultSynth } from './helpers.ts';

/** docs/deployment.md cannot rot: its tables and examples are checked against the code (tables may be column-padded). */
const DOC = readFileSync(join(PROJECT_ROOT, 'docs', 'deployment.md'), 'utf8');

describe('docs/deployment.md', () => {
  it('documents every configuration key, with its real default', () => {
    const defaults = parseConfig({}) as Record<string, unknown>;
    for (const key of Object.keys(configSchema.shape)) {
      const row = DOC.split('\n').find((l) => new RegExp(`^\\|\\s*\`${key}\`\\s*\\|`).test(l));
      expect(row, `no table row for ${key}`).toBeDefined();
      expect(row).toContain(`\`${JSON.stringify(defaults[key]).replace(/^"|"$/g, '')}\``);
    }
  });

  it('shows the exact one-line error an invalid mode produces', () => {
    let message = '';
    try {
      parseConfig({ mode: 'yolo' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toBe('');
    expect(DOC).toContain(`\n${message}\n`);
  });

  it('lists exactly the cdk-nag acknowledgements the stack makes', () => {
    const { app, stack } = defaultSynth();
    const acked = new Set(
      app.node
        .findAll()
        .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
        .flatMap((m) => Object.keys(m.data as object).map((id) => id.replace(/^annotation::/i, ''))),
    );
    const documented = new Set(
      [...DOC.matchAll(/^\|\s*`(AwsSolutions-[^`]+)`\s*\|/gm)].map((m) =>
        m[1].replace('<region>', stack.region),
      ),
    );
    expect([...documented].sort()).toEqual([...acked].sort());
  });

  it('names every remediation write action', () => {
    for (const action of remediationActions()) expect(DOC).toContain(`\`${action}\``);
  });
});
