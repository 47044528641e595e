import type { TRPCRouterRecord } from '@trpc/server';
import { healthSchema, statsSchema } from '../../../shared/schemas/system.ts';
import type { Metrics } from '../../platform/telemetry.ts';
import { adminProcedure, publicProcedure } from '../../platform/trpc.ts';

export function createSystemRouter(deps: {
  metrics: Metrics;
  /** This server's identity: its version, when it started, and its instance name. */
  version: string;
  startedAt: number;
  instance: string;
}) {
  const { metrics, version, startedAt, instance } = deps;
  return {
    health: publicProcedure
      .meta({
        description:
          "Answers anyone, signed in or not: `ok`, the server's version (the API version of `api/contract.json`) and its uptime in seconds.",
      })
      .output(healthSchema)
      .query(() => ({
        status: 'ok' as const,
        version,
        uptimeS: Math.round((Date.now() - startedAt) / 1000),
      })),

    stats: adminProcedure
      .meta({
        description:
          "This instance's open connections by transport, open subscriptions and event counts since it started, and its name.",
      })
      .output(statsSchema)
      .query(() => {
        const { counts } = metrics;
        return {
          connections: { sse: counts.sse, ws: counts.ws },
          subscriptions: counts.subscriptions,
          eventsPublished: counts.published,
          eventsDelivered: counts.delivered,
          droppedSlowConsumers: counts.dropped,
          instance,
        };
      }),
  } satisfies TRPCRouterRecord;
}
