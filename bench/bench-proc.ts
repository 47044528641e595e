/**
 * Shared plumbing of bench/ops.ts and bench/chat.ts: seeding users with chosen token scopes,
 * starting a server in its own (pinned) process, pinning the load to the other core, latency
 * histograms and table printing. Every process started here is tracked by pid and killed on exit.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hashPassword, hashSecret, newSecret } from '../src/server/features/auth/secrets.ts';
import { openDatabase } from '../src/server/platform/db.ts';
import { createUserStore } from '../src/server/features/users/store.ts';
import { createTeamStore } from '../src/server/features/users/team-store.ts';
import { createTokenStore } from '../src/server/features/auth/token-store.ts';
import type { TokenScope } from '../src/shared/schemas/auth.ts';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const rootDir = dirname(benchDir);

export const pinning =
  spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0 && availableParallelism() >= 2;

/** Pins this process (the load generator) to `cpu`, when taskset is there. */
export function pinSelf(cpu: number): void {
  if (pinning)
    spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

// ---------------------------------------------------------------------------------------------
// Child processes.

const children = new Set<ChildProcess>();
let workDir: string | null = null;

export function makeWorkDir(): string {
  workDir = mkdtempSync(join(tmpdir(), 'pulse-bench-'));
  return workDir;
}

function killAllNow(): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

process.on('exit', () => {
  killAllNow();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the benchmark`);
    process.exit(130);
  });
}

export interface Started {
  child: ChildProcess;
  pid: number;
  url: string;
}

/**
 * How Pulse runs as a server (as `npm start` runs it): a young generation large enough that a
 * busy server's short-lived garbage dies young instead of being promoted, which otherwise
 * brings old-generation collections that stall the event loop for 50–100 ms under load.
 */
export const PULSE_NODE_FLAGS = ['--max-semi-space-size=32'];
let compiled = false;
/**
 * Node's arguments for Pulse as `npm start` runs it: the compiled server (`npm run
 * build:server`, once per benchmark process), plain JavaScript without a TypeScript loader,
 * whose per-closure helpers would otherwise be measured too.
 */
export const pulseServerArgs = (): string[] => {
  if (!compiled) {
    console.error('compiling the server (npm run build:server)');
    execFileSync('npm', ['run', '-s', 'build:server'], { cwd: rootDir, stdio: 'inherit' });
    compiled = true;
  }
  return [...PULSE_NODE_FLAGS, '--enable-source-maps', join(rootDir, 'dist/server/index.js')];
};

/** Starts `node <args>` (pinned to `cpu`) and resolves once it prints `listening on http://…`. */
export function startServer(
  name: string,
  cpu: number,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<Started> {
  const command = pinning ? 'taskset' : process.execPath;
  const argv = pinning ? ['-c', String(cpu), process.execPath, ...args] : [...args];
  const child = spawn(command, argv, { cwd: rootDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (child.stderr)
    createInterface({ input: child.stderr }).on('line', (l) => console.error(`  [${name}] ${l}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening`));
    });
    if (!child.stdout) return reject(new Error(`${name} has no stdout`));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /listening on (http:\/\/[^\s)]+)/i.exec(line);
      if (match?.[1] && child.pid !== undefined) {
        clearTimeout(timer);
        resolve({ child, pid: child.pid, url: match[1] });
      }
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopServer(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts a server on CPU 0, runs `body` with it, and stops it. */
export async function withServer<T>(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  body: (server: Started) => Promise<T>,
): Promise<T> {
  console.error(`\n${name}: starting the server${pinning ? ' on CPU 0' : ''}`);
  const server = await startServer(name, 0, args, env);
  console.error(`${name}: ${server.url} (pid ${server.pid})`);
  try {
    return await body(server);
  } finally {
    await stopServer(server.child);
  }
}

/** The environment of a real Pulse server on a fresh SQLite database in `dir`. */
export function pulseEnv(
  dir: string,
  dbPath: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: `sqlite:${dbPath}`,
    PORT: '0',
    HOST: '127.0.0.1',
    PULSE_DEMO: '0',
    PULSE_SCRYPT_LOG_N: '10',
    // Stopped by SIGTERM with a grace period: end the streams at once rather than over 10 s.
    PULSE_DRAIN_S: '0',
    PULSE_STATIC_DIR: join(dir, 'no-web-app'),
    PULSE_MAX_CONNECTIONS_PER_USER: '50',
    // Every simulated client shares 127.0.0.1; WebSockets that authenticate by connectionParams
    // count against their address until their first message, so one address must hold them all.
    PULSE_MAX_ANON_CONNECTIONS_PER_ADDRESS: '100000',
    ...extra,
  };
  delete env.REDIS_URL;
  delete env.PULSE_ALLOWED_ORIGINS;
  return env;
}

// ---------------------------------------------------------------------------------------------
// Seeding: the server's own stores, an admin and `members` members of one team, each with a
// token of the scopes asked for.

export interface Seeded {
  teamId: string;
  teamName: string;
  adminToken: string;
  memberTokens: string[];
  memberUsernames: string[];
}

export async function seedUsers(
  /** A SQLite file path, or a `postgres://` URL. */
  database: string,
  members: number,
  adminScopes: TokenScope[],
  memberScopes: TokenScope[],
): Promise<Seeded> {
  const db = await openDatabase(database.startsWith('postgres') ? database : `sqlite:${database}`);
  try {
    const users = createUserStore(db);
    const teams = createTeamStore(db);
    const tokens = createTokenStore(db);
    const passwordHash = await hashPassword(newSecret('pw_'), 10);
    const admin = await users.create({
      username: 'admin',
      displayName: 'Administrator',
      role: 'admin',
      passwordHash,
      teamIds: [],
    });
    const team = await teams.create('bench');
    if (!admin || !team) throw new Error('seeding: the database is not empty');
    const adminToken = newSecret('pulse_');
    await tokens.create({
      userId: admin.id,
      name: 'bench admin',
      tokenHash: hashSecret(adminToken),
      scopes: adminScopes,
    });
    const memberTokens: string[] = [];
    const memberUsernames: string[] = [];
    for (let i = 0; i < members; i++) {
      const user = await users.create({
        username: `m${i}`,
        displayName: `Member ${i}`,
        role: 'member',
        passwordHash,
        teamIds: [team.id],
      });
      if (!user) throw new Error(`seeding: user m${i} exists`);
      const token = newSecret('pulse_');
      await tokens.create({
        userId: user.id,
        name: 'bench member',
        tokenHash: hashSecret(token),
        scopes: memberScopes,
      });
      memberTokens.push(token);
      memberUsernames.push(user.username);
    }
    return { teamId: team.id, teamName: team.name, adminToken, memberTokens, memberUsernames };
  } finally {
    await db.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

/** Wall-clock ms with sub-millisecond resolution (timestamps from the server are wall clock). */
const clockOffset = Date.now() - performance.now();
export const wallNow = (): number => clockOffset + performance.now();

/** Latency histogram, 0.1 ms buckets up to 120 s. */
export class Histogram {
  private readonly buckets = new Uint32Array(1_200_001);
  count = 0;
  add(ms: number): void {
    const i = Math.min(this.buckets.length - 1, Math.max(0, Math.round(ms * 10)));
    this.buckets[i] = (this.buckets[i] ?? 0) + 1;
    this.count++;
  }
  /** Adds every latency `other` holds. */
  merge(other: Histogram): this {
    for (let i = 0; i < this.buckets.length; i++)
      this.buckets[i] = (this.buckets[i] ?? 0) + (other.buckets[i] ?? 0);
    this.count += other.count;
    return this;
  }
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(this.count * p));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= rank) return i / 10;
    }
    return NaN;
  }
}

export const fmt = (n: number, digits = 1): string =>
  Number.isFinite(n) ? n.toFixed(digits) : 'n/a';

/** A plain text table; the first column left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const stamp = (d: Date): string => d.toISOString().replace(/[:.]/g, '-');

/** What a result file says about the machine it was measured on. */
export function machineFacts(loadavgAtStart: unknown) {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    pinned: pinning,
    loadavgAtStart,
  };
}

/**
 * Runs a benchmark's `main`: a failure is printed and makes the exit code 1; then `cleanup`, and
 * the process exits shortly after, so that sockets or timers left behind do not keep it alive.
 */
export function runBenchmark(main: () => Promise<void>, cleanup: () => void = () => undefined) {
  void main()
    .catch((error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exitCode = 1;
    })
    .finally(() => {
      cleanup();
      setTimeout(() => process.exit(), 200).unref();
    });
}
