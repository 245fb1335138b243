import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createClients } from '../functions/aws/clients.ts';
import { collectFunction } from '../functions/aws/collect.ts';
import { callerAccount } from '../functions/aws/identity.ts';
import { getLedgerRecord } from '../functions/aws/ledger.ts';
import { rollback } from '../functions/aws/rollback.ts';
import { InvalidConfigError, parseConfig } from '../functions/core/config.ts';
import { evaluate } from '../functions/core/evaluate.ts';
import { InvalidEventError, normalizeEvent, parseFunctionRef } from '../functions/core/event.ts';
import type { LedgerRecord } from '../functions/core/ledger.ts';
import { redactSnapshot } from '../functions/core/redact.ts';
import { evaluationJson, evaluationTable, stepLine } from '../functions/core/render.ts';
import { RollbackError } from '../functions/core/rollback.ts';
import { functionNameOf, InvalidSnapshotError, parseSnapshot } from '../functions/core/snapshot.ts';

/**
 * `guardrail` CLI. Exit codes (a contract): 0 compliant, 1 findings, 2 bad input or usage.
 * Bad input prints one clear line on stderr, never a stack trace.
 */

export class UsageError extends Error {
  override name = 'UsageError';
}

const USAGE = `usage: guardrail <command> [options]

commands:
  evaluate --event <file> --snapshot <file> [--config <file>] [--format json|table] [--fingerprint-key k]
      Evaluate a recorded CloudTrail event against a snapshot, offline. Exit 0 compliant, 1 findings, 2 bad input.
  snapshot --function <name|arn> [--region r] [--profile p] [--endpoint-url u] [--output file] [--fingerprint-key k]
      Capture a snapshot of a function with the deployed collector code (environment values are redacted;
      secrets keep a marker with a keyed fingerprint).
  --fingerprint-key (or GUARDRAIL_FINGERPRINT_KEY, 16+ characters) keys the fingerprints of secret values;
      without one, a random key per run: fingerprints are then comparable within that run only.
  rollback <execution-name | ledger-record.json> [--table t] [--region r] [--profile p] [--endpoint-url u] [--dry-run]
      Undo a remediation from its ledger record: the inverse steps, newest first, only if the resource is
      still as the remediation left it. Exit 0 rolled back (or planned), 1 refused or failed, 2 bad input.
  scan [--region r1,r2|--all-regions] [--profile p] [--endpoint-url u] [--rules id,...] [--config <file>]
       [--format table|json|sarif|markdown|html|asff] [--output file] [--concurrency n] [--import] [--no-evidence]
      Dry-run scan of every function in the regions: findings and their planned fixes, changing nothing.
      Execution roles are read once each, with IAM last-accessed evidence (--no-evidence skips the report jobs).
      --import sends the findings to Security Hub (BatchImportFindings). Exit 0 no findings, 1 findings,
      2 bad input or nothing could be read (see docs/scan-report.md).
  scan --org [--accounts id,...] [--role-name n] [--external-id x] [--account-concurrency n] [scan flags]
      The same dry run in every ACTIVE account of the organization (or the accounts given), through a role
      assumed in each (default: the member collector role). Accounts that cannot be entered are reported
      and the scan goes on; one report, the account on every finding (see docs/organization.md).
  report --since <date> [--until <date>] [--format table|json|markdown|html] [--table t] [--region r]
       [--profile p] [--endpoint-url u] [--output file]
      What the deployed guardrail found, remediated, approved, rejected, expired, exempted and failed, and by whom.
  emulator [--port N]
      Run the local AWS emulator (moto, pinned, in a project-local virtualenv) on loopback until interrupted.
  demo [--approve]
      Run the end-to-end demo against the local emulator. It waits for a person to decide the approval
      it asks for (links printed, 90 s); --approve decides by itself through the approval page.`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
};

export function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The key of secret fingerprints (core/redact.ts): `--fingerprint-key`, else GUARDRAIL_FINGERPRINT_KEY
 * (better: it stays out of shell history), else 32 random bytes for this run only.
 */
