/**
 * nginx as a child process in front of Pulse instances: the config rendered from
 * deploy/nginx.conf.template into a directory of its own (config, pid, logs, temp files), run
 * in the foreground so that it lives and dies with its parent. Used by `npm run cluster` and
 * by the tests' cluster (tests/support/cluster.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's nginx (`apt-get install nginx`); `PULSE_NGINX` names another binary. */
export const NGINX_PATH = process.env['PULSE_NGINX'] || '/usr/sbin/nginx';

export const NGINX_TEMPLATE = fileURLToPath(
  new URL('../deploy/nginx.conf.template', import.meta.url),
);

/** Why nginx cannot run here, or null when it can. */
export function nginxMissing(): string | null {
  return existsSync(NGINX_PATH)
    ? null
    : `no nginx at ${NGINX_PATH} (apt-get install nginx, or set PULSE_NGINX)`;
}

export interface NginxConfig {
  /** Where nginx listens. */
  host: string;
  port: number;
  /** The instances' ports on 127.0.0.1. */
  upstreams: readonly number[];
  /** nginx's own directory: config, pid, error log, temp files. */
  runDir: string;
}

/** The config for `config`, from the template. */
export function renderNginxConfig(config: NginxConfig): string {
  const servers = config.upstreams
    // max_fails=0: see the template's upstream block.
    .map((port) => `    server 127.0.0.1:${port} max_fails=0;`)
    .join('\n');
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const values: Record<string, string> = {
    RUN_DIR: config.runDir,
    LISTEN: `${host}:${config.port}`,
    UPSTREAM_SERVERS: servers,
  };
  return readFileSync(NGINX_TEMPLATE, 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined)
      throw new Error(`Unknown placeholder {{${name}}} in the nginx template`);
    return value;
  });
}

/** A port nothing listens on now (the system's pick; someone may take it before we do). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on `host:port`; rejects after `ms`. */
export async function waitForPort(host: string, port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Nginx {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** What nginx wrote to its error log and stderr. */
  output(): string;
  /** Stops nginx (SIGTERM: at once) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Renders the config into `config.runDir` and starts nginx; resolves once it accepts connections. */
export async function startNginx(config: NginxConfig): Promise<Nginx> {
  const missing = nginxMissing();
  if (missing) throw new Error(`Cannot start nginx: ${missing}`);
  // Workers run as nobody when the master is root: they must reach their temp directories.
  chmodSync(config.runDir, 0o755);
  const confPath = join(config.runDir, 'nginx.conf');
  writeFileSync(confPath, renderNginxConfig(config));
  let stderr = '';
  const child = spawn(
    NGINX_PATH,
    ['-p', config.runDir, '-c', confPath, '-e', join(config.runDir, 'error.log')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const output = () => {
    const log = join(config.runDir, 'error.log');
    return stderr + (existsSync(log) ? readFileSync(log, 'utf8') : '');
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const early = exited.then(() => {
    throw new Error(`nginx exited at start:\n${output()}`);
  });
  await Promise.race([waitForPort(config.host, config.port, 10_000), early]);
  early.catch(() => undefined);
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${config.port}`,
    port: config.port,
    child,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
