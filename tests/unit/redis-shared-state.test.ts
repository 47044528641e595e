import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { connectRedis, type RedisLink } from '../../src/server/platform/redis.ts';
import { createRedisConnectionCounts } from '../../src/server/platform/redis-connection-counts.ts';
import { redisRateLimiters } from '../../src/server/platform/rate-limits.ts';
import { eventually } from '../support/live.ts';
import { redisMissing, startRedis, type PrivateRedis } from '../support/redis.ts';

describe.skipIf(redisMissing !== null)('shared state in Redis', () => {
  let redis: PrivateRedis;
  let links: RedisLink[] = [];
  const stops: AbortController[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis[Symbol.asyncDispose]();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop.abort();
    await Promise.all(links.map((l) => l.close()));
    links = [];
    if (!redis.running()) await redis.start();
  });

  async function link(name: string) {
    const made = connectRedis(redis.url, { name });
    links.push(made);
    await eventually(() => made.up(), 5000, `${name} connected`);
    return made;
  }

  it('sums connection counts over live instances, and forgets an instance that stops beating', async () => {
    const heartbeatMs = 200;
    const prefix = `counts-${Date.now()}:`;
    const counts = (l: RedisLink, instance: string) =>
      createRedisConnectionCounts({ link: l, prefix, instance, heartbeatMs });
    const a = counts(await link('a'), 'a');
    const b = counts(await link('b'), 'b');
    const held = new Map<string, number>();
    const stopA = new AbortController();
    stops.push(stopA);
    a.start(() => held.entries(), stopA.signal);

    // a holds 3 of a cap of 5: b may take 2 more, not 3.
    for (let n = 1; n <= 3; n++) expect(await a.admit('ws:u1', n, 5)).toBe(true);
    held.set('ws:u1', 3);
    expect(await b.admit('ws:u1', 2, 5)).toBe(true);
    expect(await b.admit('ws:u1', 3, 5)).toBe(false);
    // Other keys are counted apart.
    expect(await b.admit('ws:u2', 5, 5)).toBe(true);

    // a dies without a word: its lease lapses after three beats and its count with it.
    stopA.abort();
    await eventually(async () => (await b.admit('ws:u1', 5, 5)) === true, 5000, 'a forgotten');
  });

  it('answers null at once while Redis is down, so the local count decides', async () => {
    const l = await link('a');
    const counts = createRedisConnectionCounts({
      link: l,
      prefix: 'down:',
      instance: 'a',
      heartbeatMs: 1000,
    });
    await redis.kill();
    await eventually(() => !l.up(), 5000, 'Redis seen down');
    const started = performance.now();
    expect(await counts.admit('ws:u1', 1, 5)).toBeNull();
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('shares rate limits between instances, and falls back to a per-instance limit while Redis is down', async () => {
    const prefix = `rl-${Date.now()}:`;
    const onA = redisRateLimiters(await link('a'), prefix)({ name: 'x', points: 3, duration: 60 });
    const onB = redisRateLimiters(await link('b'), prefix)({ name: 'x', points: 3, duration: 60 });
    await onA.consume('u1');
    await onB.consume('u1');
    await onA.consume('u1');
    await expect(onB.consume('u1')).rejects.toBeInstanceOf(RateLimiterRes);

    await redis.kill();
    await eventually(() => links.every((l) => !l.up()), 5000, 'Redis seen down');
    // The insurance limiter counts here alone: three more, then refused, all without waiting.
    const started = performance.now();
    for (let i = 0; i < 3; i++) await onA.consume('u1');
    await expect(onA.consume('u1')).rejects.toBeInstanceOf(RateLimiterRes);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('keeps answering when Redis is full: limits fall back to this instance, counts to the local one', async () => {
    const a = await link('a');
    const prefix = `full-${Date.now()}:`;
    const limiter = redisRateLimiters(a, prefix)({ name: 'x', points: 2, duration: 60 });
    const counts = createRedisConnectionCounts({
      link: a,
      prefix,
      instance: 'a',
      heartbeatMs: 1000,
    });
    // Full: no memory left for any write (noeviction), as a Redis at its maxmemory is.
    await a.client.config('SET', 'maxmemory-policy', 'noeviction');
    await a.client.config('SET', 'maxmemory', '1');
    await expect(a.client.set(`${prefix}probe`, 'x')).rejects.toThrow(/OOM/);

    const started = performance.now();
    await limiter.consume('u1');
    await limiter.consume('u1');
    await expect(limiter.consume('u1')).rejects.toBeInstanceOf(RateLimiterRes);
    const admitted = await counts.admit('ws:u1', 1, 5);
    // A refused write is no answer: the local count decides (null), and quickly.
    expect(admitted).toBeNull();
    expect(performance.now() - started).toBeLessThan(1000);
    await a.client.config('SET', 'maxmemory', '0');
  });
});
