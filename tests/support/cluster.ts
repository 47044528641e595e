import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { freePort, nginxMissing, startNginx, type Nginx } from '../../scripts/nginx.ts';
import { compiledServer } from './compiled-server.ts';
import { eventually } from './live.ts';
import { ADMIN_PASSWORD, startServerProcess, type ServerProcess } from './server-process.ts';

/**
 * `describe` for suites that need what `missing` lists not to be missing (each entry says what
 * is absent, or is null when it is there). Without it the suite is skipped, saying so, except
 * under `CI=true`, where anything missing is a failure, not a skip.
 */
export function describeWhen(
  name: string,
  missing: readonly (string | null)[],
  suite: () => void,
): void {
  const absent = missing.filter((reason): reason is string => reason !== null).join('; ');
  if (!absent) {
    describe(name, suite);
  } else if (process.env['CI'] === 'true') {
    describe(name, () => {
      it('has what it needs to run', () => {
        throw new Error(`Cannot run "${name}": ${absent}`);
      });
    });
  } else {
    console.warn(`Skipping "${name}": ${absent}; under CI=true this fails instead`);
    describe.skip(`${name} [skipped: ${absent}]`, suite);
  }
}

/** `describe` for suites that run nginx (see `describeWhen`). */
export function describeWithNginx(name: string, suite: () => void): void {
  describeWhen(name, [nginxMissing()], suite);
}

export interface ClusterOptions {
  /** Instances (default 1). More than one needs `DATABASE_URL=postgres://…` and `REDIS_URL` in `env`. */
  instances?: number;
  /** Environment of every instance (on top of the test defaults of `startServerProcess`). */
  env?: Record<string, string>;
}

export interface TestCluster extends AsyncDisposable {
  /** nginx's URL: what clients use. */
  readonly url: string;
  readonly nginx: Nginx;
  /** The instances now serving, each on its fixed port (nginx's upstreams). */
  readonly instances: readonly ServerProcess[];
  /**
   * Replaces instance `i` as a rolling restart does: SIGTERM (it drains), a successor on the
   * same port as soon as the old one has stopped listening, and back once its /healthz is ok
   * (nginx sends to it from the moment it listens).
   * The old one goes on draining (`drained` waits for it); it is awaited on disposal.
   */
  restart(i: number): Promise<void>;
  /** `restart` of every instance, one after the other. */
  rollingRestart(): Promise<void>;
  /** Resolves once every instance `restart` replaced has exited; fails after `ms`. */
  drained(ms: number): Promise<void>;
  /**
   * SIGKILL to instance `i` (no drain, no goodbye: a crash); resolves once it has exited. Its
   * port stays dead: nginx fails its clients over to the others.
   */
  kill(i: number): Promise<void>;
}

/** Resolves once `check` holds, polling the process's own output; fails after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function healthy(url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await fetch(`${url}/healthz`).then(
      (answer) => answer.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url}/healthz not ok within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Pulse instances (the compiled server, as `npm run cluster` runs it) on free ports, and nginx
 * in front of them with the config of deploy/ (round robin, WebSocket upgrades, unbuffered
 * SSE, passive failover, X-Forwarded-For). Each instance answers nginx's Host
 * (`PULSE_PUBLIC_HOSTS`) and trusts it for client addresses (`PULSE_TRUSTED_PROXIES`).
 * Disposal stops nginx and every instance, successors and drained ones.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<TestCluster> {
  const count = opts.instances ?? 1;
  const env = { ...opts.env };
  if (count > 1 && !/^postgres(ql)?:\/\//.test(env['DATABASE_URL'] ?? '')) {
    throw new Error('Several instances share one database: pass DATABASE_URL=postgres://…');
  }
  const entry = await compiledServer();
  const nginxPort = await freePort();
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const envOf = (port: number): Record<string, string> => ({
    PULSE_PUBLIC_HOSTS: `127.0.0.1:${nginxPort},localhost:${nginxPort}`,
    PULSE_TRUSTED_PROXIES: '127.0.0.1',
    ...env,
    PORT: String(port),
  });
  const instances: ServerProcess[] = [];
  const retired: ServerProcess[] = [];
  const runDir = mkdtempSync(join(tmpdir(), 'pulse-nginx-'));
  let nginx: Nginx | null = null;

  async function dispose() {
    await nginx?.stop();
    // Successors first: a drained instance's directory may hold the SQLite database they use.
    for (const instance of [...instances, ...retired.reverse()])
      await instance[Symbol.asyncDispose]();
    rmSync(runDir, { recursive: true, force: true });
  }

  try {
    // The first alone (it migrates and seeds an empty database), then the others together.
    instances.push(await startServerProcess(envOf(ports[0]!), { entry }));
    // Unless told otherwise, every instance (and successor) uses the first one's database.
    env['DATABASE_URL'] ??= instances[0]!.databaseUrl;
    instances.push(
      ...(await Promise.all(
        ports.slice(1).map((port) => startServerProcess(envOf(port), { entry })),
      )),
    );
    nginx = await startNginx({
      host: '127.0.0.1',
      port: nginxPort,
      upstreams: ports,
      runDir,
    });
  } catch (error) {
    await dispose();
    throw error;
  }
  const running = nginx;

  async function restart(i: number) {
    const old = instances[i];
    if (!old) throw new Error(`no instance ${i}`);
    process.kill(old.pid, 'SIGTERM');
    await until(() => /: draining/.test(old.output()) || !old.running(), 10_000, 'the drain');
    retired.push(old);
    const port = ports[i]!;
    const successor = await startServerProcess(envOf(port), { entry });
    instances[i] = successor;
    await healthy(successor.url, 30_000);
  }

  return {
    url: running.url,
    nginx: running,
    instances,
    restart,
    async rollingRestart() {
      for (let i = 0; i < instances.length; i++) await restart(i);
    },
    async drained(ms) {
      const deadline = Date.now() + ms;
      for (const old of retired) {
        if (!(await old.waitForExit(Math.max(0, deadline - Date.now()))))
          throw new Error(`a replaced instance still runs after ${ms} ms:\n${old.output()}`);
      }
    },
    async kill(i) {
      const instance = instances[i];
      if (!instance) throw new Error(`no instance ${i}`);
      process.kill(instance.pid, 'SIGKILL');
      if (!(await instance.waitForExit(10_000))) throw new Error(`instance ${i} outlived SIGKILL`);
    },
    [Symbol.asyncDispose]: dispose,
  };
}

export interface ClusterScript {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** nginx's URL. */
  url: string;
  /** Everything the script printed so far (stdout and stderr). */
  output(): string;
  /** Waits until the script has printed a line matching `pattern`. */
  printed(pattern: RegExp, ms: number, what: string): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * `npm run cluster` as an operator runs it (`scripts/cluster.ts` with the compiled server), on
 * a free port, listening once it resolves; `env` gives DATABASE_URL, REDIS_URL and the rest.
 * The caller ends it (SIGTERM), or SIGKILLs it on the way out.
 */
export async function runClusterScript(
  instances: number,
  env: Record<string, string>,
): Promise<ClusterScript> {
  const server = await compiledServer();
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/cluster.ts', '--instances', String(instances)].concat([
      '--port',
      String(port),
      '--server',
      server,
    ]),
    {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        ...process.env,
        PULSE_DEMO: '0',
        PULSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
        PULSE_SCRYPT_LOG_N: '10',
        PULSE_DRAIN_S: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const printed = (pattern: RegExp, ms: number, what: string) =>
    eventually(() => pattern.test(output), ms, what);
  try {
    await printed(/Cluster listening on http/, 60_000, 'the cluster');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, printed, exited };
}
