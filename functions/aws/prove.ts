import {
  AccessAnalyzerClient,
  CheckNoNewAccessCommand,
  paginateValidatePolicy,
  type ValidatePolicyFinding,
} from '@aws-sdk/client-accessanalyzer';
import type { Evaluation } from '../core/evaluate.ts';
import { applyProofs } from '../core/iam/proof.ts';
import type { Finding, NormalizedEvent, PolicyProof, ProofCheck, ProofResult } from '../core/types.ts';
import { type AwsClients, errorName } from './clients.ts';
import type { Deps } from './target.ts';

/**
 * The proof step (docs/iam-roles.md): before a rewritten IAM policy may be written automatically,
 * IAM Access Analyzer must find no ERROR in it (`ValidatePolicy`) and must say it grants nothing the
 * document in force does not (`CheckNoNewAccess` = PASS).
 *
 * Throttling and internal errors are thrown (the SDK has retried; the state machine retries the
 * Prove state). Anything else that keeps a check from running (access denied, the service not
 * available in the partition or locally, a document it refuses) makes the proof UNAVAILABLE with the
 * reason: the finding is kept and goes to approval, never dropped.
 */

/** Errors worth retrying the whole Prove state for. */
export const RETRYABLE_PROOF_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'InternalServerException',
  'ServiceUnavailableException',
]);

function reasonOf(err: unknown): string {
  const e = err as { $fault?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  // An answer that is not Access Analyzer's (an endpoint without the service, e.g. the local emulator).
  if (!e?.$fault && typeof e?.$metadata?.httpStatusCode === 'number')
    return `the endpoint answered HTTP ${e.$metadata.httpStatusCode} without an Access Analyzer response`;
  return `${errorName(err)}: ${String(e?.message ?? err)}`.replace(/\s+/g, ' ').slice(0, 300);
}

class Unavailable extends Error {
  override name = 'ProofUnavailable';
}

async function run<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (RETRYABLE_PROOF_ERRORS.has(errorName(err))) throw err;
    throw new Unavailable(reasonOf(err));
  }
}

/** Proves one rewritten document: ValidatePolicy (every page) then CheckNoNewAccess. */
export async function proveDocument(
  client: AccessAnalyzerClient,
  proof: PolicyProof,
): Promise<{ check: ProofCheck; status: ProofResult['status'] }> {
  const check: ProofCheck = { replaces: proof.replaces };
  try {
    const findings = await run(async () => {
      const out: ValidatePolicyFinding[] = [];
      for await (const page of paginateValidatePolicy(
        { client },
        { policyType: 'IDENTITY_POLICY', policyDocument: proof.newPolicyDocument },
      ))
        out.push(...(page.findings ?? []));
      return out;
    });
    const errors = findings.filter((f) => f.findingType === 'ERROR');
    check.validatePolicy = {
      errors: errors.length,
      issues: [...new Set(errors.map((f) => String(f.issueCode)))],
    };
    if (errors.length) {
      check.reason = `ValidatePolicy reported ${errors.length} error(s): ${check.validatePolicy.issues.join(', ')}`;
      return { check, status: 'FAIL' };
    }
    const r = await run(() =>
      client.send(
        new CheckNoNewAccessCommand({
          policyType: 'IDENTITY_POLICY',
          existingPolicyDocument: proof.existingPolicyDocument,
          newPolicyDocument: proof.newPolicyDocument,
        }),
      ),
    );
    if (r.result === 'PASS') {
      check.checkNoNewAccess = 'PASS';
      return { check, status: 'PASS' };
    }
    if (r.result === 'FAIL') {
      check.checkNoNewAccess = 'FAIL';
      const why = (r.reasons ?? []).map((x) => x.description).filter(Boolean);
      check.reason = `CheckNoNewAccess FAIL: ${[r.message, ...why].filter(Boolean).join('; ')}`.slice(0, 500);
      return { check, status: 'FAIL' };
    }
    check.reason = `CheckNoNewAccess returned no result (${String(r.result)})`;
    return { check, status: 'UNAVAILABLE' };
  } catch (err) {
    if (!(err instanceof Unavailable)) throw err;
    check.reason = `Access Analyzer unavailable: ${err.message}`;
    return { check, status: 'UNAVAILABLE' };
  }
}

/** FAIL if any document failed, else UNAVAILABLE if any could not be proved, else PASS. */
export function combine(statuses: readonly ProofResult['status'][]): ProofResult['status'] {
  if (statuses.includes('FAIL')) return 'FAIL';
  if (statuses.includes('UNAVAILABLE') || !statuses.length) return 'UNAVAILABLE';
  return 'PASS';
}

/** Proves every document of one finding's plan. */
export async function proveFinding(
  clients: AwsClients,
  region: string,
  proofs: readonly PolicyProof[],
): Promise<ProofResult> {
  const client = clients.get(AccessAnalyzerClient, region);
  const checks: ProofCheck[] = [];
  const statuses: ProofResult['status'][] = [];
  for (const p of proofs) {
    const { check, status } = await proveDocument(client, p);
    checks.push(check);
    statuses.push(status);
    // One failed document already decides: the plan needs a person.
    if (status === 'FAIL') break;
  }
  return { status: combine(statuses), checks };
}

/**
 * The proof of each finding whose plan has proofs, by finding index (findings without proofs, and
 * exempt ones, are absent): the `results` of the core's `applyProofs`. Access Analyzer is regional:
 * `region` is the guardrail's home region.
 */
export async function proveFindings(
  clients: AwsClients,
  region: string,
  findings: readonly Finding[],
): Promise<Record<number, ProofResult>> {
  const out: Record<number, ProofResult> = {};
  for (const [i, f] of findings.entries()) {
    if (!f.plan.proofs?.length || f.exempt) continue;
    out[i] = await proveFinding(clients, region, f.plan.proofs);
  }
  return out;
}

/** The Prove step: proves, then applies the results (core `applyProofs`); `needsProof` is then false. */
export async function proveStep(
  deps: Deps,
  input: { event: NormalizedEvent; evaluation: Evaluation },
): Promise<Evaluation & { needsProof: false }> {
  const region = deps.config.homeRegion ?? input.event.region;
  const results = await proveFindings(deps.clients, region, input.evaluation.findings);
  return { ...applyProofs(input.evaluation, results, deps.config), needsProof: false };
}
