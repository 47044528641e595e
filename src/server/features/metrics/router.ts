import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  ingestSchema,
  onPointsSchema,
  pointSchema,
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
      .meta({ scope: 'ingest' })
      .input(ingestSchema)
      .output(z.object({ accepted: z.number().int() }))
      .mutation(async ({ input }) => ({ accepted: await actions.ingest(input.points) })),

    list: authedProcedure.output(z.array(seriesSummarySchema)).query(() => store.list()),

    range: authedProcedure
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

    /**
     * New points of the given series, coalesced into at most ~10 batches a second. Refused when
     * it would take the series this server watches past `PULSE_MAX_WATCHED_SERIES`: checked here,
     * so every transport answers with a plain tRPC error, against what is watched now rather than
     * reserved, so a stream that is never opened holds nothing. Subscriptions resolved at the
     * same moment can pass the limit together by a few series (at most WATCH_SERIES_MAX each).
     */
    onPoints: authedProcedure.input(onPointsSchema).subscription(({ input }) => {
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
