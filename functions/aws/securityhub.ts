import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { type AsffFinding, asffBatches } from '../core/report/asff.ts';
import type { AwsClients } from './clients.ts';

export interface ImportResult {
  /** BatchImportFindings calls made. */
  batches: number;
  succeeded: number;
  failed: { id: string; error: string; message: string }[];
}

/**
 * Sends findings to Security Hub with BatchImportFindings: one call per at most 100 findings, each in
 * the findings' own region (the product ARN names it). Calls are sequential: Security Hub allows 10
 * calls per second per account and region, and the clients retry throttling. Findings Security Hub
 * refuses are returned, not thrown.
 */
export async function importFindings(
  clients: AwsClients,
  findings: readonly AsffFinding[],
): Promise<ImportResult> {
  const result: ImportResult = { batches: 0, succeeded: 0, failed: [] };
  for (const batch of asffBatches(findings)) {
    const r = await clients
      .get(SecurityHubClient, batch.region)
      .send(new BatchImportFindingsCommand({ Findings: batch.findings as never }));
    result.batches++;
    result.succeeded += r.SuccessCount ?? 0;
    for (const f of r.FailedFindings ?? []) {
      result.failed.push({ id: f.Id ?? '', error: f.ErrorCode ?? 'Error', message: f.ErrorMessage ?? '' });
    }
  }
  return result;
}
