import { pathToFileURL } from 'node:url';
import { createClients } from '../../functions/aws/clients.ts';
import { DEFAULT_CONCURRENCY, SCAN_CLIENT_OPTIONS } from '../../functions/aws/scan.ts';
import { DEFAULT_ACCOUNT_CONCURRENCY, scanOrganization } from '../../functions/aws/scan-org.ts';
import { EMULATOR_CREDENTIALS, startEmulator } from '../local/emulator.ts';
import { DEMO_REGION } from '../local/seed.ts';
import { seedBulkAccount } from '../local/seed-account.ts';
import { createMemberRoles, memberAdmin, seedOrganization } from '../local/seed-org.ts';

/**
 * `guardrail scan --org` benchmark: an emulated organization of 5, then 20, member accounts with 50
 * functions each (every tenth with a public URL and its two statements), scanned with the CLI's code
 * path and client options (AssumeRole of the member collector role in each account, accounts in
 * parallel). Prints per size: wall time, functions per second, time per account, and how the wall time
 * scales from 5 to 20 accounts. One local moto process answers every call, so absolute times measure
 * moto more than the scan; the scaling with accounts and the calls per account carry over.
 * Prints numbers, asserts nothing.
 */

const EXTERNAL_ID = 'bench-org-external-id';
const ROLE = 'lambda-guardrail-collector';

export interface OrgScanBenchRow {
  accounts: number;
  functions: number;
  seedMs: number;
  scanMs: number;
  perSecond: number;
  msPerAccount: number;
  assumeRoleCalls: number;
  callsPerFunction: number;
  findings: number;
  errors: number;
}

export async function benchOrgScan(
  opts: { sizes?: number[]; functionsPerAccount?: number; accountConcurrency?: number } = {},
): Promise<OrgScanBenchRow[]> {
  const sizes = opts.sizes ?? [5, 20];
  const perAccount = opts.functionsPerAccount ?? 50;
  const accountConcurrency = opts.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY;
  const rows: OrgScanBenchRow[] = [];
  console.log(
    `\n## guardrail scan --org (emulator; ${perAccount} functions per account, ${accountConcurrency} accounts at once, ${DEFAULT_CONCURRENCY} reads in flight per account)`,
  );
  console.log(
    'accounts  functions   seed s   scan s   functions/s   ms/account   AssumeRole   calls/function   findings   errors',
  );
  for (const size of sizes) {
    // A fresh emulator per size: the organization and its accounts start empty.
    const emulator = await startEmulator();
    try {
      const seedStart = Date.now();
      const org = await seedOrganization(emulator.endpoint, size);
      let functions = 0;
      for (const account of org.members) {
        const credentials = await memberAdmin(emulator.endpoint, account);
        await createMemberRoles(emulator.endpoint, credentials, {
          account,
          orgId: org.orgId,
          externalId: EXTERNAL_ID,
          roleNames: [ROLE],
        });
        const seeded = await seedBulkAccount(emulator.endpoint, {
          prefix: `org-${account.slice(-4)}`,
          functions: perAccount,
          roles: 5,
          credentials,
        });
        functions += seeded.functions.length;
      }
      const seedMs = Date.now() - seedStart;
      const clients = createClients({
        endpoint: emulator.endpoint,
        credentials: { ...EMULATOR_CREDENTIALS },
        ...SCAN_CLIENT_OPTIONS,
      });
      const started = performance.now();
      const report = await scanOrganization({
        clients,
        regions: [DEMO_REGION],
        accounts: org.members,
        roleName: ROLE,
        externalId: EXTERNAL_ID,
        accountConcurrency,
        now: () => new Date().toISOString(),
      });
      const scanMs = performance.now() - started;
      const calls = [...clients.calls.values()].reduce((a, b) => a + b, 0);
      const row: OrgScanBenchRow = {
        accounts: size,
        functions,
        seedMs,
        scanMs,
        perSecond: functions / (scanMs / 1000),
        msPerAccount: scanMs / size,
        assumeRoleCalls: clients.calls.get('sts:AssumeRole') ?? 0,
        callsPerFunction: calls / Math.max(1, functions),
        findings: report.summary.liveFindings,
        errors: report.summary.errors,
      };
      rows.push(row);
      console.log(
        `${String(size).padStart(8)} ${String(functions).padStart(10)} ${(seedMs / 1000).toFixed(1).padStart(8)} ${(scanMs / 1000).toFixed(2).padStart(8)} ${row.perSecond.toFixed(1).padStart(13)} ${row.msPerAccount.toFixed(0).padStart(12)} ${String(row.assumeRoleCalls).padStart(12)} ${row.callsPerFunction.toFixed(1).padStart(16)} ${String(row.findings).padStart(10)} ${String(row.errors).padStart(8)}`,
      );
      clients.calls.clear();
    } finally {
      await emulator.stop();
    }
  }
  if (rows.length >= 2) {
    const [a, b] = [rows[0], rows[rows.length - 1]];
    console.log(
      `scaling ${a.accounts} -> ${b.accounts} accounts (x${(b.accounts / a.accounts).toFixed(1)}): wall time x${(b.scanMs / a.scanMs).toFixed(2)}, time per account x${(b.msPerAccount / a.msPerAccount).toFixed(2)}`,
    );
  }
  return rows;
}

// `npx tsx scripts/bench/org-scan.ts` runs this benchmark alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchOrgScan();
