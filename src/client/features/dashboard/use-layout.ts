import { useQueryClient } from '@tanstack/react-query';
import { WATCH_SERIES_MAX } from '../../../shared/limits.ts';
import { dashboardLayoutSchema, type DashboardLayout } from '../../../shared/schemas/metrics.ts';
import { trpc } from '../../trpc.ts';

/** Layout saves run one after another; each sends the whole layout, so the last one wins. */
const LAYOUT_SCOPE = 'dashboard.layout';

export function useLayout() {
  return trpc.dashboard.layout.useQuery(undefined, { staleTime: 60_000 });
}

/** Every series the layout shows, once: what the page's one stream follows. */
export function layoutSeries(layout: DashboardLayout): string[] {
  return [...new Set([...layout.tiles, ...layout.charts.map((c) => c.series)])];
}

/** Why `next` cannot be saved, or null: the schema's limits, and the stream's series cap. */
export function layoutProblem(next: DashboardLayout): string | null {
  const parsed = dashboardLayoutSchema.safeParse(next);
  if (!parsed.success) return parsed.error.issues[0]?.message ?? 'Invalid layout';
  if (layoutSeries(next).length > WATCH_SERIES_MAX) {
    return `A dashboard follows at most ${WATCH_SERIES_MAX} series`;
  }
  return null;
}

/** Saves the layout optimistically: the page changes at once, and goes back if the save fails. */
export function useSaveLayout() {
  const utils = trpc.useUtils();
  const queryClient = useQueryClient();
  return trpc.dashboard.saveLayout.useMutation({
    scope: { id: LAYOUT_SCOPE },
    onMutate: async (next) => {
      await utils.dashboard.layout.cancel();
      const previous = utils.dashboard.layout.getData();
      utils.dashboard.layout.setData(undefined, next);
      return { previous };
    },
    onError: (_error, _next, snapshot) => {
      if (snapshot?.previous) utils.dashboard.layout.setData(undefined, snapshot.previous);
    },
    onSettled: () => {
      // Only the last of a burst refetches: earlier ones would flash intermediate layouts.
      const saving = queryClient.isMutating({
        predicate: (m) => m.options.scope?.id === LAYOUT_SCOPE,
      });
      if (saving <= 1) void utils.dashboard.layout.invalidate();
    },
  });
}
