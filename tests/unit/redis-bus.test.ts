import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consume, type EventBus, type Topics } from '../../src/server/platform/bus.ts';
import { connectRedis, type RedisLink } from '../../src/server/platform/redis.ts';
import { createRedisBus } from '../../src/server/platform/redis-bus.ts';
import { eventually } from '../support/live.ts';
import { redisMissing, startRedis, type PrivateRedis } from '../support/redis.ts';

type Seq = Topics['incidents.changed'];

/** What a consumer of one topic on a bus has seen, and the resyncs it was told about. */
function follow(bus: EventBus, signal: AbortSignal) {
  const seen: number[] = [];
  const resyncs: number[] = [];
  const waiters = new Set<() => void>();
  const changed = () => waiters.forEach((w) => w());
  consume({
    subscribe: () => bus.subscribe('incidents.changed', signal),
    signal,
    what: 'test',
    handle: ({ seq }: Seq) => {
      seen.push(seq);
      changed();
    },
    resumed: (since) => {
      resyncs.push(since);
      changed();
    },
  });
  const until = (check: () => boolean, what: string, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(test);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      const test = () => {
        if (!check()) return;
        clearTimeout(timer);
        waiters.delete(test);
        resolve();
      };
      waiters.add(test);
      test();
    });
  return { seen, resyncs, until };
}

/**
 * Publishes `seq`, `seq + 1`, … on `from` until one reaches `to`; returns it. On a busy machine
 * a link can drop again just after it came back (a ping that took too long): a publish then is
 * lost, and `to` is told so by another resync, which is when this publishes the next one.
 */
async function deliveredAgain(
  from: EventBus,
  to: ReturnType<typeof follow>,
  seq: number,
): Promise<number> {
  for (let next = seq; next < seq + 5; next++) {
    const resyncs = to.resyncs.length;
    await from.publish('incidents.changed', { seq: next });
    await to.until(
      () => to.seen.includes(next) || to.resyncs.length > resyncs,
      `delivery of ${next} (or a resync)`,
    );
    if (to.seen.includes(next)) return next;
  }
  throw new Error('every publish after the outage was lost');
}

describe.skipIf(redisMissing !== null)('the Redis bus', () => {
  let redis: PrivateRedis;
  let links: RedisLink[] = [];
  let buses: EventBus[] = [];
  let stop: AbortController;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis[Symbol.asyncDispose]();
  });
  beforeEach(() => {
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await Promise.all(buses.map((b) => b.close()));
    await Promise.all(links.map((l) => l.close()));
    links = [];
    buses = [];
    if (!redis.running()) await redis.start();
  });

  /** A bus of its own instance, resolved once it is linked (its first resync has happened). */
  async function instance(name: string) {
    const link = connectRedis(redis.url, { name });
    const bus = createRedisBus({ link, prefix: 'test:', instance: name });
    links.push(link);
    buses.push(bus);
    await eventually(() => bus.unavailable().length === 0, 5000, `${name} linked`);
    return bus;
  }

  it('delivers across instances, and to its own subscribers once', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const onA = follow(a, stop.signal);
    const onB = follow(b, stop.signal);
    for (let seq = 1; seq <= 5; seq++) await a.publish('incidents.changed', { seq });
    await b.publish('incidents.changed', { seq: 6 });
    // The last message from each side: anything repeated would have come before it.
    await onA.until(() => onA.seen.includes(6), 'a to hear b');
    await onB.until(() => onB.seen.length >= 6, 'b to hear everything');
    expect(onA.seen).toEqual([1, 2, 3, 4, 5, 6]);
    // b's own message reached b at once, a's came through Redis: each once, a's in a's order.
    expect([...onB.seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(onB.seen.filter((seq) => seq !== 6)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps delivering locally while Redis is down: publish resolves at once and never throws', async () => {
    const a = await instance('a');
    const onA = follow(a, stop.signal);
    await redis.kill();
    await eventually(() => a.unavailable().includes('redis'), 5000, 'a to see Redis down');
    const started = performance.now();
    for (let seq = 1; seq <= 200; seq++) await a.publish('incidents.changed', { seq });
    expect(performance.now() - started).toBeLessThan(200);
    await onA.until(() => onA.seen.length === 200, 'local delivery');
    expect(onA.seen).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('tells every subscriber it may have missed messages once Redis is back (empty), then delivers again', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const onB = follow(b, stop.signal);
    const before = onB.resyncs.length;
    await a.publish('incidents.changed', { seq: 1 });
    await onB.until(() => onB.seen.includes(1), 'the first message');

    const outage = Date.now();
    await redis.kill();
    await eventually(() => b.unavailable().includes('redis'), 5000, 'b to see Redis down');
    // Published while b cannot hear: only a resync can make it good.
    await a.publish('incidents.changed', { seq: 2 });
    await redis.start();

    await onB.until(() => onB.resyncs.length > before, 'a resync on b');
    expect(onB.resyncs.at(-1)).toBeLessThanOrEqual(Date.now());
    expect(onB.resyncs.at(-1)).toBeGreaterThanOrEqual(outage - 1000);
    await eventually(() => a.unavailable().length === 0, 5000, 'a linked again');
    const delivered = await deliveredAgain(a, onB, 3);
    // Nothing published while b could not hear reaches it: the resync stands for it.
    expect(onB.seen).toEqual([1, delivered]);
  });

  it('treats a Redis that hangs as down: publishes stay fast, and a resync follows its return', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const onB = follow(b, stop.signal);
    const before = onB.resyncs.length;
    redis.pause();
    try {
      const started = performance.now();
      for (let seq = 1; seq <= 50; seq++) await a.publish('incidents.changed', { seq });
      expect(performance.now() - started).toBeLessThan(200);
      await eventually(() => a.unavailable().includes('redis'), 8000, 'a to give up on Redis');
    } finally {
      redis.resume();
    }
    await onB.until(() => onB.resyncs.length > before, 'a resync on b', 15_000);
    await eventually(() => a.unavailable().length === 0, 10_000, 'a linked again');
    const delivered = await deliveredAgain(a, onB, 100);
    expect(onB.seen.at(-1)).toBe(delivered);
  });
});
