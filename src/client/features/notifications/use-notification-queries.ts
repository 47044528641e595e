import { trpc } from '../../trpc.ts';
import { NOTIFICATION_LIST_INPUT } from './notification-cache.ts';

/**
 * These queries are kept current by the live streams (use-live-notifications.ts), so focus
 * and remount refetches would only race the stream: they refetch when a stream (re)starts.
 */
export const STREAMED_STALE_TIME = 5 * 60_000;

/** The caller's notifications, newest first, a page per cursor. */
export function useNotificationList() {
  return trpc.notifications.list.useInfiniteQuery(NOTIFICATION_LIST_INPUT, {
    getNextPageParam: (last) => last.nextCursor,
    staleTime: STREAMED_STALE_TIME,
  });
}

export function useUnreadCount() {
  return trpc.notifications.unreadCount.useQuery(undefined, { staleTime: STREAMED_STALE_TIME });
}
