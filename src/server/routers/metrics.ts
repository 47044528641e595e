import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  ingestSchema,
  onPointsSchema,
  pointSchema,
  rangeSchema,
  seriesSummarySchema,
  type PointsBatch,
} from '../../shared/schemas/metrics.ts';
import { ingestPoints } from '../ingest.ts';
import { valueFeed } from '../live/hub.ts';
import { authedProcedure } from '../trpc.ts';

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
    .query(({ ctx, input }) =>
      ctx.services.metricStore.range(input.series, input.from, input.to, input.maxPoints),
    ),

  /** New points of the given series, coalesced into at most ~10 batches a second. */
  onPoints: authedProcedure
    .input(onPointsSchema)
    .subscription(({ ctx, input }) =>
      valueFeed<PointsBatch>(ctx.services.metricsFanout.feed(input.series)),
    ),
} satisfies TRPCRouterRecord;
