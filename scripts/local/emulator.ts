/**
 * Local AWS emulator manager (moto server).
 *
 * Used by `guardrail emulator`, `npm run demo` and the integration tests.
 *
 * - `ensureEmulatorInstalled()` creates a project-local Python virtualenv at
 *   `<repo>/.venv-emulator` and installs the pinned `moto[server]` into it.
 *   It is idempotent (marker file holding the pinned requirement) and safe to
 *   call from several processes at once (mkdir-based lock with stale detection).
 * - `startEmulator()` runs `moto.server` bound to 127.0.0.1, waits until it
 *   answers, disables Docker for Lambda, and returns a handle with `stop()`.
 * - `emulatorClientConfig()` produces an AWS SDK v3 client config that can never
 *   fall back to the developer's real AWS credentials, profile or endpoints.
 *
 * No Docker and no network access other than PyPI (first install only).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pinned moto version. Bumping it makes `ensureEmulatorInstalled` reinstall. */
export const MOTO_VERSION = '5.2.5';
/** pip requirement string for the pinned emulator. */
export const MOTO_REQUIREMENT = `moto[server]==${MOTO_VERSION}`;

/** Fake credentials used for every emulator client (moto accepts anything). */
export const EMULATOR_CREDENTIALS = Object.freeze({
  accessKeyId: 'testing',
  secretAccessKey: 'testing',
});

/** Config moto must run with: Lambda functions are never executed in Docker. */
const MOTO_CONFIG = { lambda: { use_docker: false } } as const;

/** `<repo>` root: this file lives in `<repo>/scripts/local/`. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Project-local virtualenv holding moto. */
export const EMULATOR_VENV_DIR = join(REPO_ROOT, '.venv-emulator');
const MARKER_FILE = join(EMULATOR_VENV_DIR, '.guardrail-emulator-installed');
/** Lock directory (sibling of the venv, so it survives `rm -rf` of the venv). */
const LOCK_DIR = `${EMULATOR_VENV_DIR}.lock`;
const LOCK_OWNER_FILE = join(LOCK_DIR, 'owner.json');

const LOCK_HEARTBEAT_MS = 5_000;
/** A lock whose heartbeat is older than this is considered abandoned. */
const LOCK_STALE_MS = 60_000;
/** How long to wait for another process to finish installing. */
const LOCK_WAIT_MS = 15 * 60_000;

export type Logger = (message: string) => void;

export interface EnsureInstalledOptions {
  log?: Logger;
}

export interface StartEmulatorOptions {
  /** TCP port on 127.0.0.1. Omit (or 0) to pick a free ephemeral port. */
  port?: number;
  log?: Logger;
  /** How long to wait for the server to answer, in ms (default 60 s). */
  startTimeoutMs?: number;
}

