import type { Snapshot } from './types.ts';

export const REDACTED = '[redacted]';

/**
 * Removes secret values from a snapshot before it leaves the function that read it (Step Functions
 * payloads are logged with level ALL; the ledger keeps what it is given). Environment variable names
 * stay, values go.
 */
export function redactSnapshot(s: Snapshot): Snapshot {
  const responses: Record<string, unknown> = { ...s.responses };
  const cfg = responses['GetFunctionConfiguration'] as {
    Environment?: { Variables?: Record<string, string> };
  } | null;
  if (cfg?.Environment?.Variables) {
    responses['GetFunctionConfiguration'] = {
      ...cfg,
      Environment: {
        ...cfg.Environment,
        Variables: Object.fromEntries(Object.keys(cfg.Environment.Variables).map((k) => [k, REDACTED])),
      },
    };
  }
  return { ...s, responses };
}
