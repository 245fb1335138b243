import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { approvalTimeoutSeconds, withApprovalTimeout } from '../functions/core/approval.ts';
import type { GuardrailConfig } from '../functions/core/config.ts';
import { PROJECT_ROOT } from './functions.ts';

/** The workflow definition deployed by the stack (JSONPath ASL with `${Name}` placeholders). */
export const ASL_PATH = join(PROJECT_ROOT, 'state-machines', 'guardrail.asl.json');

export function readAsl(path: string = ASL_PATH): string {
  return readFileSync(path, 'utf8');
}

/** The deployed definition: the ASL with RequestApproval's TimeoutSeconds from `approvalTimeoutHours`. */
export function deployedAsl(
  config: Pick<GuardrailConfig, 'approvalTimeoutHours'>,
  path: string = ASL_PATH,
): string {
  return withApprovalTimeout(readAsl(path), approvalTimeoutSeconds(config));
}

/** Every `${Name}` placeholder in an ASL text, sorted and de-duplicated. */
export function aslPlaceholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))].sort();
}

/**
 * Checks that `substitutions` covers every placeholder of the ASL text and nothing else, so a renamed
 * or added task state fails synth with a readable message instead of deploying a broken definition.
 */
export function checkSubstitutions(text: string, substitutions: Record<string, string>): void {
  const wanted = aslPlaceholders(text);
  const given = Object.keys(substitutions).sort();
  const missing = wanted.filter((p) => !given.includes(p));
  const unused = given.filter((p) => !wanted.includes(p));
  if (missing.length || unused.length) {
    throw new Error(
      `state machine substitutions do not match ${ASL_PATH}: ` +
        [
          missing.length ? `missing ${missing.map((m) => `\${${m}}`).join(', ')}` : '',
          unused.length ? `unused ${unused.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
    );
  }
}
