import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../scripts/nginx.ts';

/**
 * Private Redis servers for tests that stop, hang or restart Redis: each its own
 * `redis-server` on a free port, with no persistence (it comes back empty, as the contract
 * allows), killed by its own pid only. The machine's shared Redis is never touched.
 */

/** Every redis-server started here, killed by pid if this process exits first. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

/** Whether `redis-server` can be run here. */
export const redisAvailable =
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** Why a suite is skipped without `redis-server` (never under CI=true, where it must fail). */
export const redisMissing =
  !redisAvailable && process.env['CI'] !== 'true'
    ? 'redis-server is not installed: the Redis tests are skipped (apt-get install redis-server)'
    : null;

/** Whether a Redis on `port` answers PING within `ms`. */
function pong(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let seen = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('+PONG')) done(true);
    });
    socket.once('error', () => done(false));
  });
}

export interface PrivateRedis extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** The running server's pid. */
  readonly pid: number;
  running(): boolean;
  /** SIGKILL: no clean shutdown, nothing saved. Resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty). */
  start(): Promise<void>;
  /** SIGSTOP: it stops answering without closing connections (a hung Redis). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
}

export async function startRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let paused = false;

  async function start() {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    child = proc;
    children.add(proc);
    proc.once('exit', () => children.delete(proc));
    const deadline = Date.now() + 10_000;
    while (!(await pong(port, 500))) {
      if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function kill() {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    if (paused) resume();
    proc.kill('SIGKILL');
    await exited;
  }

  function resume() {
    paused = false;
    child?.kill('SIGCONT');
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      const pid = child?.pid;
      if (pid === undefined) throw new Error('redis-server is not running');
      return pid;
    },
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    kill,
    start,
    pause() {
      paused = true;
      child?.kill('SIGSTOP');
    },
    resume,
    async [Symbol.asyncDispose]() {
      await kill();
    },
  };
}
