import type { Rule } from '../types.ts';
import { lambdaEnvSecret } from './lambda-env-secret.ts';
import { lambdaLayerUntrusted } from './lambda-layer-untrusted.ts';
import { lambdaPolicyPublic } from './lambda-policy-public.ts';
import { lambdaRuntimeDeprecated } from './lambda-runtime-deprecated.ts';
import { lambdaTracing } from './lambda-tracing.ts';
import { lambdaUrlCors } from './lambda-url-cors.ts';
import { lambdaUrlPublic } from './lambda-url-public.ts';
import { lambdaVpcRequired } from './lambda-vpc-required.ts';

/** Every rule, in evaluation order. Ids are stable: configs, exemption tags and the ledger use them. */
export const RULES: readonly Rule[] = [
  lambdaUrlPublic,
  lambdaPolicyPublic,
  lambdaEnvSecret,
  // After LAMBDA.URL.PUBLIC: its URL step keeps the old Cors, the CORS step then replaces it.
  lambdaUrlCors,
  lambdaLayerUntrusted,
  lambdaVpcRequired,
  lambdaRuntimeDeprecated,
  lambdaTracing,
];

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}

/** The distinct trigger prefixes per service, for the EventBridge rules. */
export function triggerPrefixes(rules: readonly Rule[] = RULES): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const r of rules) {
    for (const t of r.triggers) {
      out[t.service] ??= new Set();
      for (const a of t.actions) out[t.service].add(a);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}
