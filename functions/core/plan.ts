import { createHash } from 'node:crypto';
import { select } from './snapshot.ts';
import type { Finding, PlanStep, Precondition, Snapshot } from './types.ts';

/** Canonical JSON (sorted keys), so equal plans have equal digests whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function digest(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}

/** Digest of what enforcement would do: the ordered steps (parameters included) of the given findings. */
export function planDigest(findings: readonly Pick<Finding, 'ruleId' | 'resourceArn' | 'plan'>[]): string {
  return digest(findings.map((f) => ({ ruleId: f.ruleId, resourceArn: f.resourceArn, steps: f.plan.steps })));
}

const functionOf = (step: PlanStep) => String(step.parameters['FunctionName'] ?? '');
const policyWrites = new Set(['lambda:AddPermission', 'lambda:RemovePermission']);
const functionWrites = new Set([
  'lambda:UpdateFunctionUrlConfig',
  'lambda:UpdateFunctionConfiguration',
  'lambda:AddPermission',
  'lambda:RemovePermission',
]);

/**
 * Orders steps across findings and makes RevisionIds honest: a literal RevisionId is only valid for
 * the first write to a function, since every write changes it. Later permission steps on the same
 * function get `{fromPolicyRevision}`, which the executor resolves by re-reading the policy and
 * checking that only this plan's earlier steps changed it; a later UpdateFunctionConfiguration gets
 * `{fromFunctionRevision}` (re-read, after checking that the environment is still the one read). Returns new findings; input is untouched.
 */
export function sequencePlans<T extends Pick<Finding, 'plan'>>(findings: readonly T[]): T[] {
  const written = new Set<string>();
  return findings.map((f) => ({
    ...f,
    plan: {
      ...f.plan,
      steps: f.plan.steps.map((step) => {
        const key = actionKeyOf(step);
        const fn = functionOf(step);
        let out = step;
        if (
          key === 'lambda:UpdateFunctionConfiguration' &&
          written.has(fn) &&
          typeof step.parameters['RevisionId'] === 'string'
        ) {
          // The function's RevisionId changes with every write: re-read it right before this step.
          out = {
            ...step,
            parameters: { ...step.parameters, RevisionId: { fromFunctionRevision: { FunctionName: fn } } },
          };
        }
        if (policyWrites.has(key) && written.has(fn) && typeof step.parameters['RevisionId'] === 'string') {
          out = {
            ...step,
            parameters: {
              ...step.parameters,
              RevisionId: {
                fromPolicyRevision: {
                  FunctionName: fn,
                  ...(step.parameters['Qualifier']
                    ? { Qualifier: step.parameters['Qualifier'] as string }
                    : {}),
                },
              },
            },
          };
        }
        if (functionWrites.has(key)) written.add(fn);
        return out;
      }),
    },
  }));
}

export const actionKeyOf = (step: Pick<PlanStep, 'service' | 'operation'>) =>
  `${step.service}:${step.operation}`;

/** Preconditions that do not hold on a fresh snapshot, with what was found instead. */
export function failedPreconditions(
  preconditions: readonly Precondition[],
  fresh: Snapshot,
): (Precondition & { found: unknown })[] {
  return preconditions
    .map((p) => ({ ...p, found: select(fresh.responses[p.read], p.path) }))
    .filter((p) => canonicalJson(p.found) !== canonicalJson(p.equals));
}
