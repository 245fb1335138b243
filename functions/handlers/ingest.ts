import { createHash } from 'node:crypto';
import { putLedgerRecord } from '../aws/ledger.ts';
import { executionEvents } from '../aws/role-targets.ts';
import { startExecution } from '../aws/start.ts';
import type { GuardrailConfig } from '../core/config.ts';
import { ruleEnabled } from '../core/evaluate.ts';
import { InvalidEventError, isExcludedActor, normalizeEvent } from '../core/event.ts';
import { rejectionRecord } from '../core/ledger.ts';
import { accountDecision, isMemberRoleActor, orgEnabled } from '../core/org.ts';
import { RULES } from '../core/rules/index.ts';
import { envDeps, type HandlerDeps, logger } from './deps.ts';

/**
 * EventBridge -> validate + normalize -> StartExecution named after the CloudTrail eventID.
 * Malformed events are recorded as rejections; the guardrail's own changes are refused.
 */
export const makeIngest = (deps: () => HandlerDeps) => async (raw: unknown) => {
  const d = deps();
  let event: ReturnType<typeof normalizeEvent>;
  try {
    event = normalizeEvent(raw);
  } catch (err) {
    if (!(err instanceof InvalidEventError)) throw err;
    const envelopeId = (raw as { id?: unknown })?.id;
    const id =
      typeof envelopeId === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(envelopeId)
        ? envelopeId
        : createHash('sha256')
            .update(JSON.stringify(raw ?? null))
            .digest('hex')
            .slice(0, 32);
    if (!d.ledgerTable) throw new Error('LEDGER_TABLE is not set');
    await putLedgerRecord(
      d.clients,
      d.homeRegion,
      d.ledgerTable,
      rejectionRecord({ id, recordedAt: d.now(), reason: err.message }),
    );
    logger.warn('rejected event', { id, reason: err.message });
    return { status: 'rejected' as const, reason: err.message };
  }
  if (isExcludedActor(event, d.excludedPrincipals ?? [])) {
    logger.info('ignored own change', { eventId: event.eventId, action: event.action });
    return { status: 'ignored' as const, reason: 'caused by the guardrail itself' };
  }
  if (orgEnabled(d.config)) {
    // Organization mode (docs/organization.md): the member roles' own changes, and accounts outside
    // the allow/deny lists. An event whose detail claims another account than the one EventBridge
    // delivered it from is forged or broken: recorded, never run.
    if (isMemberRoleActor(event, d.config.organization)) {
      logger.info('ignored own change', { eventId: event.eventId, action: event.action });
      return { status: 'ignored' as const, reason: 'caused by the guardrail itself' };
    }
    const envelopeAccount = (raw as { detail?: unknown; account?: unknown })?.account;
    const decision =
      typeof envelopeAccount === 'string' && envelopeAccount !== event.account
        ? {
            allowed: false as const,
            reason: `delivered from account ${envelopeAccount} but names account ${event.account}`,
          }
        : accountDecision(d.config.organization, event.account);
    if (!decision.allowed) {
      if (!d.ledgerTable) throw new Error('LEDGER_TABLE is not set');
      await putLedgerRecord(
        d.clients,
        d.homeRegion,
        d.ledgerTable,
        rejectionRecord({ id: event.eventId, recordedAt: d.now(), reason: decision.reason }),
      );
      logger.warn('rejected event', { id: event.eventId, reason: decision.reason });
      return { status: 'rejected' as const, reason: decision.reason };
    }
  }
  const start =
    d.startExecution ??
    ((e: typeof event) => {
      if (!d.stateMachineArn) throw new Error('STATE_MACHINE_ARN is not set');
      return startExecution(d.clients, d.stateMachineArn, e);
    });
  // One execution per resource: a function and its role, each role of a changed managed policy.
  const events = await executionEvents(d.clients, event, roleRulesOn(d.config));
  if (!events.length) {
    logger.info('no target', { eventId: event.eventId, action: event.action });
    return { status: 'ignored' as const, reason: 'the policy is attached to no role' };
  }
  const started = [];
  for (const e of events) {
    const r = await start(e);
    logger.info(r.started ? 'started' : 'duplicate', {
      eventId: e.eventId,
      action: e.action,
      executionName: r.executionName,
    });
    started.push(r);
  }
  const [r] = started;
  return {
    status: r!.started ? ('started' as const) : ('duplicate' as const),
    executionName: r!.executionName,
    ...(started.length > 1 ? { executions: started.map((x) => x.executionName) } : {}),
  };
};

/** Whether an execution-role rule is enabled (then a function's role is evaluated as well). */
const roleRulesOn = (config: GuardrailConfig) =>
  RULES.some((r) => r.resource === 'role' && ruleEnabled(r, config));

export const handler = makeIngest(envDeps);