export interface EmulatorExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EmulatorHandle {
  /** e.g. `http://127.0.0.1:54321` */
  endpoint: string;
  port: number;
  pid: number;
  /** Resolves (never rejects) when the moto process exits, for whatever reason. */
  exited: Promise<EmulatorExit>;
  /** Stops the server and waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface EmulatorClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  useFipsEndpoint: boolean;
  useDualstackEndpoint: boolean;
  maxAttempts: number;
}

// ---------------------------------------------------------------------------
// Installation
// ---------------------------------------------------------------------------

/** Path of the venv's python interpreter. */
export function emulatorPythonPath(): string {
  return process.platform === 'win32'
    ? join(EMULATOR_VENV_DIR, 'Scripts', 'python.exe')
    : join(EMULATOR_VENV_DIR, 'bin', 'python');
}

function basePython(): string {
  return process.env.GUARDRAIL_PYTHON || (process.platform === 'win32' ? 'python' : 'python3');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(
          new Error(
            `emulator: '${cmd}' not found. Install Python 3.9+ (with the venv module) or set GUARDRAIL_PYTHON to a Python 3 interpreter.`,
          ),
        );
      } else {
        reject(err);
      }
    });
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function readMarker(): Promise<string | undefined> {
  try {
    return (await readFile(MARKER_FILE, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function isInstalled(): Promise<boolean> {
  return (await readMarker()) === MOTO_REQUIREMENT && existsSync(emulatorPythonPath());
}

/**
 * Ensures moto is installed in `<repo>/.venv-emulator` and returns the path of
 * the venv's python. Fast when already installed; serialised across processes.
 */
export async function ensureEmulatorInstalled(opts: EnsureInstalledOptions = {}): Promise<string> {
  const log = opts.log ?? (() => {});
  if (await isInstalled()) return emulatorPythonPath();

  const release = await acquireInstallLock(log);
  try {
    // Another process may have finished the install while we waited.
    if (await isInstalled()) return emulatorPythonPath();
    await install(log);
    return emulatorPythonPath();
  } finally {
    await release();
  }
}

async function venvPythonWorks(): Promise<boolean> {
  if (!existsSync(emulatorPythonPath())) return false;
  try {
    const r = await run(emulatorPythonPath(), ['-c', 'import sys; sys.exit(0)']);
    return r.code === 0;
  } catch {
    return false;
  }
}

async function install(log: Logger): Promise<void> {
  const started = Date.now();
  if (!(await venvPythonWorks())) {
    const py = basePython();
    const ver = await run(py, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
    const [major, minor] = ver.stdout.trim().split('.').map(Number);
    if (ver.code !== 0 || major !== 3 || (minor ?? 0) < 9) {
      throw new Error(
        `emulator: ${py} must be Python 3.9 or newer (got '${ver.stdout.trim() || tail(ver.stderr, 3)}'). Set GUARDRAIL_PYTHON to another interpreter.`,
      );
    }
    log(`emulator: creating Python virtualenv at ${EMULATOR_VENV_DIR}`);
    await rm(EMULATOR_VENV_DIR, { recursive: true, force: true });
    const venv = await run(py, ['-m', 'venv', EMULATOR_VENV_DIR]);
    if (venv.code !== 0) {
      await rm(EMULATOR_VENV_DIR, { recursive: true, force: true });
      throw new Error(
        `emulator: '${py} -m venv' failed (on Debian/Ubuntu install python3-venv):\n${tail(venv.stderr || venv.stdout)}`,
      );
    }
  }
  log(`emulator: installing ${MOTO_REQUIREMENT} (first run only, may take a minute)`);
  const pip = await run(emulatorPythonPath(), [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-input',
    MOTO_REQUIREMENT,
  ]);
  if (pip.code !== 0) {
    throw new Error(`emulator: pip install ${MOTO_REQUIREMENT} failed:\n${tail(pip.stderr || pip.stdout)}`);
  }
  const tmp = `${MARKER_FILE}.${process.pid}.tmp`;
  await writeFile(tmp, `${MOTO_REQUIREMENT}\n`);
  await rename(tmp, MARKER_FILE);
  log(`emulator: installed ${MOTO_REQUIREMENT} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

interface LockOwner {
  token: string;
  pid: number;
  host: string;
  startedAt: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(dir: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/** Is the current lock abandoned? Returns the token seen (or '' if unknown). */
async function staleLockToken(): Promise<string | undefined> {
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(LOCK_DIR)).mtimeMs;
  } catch {
    return undefined; // gone: not stale, just retry mkdir
  }
  const owner = await readOwner(LOCK_DIR);
  const age = Date.now() - mtimeMs;
  if (owner && owner.host === hostname() && !pidAlive(owner.pid)) return owner.token;
  if (age > LOCK_STALE_MS) return owner?.token ?? '';
  return undefined;
}

async function acquireInstallLock(log: Logger): Promise<() => Promise<void>> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      const owner: LockOwner = {
        token,
        pid: process.pid,
        host: hostname(),
        startedAt: new Date().toISOString(),
      };
      await writeFile(LOCK_OWNER_FILE, JSON.stringify(owner));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const staleToken = await staleLockToken();
    if (staleToken !== undefined) {
      // Move the stale lock aside atomically; only one waiter can win the rename.
      const aside = `${LOCK_DIR}.stale-${token}`;
      try {
        await rename(LOCK_DIR, aside);
        const moved = await readOwner(aside);
        if (staleToken !== '' && moved && moved.token !== staleToken) {
          // Raced with someone who just took a fresh lock: give it back.
          await rename(aside, LOCK_DIR).catch(() => {});
        } else {
          log('emulator: removed stale install lock');
          await rm(aside, { recursive: true, force: true });
        }
      } catch {
        // Someone else handled it.
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `emulator: timed out waiting for install lock ${LOCK_DIR}; remove it if no install is running.`,
      );
    }
    if (!announced) {
      log('emulator: another process is installing moto; waiting...');
      announced = true;
    }
    await sleep(250 + Math.random() * 250);
  }

  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(LOCK_DIR, now, now).catch(() => {});
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();

  return async () => {
    clearInterval(heartbeat);
    const owner = await readOwner(LOCK_DIR);
    if (owner?.token === token) await rm(LOCK_DIR, { recursive: true, force: true });
  };
}

// ---------------------------------------------------------------------------
// Server lifecycle
// ---------------------------------------------------------------------------

/** Finds a free TCP port on 127.0.0.1 by binding port 0. */
export function findFreePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolvePromise(port) : reject(new Error('could not allocate a port'))));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolvePromise(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePromise(true)));
  });
}

/**
 * Python bootstrap: exits as soon as stdin reaches EOF (i.e. the Node parent
 * died, even by SIGKILL), applies moto_patches.py, then runs `moto.server` like `python -m moto.server`.
 */
const BOOTSTRAP = [
  'import os, sys, threading',
  'def _watch_parent():',
  '    try:',
  '        while os.read(0, 4096):',
  '            pass',
  '    except Exception:',
  '        pass',
  '    os._exit(0)',
  'threading.Thread(target=_watch_parent, daemon=True).start()',
  // Patches that make moto's Lambda resource policies behave like AWS (see moto_patches.py).
  `sys.path.insert(0, ${JSON.stringify(dirname(fileURLToPath(import.meta.url)))})`,
  'import moto_patches',
  'from moto.server import main',
  'main(sys.argv[1:])',
].join('\n');

/** Children still running, killed synchronously if this process exits. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // best effort
      }
    }
  });
}

/** Environment for moto: no real AWS credentials/profile/endpoints leak in. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AWS_')) continue;
    env[k] = v;
  }
  env.AWS_ACCESS_KEY_ID = EMULATOR_CREDENTIALS.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = EMULATOR_CREDENTIALS.secretAccessKey;
  env.AWS_DEFAULT_REGION = 'us-east-1';
  env.PYTHONUNBUFFERED = '1';
  env.PYTHONDONTWRITEBYTECODE = '1';
  return env;
}

async function postJson(url: string, body: unknown): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // Drain the body so the connection is released.
  await res.arrayBuffer();
  return res;
}

async function applyConfig(endpoint: string): Promise<void> {
  const res = await postJson(`${trimSlash(endpoint)}/moto-api/config`, MOTO_CONFIG);
  if (!res.ok) throw new Error(`emulator: POST /moto-api/config failed with HTTP ${res.status}`);
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

class StartupError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

async function startOnce(
  python: string,
  port: number,
  log: Logger,
  startTimeoutMs: number,
): Promise<EmulatorHandle> {
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(python, ['-c', BOOTSTRAP, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: serverEnv(),
    cwd: REPO_ROOT,
    // Own process group: a terminal Ctrl+C reaches only the Node parent, which
    // then stops moto deliberately (the stdin watchdog covers parent crashes).
    detached: process.platform !== 'win32',
  });
  installExitHook();
  liveChildren.add(child);
  // The stdin pipe is the parent-death signal; never write to it.
  child.stdin?.on('error', () => {});

  let output = '';
  const keep = (d: string) => {
    output = (output + d).slice(-8192);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);

  let exitInfo: EmulatorExit | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<EmulatorExit>((resolveExit) => {
    child.once('error', (err) => {
      spawnError = err;
      liveChildren.delete(child);
      exitInfo ??= { code: null, signal: null };
      resolveExit(exitInfo);
    });
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      exitInfo = { code, signal };
      resolveExit(exitInfo);
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitInfo) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      child.stdin?.destroy();
    })();
    return stopping;
  };

  // Wait until OUR server answers. An HTTP answer alone is not enough: if the
  // port is taken by another server (e.g. a second moto), the probe would reach
  // that one. So also require werkzeug's " * Running on <endpoint>" banner
  // (printed after the socket is bound) from our child, or, should the banner
  // format ever change, our child still alive well after the first answer.
  const deadline = Date.now() + startTimeoutMs;
  let firstAnswerAt: number | undefined;
  for (;;) {
    if (exitInfo) {
      const reason = spawnError
        ? spawnError.message
        : `exit code ${exitInfo.code}, signal ${exitInfo.signal}`;
      const portInUse = /address already in use|is in use by another program|errno 98|errno 48/i.test(output);
      throw new StartupError(
        portInUse
          ? `emulator: port ${port} on 127.0.0.1 is already in use`
          : `emulator: moto server exited during startup (${reason}). Output tail:\n${tail(output)}`,
        portInUse,
      );
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status < 500) firstAnswerAt ??= Date.now();
    } catch {
      // not listening yet
    }
    if (firstAnswerAt !== undefined && !exitInfo) {
      if (output.includes(`Running on ${endpoint}`) || Date.now() - firstAnswerAt > 3_000) break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new StartupError(
        `emulator: moto server did not answer on ${endpoint} within ${startTimeoutMs} ms. Output tail:\n${tail(output)}`,
        false,
      );
    }
    await sleep(100);
  }

  try {
    await applyConfig(endpoint);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`emulator: moto ${MOTO_VERSION} listening on ${endpoint} (pid ${child.pid})`);
  return { endpoint, port, pid: child.pid ?? -1, exited, stop };
}

/**
 * Starts moto on 127.0.0.1 (given port, or a free ephemeral one) and waits
 * until it is ready with Lambda's Docker execution disabled.
 */
export async function startEmulator(opts: StartEmulatorOptions = {}): Promise<EmulatorHandle> {
  const log = opts.log ?? (() => {});
  const python = await ensureEmulatorInstalled({ log });
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  if (opts.port !== undefined && opts.port !== 0) {
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new Error(`emulator: invalid port ${opts.port}`);
    }
    if (!(await portIsFree(opts.port))) {
      throw new Error(`emulator: port ${opts.port} on 127.0.0.1 is already in use`);
    }
    return startOnce(python, opts.port, log, startTimeoutMs);
  }
  // Ephemeral port: another process could grab it between probe and bind; retry.
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort();
    try {
      return await startOnce(python, port, log, startTimeoutMs);
    } catch (err) {
      if (!(err instanceof StartupError && err.portInUse) || attempt >= 5) throw err;
    }
  }
}

/** Wipes all emulated state and re-applies the emulator config (use_docker=false). */
export async function resetEmulator(endpoint: string): Promise<void> {
  const res = await postJson(`${trimSlash(endpoint)}/moto-api/reset`, {});
  if (!res.ok) throw new Error(`emulator: POST /moto-api/reset failed with HTTP ${res.status}`);
  await applyConfig(endpoint);
}

/**
 * AWS SDK v3 client config for the emulator. Credentials, region and endpoint
 * are explicit, so AWS_PROFILE / AWS_ACCESS_KEY_ID / ~/.aws config can neither
 * supply real credentials nor redirect calls to real AWS. Refuses AWS hosts.
 */
export function emulatorClientConfig(endpoint: string, region = 'us-east-1'): EmulatorClientConfig {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`emulator: invalid endpoint '${endpoint}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`emulator: endpoint must be http(s): '${endpoint}'`);
  }
  if (/(^|\.)(amazonaws\.com(\.cn)?|api\.aws)$/i.test(url.hostname)) {
    throw new Error(`emulator: refusing to use a real AWS endpoint '${endpoint}'`);
  }
  return {
    endpoint: trimSlash(endpoint),
    region,
    credentials: { ...EMULATOR_CREDENTIALS },
    // Explicit, so AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT cannot interfere.
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    // Deterministic behaviour in tests: no retries hiding emulator errors.
    maxAttempts: 1,
  };
}