export function fingerprintKeyOption(value: string | boolean | undefined): string | Buffer {
  const key = (typeof value === 'string' ? value : undefined) ?? process.env.GUARDRAIL_FINGERPRINT_KEY;
  if (key === undefined || key === '') return randomBytes(32);
  if (key.length < 16)
    throw new UsageError('--fingerprint-key (or GUARDRAIL_FINGERPRINT_KEY) needs 16+ characters');
  return key;
}

function parse(argv: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

export async function evaluateCommand(argv: string[], io: Io, now: () => string): Promise<number> {
  const v = parse(argv, {
    event: { type: 'string' },
    snapshot: { type: 'string' },
    config: { type: 'string' },
    format: { type: 'string', default: 'table' },
    now: { type: 'string' },
    'fingerprint-key': { type: 'string' },
  });
  if (!v.event || !v.snapshot) throw new UsageError('evaluate needs --event <file> and --snapshot <file>');
  if (v.format !== 'json' && v.format !== 'table')
    throw new UsageError(`--format must be json or table, got ${v.format}`);
  const event = normalizeEvent(readJson(v.event as string, 'event'));
  const snapshot = parseSnapshot(readJson(v.snapshot as string, 'snapshot'));
  const config = parseConfig(v.config ? readJson(v.config as string, 'config') : {});
  if (snapshot.account !== event.account) {
    throw new UsageError(
      `the event is from account ${event.account} but the snapshot is of account ${snapshot.account}`,
    );
  }
  const snapName = functionNameOf(snapshot);
  if (event.resources.functionName && snapName && event.resources.functionName !== snapName) {
    throw new UsageError(
      `the event names function ${event.resources.functionName} but the snapshot is of ${snapName}`,
    );
  }
  const at = (v.now as string | undefined) ?? now();
  if (Number.isNaN(Date.parse(at))) throw new UsageError(`--now must be an ISO time, got ${at}`);
  // Plain values (a snapshot built by hand) become markers first: no value reaches the output.
  const key = fingerprintKeyOption(v['fingerprint-key']);
  const result = evaluate({ snapshot: redactSnapshot(snapshot, key), config, now: at, event });
  io.out(
    v.format === 'json'
      ? JSON.stringify(evaluationJson(event, result), null, 2)
      : evaluationTable(event, result),
  );
  return result.findings.some((f) => !f.exempt) ? 1 : 0;
}

export async function snapshotCommand(argv: string[], io: Io): Promise<number> {
  const v = parse(argv, {
    function: { type: 'string' },
    region: { type: 'string' },
    profile: { type: 'string' },
    'endpoint-url': { type: 'string' },
    output: { type: 'string' },
    'fingerprint-key': { type: 'string' },
  });
  if (!v.function) throw new UsageError('snapshot needs --function <name|arn>');
  const key = fingerprintKeyOption(v['fingerprint-key']);
  const ref = v.function as string;
  const arnRegion = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):/.exec(ref)?.[1];
  const region =
    (v.region as string | undefined) ?? arnRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('no region: pass --region or a function ARN, or set AWS_REGION');
  const clients = createClients({
    ...(v['endpoint-url'] ? { endpoint: v['endpoint-url'] as string } : {}),
    ...(v.profile ? { profile: v.profile as string } : {}),
  });
  const account = /:(\d{12}):function:/.exec(ref)?.[1] ?? (await callerAccount(clients, region));
  const fn = parseFunctionRef(ref, account, region);
  const snapshot = redactSnapshot(
    await collectFunction(clients, {
      account,
      region,
      functionName: fn.functionName,
      ...(fn.qualifier ? { qualifier: fn.qualifier } : {}),
    }),
    key,
  );
  const text = JSON.stringify(snapshot, null, 2);
  if (v.output) {
    writeFileSync(v.output as string, `${text}\n`);
    io.err(`wrote ${v.output}`);
  } else {
    io.out(text);
  }
  return 0;
}

