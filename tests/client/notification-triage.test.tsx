// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { NotificationFeed } from '../../src/client/features/notifications/notification-feed.tsx';
import type { Notification, NotificationPage } from '../../src/shared/schemas/notifications.ts';
import { serverError } from '../support/fake-link.ts';
import { deferred } from '../support/live.ts';
import { renderWithClients } from '../support/react.tsx';

afterEach(cleanup);

const note = (id: string, title: string): Notification => ({
  id,
  title,
  body: '',
  severity: 'info',
  link: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  readAt: null,
  seenAt: null,
  archivedAt: null,
  snoozedUntil: null,
  groupKey: null,
  teamId: null,
  quiet: false,
  muted: false,
});

const inbox: NotificationPage = {
  items: [
    { ...note('ntf_2', 'Deploy 142 finished'), group: null },
    { ...note('ntf_1', 'Disk usage above 80% on db-1'), group: null },
  ],
  nextCursor: null,
};

const titles = () =>
  screen
    .queryAllByTestId('notification-item')
    .map((el) => el.querySelector('.notification__title')?.textContent);

describe('inbox triage in the web app', () => {
  it('archives at once, and puts it back saying why when the server refuses', async () => {
    const refusal = deferred();
    renderWithClients(<NotificationFeed />, {
      'notifications.list': () => inbox,
      'notifications.unseenCount': () => 0,
      'notifications.unreadCount': () => 2,
      'notifications.archive': async () => {
        await refusal.promise;
        throw serverError('FORBIDDEN', 'Tokens without the write scope cannot triage');
      },
    });
    await waitFor(() =>
      expect(titles()).toEqual(['Deploy 142 finished', 'Disk usage above 80% on db-1']),
    );
    fireEvent.click(screen.getAllByTestId('archive')[0]!);
    await waitFor(() => expect(titles()).toEqual(['Disk usage above 80% on db-1']));

    refusal.resolve();
    await waitFor(() =>
      expect(titles()).toEqual(['Deploy 142 finished', 'Disk usage above 80% on db-1']),
    );
    expect(screen.getByTestId('triage-failure').textContent).toContain(
      'Could not archive: Tokens without the write scope cannot triage',
    );
    fireEvent.click(within(screen.getByTestId('triage-failure')).getByText('Dismiss'));
    expect(screen.queryByTestId('triage-failure')).toBeNull();
  });

  it('snoozes from a menu used by keyboard: arrows move, Escape closes it and returns the focus', async () => {
    const snoozed: { ids: string[]; until: string }[] = [];
    const answer = deferred();
    renderWithClients(<NotificationFeed />, {
      'notifications.list': () => inbox,
      'notifications.unseenCount': () => 0,
      'notifications.unreadCount': () => 2,
      'notifications.snooze': async (op) => {
        const input = op.input as { ids: string[]; until: string };
        snoozed.push(input);
        await answer.promise;
        return { notifications: [{ ...inbox.items[0]!, snoozedUntil: input.until }] };
      },
    });
    await waitFor(() => expect(titles()).toHaveLength(2));
    const trigger = screen.getAllByTestId('snooze')[0]!;
    fireEvent.click(trigger);
    const menu = await screen.findByRole('menu');
    const items = within(menu).getAllByRole('menuitem');
    expect(items.map((i) => i.textContent?.replace(/\(.*\)/, '').trim())).toEqual([
      'For 1 hour',
      'Tomorrow morning',
      'Next week',
      'Pick a date and time…',
    ]);
    await waitFor(() => expect(document.activeElement).toBe(items[0]));
    fireEvent.keyDown(items[0]!, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(items[1]);
    fireEvent.keyDown(items[1]!, { key: 'ArrowUp' });
    fireEvent.keyDown(items[0]!, { key: 'ArrowUp' });
    expect(document.activeElement).toBe(items[3]);
    fireEvent.keyDown(items[3]!, { key: 'Escape' });
    expect(screen.queryByRole('menu')).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(trigger));

    // A custom time in the past is refused before anything is sent.
    fireEvent.click(trigger);
    fireEvent.click(within(await screen.findByRole('menu')).getByText('Pick a date and time…'));
    const when = await screen.findByTestId('snooze-until');
    fireEvent.change(when, { target: { value: '2001-01-01T08:00' } });
    fireEvent.click(screen.getByTestId('snooze-custom'));
    expect((await screen.findByRole('alert')).textContent).toBe('Pick a time in the future.');
    expect(snoozed).toEqual([]);

    // An hour from now: gone from the inbox at once (while the server answers), and the server
    // was told when.
    fireEvent.keyDown(when, { key: 'Escape' });
    fireEvent.click(trigger);
    const before = Date.now();
    fireEvent.click(within(screen.getByRole('menu')).getByText('For 1 hour'));
    await waitFor(() => expect(titles()).toEqual(['Disk usage above 80% on db-1']));
    await waitFor(() => expect(snoozed).toHaveLength(1));
    expect(snoozed[0]?.ids).toEqual(['ntf_2']);
    const until = Date.parse(snoozed[0]?.until ?? '');
    expect(until - before).toBeGreaterThanOrEqual(60 * 60_000 - 1000);
    expect(until - before).toBeLessThan(60 * 60_000 + 60_000);
    answer.resolve();
  });
});
