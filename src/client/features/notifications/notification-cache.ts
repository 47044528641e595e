import type { InfiniteData } from '@tanstack/react-query';
import type { Notification, NotificationPage } from '../../../shared/schemas/notifications.ts';
import { NOTIFICATION_PAGE_DEFAULT } from '../../../shared/limits.ts';

/** The input of the one notifications list the app keeps; its cache key comes from tRPC. */
export const NOTIFICATION_LIST_INPUT = { limit: NOTIFICATION_PAGE_DEFAULT } as const;

/** The list's cache: pages of `notifications.list`, keyed by cursor. */
export type NotificationPages<TCursor = string | null | undefined> = InfiniteData<
  NotificationPage,
  TCursor
>;

export function findNotification<C>(
  pages: NotificationPages<C> | undefined,
  id: string,
): Notification | undefined {
  for (const page of pages?.pages ?? []) {
    const found = page.items.find((n) => n.id === id);
    if (found) return found;
  }
  return undefined;
}

/** Puts a live arrival on top of the first page; returns `pages` itself when it is already there. */
export function prependNotification<C>(
  pages: NotificationPages<C>,
  notification: Notification,
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
  let changed = false;
  const next = pages.pages.map((page) => {
    let pageChanged = false;
    const items = page.items.map((n) => {
      if (n.readAt !== null || (ids !== 'all' && !ids.has(n.id))) return n;
      pageChanged = true;
      return { ...n, readAt };
    });
    if (!pageChanged) return page;
    changed = true;
    return { ...page, items };
  });
  return changed ? { ...pages, pages: next } : pages;
}

/** Every notification once, newest first: pages can overlap after live arrivals shift them. */
export function flattenPages<C>(pages: NotificationPages<C> | undefined): Notification[] {
  const seen = new Set<string>();
  const out: Notification[] = [];
  for (const page of pages?.pages ?? []) {
    for (const n of page.items) {
      if (seen.has(n.id)) continue;
      seen.add(n.id);
      out.push(n);
    }
  }
  return out;
}
