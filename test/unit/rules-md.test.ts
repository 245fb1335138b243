import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../functions/core/rules/index.ts';
import { RULES_MD_PATH, renderRulesMd } from '../../scripts/rules-md.ts';

describe('RULES.md', () => {
  it('is up to date with the rule registry (run `npm run rules:md`)', () => {
    expect(readFileSync(RULES_MD_PATH, 'utf8')).toBe(renderRulesMd());
  });

  it('has a section per rule with triggers, the fix, the default mode and known false positives', () => {
    const md = renderRulesMd();
    for (const r of RULES) {
      const section = md.slice(md.indexOf(`## ${r.id}\n`));
      expect(section, r.id).toContain(`default mode \`${r.defaultMode}\``);
      expect(section).toContain(`- **The fix:** ${r.fix.split('|')[0].slice(0, 30)}`);
      expect(section).toContain('- **Known false positives:**');
      for (const t of r.triggers.flatMap((x) => x.actions)) expect(section).toContain(`:${t}*\``);
    }
  });
});
