import { useQueryClient } from '@tanstack/react-query';
import { getQueryKey } from '@trpc/react-query';
import { useCallback } from 'react';
import { useLiveStream } from '../../lib/live-stream.ts';
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
 * while it was down is not missed. Mount once, in the app shell.
 */
export function useLiveNotifications(): void {
  const utils = trpc.useUtils();
  const queryClient = useQueryClient();
  const { liveRole } = useLinkStates();

  const refetch = useCallback(() => {
    void utils.notifications.list.invalidate();
    void utils.notifications.unreadCount.invalidate();
  }, [utils]);

  useLiveStream(trpc.notifications.onNotification, undefined, {
    name: 'notifications.onNotification',
    onStarted: refetch,
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
  });

  useLiveStream(trpc.notifications.onReadState, undefined, {
    name: 'notifications.onReadState',
    onStarted: refetch,
    onData: (event) => {
      utils.notifications.list.setInfiniteData(NOTIFICATION_LIST_INPUT, (pages) =>
        pages ? markReadInPages(pages, new Set(event.ids), event.readAt) : pages,
      );
      // This tab's own mark-read in flight holds a newer count; its settle refetches anyway.
      if (isReadStateMutating(queryClient) === 0) {
        utils.notifications.unreadCount.setData(undefined, event.unreadCount);
      }
    },
  });
}
