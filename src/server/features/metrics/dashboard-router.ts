import type { TRPCRouterRecord } from '@trpc/server';
import { dashboardLayoutSchema, type DashboardLayout } from '../../../shared/schemas/metrics.ts';
import { authedProcedure } from '../../platform/trpc.ts';
import type { SettingsStore } from '../users/store.ts';

const KEY = 'dashboard.layout';

/** A fresh install shows Pulse's own health. */
export const DEFAULT_LAYOUT: DashboardLayout = {
  tiles: [
    'pulse.connections.sse',
    'pulse.connections.ws',
    'pulse.subscriptions',
    'pulse.eventloop.lag_ms',
    'pulse.rss_mb',
    'pulse.events.delivered_per_s',
  ],
  charts: [
    { series: 'pulse.eventloop.lag_ms', range: '5m' },
    { series: 'pulse.rss_mb', range: '5m' },
  ],
};

/** The caller's dashboard layout, kept per user. */
export function createDashboardRouter(deps: { settings: SettingsStore }) {
  const { settings } = deps;
  return {
    layout: authedProcedure
      .meta({
        description:
          "The caller's dashboard: its tiles, and charts with their time range; until it is saved, Pulse's own `pulse.*` health series.",
      })
      .output(dashboardLayoutSchema)
      .query(async ({ ctx }) => {
        const stored = await settings.get(ctx.user.id, KEY);
        const parsed = stored === null ? null : dashboardLayoutSchema.safeParse(JSON.parse(stored));
        return parsed?.success ? parsed.data : DEFAULT_LAYOUT;
      }),

    saveLayout: authedProcedure
      .meta({ description: "Saves the caller's dashboard whole, and answers it." })
      .input(dashboardLayoutSchema)
      .output(dashboardLayoutSchema)
      .mutation(async ({ ctx, input }) => {
        await settings.set(ctx.user.id, KEY, JSON.stringify(input));
        return input;
      }),
  } satisfies TRPCRouterRecord;
}
