/**
 * `guardrail emulator [--port N]`: runs the local AWS emulator (moto) in the
 * foreground on 127.0.0.1 until SIGINT/SIGTERM.
 *
 * stdout gets exactly one line, the endpoint URL; progress goes to stderr.
 * Exit codes: 0 stopped by signal, 1 emulator failed, 2 bad arguments.
 */
import { startEmulator } from './emulator.ts';

const USAGE = 'usage: guardrail emulator [--port N]';

type Parsed = { port?: number; help?: boolean } | { error: string };

export function parseEmulatorArgs(argv: string[]): Parsed {
  let port: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') return { help: true };
    let value: string | undefined;
    if (arg === '--port') {
      value = argv[++i];
      if (value === undefined) return { error: `--port needs a value (${USAGE})` };
    } else if (arg.startsWith('--port=')) {
      value = arg.slice('--port='.length);
    } else {
      return { error: `unknown argument '${arg}' (${USAGE})` };
    }
    if (port !== undefined) return { error: `--port given more than once (${USAGE})` };
    if (!/^\d+$/.test(value) || Number(value) > 65535) {
      return { error: `--port must be an integer from 0 to 65535, got '${value}'` };
    }
    port = Number(value);
  }
  return { port };
}

export async function runEmulatorCommand(argv: string[]): Promise<number> {
  const parsed = parseEmulatorArgs(argv);
  if ('error' in parsed) {
    process.stderr.write(`guardrail emulator: ${parsed.error}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(
      `${USAGE}\n  Runs moto (pinned, installed in .venv-emulator on first use) on 127.0.0.1 until Ctrl+C.\n  --port N  listen on port N (default: a free ephemeral port)\n`,
    );
    return 0;
  }

  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator({
      port: parsed.port,
      log: (s) => process.stderr.write(`${s}\n`),
    });
  } catch (err) {
    process.stderr.write(`guardrail emulator: ${(err as Error).message}\n`);
    return 1;
  }

  process.stdout.write(`${emulator.endpoint}\n`);
  process.stderr.write('Press Ctrl+C to stop.\n');

  let onSignal: (() => void) | undefined;
  const signalled = new Promise<'signal'>((resolve) => {
    onSignal = () => resolve('signal');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    const outcome = await Promise.race([signalled, emulator.exited]);
    if (outcome === 'signal') {
      await emulator.stop();
      process.stderr.write('emulator stopped\n');
      return 0;
    }
    process.stderr.write(
      `guardrail emulator: moto exited unexpectedly (code ${outcome.code}, signal ${outcome.signal})\n`,
    );
    return 1;
  } finally {
    if (onSignal) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  }
}
