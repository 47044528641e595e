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
import { ingestPoints } from './actions.ts';
import { valueFeed } from '../../platform/hub.ts';
import { authedProcedure } from '../../platform/trpc.ts';

export const metricsRouter = {
  ingest: authedProcedure
    .meta({ scope: 'ingest' })
    .input(ingestSchema)
    .output(z.object({ accepted: z.number().int() }))
    .mutation(async ({ ctx, input }) => ({
      accepted: await ingestPoints(ctx.services, input.points),
    })),

  list: authedProcedure
    .output(z.array(seriesSummarySchema))
    .query(({ ctx }) => ctx.services.metricStore.list()),

  range: authedProcedure
    .input(rangeSchema)
    .output(z.array(pointSchema))
    .query(async ({ ctx, input }) => {
      const { series, from, to, maxPoints } = input;
      const maxRows = ctx.services.env.PULSE_RANGE_MAX_ROWS;
      const points = await ctx.services.metricStore.range(series, from, to, maxPoints, maxRows);
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
  onPoints: authedProcedure.input(onPointsSchema).subscription(({ ctx, input }) => {
    const { metricsFanout, env } = ctx.services;
    const max = env.PULSE_MAX_WATCHED_SERIES;
    const total = metricsFanout.watchedWith(input.series);
    if (total > max) {
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: `This server watches at most ${max} series (PULSE_MAX_WATCHED_SERIES); these would make ${total}: watch fewer, or try again later`,
      });
    }
    return valueFeed<PointsBatch>(metricsFanout.feed(input.series));
  }),
} satisfies TRPCRouterRecord;
