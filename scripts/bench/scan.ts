import { createClients } from '../../functions/aws/clients.ts';
import { DEFAULT_CONCURRENCY, SCAN_CLIENT_OPTIONS, scanAccount } from '../../functions/aws/scan.ts';
import { renderScanReport } from '../../functions/core/report/index.ts';
import { EMULATOR_CREDENTIALS, resetEmulator, startEmulator } from '../local/emulator.ts';
import { DEMO_REGION } from '../local/seed.ts';
import { seedBulkAccount } from '../local/seed-account.ts';

/**
 * `guardrail scan` benchmark: emulator accounts of 100 and 1,000 functions on 200 execution roles
 * (every tenth function with a public URL and its two statements), scanned with the CLI's code path
 * and client options. Prints, per size: wall time, functions per second, AWS API calls per function
 * (by operation), peak memory of this process (RSS and heap, sampled every 20 ms), and how the time
 * scales from 100 to 1,000 (the first size is scanned once before it is timed, so it is not charged
 * for start-up). Seeding runs in parallel with a time limit (a truncated account is said
 * so). Numbers are the emulator's: one local moto process answers every call, so absolute times
 * measure moto more than the scan; the calls per function and the memory are what carry over to AWS.
 * Prints numbers, asserts nothing.
 */

export interface ScanBenchRow {
  functions: number;
  roles: number;
  seedMs: number;
  truncated: boolean;
  scanMs: number;
  perSecond: number;
  callsPerFunction: number;
  calls: Record<string, number>;
  findings: number;
  unreadable: number;
  peakRssMb: number;
  peakHeapMb: number;
  reportKb: { json: number; html: number };
}

const mb = (n: number) => n / (1024 * 1024);

function sampleMemory(everyMs = 20) {
  let rss = process.memoryUsage().rss;
  let heap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const m = process.memoryUsage();
      return { rss: Math.max(rss, m.rss), heap: Math.max(heap, m.heapUsed) };
    },
  };
}

export async function benchScan(
  opts: {
    sizes?: number[];
    roles?: number;
    concurrency?: number;
    seedDeadlineMs?: number;
    log?: (s: string) => void;
  } = {},
): Promise<ScanBenchRow[]> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const sizes = opts.sizes ?? [100, 1000];
  const roles = opts.roles ?? 200;
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const emulator = await startEmulator();
  const rows: ScanBenchRow[] = [];
  try {
    for (const size of sizes) {
      await resetEmulator(emulator.endpoint);
      const seeded = await seedBulkAccount(emulator.endpoint, {
        prefix: `bench${size}`,
        functions: size,
        roles,
        concurrency: 16,
        deadlineMs: opts.seedDeadlineMs ?? 8 * 60_000,
      });
      const clients = createClients({
        endpoint: emulator.endpoint,
        credentials: { ...EMULATOR_CREDENTIALS },
        ...SCAN_CLIENT_OPTIONS,
      });
      if (size === sizes[0]) {
        // Warm-up (SDK clients, moto's code paths), so the first size is not charged for start-up.
        await scanAccount({
          clients,
          regions: [DEMO_REGION],
          account: '123456789012',
          concurrency,
          now: () => new Date().toISOString(),
        });
        clients.calls.clear();
      }
      global.gc?.();
      const mem = sampleMemory();
      const started = performance.now();
      const report = await scanAccount({
        clients,
        regions: [DEMO_REGION],
        account: '123456789012',
        concurrency,
        now: () => new Date().toISOString(),
      });
      const scanMs = performance.now() - started;
      const json = renderScanReport(report, 'json');
      const html = renderScanReport(report, 'html');
      const peak = mem.stop();
      const calls = Object.fromEntries([...clients.calls.entries()].sort());
      const total = Object.values(calls).reduce((a, b) => a + b, 0);
      const n = seeded.functions.length;
      rows.push({
        functions: n,
        roles: seeded.roles.length,
        seedMs: seeded.seedMs,
        truncated: seeded.truncated,
        scanMs,
        perSecond: n / (scanMs / 1000),
        callsPerFunction: total / Math.max(1, n),
        calls,
        findings: report.summary.liveFindings,
        unreadable: report.summary.byStatus.unreadable,
        peakRssMb: mb(peak.rss),
        peakHeapMb: mb(peak.heap),
        reportKb: { json: Buffer.byteLength(json) / 1024, html: Buffer.byteLength(html) / 1024 },
      });
    }
  } finally {
    await emulator.stop();
  }

  log(
    `\n## Scan (emulator account, ${roles} roles, concurrency ${concurrency}, adaptive retry; scan code path of \`guardrail scan\`)`,
  );
  log('functions  seed s  scan s  fn/s   calls/fn  findings  peak RSS MB  peak heap MB  report JSON/HTML KB');
  for (const r of rows) {
    log(
      `${String(r.functions).padStart(9)}${r.truncated ? '*' : ' '} ${(r.seedMs / 1000).toFixed(1).padStart(6)}  ${(r.scanMs / 1000).toFixed(2).padStart(6)}  ${r.perSecond.toFixed(1).padStart(5)}  ${r.callsPerFunction.toFixed(2).padStart(8)}  ${String(r.findings).padStart(8)}  ${r.peakRssMb.toFixed(0).padStart(11)}  ${r.peakHeapMb.toFixed(0).padStart(12)}  ${r.reportKb.json.toFixed(0)}/${r.reportKb.html.toFixed(0)}`,
    );
    log(
      `           calls: ${Object.entries(r.calls)
        .map(([k, v]) => `${k.split(':')[1]}x${v}`)
        .join(' ')}`,
    );
  }
  if (rows.some((r) => r.truncated))
    log('           * seeding hit its time limit: fewer functions than asked');
  if (rows.length >= 2) {
    const [a, b] = [rows[0], rows[rows.length - 1]];
    const ratio = b.scanMs / a.scanMs;
    const sizeRatio = b.functions / a.functions;
    log(
      `scaling    ${a.functions} -> ${b.functions} functions (x${sizeRatio.toFixed(1)}): time x${ratio.toFixed(2)}, ` +
        `per function ${(a.scanMs / a.functions).toFixed(1)} ms -> ${(b.scanMs / b.functions).toFixed(1)} ms ` +
        `(${ratio / sizeRatio < 1.25 ? 'linear' : 'worse than linear'}); calls per function ${a.callsPerFunction.toFixed(2)} -> ${b.callsPerFunction.toFixed(2)}`,
    );
  }
  return rows;
}
