import { Redis, type RedisOptions } from 'ioredis';

/** A command that has not answered in this long fails (and its caller falls back). */
export const REDIS_COMMAND_TIMEOUT_MS = 500;
/** A connection with a command outstanding and no byte from Redis for this long is dropped. */
const SOCKET_TIMEOUT_MS = 2000;
/** How often both connections are pinged, so that a Redis that hangs is noticed while idle. */
const PROBE_MS = 1000;

/**
 * This instance's two connections to Redis and whether they work. `client` carries commands
 * (publish, rate limits, connection counts); `subscriber` carries the one pub/sub subscription
 * of the instance. Both fail fast rather than queue: no offline queue, every command bounded by
 * `REDIS_COMMAND_TIMEOUT_MS`, and a Redis that stops answering (hung, or gone without a reset)
 * is dropped after `SOCKET_TIMEOUT_MS` and reconnected in the background, so callers check
 * `up()` and fall back to what this instance knows alone.
 */
export interface RedisLink {
  readonly client: Redis;
  readonly subscriber: Redis;
  /** Both connections are ready. */
  up(): boolean;
  /** Called on every change of `up()` (not on repeats). */
  onChange(listener: (up: boolean) => void): void;
  close(): Promise<void>;
}

/** The URL without its password, for logs. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis';
  }
}

export function connectRedis(url: string, opts: { name: string }): RedisLink {
  const options: RedisOptions = {
    connectionName: opts.name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    connectTimeout: SOCKET_TIMEOUT_MS,
    // Reconnect soon and keep trying, at most a second apart: the outage ends when Redis is back.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
    // The bus subscribes again itself once the connection is ready, then knows it may catch up.
    autoResubscribe: false,
  };
  const client = new Redis(url, options);
  const subscriber = new Redis(url, options);
  const listeners: ((up: boolean) => void)[] = [];
  const where = redacted(url);
  let closing = false;
  let last = false;
  /** When the current outage began; null while up. The start counts as one until connected. */
  let downSince: number | null = Date.now();
  let warned = false;

  const up = () => client.status === 'ready' && subscriber.status === 'ready';

  function changed() {
    const now = up();
    if (now === last || closing) return;
    last = now;
    if (now) {
      if (warned && downSince !== null) {
        const seconds = ((Date.now() - downSince) / 1000).toFixed(1);
        console.warn(`Redis at ${where} is back after ${seconds} s; catching up`);
      }
      downSince = null;
      warned = false;
    } else {
      downSince ??= Date.now();
      warnOnce();
    }
    for (const listener of listeners) listener(now);
  }

  // Once per outage, however many reconnect attempts fail.
  function warnOnce() {
    if (warned || closing) return;
    warned = true;
    console.warn(
      `Redis at ${where} does not answer: this instance serves its own clients alone until it is back`,
    );
  }

  for (const connection of [client, subscriber]) {
    // Failures show in the connection's status; one warning per outage says it all.
    connection.on('error', () => {
      if (!last) warnOnce();
    });
    for (const event of ['ready', 'close', 'end', 'reconnecting']) connection.on(event, changed);
  }

  const probe = setInterval(() => {
    for (const connection of [client, subscriber]) {
      if (connection.status === 'ready') connection.ping().catch(() => undefined);
    }
  }, PROBE_MS);
  probe.unref();

  return {
    client,
    subscriber,
    up,
    onChange(listener) {
      listeners.push(listener);
    },
    async close() {
      closing = true;
      clearInterval(probe);
      // Commands already sent are answered first; a connection that is not up just ends.
      await Promise.all(
        [client, subscriber].map(async (connection) => {
          if (connection.status !== 'ready') return connection.disconnect();
          await connection.quit().catch(() => connection.disconnect());
        }),
      );
    },
  };
}
