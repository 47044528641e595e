import type { InfiniteData, QueryClient, QueryKey } from '@tanstack/react-query';
import { getQueryKey } from '@trpc/react-query';
import { z } from 'zod';
import { NOTIFICATION_PAGE_DEFAULT } from '../../../shared/limits.ts';
import {
  listNotificationsSchema,
  type Notification,
  type NotificationListItem,
  type NotificationPage,
} from '../../../shared/schemas/notifications.ts';
import { trpc } from '../../trpc.ts';

/** The input of the inbox as the bell and the inbox page first show it: grouped, newest first. */
export const NOTIFICATION_LIST_INPUT = { limit: NOTIFICATION_PAGE_DEFAULT, grouped: true } as const;

/** A `notifications.list` input, as the server reads it (defaults applied). */
export type ListInput = z.output<typeof listNotificationsSchema>;

/** The list's cache: pages of `notifications.list`, keyed by cursor. */
export type NotificationPages<TCursor = string | null | undefined> = InfiniteData<
  NotificationPage,
  TCursor
>;

export function findNotification<C>(
  pages: NotificationPages<C> | undefined,
  id: string,
): NotificationListItem | undefined {
  for (const page of pages?.pages ?? []) {
    const found = page.items.find((n) => n.id === id);
    if (found) return found;
  }
  return undefined;
}

/** Whether a snooze holds `n` out of the inbox at `now`. */
export const isSnoozed = (n: Notification, now: number): boolean =>
  n.snoozedUntil !== null && Date.parse(n.snoozedUntil) > now;

/**
 * Whether `n`, as it is now, belongs in the list `input` asks for: what the server's filters
 * select (the inbox by default: neither archived nor snoozed).
 */
export function belongsIn(n: Notification, input: ListInput, now: number): boolean {
  if (input.archived === true) {
    if (n.archivedAt === null) return false;
  } else if (input.snoozed === true) {
    if (!isSnoozed(n, now)) return false;
  } else if (n.archivedAt !== null || isSnoozed(n, now)) {
    return false;
  }
  if (input.unreadOnly === true && n.readAt !== null) return false;
  if (input.severity && !input.severity.includes(n.severity)) return false;
  if (input.teamId !== undefined && n.teamId !== input.teamId) return false;
  if (input.groupKey !== undefined && n.groupKey !== input.groupKey) return false;
  if (input.search !== undefined) {
    const needle = input.search.toLowerCase();
    if (!n.title.toLowerCase().includes(needle) && !n.body.toLowerCase().includes(needle)) {
      return false;
    }
  }
  return true;
}

/** Whether `n` counts toward the badge (quiet hours aside, which the server alone knows). */
export const countsAsUnseen = (n: Notification, now: number): boolean =>
  n.seenAt === null && !n.muted && n.archivedAt === null && !isSnoozed(n, now);

/** Each item passed through `edit` (null drops it); `pages` itself when nothing changed. */
export function mapItems<C>(
  pages: NotificationPages<C>,
  edit: (item: NotificationListItem) => NotificationListItem | null,
): NotificationPages<C> {
  let changed = false;
  const next = pages.pages.map((page) => {
    let pageChanged = false;
    const items: NotificationListItem[] = [];
    for (const item of page.items) {
      const edited = edit(item);
      if (edited !== item) pageChanged = true;
      if (edited !== null) items.push(edited);
    }
    if (!pageChanged) return page;
    changed = true;
    return { ...page, items };
  });
  return changed ? { ...pages, pages: next } : pages;
}

/** Puts a live arrival on top of the first page; returns `pages` itself when it is already there. */
export function prependNotification<C>(
  pages: NotificationPages<C>,
  notification: NotificationListItem,
): NotificationPages<C> {
  if (findNotification(pages, notification.id)) return pages;
  const [first, ...rest] = pages.pages;
  if (!first) return pages;
  return { ...pages, pages: [{ ...first, items: [notification, ...first.items] }, ...rest] };
}

/** Marks the given notifications (or all) read at `readAt`; those already read keep their time. */
export function markReadInPages<C>(
  pages: NotificationPages<C>,
  ids: ReadonlySet<string> | 'all',
  readAt: string,
): NotificationPages<C> {
  return mapItems(pages, (n) =>
    n.readAt !== null || (ids !== 'all' && !ids.has(n.id))
      ? n
      : {
          ...n,
          readAt,
          ...(n.group
            ? { group: { ...n.group, unreadCount: Math.max(0, n.group.unreadCount - 1) } }
            : {}),
        },
  );
}

