import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { trpc } from '../../trpc.ts';
import {
  findNotification,
  markReadInPages,
  NOTIFICATION_LIST_INPUT,
} from './notification-cache.ts';

/** Read-state mutations run one after another, so each snapshot sees the last one's result. */
export const READ_STATE_SCOPE = 'notifications.read-state';

type Utils = ReturnType<typeof trpc.useUtils>;
interface Snapshot {
  list: ReturnType<Utils['notifications']['list']['getInfiniteData']>;
  count: number | undefined;
}

export function isReadStateMutating(queryClient: QueryClient): number {
  return queryClient.isMutating({ predicate: (m) => m.options.scope?.id === READ_STATE_SCOPE });
}

/** cancel → snapshot → set: the optimistic half of TanStack's cache-update recipe. */
async function applyRead(utils: Utils, ids: ReadonlySet<string> | 'all'): Promise<Snapshot> {
  // A refetch landing after this would put back the unread state.
  await Promise.all([utils.notifications.list.cancel(), utils.notifications.unreadCount.cancel()]);
  const snapshot: Snapshot = {
    list: utils.notifications.list.getInfiniteData(NOTIFICATION_LIST_INPUT),
    count: utils.notifications.unreadCount.getData(),
  };
  const { list, count } = snapshot;
  if (list)
    utils.notifications.list.setInfiniteData(
      NOTIFICATION_LIST_INPUT,
      markReadInPages(list, ids, new Date().toISOString()),
    );
  if (count !== undefined) {
    const nowRead =
      ids === 'all'
        ? count
        : [...ids].filter((id) => findNotification(list, id)?.readAt === null).length;
    utils.notifications.unreadCount.setData(undefined, Math.max(0, count - nowRead));
  }
  return snapshot;
}

function rollBack(utils: Utils, snapshot: Snapshot | undefined) {
  if (snapshot?.list)
    utils.notifications.list.setInfiniteData(NOTIFICATION_LIST_INPUT, snapshot.list);
  if (snapshot?.count !== undefined)
    utils.notifications.unreadCount.setData(undefined, snapshot.count);
}

function useSettle() {
  const utils = trpc.useUtils();
  const queryClient = useQueryClient();
  return () => {
    // Only the last of a burst refetches: earlier ones would flash intermediate server states.
    if (isReadStateMutating(queryClient) > 1) return;
    void utils.notifications.list.invalidate();
    void utils.notifications.unreadCount.invalidate();
  };
}

export function useMarkRead() {
  const utils = trpc.useUtils();
  const settle = useSettle();
  return trpc.notifications.markRead.useMutation({
    scope: { id: READ_STATE_SCOPE },
    onMutate: ({ id }) => applyRead(utils, new Set([id])),
    onError: (_error, _input, snapshot) => rollBack(utils, snapshot),
    onSettled: settle,
  });
}

export function useMarkAllRead() {
  const utils = trpc.useUtils();
  const settle = useSettle();
  return trpc.notifications.markAllRead.useMutation({
    scope: { id: READ_STATE_SCOPE },
    onMutate: () => applyRead(utils, 'all'),
    onError: (_error, _input, snapshot) => rollBack(utils, snapshot),
    onSettled: settle,
  });
}
