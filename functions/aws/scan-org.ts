import { randomBytes } from 'node:crypto';
import { OrganizationsClient, paginateListAccounts } from '@aws-sdk/client-organizations';
import { DEFAULT_CONFIG } from '../core/config.ts';
import { mergeScanReports, type ReportError, type ScanReport } from '../core/report/model.ts';
import { RULES } from '../core/rules/index.ts';
import { assumedClients } from './assume.ts';
import { type AwsClients, errorName } from './clients.ts';
import { callerAccount } from './identity.ts';
import { mapLimit } from './limit.ts';
import { isReadFailure, type ScanOptions, scanAccount } from './scan.ts';

/**
 * `guardrail scan --org`: the same dry-run scan as `guardrail scan`, in every account of the
 * organization (or the accounts given), each through a role assumed in that account. Accounts are
 * scanned in parallel (at most `accountConcurrency` at once, each with `concurrency` reads in flight);
 * an account that cannot be entered (AssumeRole refused, no such role) is reported as an error of
 * scope `account` and the scan goes on. One report: every resource, finding and error has its account.
 */

export interface OrgScanOptions extends Omit<ScanOptions, 'clients' | 'account' | 'onProgress'> {
  /** Clients of the account the scan runs from (the management account or a delegated administrator). */
  clients: AwsClients;
  /** Accounts to scan; default: every ACTIVE account of Organizations ListAccounts. */
  accounts?: readonly string[];
  /** The role assumed in each account (read-only: the member collector role). */
  roleName: string;
  externalId?: string;
  /** Accounts scanned at once (default 4). */
  accountConcurrency?: number;
  /** RoleSessionName in each account's CloudTrail (default `guardrail-scan-<time>`). */
  sessionName?: string;
  /** Called when an account is done (entered and scanned, or refused). */
  onAccount?: (account: string, outcome: { resources: number; error?: string }) => void;
}

export const DEFAULT_ACCOUNT_CONCURRENCY = 4;

/** Every ACTIVE account of the organization (every page). Organizations is served from us-east-1. */
export async function listOrganizationAccounts(clients: AwsClients): Promise<string[]> {
  const org = clients.get(OrganizationsClient, 'us-east-1');
  const out: string[] = [];
  for await (const page of paginateListAccounts({ client: org }, {})) {
    for (const a of page.Accounts ?? []) {
      // `State` replaces `Status` (deprecated in 2025); either says whether the account is active.
      const state = (a as { State?: string }).State ?? a.Status;
      if (a.Id && state === 'ACTIVE') out.push(a.Id);
    }
  }
  return out.sort();
}

const firstLine = (err: unknown) =>
  String((err as Error)?.message ?? err)
    .split('\n')[0]
    .slice(0, 300);

export async function scanOrganization(opts: OrgScanOptions): Promise<ScanReport> {
  const { clients, regions } = opts;
  if (!regions.length) throw new RangeError('scan needs at least one region');
  const startedAt = opts.now();
  const rules = opts.rules ?? RULES;
  const config = opts.config ?? DEFAULT_CONFIG;
  const home = await callerAccount(clients, regions[0]);
  const accounts = [...new Set(opts.accounts ?? (await listOrganizationAccounts(clients)))].sort();
  const sessionName = opts.sessionName ?? `guardrail-scan-${startedAt.replace(/[^0-9]/g, '').slice(0, 14)}`;
  // One fingerprint key for the whole report: the same secret in two accounts has the same marker.
  const fingerprintKey = opts.fingerprintKey ?? randomBytes(32);
  const refused: ReportError[] = [];

  const reports = await mapLimit(
    accounts,
    opts.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY,
    async (account) => {
      const member = assumedClients(clients, {
        account,
        roleName: opts.roleName,
        ...(opts.externalId ? { externalId: opts.externalId } : {}),
        sessionName,
        region: regions[0],
      });
      try {
        // Enter the account first: a refusal is one account-level error, not one per resource.
        await (member.options.credentials as () => Promise<unknown>)();
      } catch (err) {
        if (!isReadFailure(err)) throw err;
        refused.push({ scope: 'account', account, error: errorName(err), message: firstLine(err) });
        opts.onAccount?.(account, { resources: 0, error: errorName(err) });
        return undefined;
      }
      const {
        onAccount: _,
        accounts: __,
        roleName: ___,
        externalId: ____,
        accountConcurrency: _____,
        ...rest
      } = opts;
      const report = await scanAccount({ ...rest, clients: member, account, fingerprintKey });
      opts.onAccount?.(account, { resources: report.resources.length });
      return report;
    },
  );

  return mergeScanReports(
    reports.filter((r): r is ScanReport => !!r),
    {
      account: home,
      accounts,
      regions,
      startedAt,
      finishedAt: opts.now(),
      rules,
      config,
      ...(opts.origin ? { origin: opts.origin } : {}),
      errors: refused.sort((a, b) => (a.account ?? '').localeCompare(b.account ?? '')),
    },
  );
}
