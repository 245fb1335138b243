import * as z from 'zod/mini';
import { putLedgerRecord } from '../aws/ledger.ts';
import { buildLedgerRecord, type WorkflowState } from '../core/ledger.ts';
import '../core/zod.ts';
import { envDeps, type HandlerDeps, logger } from './deps.ts';

const input = z.object({
  executionId: z.optional(z.string()),
  executionName: z.string().check(z.minLength(1)),
  startedAt: z.optional(z.string()),
  state: z.record(z.string(), z.unknown()),
});

export const makeRecord = (deps: () => HandlerDeps) => async (raw: unknown) => {
  const i = input.parse(raw);
  const d = deps();
  if (!d.ledgerTable) throw new Error('LEDGER_TABLE is not set');
  const record = buildLedgerRecord({
    ...(i.executionId ? { executionId: i.executionId } : {}),
    executionName: i.executionName,
    ...(i.startedAt ? { startedAt: i.startedAt } : {}),
    recordedAt: d.now(),
    state: i.state as WorkflowState,
  });
  const { written } = await putLedgerRecord(d.clients, d.homeRegion, d.ledgerTable, record);
  logger.info('recorded', { executionName: i.executionName, outcome: record.outcome, written });
  return { outcome: record.outcome, pk: record.pk };
};

export const handler = makeRecord(envDeps);
