import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopServer } from '../../bench/bench-proc.ts';
import { cpuSeconds } from '../../bench/common.ts';
import { testDatabase, type TestDatabase } from './database.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = join(ROOT, 'src/server/index.ts');
const LISTENING = /Pulse listening on (http:\/\/127\.0\.0\.1:(\d+))/;
/** Output kept for failure messages. */
const OUTPUT_KEPT = 64 * 1024;

export const ADMIN_PASSWORD = 'admin-secret';

/** Every child started here, killed by pid if this process exits first. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export interface ServerProcess extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of the current process (it changes after `ensureRunning` restarts it). */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  /** Its `DATABASE_URL`: a SQLite file in `dir`, or a PostgreSQL schema under `PULSE_TEST_DB=postgres`. */
  readonly databaseUrl: string;
  /** The environment the server was started with (the overrides included). */
  readonly env: Readonly<Record<string, string>>;
  /** What the process wrote to stdout and stderr (the last 64 KiB), for failure messages. */
  output(): string;
  running(): boolean;
  /** How the last process ended, if it did: `exit 1`, `SIGKILL`. */
  exitDescription(): string | null;
  /**
   * Starts the server again on the same database when it has exited or no longer accepts
   * connections (a crash whose exit is still on its way is killed first).
   */
  ensureRunning(): Promise<void>;
  /** Resolves true once the process has exited, false if it still runs after `ms`. */
  waitForExit(ms: number): Promise<boolean>;
  /** CPU seconds (user + system) the current process has used. */
  cpuSeconds(): number;
  /** Resident memory of the current process, bytes. */
  rssBytes(): number;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Whether something accepts TCP connections on the port (bounded to 2 s). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The variables a test server gets; the parent's PULSE_* and database settings never leak in. */
function childEnv(
  overrides: Record<string, string>,
  dir: string,
  databaseUrl: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('PULSE_')) continue;
    if (['PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL'].includes(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    PULSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    PULSE_DEMO: '0',
    PULSE_DEMO_FLEET: '0',
    PULSE_SCRYPT_LOG_N: '10',
    // `stop()` waits 5 s before SIGKILL: a drain ends the streams at once unless a test asks.
    PULSE_DRAIN_S: '0',
    PULSE_STATIC_DIR: join(dir, 'none'),
    ...overrides,
  };
}

export interface ServerProcessOptions {
  /** A compiled server's `index.js` (`compiledServer()`), run by plain node instead of the sources through tsx. */
  entry?: string;
}

/**
 * A real Pulse server (`node --import tsx src/server/index.ts`) in a child process on a fresh
 * database (a SQLite file in its own temporary directory, or a PostgreSQL schema under
 * `PULSE_TEST_DB=postgres`), so that a crash is observable rather than fatal to the test runner.
 * Resolves once it prints its URL. Disposing kills it by pid, drops the schema and removes the
 * directory. A `DATABASE_URL` in `overrides` is used as given and not dropped.
 */
export async function startServerProcess(
  overrides: Record<string, string> = {},
  opts: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-proc-'));
  const database: TestDatabase | null = overrides['DATABASE_URL'] ? null : await testDatabase(dir);
  const env = childEnv(overrides, dir, database?.url ?? '');
  const databaseUrl = env['DATABASE_URL'] ?? '';
  let output = '';
  let child: ChildProcess | null = null;
  let url = '';
  let port = 0;

  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > OUTPUT_KEPT * 2) output = output.slice(-OUTPUT_KEPT);
  };

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const args = opts.entry ? [opts.entry] : ['--import', 'tsx', ENTRY];
      const proc = spawn(process.execPath, args, {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      children.add(proc);
      proc.once('exit', () => children.delete(proc));
      let seen = '';
      const timer = setTimeout(() => {
        reject(new Error(`the server did not print its URL within 60 s:\n${output.slice(-4000)}`));
      }, 60_000);
      proc.stdout?.on('data', (chunk: Buffer) => {
        keep(chunk);
        seen += chunk.toString();
        const match = LISTENING.exec(seen);
        if (match?.[1] && match[2]) {
          seen = '';
          url = match[1];
          port = Number(match[2]);
          clearTimeout(timer);
          resolve();
        }
      });
      proc.stderr?.on('data', keep);
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `the server exited (${signal ?? `code ${code}`}) before listening:\n${output.slice(-4000)}`,
          ),
        );
      });
    });

  const current = (): ChildProcess => {
    if (!child) throw new Error('no server process');
    return child;
  };
  const running = () => {
    const proc = child;
    return proc !== null && proc.exitCode === null && proc.signalCode === null;
  };
  const pidOf = () => {
    const pid = current().pid;
    if (pid === undefined) throw new Error('the server process has no pid');
    return pid;
  };

  async function stop(graceMs = 5000): Promise<void> {
    if (child && running()) await stopServer(child, graceMs);
  }

  function waitForExit(ms: number): Promise<boolean> {
    const proc = child;
    if (!proc || !running()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        proc.off('exit', onExit);
        resolve(false);
      }, ms);
      const onExit = () => {
        clearTimeout(timer);
        resolve(true);
      };
      proc.once('exit', onExit);
    });
  }

  try {
    await launch();
  } catch (error) {
    await stop(0);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    get pid() {
      return pidOf();
    },
    dir,
    databaseUrl,
    env,
    output: () => output.slice(-OUTPUT_KEPT),
    running,
    exitDescription() {
      const proc = child;
      if (!proc || running()) return null;
      return proc.signalCode ?? `exit ${proc.exitCode}`;
    },
    async ensureRunning() {
      if (running() && (await accepts(port))) return;
      if (running() && !(await waitForExit(2000))) await stop(0);
      output += '\n--- restarted by the test after the process ended ---\n';
      await launch();
    },
    waitForExit,
    cpuSeconds: () => cpuSeconds(pidOf()),
    rssBytes() {
      const status = readFileSync(`/proc/${pidOf()}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return Number(match?.[1] ?? NaN) * 1024;
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
