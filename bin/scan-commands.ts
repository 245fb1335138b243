import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createClients } from '../functions/aws/clients.ts';
import { collectRole } from '../functions/aws/collect-role.ts';
import { ledgerRecordsBetween } from '../functions/aws/ledger-report.ts';
import {
  DEFAULT_COLLECTORS,
  DEFAULT_CONCURRENCY,
  SCAN_CLIENT_OPTIONS,
  type ScanProgress,
  scanAccount,
} from '../functions/aws/scan.ts';
import { importFindings } from '../functions/aws/securityhub.ts';
import { parseConfig } from '../functions/core/config.ts';
import { toAsff } from '../functions/core/report/asff.ts';
import {
  isScanFormat,
  renderScanReport,
  SCAN_FORMATS,
  scanExitCode,
} from '../functions/core/report/index.ts';
import {
  buildLedgerReport,
  isLedgerFormat,
  LEDGER_FORMATS,
  renderLedgerReport,
} from '../functions/core/report/ledger.ts';
import { RULES, ruleById } from '../functions/core/rules/index.ts';
import { readJson, UsageError } from './cli.ts';

/**
 * `guardrail scan` and `guardrail report` (loaded by bin/cli.ts on demand, so `evaluate` stays fast).
 * The logic lives in functions/aws/scan.ts and functions/core/report/*; this file parses flags,
 * prints and writes files.
 */

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export interface CommandEnv {
  env?: NodeJS.ProcessEnv;
  /** Where TTY progress goes (default process.stderr); progress is shown only when it is a TTY. */
  progressStream?: { isTTY?: boolean; write(s: string): unknown };
  clock?: () => number;
}

type Values = Record<string, string | boolean | undefined>;

