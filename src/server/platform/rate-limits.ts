import {
  RateLimiterMemory,
  RateLimiterRedis,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { RedisLink } from './redis.ts';

export interface RateLimitOptions {
  /** Names the limiter's counters; unique per limiter (Redis keys are shared by every instance). */
  name: string;
  points: number;
  /** Seconds. */
  duration: number;
}

/**
 * Makes the rate limiters features use (`consume`, `reward`, … of rate-limiter-flexible), so a
 * feature never knows where counts are kept: in this process, or in Redis for every instance.
 */
export type RateLimiterFactory = (opts: RateLimitOptions) => RateLimiterAbstract;

/** Counts in this process: limits per instance. */
export const memoryRateLimiters: RateLimiterFactory = ({ points, duration }) =>
  new RateLimiterMemory({ points, duration });

/**
 * Counts in Redis, shared by every instance, with the documented ioredis setup (a client with
 * no offline queue). When Redis is down, refuses, times out (the client bounds every command)
 * or comes back empty, the limiter's `insuranceLimiter` (a memory limiter with the same points
 * and duration) answers instead: the limits then hold per instance until Redis is back, and
 * counts made meanwhile are not carried over.
 */
export function redisRateLimiters(link: RedisLink, prefix: string): RateLimiterFactory {
  return ({ name, points, duration }) =>
    new RateLimiterRedis({
      storeClient: link.client,
      keyPrefix: `${prefix}rl:${name}`,
      points,
      duration,
      // Fail over at once rather than send to a connection that is not ready.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points, duration }),
    });
}
