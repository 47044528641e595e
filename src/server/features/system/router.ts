import type { TRPCRouterRecord } from '@trpc/server';
import { healthSchema, statsSchema } from '../../../shared/schemas/system.ts';
import { adminProcedure, publicProcedure } from '../../platform/trpc.ts';

export const systemRouter = {
  health: publicProcedure.output(healthSchema).query(({ ctx }) => ({
    status: 'ok' as const,
    version: ctx.services.version,
    uptimeS: Math.round((Date.now() - ctx.services.startedAt) / 1000),
  })),

  stats: adminProcedure.output(statsSchema).query(({ ctx }) => {
    const { counts } = ctx.services.metrics;
    return {
      connections: { sse: counts.sse, ws: counts.ws },
      subscriptions: counts.subscriptions,
      eventsPublished: counts.published,
      eventsDelivered: counts.delivered,
      droppedSlowConsumers: counts.dropped,
      instance: ctx.services.instance,
    };
  }),
} satisfies TRPCRouterRecord;
