import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { GuardrailConfig } from '../core/config.ts';
import { actionable, type Evaluation, evaluate } from '../core/evaluate.ts';
import { executionName } from '../core/event.ts';
import type { Remediation, Verification } from '../core/outcome.ts';
import { failedPreconditions, planDigest } from '../core/plan.ts';
import { redactSnapshot } from '../core/redact.ts';
import type { NormalizedEvent, Snapshot } from '../core/types.ts';
import { type AwsClients, errorName } from './clients.ts';
import { collectFunction } from './collect.ts';
import { applyPlan } from './execute.ts';
import { type KillSwitchState, readKillSwitch } from './killswitch.ts';

/** What every workflow step needs: clients, validated config, and where the kill switch lives. */
export interface Deps {
  clients: AwsClients;
  config: GuardrailConfig;
}

export class UnsupportedTargetError extends Error {
  override name = 'UnsupportedTargetError';
}

/** Reads the resource the event is about (raw: may hold secret values; never return it from a task). */
export async function collectRaw(deps: Deps, event: NormalizedEvent): Promise<Snapshot> {
  const fn = event.resources.functionName;
  if (!fn)
    throw new UnsupportedTargetError(`event ${event.action} names no function this guardrail can evaluate`);
  return collectFunction(deps.clients, {
    account: event.account,
    region: event.region,
    functionName: fn,
    ...(event.resources.qualifier ? { qualifier: event.resources.qualifier } : {}),
  });
}

export async function collectStep(
  deps: Deps,
  event: NormalizedEvent,
): Promise<{ snapshot: Snapshot; killSwitch: boolean; killSwitchReason: string }> {
  const [raw, ks] = await Promise.all([collectRaw(deps, event), killSwitch(deps, event)]);
  return { snapshot: redactSnapshot(raw), killSwitch: ks.on, killSwitchReason: ks.reason };
}

const killSwitch = (deps: Deps, event: NormalizedEvent): Promise<KillSwitchState> =>
  readKillSwitch(deps.clients, deps.config.homeRegion ?? event.region, deps.config.killSwitchParameter);

function reevaluate(deps: Deps, event: NormalizedEvent, fresh: Snapshot, now: string): Evaluation {
  return evaluate({ snapshot: redactSnapshot(fresh), config: deps.config, now, event });
}

const describe = (e: Evaluation) =>
  actionable(e.findings, 'auto').map((f) => `${f.ruleId} ${f.resourceArn}: ${f.plan.steps.length} step(s)`);

/**
 * Remediate: re-read, stop if the kill switch is on, compare the plan the fresh state gives with the
 * evaluated one (any difference is drift), check preconditions, then apply the automatic findings.
 */
export async function remediateStep(
  deps: Deps,
  input: { event: NormalizedEvent; evaluation: Evaluation; now: string },
): Promise<Remediation> {
  const { event, evaluation, now } = input;
  const wanted = actionable(evaluation.findings, 'auto');
  if (!wanted.length) return { status: 'nothing-to-do', steps: [] };
  const ks = await killSwitch(deps, event);
  if (ks.on) return { status: 'nothing-to-do', steps: [], drift: [`not applied: ${ks.reason}`] };
  const fresh = await collectRaw(deps, event);
  const current = reevaluate(deps, event, fresh, now);
  const now_ = actionable(current.findings, 'auto');
  if (planDigest(wanted) !== planDigest(now_)) {
    return {
      status: 'resource-changed',
      steps: [],
      drift: [
        'the resource changed since it was evaluated; the plan it now needs differs',
        `evaluated: ${describe(evaluation).join('; ') || 'nothing'}`,
        `now: ${describe(current).join('; ') || 'nothing'}`,
      ],
    };
  }
  const failed = wanted.flatMap((f) => failedPreconditions(f.plan.preconditions, fresh));
  if (failed.length) {
    return {
      status: 'resource-changed',
      steps: [],
      drift: failed.map(
        (p) => `${p.description}: expected ${JSON.stringify(p.equals)}, found ${JSON.stringify(p.found)}`,
      ),
    };
  }
  return applyPlan(deps.clients, event.region, wanted, fresh);
}

/** Verify: re-collect and re-evaluate; every remediated finding must be gone. */
export async function verifyStep(
  deps: Deps,
  input: { event: NormalizedEvent; evaluation: Evaluation; remediation: Remediation; now: string },
): Promise<Verification> {
  const fresh = await collectRaw(deps, input.event);
  const current = reevaluate(deps, input.event, fresh, input.now);
  const fixed = new Set(input.remediation.steps.map((s) => `${s.ruleId} ${s.resourceArn}`));
  const remaining = current.findings
    .filter((f) => !f.exempt && fixed.has(`${f.ruleId} ${f.resourceArn}`))
    .map((f) => ({ ruleId: f.ruleId, resourceArn: f.resourceArn, summary: f.summary }));
  return { verified: remaining.length === 0, remaining };
}

/** Starts one execution per CloudTrail event; a duplicate delivery of the same event is a no-op. */
export async function startExecution(
  clients: AwsClients,
  stateMachineArn: string,
  event: NormalizedEvent,
): Promise<{ started: boolean; executionName: string; executionArn?: string }> {
  const name = executionName(event.eventId);
  const region = stateMachineArn.split(':')[3];
  try {
    const r = await clients
      .sfn(region)
      .send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ event }) }));
    return {
      started: true,
      executionName: name,
      ...(r.executionArn ? { executionArn: r.executionArn } : {}),
    };
  } catch (err) {
    // STANDARD executions with the same name and input within 90 days are idempotent; the same name
    // with a different input raises ExecutionAlreadyExists. Either way the event is already handled.
    if (errorName(err) === 'ExecutionAlreadyExists') return { started: false, executionName: name };
    throw err;
  }
}
