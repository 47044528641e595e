import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  ingestSchema,
  onPointsSchema,
  pointSchema,
  pointsBatchSchema,
  rangeSchema,
  seriesSummarySchema,
  type PointsBatch,
} from '../../../shared/schemas/metrics.ts';
import type { Env } from '../../env.ts';
import { valueFeed } from '../../platform/hub.ts';
import { authedProcedure } from '../../platform/trpc.ts';
import type { MetricActions } from './actions.ts';
import type { MetricsFeed } from './feed.ts';
import type { MetricStore } from './store.ts';

export function createMetricsRouter(deps: {
  store: MetricStore;
  actions: MetricActions;
  feed: MetricsFeed;
  env: Pick<Env, 'PULSE_RANGE_MAX_ROWS' | 'PULSE_MAX_WATCHED_SERIES'>;
}) {
  const { store, actions, feed, env } = deps;
  return {
    ingest: authedProcedure
      .meta({
        scope: 'ingest',
        description:
          "Stores a batch of points (sessions, and tokens with scope `ingest`) and answers how many; `ts` defaults to the server's now. A point stamped more than `PULSE_MAX_CLOCK_SKEW_S` ahead of the server's clock, or older than `PULSE_METRICS_RETENTION_H`, refuses the whole batch with `BAD_REQUEST` (a zod issue per point, at `['points', i, 'ts']`) and stores nothing.",
      })
      .input(ingestSchema)
      .output(z.object({ accepted: z.number().int() }))
      .mutation(async ({ input }) => ({ accepted: await actions.ingest(input.points) })),

    list: authedProcedure
      .meta({ description: 'Every series, with its last point.' })
      .output(z.array(seriesSummarySchema))
      .query(() => store.list()),

    range: authedProcedure
      .meta({
        description:
          "A series' points from `from` to `to` (ms since the epoch, both included), oldest first, at most `maxPoints`: downsampled so that each bucket's lowest and highest points survive (a spike stays visible). `from` after `to` answers `BAD_REQUEST`; a range over more than `PULSE_RANGE_MAX_ROWS` stored points answers `PAYLOAD_TOO_LARGE`: narrow it.",
      })
      .input(rangeSchema)
      .output(z.array(pointSchema))
      .query(async ({ input }) => {
        const { series, from, to, maxPoints } = input;
        const maxRows = env.PULSE_RANGE_MAX_ROWS;
        const points = await store.range(series, from, to, maxPoints, maxRows);
        if (points === null) {
          throw new TRPCError({
            code: 'PAYLOAD_TOO_LARGE',
            message: `Series '${series}' has more than ${maxRows} points from ${from} to ${to}, more than one range may read (PULSE_RANGE_MAX_ROWS): narrow the range`,
          });
        }
        return points;
      }),

    // The watched-series limit is checked here, so every transport answers with a plain tRPC
    // error, against what is watched now rather than reserved, so a stream that is never opened
    // holds nothing. Subscriptions resolved at the same moment can pass the limit together by a
    // few series (at most WATCH_SERIES_MAX each).
    onPoints: authedProcedure
      .meta({
        description:
          'New points of the given series as they arrive, in batches: points arriving within 100 ms come together, so at most ~10 batches a second. Untracked: a client reloads its ranges whenever the stream starts or restarts. Refused with `TOO_MANY_REQUESTS`, before it opens, when it would take the series this instance watches past `PULSE_MAX_WATCHED_SERIES`.',
        yields: pointsBatchSchema,
        tracked: false,
      })
      .input(onPointsSchema)
      .subscription(({ input }) => {
        const max = env.PULSE_MAX_WATCHED_SERIES;
        const total = feed.watchedWith(input.series);
        if (total > max) {
          throw new TRPCError({
            code: 'TOO_MANY_REQUESTS',
            message: `This server watches at most ${max} series (PULSE_MAX_WATCHED_SERIES); these would make ${total}: watch fewer, or try again later`,
          });
        }
        return valueFeed<PointsBatch>(feed.points(input.series));
      }),
  } satisfies TRPCRouterRecord;
}
