import { describe, expect, it } from 'vitest';
import {
  flattenPages,
  markReadInPages,
  prependNotification,
  type NotificationPages,
} from '../../src/client/features/notifications/notification-cache.ts';
import type { Notification } from '../../src/shared/schemas/notifications.ts';

const note = (id: string, readAt: string | null = null): Notification => ({
  id,
  title: `title ${id}`,
  body: '',
  severity: 'info',
  link: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  readAt,
  seenAt: null,
  archivedAt: null,
  snoozedUntil: null,
  groupKey: null,
  teamId: null,
  quiet: false,
  muted: false,
});

const pages = (...lists: Notification[][]): NotificationPages => ({
  pages: lists.map((items, i) => ({
    items,
    nextCursor: i < lists.length - 1 ? (items.at(-1)?.id ?? null) : null,
  })),
  pageParams: lists.map((_, i) => (i === 0 ? null : (lists[i - 1]?.at(-1)?.id ?? null))),
});

describe('notification cache updates', () => {
  it('puts an arrival on top of the first page, once', () => {
    const before = pages([note('n2'), note('n1')], [note('n0')]);
    const after = prependNotification(before, note('n3'));
    expect(flattenPages(after).map((n) => n.id)).toEqual(['n3', 'n2', 'n1', 'n0']);
    expect(prependNotification(after, note('n3'))).toBe(after);
    expect(prependNotification(after, note('n0'))).toBe(after);
  });

  it('marks the given ids read, keeps earlier read times, and leaves untouched pages alone', () => {
    const before = pages([note('n2'), note('n1', 'earlier')], [note('n0')]);
    const after = markReadInPages(before, new Set(['n1', 'n2']), 'now');
    expect(flattenPages(after).map((n) => [n.id, n.readAt])).toEqual([
      ['n2', 'now'],
      ['n1', 'earlier'],
      ['n0', null],
    ]);
    expect(after.pages[1]).toBe(before.pages[1]);
    expect(markReadInPages(after, new Set(['n2']), 'later')).toBe(after);
    expect(
      flattenPages(markReadInPages(after, 'all', 'later')).every((n) => n.readAt !== null),
    ).toBe(true);
  });

  it('shows each notification once where pages overlap after arrivals shifted them', () => {
    expect(
      flattenPages(pages([note('n2'), note('n1')], [note('n1'), note('n0')])).map((n) => n.id),
    ).toEqual(['n2', 'n1', 'n0']);
  });
});