export async function rollbackCommand(argv: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        table: { type: 'string' },
        region: { type: 'string' },
        profile: { type: 'string' },
        'endpoint-url': { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const [target, ...extra] = parsed.positionals;
  if (!target || extra.length)
    throw new UsageError('rollback needs exactly one execution name or ledger record file');
  const clients = createClients({
    ...(v['endpoint-url'] ? { endpoint: v['endpoint-url'] as string } : {}),
    ...(v.profile ? { profile: v.profile as string } : {}),
  });
  let record: LedgerRecord | undefined;
  if (existsSync(target)) {
    record = readJson(target, 'ledger record') as LedgerRecord;
  } else {
    const table = (v.table as string | undefined) ?? process.env.GUARDRAIL_LEDGER_TABLE;
    const region =
      (v.region as string | undefined) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!table)
      throw new UsageError(
        'pass --table (the ledger table name, a stack output) or set GUARDRAIL_LEDGER_TABLE',
      );
    if (!region) throw new UsageError('no region: pass --region or set AWS_REGION');
    record = await getLedgerRecord(clients, region, table, target);
    if (!record) throw new UsageError(`no ledger record for execution ${target} in ${table}`);
  }
  if (!record?.executionName || !record.remediation) {
    throw new UsageError('the ledger record has no remediation to roll back');
  }
  const r = await rollback(clients, record, { dryRun: !!v['dry-run'] });
  for (const f of r.plan.findings)
    for (const s of f.plan.steps) io.out(`${r.status === 'planned' ? 'would run' : 'step'}: ${stepLine(s)}`);
  for (const i of r.plan.irreversible) io.out(`cannot undo automatically: ${i}`);
  for (const d of r.drift ?? []) io.err(`refused: ${d}`);
  for (const s of r.result?.steps ?? [])
    io.out(`${s.status}: ${s.operation}${s.error ? ` (${s.error})` : ''}`);
  io.out(`rollback of ${record.executionName}: ${r.status}`);
  return r.status === 'rolled-back' || r.status === 'planned' ? 0 : 1;
}

export async function main(
  argv: string[],
  io: Io = defaultIo,
  now = () => new Date().toISOString(),
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'evaluate':
        return await evaluateCommand(rest, io, now);
      case 'snapshot':
        return await snapshotCommand(rest, io);
      case 'rollback':
        return await rollbackCommand(rest, io);
      case 'scan': {
        const { scanCommand } = await import('./scan-commands.ts');
        return await scanCommand(rest, io, now);
      }
      case 'report': {
        const { reportCommand } = await import('./scan-commands.ts');
        return await reportCommand(rest, io, now);
      }
      case 'emulator': {
        const { runEmulatorCommand } = await import('../scripts/local/emulator-cli.ts');
        return await runEmulatorCommand(rest);
      }
      case 'demo': {
        const { runDemo } = await import('../scripts/local/demo.ts');
        return await runDemo(rest, io);
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}' (try: guardrail --help)`);
    }
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof InvalidEventError ||
      err instanceof InvalidSnapshotError ||
      err instanceof InvalidConfigError ||
      err instanceof RollbackError
    ) {
      io.err(`guardrail: ${err.message}`);
      return 2;
    }
    if (err instanceof SyntaxError || ['ZodError', '$ZodError'].includes((err as Error).name)) {
      io.err(`guardrail: bad input: ${(err as Error).message.split('\n')[0]}`);
      return 2;
    }
    const name = (err as Error).name;
    if (['CredentialsProviderError', 'ExpiredTokenException', 'UnrecognizedClientException'].includes(name)) {
      io.err(`guardrail: AWS credentials problem: ${(err as Error).message.split('\n')[0]}`);
      return 2;
    }
    if ((err as { $metadata?: unknown }).$metadata) {
      // An AWS service error (access denied, not found, throttled): one line, no stack trace.
      io.err(`guardrail: AWS error: ${name}: ${(err as Error).message.split('\n')[0]}`);
      return 2;
    }
    throw err;
  }
}
