/**
 * `npm run cluster [-- --instances N --port P]`: N Pulse instances (the compiled server) on one
 * PostgreSQL database and one Redis, behind nginx on one port, as they would run in production.
 *
 *   DATABASE_URL   default postgres://postgres@127.0.0.1:5432/pulse_cluster (created when missing)
 *   REDIS_URL      default redis://127.0.0.1:6379; set it empty for none (one instance only)
 *
 * Ctrl-C or SIGTERM drains every instance (a second one stops them at once), then stops nginx.
 * SIGHUP (`kill -HUP <pid>`, printed at start) restarts the instances one at a time, as a
 * deploy would: each drains while its successor starts on its port, and the next waits until
 * the successor's /healthz answers ok.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, startNginx, type Nginx } from './nginx.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/pulse_cluster';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const LISTENING = /Pulse listening on (http:\/\/\S+)/;

function usage(message: string): never {
  console.error(`${message}\nUsage: npm run cluster -- [--instances N] [--port P] [--host H]`);
  process.exit(2);
}

function options() {
  try {
    return parseArgs({
      options: {
        instances: { type: 'string', default: '3' },
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        /** The compiled server to run (tests point it at their own build). */
        server: { type: 'string', default: join(ROOT, 'dist/server/index.js') },
      },
      strict: true,
    }).values;
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
}
const values = options();
const count = Number(values.instances);
const port = Number(values.port);
if (!Number.isInteger(count) || count < 1 || count > 32) usage('--instances: 1 to 32');
if (!Number.isInteger(port) || port < 0 || port > 65535) usage('--port: 0 to 65535 (0: any free)');

const databaseUrl = process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL;
const redisUrl = process.env['REDIS_URL'] ?? DEFAULT_REDIS_URL;
if (count > 1 && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
  usage('Several instances share one PostgreSQL database: set DATABASE_URL=postgres://…');
}
if (count > 1 && redisUrl === '') usage('Several instances need Redis: set REDIS_URL=redis://…');

/** Creates the database of a postgres:// URL when it does not exist yet. */
async function ensureDatabase(url: string): Promise<void> {
  const { default: pg } = await import('pg');
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  // pg takes the user from $USER when the URL names none; a container may have neither.
  if (!admin.username) admin.username = process.env['PGUSER'] || process.env['USER'] || 'postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`create database "${name.replaceAll('"', '""')}"`);
      console.log(`Created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

interface Instance {
  name: string;
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** Resolves when it says it drains (it has stopped listening). */
  draining: Promise<void>;
}

const publicPort = port;
const everyChild = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of everyChild) if (child.exitCode === null) child.kill('SIGKILL');
});

function instanceEnv(instancePort: number, nginxPort: number): NodeJS.ProcessEnv {
  const hosts = [`127.0.0.1:${nginxPort}`, `localhost:${nginxPort}`];
  if (values.host !== '127.0.0.1') hosts.push(`${values.host}:${nginxPort}`);
  const extra = (name: string) => (process.env[name] ? [process.env[name]] : []);
  return {
    ...process.env,
    PORT: String(instancePort),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    PULSE_DEMO: process.env['PULSE_DEMO'] ?? '1',
    // The Host and Origin browsers send are nginx's; the client address comes from nginx.
    PULSE_PUBLIC_HOSTS: [...extra('PULSE_PUBLIC_HOSTS'), ...hosts].join(','),
    PULSE_TRUSTED_PROXIES: [...extra('PULSE_TRUSTED_PROXIES'), '127.0.0.1'].join(','),
  };
}

/** Starts one instance on `instancePort`; resolves once it listens. */
function startInstance(name: string, instancePort: number, nginxPort: number): Promise<Instance> {
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=32', '--enable-source-maps', values.server],
    { cwd: ROOT, env: instanceEnv(instancePort, nginxPort), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  everyChild.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      everyChild.delete(child);
      resolve();
    }),
  );
  let markDraining: () => void = () => undefined;
  const draining = new Promise<void>((resolve) => (markDraining = resolve));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) =>
      console.error(`[${name}] ${line}`),
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      console.log(`[${name}] ${line}`);
      if (/: draining/.test(line)) markDraining();
      if (LISTENING.test(line)) resolve({ name, port: instancePort, child, exited, draining });
    });
    void exited.then(() =>
      reject(new Error(`${name} exited (${child.exitCode}) before listening`)),
    );
  });
}

