import { useQueryClient } from '@tanstack/react-query';
import { getQueryKey } from '@trpc/react-query';
import { useCallback } from 'react';
import type { InboxChange } from '../../../shared/schemas/notifications.ts';
import { useLiveStream } from '../../lib/live-stream.ts';
import { useLinkStates } from '../../pulse-provider.tsx';
import { trpc } from '../../trpc.ts';
import { showDesktopNotification } from './desktop-notifications.ts';
import {
  applyNotifications,
  cachedLists,
  findCached,
  markReadInPages,
  markSeenInPages,
  patchLists,
} from './notification-cache.ts';
import { isTriageMutating } from './use-triage.ts';

/**
 * Keeps the notifications cache live: arrivals (`onNotification`) and every change to the inbox
 * from any tab or device, or a snooze waking (`onInboxChange`, which also carries read state,
 * so the web app needs no `onReadState`: two streams per browser, as before), are applied as
 * they come, and every (re)start of a stream refetches, so whatever happened while it was down
 * is not missed. Both resume from their last event id. Mount once, in the app shell.
 */
export function useLiveNotifications(): void {
  const utils = trpc.useUtils();
  const queryClient = useQueryClient();
  const { liveRole } = useLinkStates();

  const refetch = useCallback(() => {
    void utils.notifications.list.invalidate();
    void utils.notifications.unseenCount.invalidate();
    void utils.notifications.unreadCount.invalidate();
  }, [utils]);

  useLiveStream(trpc.notifications.onNotification, undefined, {
    name: 'notifications.onNotification',
    onStarted: refetch,
    onData: ({ data }) => {
      const now = Date.now();
      // Not loaded yet: its first fetch will include this one. Already there: a replay.
      if (cachedLists(queryClient).length === 0 || findCached(queryClient, data.id)) return;
      patchLists(queryClient, (pages, input) =>
        applyNotifications(pages, input, [data], { asNew: true, now }),
      );
      if (data.readAt === null) {
        utils.notifications.unreadCount.setData(undefined, (c) => (c === undefined ? c : c + 1));
      }
      // Quiet hours: no badge and no desktop notification (muted ones never come here).
      if (data.seenAt === null && !data.quiet && !data.muted) {
        utils.notifications.unseenCount.setData(undefined, (c) => (c === undefined ? c : c + 1));
      }
      // A fetch that started before this arrived would land without it: fetch again after it.
      const inFlight =
        queryClient.isFetching({ queryKey: getQueryKey(trpc.notifications.list) }) +
        queryClient.isFetching({ queryKey: getQueryKey(trpc.notifications.unseenCount) }) +
        queryClient.isFetching({ queryKey: getQueryKey(trpc.notifications.unreadCount) });
      if (inFlight > 0) refetch();
      if (!data.quiet && !data.muted) {
        showDesktopNotification(data, liveRole.get() !== 'follower');
      }
    },
  });

  const applyChange = useCallback(
    (change: InboxChange) => {
      const now = Date.now();
      patchLists(queryClient, (pages, input) => {
        let next = pages;
        if (change.kind === 'readAll') next = markReadInPages(next, 'all', change.at);
        if (change.kind === 'seen' && change.upTo !== null)
          next = markSeenInPages(next, change.upTo, change.at);
        const applied = applyNotifications(next, input, change.notifications, {
          asNew: change.kind === 'woken',
          now,
        });
        // Preferences change what is muted in every list.
        return { pages: applied.pages, stale: applied.stale || change.kind === 'preferences' };
      });
      // A woken snooze comes back as new: on the desktop too, as an arrival would.
      if (change.kind === 'woken') {
        for (const n of change.notifications) {
          if (!n.quiet && !n.muted) showDesktopNotification(n, liveRole.get() !== 'follower');
        }
      }
      if (change.kind === 'preferences' && change.preferences !== null) {
        utils.notifications.preferences.setData(undefined, change.preferences);
      }
      // This tab's own action in flight holds newer counts; its settle refetches anyway.
      if (isTriageMutating(queryClient) === 0) {
        utils.notifications.unseenCount.setData(undefined, change.unseenCount);
        utils.notifications.unreadCount.setData(undefined, change.unreadCount);
      }
    },
    [utils, queryClient, liveRole],
  );

  useLiveStream(trpc.notifications.onInboxChange, undefined, {
    name: 'notifications.onInboxChange',
    onStarted: () => {
      refetch();
      void utils.notifications.preferences.invalidate();
    },
    onData: ({ data }) => applyChange(data),
  });
}
