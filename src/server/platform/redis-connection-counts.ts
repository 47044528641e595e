import type { SharedConnectionCounts } from './connections.ts';
import type { RedisLink } from './redis.ts';

/** How long `admit` waits for Redis before the local count alone decides. */
const ADMIT_DEADLINE_MS = 250;

/**
 * Sums the live instances' counts for one key, dropping the fields of instances whose lease
 * lapsed; when this instance's count (ARGV[2], the new connection included) fits under the cap,
 * records it and renews this instance's lease. Redis's own clock: instances' clocks may differ.
 * KEYS: the key's hash (instance → count), the leases (sorted set, instance → expiry in ms).
 * ARGV: instance, count, cap, lease ms. Answers 1 (admitted) or 0.
 */
const ADMIT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local lease = tonumber(ARGV[4])
local total = tonumber(ARGV[2])
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local who = entries[i]
  if who ~= ARGV[1] then
    local expires = redis.call('ZSCORE', KEYS[2], who)
    if expires and tonumber(expires) > now then
      total = total + tonumber(entries[i + 1])
    else
      redis.call('HDEL', KEYS[1], who)
    end
  end
end
if total > tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
`;

/**
 * Renews this instance's lease and drops lapsed ones. KEYS: the leases. ARGV: instance, lease ms.
 */
const RENEW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
`;

/**
 * Per-user connection counts across instances, in Redis. Each user and transport has a hash of
 * instance → count (`<prefix>conn:<transport>:<userId>`); each instance holds a lease in a
 * sorted set (`<prefix>conn-leases`, scored by expiry), renewed every heartbeat. A check sums
 * the hash's fields of instances whose lease is live, atomically with recording this instance's
 * own count (a Lua script), so two instances cannot both admit the last place.
 *
 * Error bounds, by design:
 * - an instance that dies without a clean shutdown is counted until its lease lapses (3
 *   heartbeats, 45 s by default): its users may be refused that long, never admitted past the
 *   cap;
 * - Redis down, or slower than 250 ms: each instance applies the cap to its own connections
 *   alone, so a user may hold up to (instances × cap) until Redis answers again;
 * - Redis back empty: every instance writes all of its counts at its next heartbeat, so for at
 *   most one heartbeat the others' connections are not counted;
 * - a count written for a connection that then closes is corrected by the `report` that
 *   follows, or the next heartbeat if that one was lost.
 */
export function createRedisConnectionCounts(deps: {
  link: RedisLink;
  prefix: string;
  instance: string;
  /** Heartbeat period; a lease lasts three. */
  heartbeatMs: number;
}): SharedConnectionCounts & {
  /** Renews the lease and rewrites every count this instance holds, every heartbeat, until `signal`. */
  start(counts: () => Iterable<[string, number]>, signal: AbortSignal): void;
  /** Gives up this instance's lease and counts (clean shutdown). */
  close(counts: () => Iterable<[string, number]>): Promise<void>;
} {
  const { link, prefix, instance } = deps;
  const leaseMs = deps.heartbeatMs * 3;
  const leases = `${prefix}conn-leases`;
  const hashOf = (key: string) => `${prefix}conn:${key}`;

  function heartbeat(counts: Iterable<[string, number]>) {
    if (!link.up()) return;
    const batch = link.client.multi();
    batch.eval(RENEW, 1, leases, instance, leaseMs);
    for (const [key, count] of counts) {
      batch.hset(hashOf(key), instance, count);
      batch.pexpire(hashOf(key), leaseMs);
    }
    batch.exec().catch(() => undefined);
  }

  return {
    async admit(key, count, max) {
      if (!link.up()) return null;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), ADMIT_DEADLINE_MS);
      });
      const answer = link.client
        .eval(ADMIT, 2, hashOf(key), leases, instance, count, max, leaseMs)
        .then(
          (admitted) => admitted === 1,
          () => null,
        );
      try {
        return await Promise.race([answer, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    report(key, count) {
      if (!link.up()) return;
      const done = count > 0 ? link.client.hset(hashOf(key), instance, count) : null;
      (done ?? link.client.hdel(hashOf(key), instance)).catch(() => undefined);
    },
    start(counts, signal) {
      // Redis back (maybe empty): write everything at once rather than at the next beat.
      link.onChange((up) => {
        if (up && !signal.aborted) heartbeat(counts());
      });
      heartbeat(counts());
      const timer = setInterval(() => heartbeat(counts()), deps.heartbeatMs);
      timer.unref();
      signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    },
    async close(counts) {
      if (!link.up()) return;
      const batch = link.client.multi();
      batch.zrem(leases, instance);
      for (const [key] of counts()) batch.hdel(hashOf(key), instance);
      await batch.exec().catch(() => undefined);
    },
  };
}
