import { useQueryClient } from '@tanstack/react-query';
import { getQueryKey } from '@trpc/react-query';
import { useCallback } from 'react';
import { LIST_PAGE_DEFAULT } from '../../../shared/limits.ts';
import type { Incident } from '../../../shared/schemas/incidents.ts';
import { useLiveStream } from '../../lib/live-stream.ts';
import { trpc } from '../../trpc.ts';
import { mergeDetail, mergeIncidentPages } from './incident-cache.ts';

/** Kept current by the stream: focus and remount refetches would only race it. */
export const INCIDENTS_STALE_TIME = 5 * 60_000;

/** The board's query: the newest incidents first, a page at a time. */
export const INCIDENT_LIST_INPUT = { limit: LIST_PAGE_DEFAULT };

export function useIncidentList() {
  return trpc.incidents.list.useInfiniteQuery(INCIDENT_LIST_INPUT, {
    // A short page is the last; otherwise the next starts after its last incident.
    getNextPageParam: (last) =>
      last.length < INCIDENT_LIST_INPUT.limit ? undefined : last.at(-1)?.id,
    staleTime: INCIDENTS_STALE_TIME,
  });
}

/** An incident the server sent (live, or an answer) into the board's pages, by version. */
export function mergeIntoIncidentList(
  utils: ReturnType<typeof trpc.useUtils>,
  incident: Incident,
): void {
  utils.incidents.list.setInfiniteData(
    INCIDENT_LIST_INPUT,
    (data) => data && mergeIncidentPages(data, incident, INCIDENT_LIST_INPUT.limit),
  );
}

export function useIncident(id: string) {
  return trpc.incidents.get.useQuery({ id }, { staleTime: INCIDENTS_STALE_TIME });
}

/**
 * Keeps the incident caches live from `incidents.onChange`: each change is merged by version
 * into the list and the incident's page (never backwards; this tab's own pending actions are
 * drawn over the cache, so nothing clobbers them), and every (re)start of the stream, or a
 * resume the server refuses, refetches. Mount once around the incident pages.
 */
export function useLiveIncidents(): void {
  const utils = trpc.useUtils();
  const queryClient = useQueryClient();

  const refetch = useCallback(() => {
    void utils.incidents.list.invalidate();
    void utils.incidents.get.invalidate();
  }, [utils]);

  const apply = useCallback(
    (incident: Incident) => {
      const { id } = incident;
      mergeIntoIncidentList(utils, incident);
      const before = utils.incidents.get.getData({ id });
      const after = before && mergeDetail(before, incident);
      if (after && after !== before) utils.incidents.get.setData({ id }, after);
      // A fetch that started before this change would land without it: fetch again after it.
      // The page's timeline also has a new entry only the server has.
      const detailKey = getQueryKey(trpc.incidents.get, { id }, 'query');
      if (after !== before || queryClient.isFetching({ queryKey: detailKey }) > 0) {
        void utils.incidents.get.invalidate({ id });
      }
      if (queryClient.isFetching({ queryKey: getQueryKey(trpc.incidents.list) }) > 0) {
        void utils.incidents.list.invalidate();
      }
    },
    [utils, queryClient],
  );

  useLiveStream(trpc.incidents.onChange, undefined, {
    name: 'incidents.onChange',
    onStarted: refetch,
    onData: ({ data }) => apply(data),
  });
}
