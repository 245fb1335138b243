import type { Rule } from '../types.ts';
import { iamRoleAdmin } from './iam-role-admin.ts';
import { iamRoleResourceWildcard } from './iam-role-resource-wildcard.ts';
import { iamRoleServiceWildcard } from './iam-role-service-wildcard.ts';
import { lambdaAsyncFailureDestination } from './lambda-async-failure-destination.ts';
import { lambdaEnvSecret } from './lambda-env-secret.ts';
import { lambdaLayerPublic } from './lambda-layer-public.ts';
import { lambdaLayerUntrusted } from './lambda-layer-untrusted.ts';
import { lambdaLogsUnmasked } from './lambda-logs-unmasked.ts';
import { lambdaPolicyConfusedDeputy } from './lambda-policy-confused-deputy.ts';
import { lambdaPolicyPublic } from './lambda-policy-public.ts';
import { lambdaRuntimeDeprecated } from './lambda-runtime-deprecated.ts';
import { lambdaTracing } from './lambda-tracing.ts';
import { lambdaUrlCors } from './lambda-url-cors.ts';
import { lambdaUrlPublic } from './lambda-url-public.ts';
import { lambdaVpcEgress } from './lambda-vpc-egress.ts';
import { lambdaVpcRequired } from './lambda-vpc-required.ts';
import { lambdaVulnerable } from './lambda-vulnerable.ts';

/** Every rule, in evaluation order. Ids are stable: configs, exemption tags and the ledger use them. */
export const RULES: readonly Rule[] = [
  lambdaUrlPublic,
  lambdaPolicyPublic,
  lambdaPolicyConfusedDeputy,
  lambdaEnvSecret,
  // After LAMBDA.URL.PUBLIC: its URL step keeps the old Cors, the CORS step then replaces it.
  lambdaUrlCors,
  lambdaLayerUntrusted,
  lambdaVpcRequired,
  lambdaVpcEgress,
  lambdaRuntimeDeprecated,
  lambdaTracing,
  lambdaVulnerable,
  lambdaLogsUnmasked,
  lambdaAsyncFailureDestination,
  lambdaLayerPublic,
  // Execution roles (issue 3): the most severe first; ADMIN's finding carries the rewrite when both match.
  iamRoleAdmin,
  iamRoleServiceWildcard,
  iamRoleResourceWildcard,
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