function parse(argv: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']): Values {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Values;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

const REGION = /^[a-z]{2,}(-[a-z]+)+-\d+$/;

function emit(text: string, output: string | undefined, io: Io): void {
  if (output) {
    writeFileSync(output, text);
    io.err(`wrote ${output}`);
  } else {
    io.out(text.replace(/\n$/, ''));
  }
}

/** A progress line on a TTY, redrawn at most every 100 ms: done/total, rate, errors, findings. */
export function progressPrinter(stream: NonNullable<CommandEnv['progressStream']>, clock: () => number) {
  if (!stream.isTTY) return { update: (_p: ScanProgress) => {}, end: () => {} };
  let last = 0;
  let shown = false;
  const line = (p: ScanProgress) => {
    const secs = Math.max(0.001, (clock() - p.startedAtMs) / 1000);
    const rate = p.done / secs;
    return p.phase === 'listing'
      ? 'guardrail scan: listing functions...'
      : `guardrail scan: ${p.done}/${p.total} read · ${rate.toFixed(1)}/s · ${p.errors} error(s) · ${p.findings} finding(s)`;
  };
  return {
    update(p: ScanProgress) {
      const t = clock();
      if (p.phase !== 'done' && p.done !== p.total && t - last < 100) return;
      last = t;
      shown = true;
      stream.write(`\r\x1b[2K${line(p)}`);
    },
    end() {
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}

export async function scanCommand(
  argv: string[],
  io: Io,
  now: () => string,
  cmd: CommandEnv = {},
): Promise<number> {
  const env = cmd.env ?? process.env;
  const v = parse(argv, {
    region: { type: 'string' },
    'all-regions': { type: 'boolean' },
    profile: { type: 'string' },
    'endpoint-url': { type: 'string' },
    rules: { type: 'string' },
    format: { type: 'string', default: 'table' },
    output: { type: 'string' },
    concurrency: { type: 'string' },
    import: { type: 'boolean' },
    config: { type: 'string' },
    org: { type: 'boolean' },
    accounts: { type: 'string' },
    'role-name': { type: 'string' },
    'external-id': { type: 'string' },
    'account-concurrency': { type: 'string' },
    // Execution roles are read with Access Advisor evidence (a report job per role); this skips it.
    'no-evidence': { type: 'boolean' },
  });
  const org = orgScanArgs(v, env);
  if (!isScanFormat(v.format))
    throw new UsageError(`--format must be one of ${SCAN_FORMATS.join(', ')}, got ${v.format}`);
  if (v.region && v['all-regions']) throw new UsageError('pass either --region or --all-regions, not both');
  const concurrency = v.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(v.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(`--concurrency must be an integer from 1 to 64, got ${v.concurrency}`);
  }
  let rules = RULES;
  if (v.rules !== undefined) {
    const ids = String(v.rules)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = ids.filter((id) => !ruleById(id));
    if (!ids.length || unknown.length) {
      throw new UsageError(
        `unknown rule id(s) ${unknown.join(', ') || '(none given)'}; known: ${RULES.map((r) => r.id).join(', ')}`,
      );
    }
    rules = RULES.filter((r) => ids.includes(r.id));
  }
  const config = parseConfig(v.config ? readJson(v.config as string, 'config') : {});
  const clients = createClients({
    ...(v['endpoint-url'] ? { endpoint: v['endpoint-url'] as string } : {}),
    ...(v.profile ? { profile: v.profile as string } : {}),
    // Throttling is expected on big accounts: back off and slow down instead of failing reads.
    ...SCAN_CLIENT_OPTIONS,
  });
  const home = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  let regions: string[];
  if (v['all-regions']) {
    const { enabledRegions } = await import('../functions/aws/regions.ts');
    regions = await enabledRegions(clients, home ?? 'us-east-1');
  } else {
    const given = (v.region as string | undefined) ?? home;
    if (!given) throw new UsageError('no region: pass --region r1,r2 or --all-regions, or set AWS_REGION');
    regions = [
      ...new Set(
        given
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ];
  }
  const bad = regions.filter((r) => !REGION.test(r));
  if (!regions.length || bad.length)
    throw new UsageError(`not a region name: ${bad.join(', ') || '(empty)'}`);

  const clock = cmd.clock ?? Date.now;
  const progress = progressPrinter(cmd.progressStream ?? process.stderr, clock);
  let report: Awaited<ReturnType<typeof scanAccount>>;
  try {
    if (org) {
      const { scanOrganization } = await import('../functions/aws/scan-org.ts');
      report = await scanOrganization({
        clients,
        regions,
        rules,
        config,
        concurrency,
        now,
        clock,
        ...(org.accounts ? { accounts: org.accounts } : {}),
        roleName: org.roleName ?? config.organization.memberRoleNames.collector,
        ...((org.externalId ?? config.organization.externalId)
          ? { externalId: org.externalId ?? config.organization.externalId }
          : {}),
        accountConcurrency: org.accountConcurrency,
        onAccount: (account, o) =>
          o.error ? io.err(`account ${account}: not entered (${o.error}); the scan goes on`) : undefined,
      });
    } else {
      const evidence = !v['no-evidence'];
      report = await scanAccount({
        clients,
        regions,
        rules,
        config,
        concurrency,
        now,
        clock,
        onProgress: (p) => progress.update(p),
        // Execution roles are read once each, with last-accessed evidence unless --no-evidence.
        collectors: { ...DEFAULT_COLLECTORS, role: (c, t) => collectRole(c, t, { evidence }) },
      });
    }
  } finally {
    progress.end();
  }
  emit(renderScanReport(report, v.format), v.output as string | undefined, io);
  if (v.output) {
    const s = report.summary;
    io.err(
      `scanned ${s.resources} resource(s) in ${regions.length} region(s)${org ? ` of ${report.accounts.length} account(s)` : ''}: ${s.liveFindings} finding(s), ${s.exemptFindings} exempt, ${s.byStatus.unreadable} unreadable`,
    );
  }
  let code: number = scanExitCode(report);
  if (v.import) {
    const findings = toAsff(report);
    const r = await importFindings(clients, findings);
    io.err(
      `imported ${r.succeeded} of ${findings.length} finding(s) into Security Hub in ${r.batches} call(s)`,
    );
    for (const f of r.failed) io.err(`Security Hub refused ${f.id}: ${f.error}: ${f.message}`);
    if (r.failed.length) code = 2;
  }
  return code;
}

/**
 * `scan --org [--accounts id,...] [--role-name n] [--external-id x] [--account-concurrency n]`:
 * undefined without --org. The external id may also come from GUARDRAIL_EXTERNAL_ID (or the config's
 * organization.externalId), so it need not appear in shell history.
 */
function orgScanArgs(v: Values, env: NodeJS.ProcessEnv) {
  const orgOnly = ['accounts', 'role-name', 'external-id', 'account-concurrency'].filter(
    (k) => v[k] !== undefined,
  );
  if (!v.org) {
    if (orgOnly.length) throw new UsageError(`--${orgOnly[0]} needs --org`);
    return undefined;
  }
  if (v.import)
    throw new UsageError(
      '--import is not supported with --org (findings of other accounts are imported by the Security Hub administrator account)',
    );
  let accounts: string[] | undefined;
  if (v.accounts !== undefined) {
    accounts = [
      ...new Set(
        String(v.accounts)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ];
    const bad = accounts.filter((a) => !/^\d{12}$/.test(a));
    if (!accounts.length || bad.length)
      throw new UsageError(`--accounts takes 12-digit account ids, got ${bad.join(', ') || '(none)'}`);
  }
  const roleName = v['role-name'] as string | undefined;
  if (roleName !== undefined && !/^[\w+=,.@-]{1,64}$/.test(roleName))
    throw new UsageError(`--role-name must be an IAM role name, got ${roleName}`);
  const accountConcurrency = v['account-concurrency'] === undefined ? 4 : Number(v['account-concurrency']);
  if (!Number.isInteger(accountConcurrency) || accountConcurrency < 1 || accountConcurrency > 32)
    throw new UsageError(
      `--account-concurrency must be an integer from 1 to 32, got ${v['account-concurrency']}`,
    );
  const externalId = (v['external-id'] as string | undefined) ?? env.GUARDRAIL_EXTERNAL_ID;
  return {
    ...(accounts ? { accounts } : {}),
    ...(roleName ? { roleName } : {}),
    ...(externalId ? { externalId } : {}),
    accountConcurrency,
  };
}

function isoArg(value: string, flag: string, endOfDay: boolean): string {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const t = Date.parse(dateOnly ? `${value}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z` : value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) {
    throw new UsageError(
      `${flag} must be an ISO date or time (2025-06-01 or 2025-06-01T12:00:00Z), got ${value}`,
    );
  }
  return new Date(t).toISOString();
}

export async function reportCommand(
  argv: string[],
  io: Io,
  now: () => string,
  cmd: CommandEnv = {},
): Promise<number> {
  const env = cmd.env ?? process.env;
  const v = parse(argv, {
    since: { type: 'string' },
    until: { type: 'string' },
    format: { type: 'string', default: 'table' },
    table: { type: 'string' },
    region: { type: 'string' },
    profile: { type: 'string' },
    'endpoint-url': { type: 'string' },
    output: { type: 'string' },
  });
  if (!v.since) throw new UsageError('report needs --since <date>');
  if (!isLedgerFormat(v.format))
    throw new UsageError(`--format must be one of ${LEDGER_FORMATS.join(', ')}, got ${v.format}`);
  const since = isoArg(v.since as string, '--since', false);
  const until = v.until ? isoArg(v.until as string, '--until', true) : now();
  if (since > until) throw new UsageError(`--since ${since} is after --until ${until}`);
  const table = (v.table as string | undefined) ?? env.GUARDRAIL_LEDGER_TABLE;
  if (!table)
    throw new UsageError(
      'pass --table (the ledger table name, a stack output) or set GUARDRAIL_LEDGER_TABLE',
    );
  const region = (v.region as string | undefined) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('no region: pass --region or set AWS_REGION');
  const clients = createClients({
    ...(v['endpoint-url'] ? { endpoint: v['endpoint-url'] as string } : {}),
    ...(v.profile ? { profile: v.profile as string } : {}),
  });
  const { records } = await ledgerRecordsBetween(clients, region, table, since, until);
  const report = buildLedgerReport(records, { since, until, generatedAt: now(), table, region });
  emit(renderLedgerReport(report, v.format), v.output as string | undefined, io);
  return 0;
}
