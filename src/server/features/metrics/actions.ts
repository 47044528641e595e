import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import type { PointInput } from '../../../shared/schemas/metrics.ts';
import type { Env } from '../../env.ts';
import type { EventBus } from '../../platform/bus.ts';
import type { MetricStore } from './store.ts';

type Window = Pick<Env, 'PULSE_MAX_CLOCK_SKEW_S' | 'PULSE_METRICS_RETENTION_H'>;

/** Issues listed for one refused batch; a batch of 5,000 bad points need not echo 5,000. */
const ISSUES_SHOWN = 100;

/**
 * The points stamped outside what this server keeps: more than `PULSE_MAX_CLOCK_SKEW_S` ahead
 * of `now`, or older than the retention (they would be pruned within the minute, and a stamp
 * from far away is a broken clock or a hostile caller, not a measurement).
 */
function outOfWindow(points: readonly PointInput[], now: number, env: Window) {
  const skewS = env.PULSE_MAX_CLOCK_SKEW_S;
  const retentionH = env.PULSE_METRICS_RETENTION_H;
  const latest = now + skewS * 1000;
  const earliest = now - retentionH * 3_600_000;
  const issues: z.core.$ZodIssue[] = [];
  let count = 0;
  for (const [i, { ts }] of points.entries()) {
    if (ts === undefined || (ts >= earliest && ts <= latest)) continue;
    count++;
    if (issues.length === ISSUES_SHOWN) continue;
    const path = ['points', i, 'ts'];
    issues.push(
      ts > latest
        ? {
            code: 'too_big',
            origin: 'number',
            maximum: latest,
            inclusive: true,
            input: ts,
            path,
            message: `more than ${skewS} s ahead of the server's clock`,
          }
        : {
            code: 'too_small',
            origin: 'number',
            minimum: earliest,
            inclusive: true,
            input: ts,
            path,
            message: `older than the ${retentionH} h this server keeps points`,
          },
    );
  }
  // ZodRealError is the ZodError that `parse` throws: also an Error, which TRPCError keeps as
  // its cause as it is (a plain ZodError would be wrapped, and the formatter would not see it).
  return count === 0 ? null : { count, error: new z.ZodRealError(issues) };
}

/** Ingesting points: stored, then announced on the bus (the live views and the alert engine). */
export function createMetricActions(deps: { store: MetricStore; bus: EventBus; env: Window }) {
  const { store, bus, env } = deps;
  return {
    /**
     * Stores points (timestamps default to now) and announces them; returns how many were
     * accepted. A batch with any point stamped outside the window this server keeps is refused
     * whole with `BAD_REQUEST`, its zod issues naming each point.
     */
    async ingest(points: PointInput[]): Promise<number> {
      // One reading of the clock: every point of the batch is judged against the same window.
      const now = Date.now();
      const outside = outOfWindow(points, now, env);
      if (outside) {
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: `${outside.count} of ${points.length} points are stamped outside the window this server keeps; nothing was stored`,
          cause: outside.error,
        });
      }
      const rows = points.map((p) => ({ series: p.series, value: p.value, ts: p.ts ?? now }));
      const lastId = await store.ingest(rows);
      await bus.publish('metrics.ingested', {
        lastId,
        series: [...new Set(rows.map((r) => r.series))],
      });
      return rows.length;
    },
  };
}

export type MetricActions = ReturnType<typeof createMetricActions>;