/**
 * Marks `upTo` and every item below it seen at `seenAt` (inbox order: what `markSeen` covers),
 * in a list that holds `upTo`; other lists are left as they are.
 */
export function markSeenInPages<C>(
  pages: NotificationPages<C>,
  upTo: string,
  seenAt: string,
): NotificationPages<C> {
  if (!findNotification(pages, upTo)) return pages;
  let below = false;
  return mapItems(pages, (n) => {
    if (n.id === upTo) below = true;
    return below && n.seenAt === null ? { ...n, seenAt } : n;
  });
}

/**
 * Brings a list up to date with notifications as they are now (a triage change, ours or from
 * elsewhere): each one is updated where it is, dropped where it no longer belongs, and, when it
 * newly belongs, put on top if it comes as new (`asNew`: an arrival, a woken snooze). `stale`
 * says that the list cannot be patched exactly (a place the client cannot know, a group's
 * counts): it is refetched.
 */
export function applyNotifications<C>(
  pages: NotificationPages<C>,
  input: ListInput,
  changed: readonly Notification[],
  opts: { asNew: boolean; now: number },
): { pages: NotificationPages<C>; stale: boolean } {
  let next = pages;
  let stale = false;
  for (const n of changed) {
    // A group's entry is its newest member, with counts over all of them: only the server knows.
    if (input.grouped === true && n.groupKey !== null) {
      stale = true;
      continue;
    }
    const belongs = belongsIn(n, input, opts.now);
    if (findNotification(next, n.id)) {
      next = mapItems(next, (item) =>
        item.id !== n.id ? item : belongs ? { ...n, group: item.group } : null,
      );
    } else if (belongs) {
      if (opts.asNew) next = prependNotification(next, { ...n, group: null });
      else stale = true;
    }
  }
  return { pages: next, stale };
}

/** Every notification once, newest first: pages can overlap after live arrivals shifted them. */
export function flattenPages<C>(pages: NotificationPages<C> | undefined): NotificationListItem[] {
  const seen = new Set<string>();
  const out: NotificationListItem[] = [];
  for (const page of pages?.pages ?? []) {
    for (const n of page.items) {
      if (seen.has(n.id)) continue;
      seen.add(n.id);
      out.push(n);
    }
  }
  return out;
}

/** The key every `notifications.list` query of the cache starts with. */
export const listQueryKey = (): QueryKey => getQueryKey(trpc.notifications.list);

const cachedKeySchema = z.tuple([z.unknown(), z.object({ input: z.unknown() }).loose()]);

/** The input a cached list's key was made from (tRPC puts it in the key), as the server reads it. */
function inputOf(key: QueryKey): ListInput | null {
  const parsed = cachedKeySchema.safeParse(key);
  if (!parsed.success) return null;
  const input = listNotificationsSchema.safeParse(parsed.data[1].input ?? {});
  return input.success ? input.data : null;
}

/** Every cached list (the inbox, its filtered views, group expansions), as it is now. */
export function cachedLists(
  queryClient: QueryClient,
): { key: QueryKey; input: ListInput; pages: NotificationPages }[] {
  const out: { key: QueryKey; input: ListInput; pages: NotificationPages }[] = [];
  for (const [key, pages] of queryClient.getQueriesData<NotificationPages>({
    queryKey: listQueryKey(),
  })) {
    const input = inputOf(key);
    if (input && pages) out.push({ key, input, pages });
  }
  return out;
}

/** A notification as any cached list holds it. */
export function findCached(queryClient: QueryClient, id: string): NotificationListItem | undefined {
  for (const list of cachedLists(queryClient)) {
    const found = findNotification(list.pages, id);
    if (found) return found;
  }
  return undefined;
}

/**
 * Patches every cached list; a list the patch calls stale is refetched (when on screen; else
 * when it is next shown).
 */
export function patchLists(
  queryClient: QueryClient,
  patch: (
    pages: NotificationPages,
    input: ListInput,
  ) => { pages: NotificationPages; stale: boolean },
): void {
  for (const list of cachedLists(queryClient)) {
    const { pages, stale } = patch(list.pages, list.input);
    if (pages !== list.pages) queryClient.setQueryData(list.key, pages);
    if (stale) void queryClient.invalidateQueries({ queryKey: list.key, exact: true });
  }
}
