import type { ListNotificationsInput } from '../../../shared/schemas/notifications.ts';
import { trpc } from '../../trpc.ts';

/**
 * These queries are kept current by the live streams (use-live-notifications.ts), so focus
 * and remount refetches would only race the stream: they refetch when a stream (re)starts.
 */
export const STREAMED_STALE_TIME = 5 * 60_000;

/** The caller's notifications as `input` selects them, in inbox order, a page per cursor. */
export function useNotificationList(input: ListNotificationsInput) {
  return trpc.notifications.list.useInfiniteQuery(input, {
    getNextPageParam: (last) => last.nextCursor,
    staleTime: STREAMED_STALE_TIME,
  });
}

/** The badge: unseen notifications in the inbox (not muted, not quiet during quiet hours). */
export function useUnseenCount() {
  return trpc.notifications.unseenCount.useQuery(undefined, { staleTime: STREAMED_STALE_TIME });
}

export function useUnreadCount() {
  return trpc.notifications.unreadCount.useQuery(undefined, { staleTime: STREAMED_STALE_TIME });
}

export function usePreferences() {
  return trpc.notifications.preferences.useQuery(undefined, { staleTime: STREAMED_STALE_TIME });
}
