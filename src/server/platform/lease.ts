import type { RedisLink } from './redis.ts';

/**
 * Work that one instance does on behalf of all of them (the living demo's simulator): with
 * Redis, the instance holding a lease does it, and when that instance stops or dies another
 * takes over within the lease's lifetime; an instance on its own always holds it.
 */
export interface Leases {
  /**
   * Runs `task` while this instance holds the lease `name`, with a signal that aborts when the
   * lease is lost or `signal` aborts; after a loss it waits to hold the lease again. Resolves
   * once `signal` has aborted and the task settled, or when the task ends by itself.
   */
  hold(
    name: string,
    task: (signal: AbortSignal) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void>;
}

/** One instance alone: the lease is always its own. */
export const soleLeases: Leases = {
  hold: (_name, task, signal) => task(signal),
};

/** Extends the lease only while this instance holds it. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Gives the lease up only if this instance holds it. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Leases in Redis (`<prefix>lease:<name>`, holding the instance's id, expiring after `ttlMs`):
 * taken with `SET NX PX`, renewed every third of `ttlMs`, released on the way out. When
 * renewals fail (Redis unreachable), the holder stops the task before the lease may have lapsed,
 * so that two instances never run it at once for longer than a renewal's round trip.
 */
export function redisLeases(deps: {
  link: RedisLink;
  prefix: string;
  instance: string;
  ttlMs: number;
}): Leases {
  const { link, prefix, instance, ttlMs } = deps;
  const { client } = link;
  const every = Math.max(50, Math.floor(ttlMs / 3));

  return {
    async hold(name, task, signal) {
      const key = `${prefix}lease:${name}`;
      while (!signal.aborted) {
        const taken = link.up()
          ? await client.set(key, instance, 'PX', ttlMs, 'NX').catch(() => null)
          : null;
        if (taken !== 'OK') {
          await sleep(every, signal);
          continue;
        }
        const held = new AbortController();
        const lose = () => held.abort();
        signal.addEventListener('abort', lose, { once: true });
        let renewedAt = Date.now();
        const renewals = setInterval(() => {
          const sentAt = Date.now();
          client.eval(RENEW, 1, key, instance, ttlMs).then(
            (kept) => {
              if (kept === 1) renewedAt = sentAt;
              else lose();
            },
            () => {
              if (Date.now() - renewedAt > ttlMs - 2 * every) lose();
            },
          );
        }, every);
        renewals.unref();
        try {
          await task(held.signal);
        } finally {
          clearInterval(renewals);
          signal.removeEventListener('abort', lose);
          await client.eval(RELEASE, 1, key, instance).catch(() => undefined);
        }
        // Ended by itself (not by a loss or the stop): not started again.
        if (!held.signal.aborted) return;
      }
    },
  };
}