async function healthy(instancePort: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const answer = await fetch(`http://127.0.0.1:${instancePort}/healthz`);
      if (answer.status === 200) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline)
      throw new Error(`/healthz on port ${instancePort} not ok in ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main() {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) await ensureDatabase(databaseUrl);
  const nginxPort = publicPort === 0 ? await freePort(values.host) : publicPort;
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  // The first alone, so that it migrates and seeds an empty database; the rest together.
  const instances: Instance[] = [await startInstance('pulse-1', ports[0]!, nginxPort)];
  instances.push(
    ...(await Promise.all(
      ports.slice(1).map((p, i) => startInstance(`pulse-${i + 2}`, p, nginxPort)),
    )),
  );
  const runDir = mkdtempSync(join(tmpdir(), 'pulse-nginx-'));
  let nginx: Nginx;
  try {
    nginx = await startNginx({ host: values.host, port: nginxPort, upstreams: ports, runDir });
  } catch (error) {
    for (const instance of instances) instance.child.kill('SIGTERM');
    throw error;
  }
  everyChild.add(nginx.child);
  console.log(
    `Pulse cluster: ${count} instance(s) (ports ${ports.join(', ')}) behind nginx on ${nginx.url}`,
  );
  console.log(`Cluster listening on ${nginx.url}`);
  console.log(
    `Ctrl-C drains and stops; kill -HUP ${process.pid} restarts the instances one at a time`,
  );

  let restarting: Promise<void> | null = null;
  let stopping = false;

  async function rollingRestart() {
    const draining: Promise<unknown>[] = [];
    for (let i = 0; i < instances.length; i++) {
      if (stopping) return;
      const old = instances[i]!;
      draining.push(old.exited);
      console.log(`Rolling restart: ${old.name} drains, its successor starts on port ${old.port}`);
      old.child.kill('SIGTERM');
      await Promise.race([old.draining, old.exited]);
      const next = await startInstance(old.name, old.port, nginxPort);
      instances[i] = next;
      // nginx sends to it as soon as it listens (it never leaves an instance out: max_fails=0);
      // the next one stops once this one answers.
      await healthy(next.port, 60_000);
      console.log(`Rolling restart: ${next.name} is healthy`);
    }
    // Done when the old instances are gone too: each ends its streams over its drain window.
    await Promise.all(draining);
    console.log('Rolling restart done');
  }

  process.on('SIGHUP', () => {
    if (stopping) return;
    if (restarting) return void console.log('A rolling restart is under way already');
    restarting = rollingRestart()
      .catch((error: unknown) => console.error('Rolling restart failed:', error))
      .finally(() => (restarting = null));
  });

  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // Again: the instances end their drain at once.
      for (const child of everyChild) if (child !== nginx.child) child.kill(signal);
      return;
    }
    stopping = true;
    console.log(`${signal}: draining the instances (${signal} again to stop at once)`);
    const running = [...everyChild].filter((child) => child !== nginx.child);
    const exits = running.map(
      (child) => new Promise<number | null>((resolve) => child.once('exit', resolve)),
    );
    for (const child of running) child.kill(signal);
    const codes = await Promise.all(exits);
    await nginx.stop();
    rmSync(runDir, { recursive: true, force: true });
    const failed = codes.filter((code) => code !== 0).length;
    console.log(failed ? `Stopped; ${failed} instance(s) exited with an error` : 'Stopped');
    process.exit(failed ? 1 : 0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  void nginx.child.once('exit', () => {
    if (!stopping) {
      console.error(`nginx exited:\n${nginx.output()}`);
      void stop('SIGTERM');
    }
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
