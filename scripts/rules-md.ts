/**
 * Generates RULES.md from the rule registry (`npm run rules:md`). test/unit/rules-md.test.ts fails
 * when the committed file differs from what this renders: edit the rules, then re-run the script.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RULES } from '../functions/core/rules/index.ts';
import type { Rule } from '../functions/core/types.ts';

export const RULES_MD_PATH = fileURLToPath(new URL('../RULES.md', import.meta.url));

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const triggers = (r: Rule) =>
  r.triggers.flatMap((t) => t.actions.map((a) => `\`${t.service}:${a}*\``)).join(', ');

export function renderRulesMd(rules: readonly Rule[] = RULES): string {
  const lines = [
    '# Rules',
    '',
    '<!-- Generated from functions/core/rules by `npm run rules:md`; do not edit by hand (a test fails when it is stale). -->',
    '',
    'Every rule the guardrail evaluates, in evaluation order. Triggers are CloudTrail event names matched by prefix',
    '(`*`: any API-version suffix). The mode is the default; `rules.<id>.mode` in the configuration changes it, the',
    'global `mode` caps it, and exemption tags on the function skip it (README, "Safety model").',
    '',
    '| id | severity | default mode | triggers |',
    '|---|---|---|---|',
    ...rules.map(
      (r) =>
        `| [\`${r.id}\`](#${anchor(r.id)}) | ${r.severity} | ${r.defaultMode}${r.optIn ? ' (opt-in)' : ''} | ${triggers(r)} |`,
    ),
    '',
  ];
  for (const r of rules) {
    lines.push(
      `## ${r.id}`,
      '',
      `**${cell(r.title)}**. Severity ${r.severity}, default mode \`${r.defaultMode}\`, evaluates ${r.resource}s.${
        r.optIn
          ? ` **Opt-in:** evaluated only with \`rules.${r.id}.enabled: true\` in the configuration.`
          : ''
      }`,
      '',
      `- **Triggers:** ${triggers(r)}`,
      `- **What it checks:** ${cell(r.rationale)}`,
      `- **The fix:** ${cell(r.fix)}`,
      '- **Known false positives:**',
      ...r.knownFalsePositives.map((fp) => `  - ${cell(fp)}`),
      '',
    );
  }
  return lines.join('\n');
}

/** GitHub's heading anchor for a rule id (`LAMBDA.URL.PUBLIC` -> `lambdaurlpublic`). */
const anchor = (id: string) => id.toLowerCase().replace(/[^a-z0-9 _-]/g, '');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(RULES_MD_PATH, renderRulesMd());
  console.log(`wrote ${RULES_MD_PATH}`);
}
