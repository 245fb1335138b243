import { createHash } from 'node:crypto';
import { putLedgerRecord } from '../aws/ledger.ts';
import { startExecution } from '../aws/start.ts';
import { InvalidEventError, isExcludedActor, normalizeEvent } from '../core/event.ts';
import { rejectionRecord } from '../core/ledger.ts';
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
  const start =
    d.startExecution ??
    ((e: typeof event) => {
      if (!d.stateMachineArn) throw new Error('STATE_MACHINE_ARN is not set');
      return startExecution(d.clients, d.stateMachineArn, e);
    });
  const r = await start(event);
  logger.info(r.started ? 'started' : 'duplicate', {
    eventId: event.eventId,
    action: event.action,
    executionName: r.executionName,
  });
  return {
    status: r.started ? ('started' as const) : ('duplicate' as const),
    executionName: r.executionName,
  };
};

export const handler = makeIngest(envDeps);
