import { describe, expect, it } from 'vitest';
import {
  applyNotifications,
  belongsIn,
  flattenPages,
  markReadInPages,
  markSeenInPages,
  prependNotification,
  type ListInput,
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

  const inbox: ListInput = { limit: 20 };
  const now = Date.parse('2025-06-01T12:00:00.000Z');
  const later = '2025-06-01T13:00:00.000Z';

  it('says which lists a notification belongs in, as the server filters them', () => {
    const n = { ...note('n1'), title: 'Disk FULL', body: 'on db-1', severity: 'warning' as const };
    expect(belongsIn(n, inbox, now)).toBe(true);
    expect(belongsIn({ ...n, archivedAt: 'x' }, inbox, now)).toBe(false);
    expect(belongsIn({ ...n, archivedAt: 'x' }, { ...inbox, archived: true }, now)).toBe(true);
    expect(belongsIn({ ...n, snoozedUntil: later }, inbox, now)).toBe(false);
    expect(belongsIn({ ...n, snoozedUntil: later }, { ...inbox, snoozed: true }, now)).toBe(true);
    // A snooze that is due counts as woken, whatever the field still says.
    expect(belongsIn({ ...n, snoozedUntil: '2025-06-01T11:00:00.000Z' }, inbox, now)).toBe(true);
    expect(belongsIn(n, { ...inbox, search: 'disk full' }, now)).toBe(true);
    expect(belongsIn(n, { ...inbox, search: 'DB-1' }, now)).toBe(true);
    expect(belongsIn(n, { ...inbox, search: '50%' }, now)).toBe(false);
    expect(belongsIn(n, { ...inbox, severity: ['critical'] }, now)).toBe(false);
    expect(belongsIn({ ...n, readAt: 'x' }, { ...inbox, unreadOnly: true }, now)).toBe(false);
    expect(belongsIn(n, { ...inbox, teamId: 'team_ops' }, now)).toBe(false);
  });

  it('applies changed notifications: updated in place, dropped, or put on top when they come as new', () => {
    const before = pages([note('n3'), note('n2')], [note('n1')]);
    const archived = applyNotifications(before, inbox, [{ ...note('n2'), archivedAt: later }], {
      asNew: false,
      now,
    });
    expect(flattenPages(archived.pages).map((n) => n.id)).toEqual(['n3', 'n1']);
    expect(archived.stale).toBe(false);

    const read = applyNotifications(before, inbox, [{ ...note('n1'), readAt: later }], {
      asNew: false,
      now,
    });
    expect(flattenPages(read.pages).find((n) => n.id === 'n1')?.readAt).toBe(later);

    // A woken snooze goes on top; one that comes back to where it was cannot be placed here.
    const woken = applyNotifications(before, inbox, [note('n0')], { asNew: true, now });
    expect(flattenPages(woken.pages).map((n) => n.id)).toEqual(['n0', 'n3', 'n2', 'n1']);
    const back = applyNotifications(before, inbox, [note('n0')], { asNew: false, now });
    expect(back).toEqual({ pages: before, stale: true });

    // A grouped list's entries carry counts only the server knows: refetched instead.
    const grouped = applyNotifications(
      before,
      { ...inbox, grouped: true },
      [{ ...note('n9'), groupKey: 'deploys' }],
      { asNew: true, now },
    );
    expect(grouped).toEqual({ pages: before, stale: true });
  });

  it('marks an entry and everything below it seen, in the list that holds it', () => {
    const before = pages([note('n3'), note('n2')], [note('n1')]);
    const after = markSeenInPages(before, 'n2', later);
    expect(flattenPages(after).map((n) => [n.id, n.seenAt])).toEqual([
      ['n3', null],
      ['n2', later],
      ['n1', later],
    ]);
    expect(markSeenInPages(before, 'elsewhere', later)).toBe(before);
  });
});
