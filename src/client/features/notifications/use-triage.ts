import { useQueryClient, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { NOTIFICATION_IDS_MAX } from '../../../shared/limits.ts';
import type { Notification } from '../../../shared/schemas/notifications.ts';
import { trpc } from '../../trpc.ts';
import {
  applyNotifications,
  cachedLists,
  countsAsUnseen,
  findCached,
  listQueryKey,
  markReadInPages,
  markSeenInPages,
  patchLists,
  type NotificationPages,
} from './notification-cache.ts';

/**
 * Every change to the inbox this tab makes (read, seen, archive, snooze, and their undoing)
 * runs in one mutation scope, one after another, so each snapshot sees the last one's result
 * and a rollback never undoes a later action.
 */
export const TRIAGE_SCOPE = 'notifications.triage';

type Utils = ReturnType<typeof trpc.useUtils>;

export function isTriageMutating(queryClient: QueryClient): number {
  return queryClient.isMutating({ predicate: (m) => m.options.scope?.id === TRIAGE_SCOPE });
}

interface Snapshot {
  lists: [QueryKey, NotificationPages | undefined][];
  unseen: number | undefined;
  unread: number | undefined;
}

/** cancel → snapshot → set: the optimistic half of TanStack's cache-update recipe. */
async function begin(utils: Utils, queryClient: QueryClient): Promise<Snapshot> {
  // A refetch landing after this would put back what the action is about to change.
  await Promise.all([
    utils.notifications.list.cancel(),
    utils.notifications.unseenCount.cancel(),
    utils.notifications.unreadCount.cancel(),
  ]);
  return {
    lists: queryClient.getQueriesData<NotificationPages>({ queryKey: listQueryKey() }),
    unseen: utils.notifications.unseenCount.getData(),
    unread: utils.notifications.unreadCount.getData(),
  };
}

/** Shows `edit` applied to the cached notifications `ids` at once, with the counts it implies. */
function applyEdit(
  utils: Utils,
  queryClient: QueryClient,
  ids: readonly string[],
  edit: (n: Notification) => Notification,
): void {
  const now = Date.now();
  const before = ids.flatMap((id) => findCached(queryClient, id) ?? []);
  const after = before.map(edit);
  patchLists(queryClient, (pages, input) =>
    applyNotifications(pages, input, after, { asNew: false, now }),
  );
  const delta = (count: (n: Notification) => boolean) =>
    after.filter(count).length - before.filter(count).length;
  const unseen = delta((n) => countsAsUnseen(n, now));
  const unread = delta((n) => n.readAt === null);
  utils.notifications.unseenCount.setData(undefined, (c) =>
    c === undefined ? c : Math.max(0, c + unseen),
  );
  utils.notifications.unreadCount.setData(undefined, (c) =>
    c === undefined ? c : Math.max(0, c + unread),
  );
}

function rollBack(utils: Utils, queryClient: QueryClient, snapshot: Snapshot | undefined): void {
  if (!snapshot) return;
  for (const [key, pages] of snapshot.lists) queryClient.setQueryData(key, pages);
  if (snapshot.unseen !== undefined)
    utils.notifications.unseenCount.setData(undefined, snapshot.unseen);
  if (snapshot.unread !== undefined)
    utils.notifications.unreadCount.setData(undefined, snapshot.unread);
}

/** The server's answer: the notifications as they are now, into every list. */
export function applyAnswer(queryClient: QueryClient, changed: readonly Notification[]): void {
  const now = Date.now();
  patchLists(queryClient, (pages, input) =>
    applyNotifications(pages, input, changed, { asNew: false, now }),
  );
}

/** The shared lifecycle of every inbox mutation: optimistic, rolled back and told on failure. */
function useLifecycle(onFailure: (message: string) => void) {
  const utils = trpc.useUtils();
  const queryClient = useQueryClient();
  const settle = () => {
    // Only the last of a burst refetches: earlier ones would flash intermediate server states.
    if (isTriageMutating(queryClient) > 1) return;
    void utils.notifications.list.invalidate();
    void utils.notifications.unseenCount.invalidate();
    void utils.notifications.unreadCount.invalidate();
  };
  const fail =
    (what: string) =>
    (error: { message: string }, _input: unknown, snapshot: Snapshot | undefined) => {
      rollBack(utils, queryClient, snapshot);
      onFailure(`Could not ${what}: ${error.message}`);
    };
  return { utils, queryClient, settle, fail, scope: { id: TRIAGE_SCOPE } };
}

const isoNow = () => new Date().toISOString();

/**
 * The inbox's actions, each optimistic: the lists and counts change at once, the server's
 * answer settles them, and a refusal puts them back and says why (`failure`, until dismissed
 * or the next action). Other tabs and devices follow through `notifications.onInboxChange`.
 */
export function useTriage() {
  const [failure, setFailure] = useState<string | null>(null);
  const life = useLifecycle(setFailure);
  const { utils, queryClient, settle, fail, scope } = life;
  const start = async (ids: readonly string[], edit: (n: Notification) => Notification) => {
    setFailure(null);
    const snapshot = await begin(utils, queryClient);
    applyEdit(utils, queryClient, ids, edit);
    return snapshot;
  };
  const onSuccess = (answer: { notifications: Notification[] }) =>
    applyAnswer(queryClient, answer.notifications);

  const archive = trpc.notifications.archive.useMutation({
    scope,
    onMutate: ({ ids }) =>
      start(ids, (n) => ({ ...n, archivedAt: n.archivedAt ?? isoNow(), snoozedUntil: null })),
    onSuccess,
    onError: fail('archive'),
    onSettled: settle,
  });
  const unarchive = trpc.notifications.unarchive.useMutation({
    scope,
    onMutate: ({ ids }) => start(ids, (n) => ({ ...n, archivedAt: null })),
    onSuccess,
    onError: fail('move back to the inbox'),
    onSettled: settle,
  });
  const snooze = trpc.notifications.snooze.useMutation({
    scope,
    onMutate: ({ ids, until }) =>
      start(ids, (n) => ({ ...n, snoozedUntil: until, archivedAt: null })),
    onSuccess,
    onError: fail('snooze'),
    onSettled: settle,
  });
  const unsnooze = trpc.notifications.unsnooze.useMutation({
    scope,
    onMutate: ({ ids }) => start(ids, (n) => ({ ...n, snoozedUntil: null })),
    onSuccess,
    onError: fail('unsnooze'),
    onSettled: settle,
  });
  const markRead = trpc.notifications.markRead.useMutation({
    scope,
    onMutate: ({ id }) => start([id], (n) => ({ ...n, readAt: n.readAt ?? isoNow() })),
    onSuccess: (answer) => applyAnswer(queryClient, [answer]),
    onError: fail('mark read'),
    onSettled: settle,
  });

  /**
   * The ids an action on a whole group covers: the group's notifications in the list the entry
   * is in (at most NOTIFICATION_IDS_MAX, the newest, which is what one call may name).
   */
  const groupIds = async (groupKey: string, where: { archived?: boolean; snoozed?: boolean }) => {
    const page = await utils.notifications.list.fetch({
      groupKey,
      limit: NOTIFICATION_IDS_MAX,
      ...where,
    });
    return page.items.map((n) => n.id);
  };
  const onGroup =
    (run: (ids: string[]) => void, where: { archived?: boolean; snoozed?: boolean }) =>
    (groupKey: string) => {
      setFailure(null);
      groupIds(groupKey, where).then(
        (ids) => {
          if (ids.length > 0) run(ids);
        },
        (error: unknown) =>
          setFailure(
            `Could not find the group's notifications: ${error instanceof Error ? error.message : String(error)}`,
          ),
      );
    };

  return {
    failure,
    dismissFailure: () => setFailure(null),
    archive: (ids: string[]) => archive.mutate({ ids }),
    unarchive: (ids: string[]) => unarchive.mutate({ ids }),
    snooze: (ids: string[], until: Date) => snooze.mutate({ ids, until: until.toISOString() }),
    unsnooze: (ids: string[]) => unsnooze.mutate({ ids }),
    markRead: (id: string) => markRead.mutate({ id }),
    group: {
      archive: onGroup((ids) => archive.mutate({ ids }), {}),
      unarchive: onGroup((ids) => unarchive.mutate({ ids }), { archived: true }),
      snooze: (groupKey: string, until: Date) =>
        onGroup((ids) => snooze.mutate({ ids, until: until.toISOString() }), {})(groupKey),
      unsnooze: onGroup((ids) => unsnooze.mutate({ ids }), { snoozed: true }),
    },
  };
}

export function useMarkAllRead() {
  const queryClient = useQueryClient();
  const [failure, setFailure] = useState<string | null>(null);
  const { utils, settle, fail, scope } = useLifecycle(setFailure);
  const mutation = trpc.notifications.markAllRead.useMutation({
    scope,
    onMutate: async () => {
      setFailure(null);
      const snapshot = await begin(utils, queryClient);
      const at = isoNow();
      patchLists(queryClient, (pages) => ({
        pages: markReadInPages(pages, 'all', at),
        stale: false,
      }));
      utils.notifications.unreadCount.setData(undefined, (c) => (c === undefined ? c : 0));
      return snapshot;
    },
    onError: fail('mark all read'),
    onSettled: settle,
  });
  return { mutate: () => mutation.mutate(), failure };
}

/**
 * Marks what an open inbox shows seen: `upTo` (its newest entry) and everything below it. Not
 * read: the badge clears, the bold stays. Once per newest entry, however often it is shown.
 */
export function useMarkSeen() {
  const queryClient = useQueryClient();
  const { utils, settle, scope } = useLifecycle(() => undefined);
  const mutation = trpc.notifications.markSeen.useMutation({
    scope,
    onMutate: async ({ upTo }) => {
      const snapshot = await begin(utils, queryClient);
      const at = isoNow();
      patchLists(queryClient, (pages) => ({
        pages: markSeenInPages(pages, upTo, at),
        stale: false,
      }));
      // What was shown is the top of the inbox: nothing above it is unseen.
      const inbox = cachedLists(queryClient).some(
        (l) => l.pages.pages[0]?.items[0]?.id === upTo && !l.input.archived && !l.input.snoozed,
      );
      if (inbox)
        utils.notifications.unseenCount.setData(undefined, (c) => (c === undefined ? c : 0));
      return snapshot;
    },
    onError: (_error, _input, snapshot) => rollBack(utils, queryClient, snapshot),
    onSettled: settle,
  });
  const { mutate } = mutation;
  return useCallback((upTo: string) => mutate({ upTo }), [mutate]);
}
