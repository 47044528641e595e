import { useQueryClient } from '@tanstack/react-query';
import { getQueryKey } from '@trpc/react-query';
import { useCallback, useEffect } from 'react';
import { errorCode } from '../../lib/errors.ts';
import { useReportStream } from '../../lib/live-stream.ts';
import { useLinkStates } from '../../pulse-provider.tsx';
import { trpc } from '../../trpc.ts';
import { showDesktopNotification } from './desktop-notifications.ts';
import {
  markReadInPages,
  NOTIFICATION_LIST_INPUT,
  prependNotification,
} from './notification-cache.ts';
import { isReadStateMutating } from './use-read-state.ts';

/**
 * Keeps the notifications cache live: arrivals and read-state changes (from any tab or device)
 * are applied as they come, and every (re)start of a stream refetches, so whatever happened
 * while it was down is not missed. Mount once, in the app shell; the header's SSE indicator
 * shows its streams' state (see live-status.ts).
 */
export function useLiveNotifications(): void {
  const utils = trpc.useUtils();
  const queryClient = useQueryClient();
  const { liveRole, streams } = useLinkStates();

  const refetch = useCallback(() => {
    void utils.notifications.list.invalidate();
    void utils.notifications.unreadCount.invalidate();
  }, [utils]);
  // A stream (re)started: whatever happened while it was down is fetched, not missed.
  const onStarted = useCallback(() => {
    streams.everStarted.set(true);
    refetch();
  }, [streams, refetch]);

  const onError = useCallback(
    (error: unknown) => {
      // The session ended (here or elsewhere): asking who we are shows the sign-in page.
      if (errorCode(error) === 'UNAUTHORIZED') void utils.auth.me.invalidate();
    },
    [utils],
  );

  const arrivals = trpc.notifications.onNotification.useSubscription(undefined, {
    onStarted,
    onData: ({ data }) => {
      const pages = utils.notifications.list.getInfiniteData(NOTIFICATION_LIST_INPUT);
      // Not loaded yet: its first fetch will include this one.
      if (!pages) return;
      const next = prependNotification(pages, data);
      if (next === pages) return; // a replay of one we already have
      utils.notifications.list.setInfiniteData(NOTIFICATION_LIST_INPUT, next);
      if (data.readAt === null) {
        utils.notifications.unreadCount.setData(undefined, (count) =>
          count === undefined ? count : count + 1,
        );
      }
      // A fetch that started before this arrived would land without it: fetch again after it.
      const inFlight =
        queryClient.isFetching({ queryKey: getQueryKey(trpc.notifications.list) }) +
        queryClient.isFetching({ queryKey: getQueryKey(trpc.notifications.unreadCount) });
      if (inFlight > 0) refetch();
      showDesktopNotification(data, liveRole.get() !== 'follower');
    },
    onError,
  });

  const readState = trpc.notifications.onReadState.useSubscription(undefined, {
    onStarted,
    onData: (event) => {
      utils.notifications.list.setInfiniteData(NOTIFICATION_LIST_INPUT, (pages) =>
        pages ? markReadInPages(pages, new Set(event.ids), event.readAt) : pages,
      );
      // This tab's own mark-read in flight holds a newer count; its settle refetches anyway.
      if (isReadStateMutating(queryClient) === 0) {
        utils.notifications.unreadCount.setData(undefined, event.unreadCount);
      }
    },
    onError,
  });

  // The server cannot resume from where we were (PRECONDITION_FAILED): refetch and subscribe
  // afresh. Done here, not in onError, which runs before the hook records the error.
  const { reset: resetArrivals, status: arrivalsStatus, error: arrivalsError } = arrivals;
  const { reset: resetReadState, status: readStateStatus, error: readStateError } = readState;
  useEffect(() => {
    if (arrivalsStatus === 'error' && errorCode(arrivalsError) === 'PRECONDITION_FAILED') {
      refetch();
      resetArrivals();
    }
  }, [arrivalsStatus, arrivalsError, resetArrivals, refetch]);
  useEffect(() => {
    if (readStateStatus === 'error' && errorCode(readStateError) === 'PRECONDITION_FAILED') {
      refetch();
      resetReadState();
    }
  }, [readStateStatus, readStateError, resetReadState, refetch]);

  useReportStream('notifications.onNotification', arrivalsStatus, arrivalsError);
  useReportStream('notifications.onReadState', readStateStatus, readStateError);
}
