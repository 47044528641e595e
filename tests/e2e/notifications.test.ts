import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  describeInBrowser,
  inboxItem,
  waitForAttribute,
  waitForLive,
  waitForText,
  webAppFixture,
} from '../support/browser.ts';
import { INBOX, OPS, teamOf } from '../support/people.ts';
import { sendTo } from '../support/server.ts';

describeInBrowser('web app: live notifications', () => {
  const web = webAppFixture({ teams: [teamOf(OPS, 'alice')] });

  it('shows a notification sent through the API without a reload, and bumps the unread count', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendTo(t, 'alice', INBOX);
    const admin = await t.client({ username: 'admin' });
    const { page } = await app.open('alice');
    await page.goto(t.url);
    await waitForText(page, '[data-testid=unread-count]', '3');
    await waitForLive(page);
    await page.click('[data-testid=bell]');

    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'Queue depth above 10k on ingest',
      body: 'ingest-worker backlog growing',
      severity: 'critical',
    });

    await waitForText(page, '[data-testid=unread-count]', '4');
    const inPanel = page.locator(
      '[data-testid=notification-panel] [data-testid=notification-item]',
    );
    await inPanel.filter({ hasText: 'Queue depth above 10k on ingest' }).waitFor();
    // Newest first, styled by severity.
    expect(await inPanel.first().textContent()).toContain('Queue depth above 10k on ingest');
    expect(await inPanel.first().getAttribute('class')).toContain('notification--critical');
    app.check();
  });

  it('marks one read and then all read, and the server agrees', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendTo(t, 'alice', INBOX);
    const alice = await t.client({ username: 'alice' });
    const { page } = await app.open('alice');
    await page.goto(t.url);
    await waitForText(page, '[data-testid=unread-count]', '3');
    await waitForLive(page);

    const item = inboxItem(page, 'Disk usage above 80% on db-1');
    // The count moves at once (optimistic); the server's answer is what the check below waits for.
    const markedRead = page.waitForResponse((r) => r.url().includes('notifications.markRead'));
    await item.locator('[data-testid=mark-read]').click();
    await waitForText(page, '[data-testid=unread-count]', '2');
    await waitForAttribute(page, '[data-testid=inbox] [data-read=true]', 'data-read', 'true');
    expect((await markedRead).ok()).toBe(true);
    expect(await alice.notifications.unreadCount.query()).toBe(2);

    const markedAll = page.waitForResponse((r) => r.url().includes('notifications.markAllRead'));
    await page.click('[data-testid=inbox] [data-testid=mark-all-read]');
    await waitForText(page, '[data-testid=unread-count]', '0');
    expect((await markedAll).ok()).toBe(true);
    expect(await page.locator('[data-testid=inbox] [data-read=false]').count()).toBe(0);
    expect(await alice.notifications.unreadCount.query()).toBe(0);
    app.check();
  });

  it('a second tab follows a mark-read made in the first', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendTo(t, 'alice', INBOX);
    const { context, page: first } = await app.open('alice');
    const second = await app.newPage(context);
    await first.goto(t.url);
    await second.goto(t.url);
    for (const page of [first, second]) {
      await waitForText(page, '[data-testid=unread-count]', '3');
      await waitForLive(page);
    }

    const title = 'Welcome to Pulse';
    await inboxItem(first, title).locator('[data-testid=mark-read]').click();
    await waitForText(second, '[data-testid=unread-count]', '2');
    expect(await inboxItem(second, title).getAttribute('data-read')).toBe('true');

    await first.click('[data-testid=inbox] [data-testid=mark-all-read]');
    await waitForText(second, '[data-testid=unread-count]', '0');
    app.check();
  });

  it('asks for desktop notifications only on click, and one tab of several shows each', async () => {
    await using app = await web.start();
    const { t } = app;
    const admin = await t.client({ username: 'admin' });
    // A recording Notification, and tabs that count as hidden (headless pages are visible).
    const { context, page: firstPage } = await app.open('alice', {
      initScript: () => {
        const record = { asked: 0, shown: [] as string[] };
        class RecordingNotification {
          static permission: NotificationPermission = 'default';
          static requestPermission() {
            record.asked++;
            RecordingNotification.permission = 'granted';
            return Promise.resolve(RecordingNotification.permission);
          }
          onclick: (() => void) | null = null;
          constructor(title: string) {
            record.shown.push(title);
          }
          close() {}
        }
        Object.defineProperty(window, 'Notification', {
          value: RecordingNotification,
          configurable: true,
        });
        Object.defineProperty(window, '__desktop', { value: record });
        Object.defineProperty(document, 'visibilityState', {
          get: () => 'hidden',
          configurable: true,
        });
      },
    });
    const record = (page: Page) =>
      page.evaluate(
        () => (window as unknown as { __desktop: { asked: number; shown: string[] } }).__desktop,
      );
    const pages = [firstPage, await app.newPage(context)];
    for (const page of pages) {
      await page.goto(t.url);
      await waitForLive(page);
      expect((await record(page)).asked).toBe(0);
    }
    // Permission is per origin: granting it in one tab grants it in all.
    for (const page of pages) {
      await page.click('[data-testid=bell]');
      await page.click('text=Enable desktop notifications');
      await page.locator('text=Desktop notifications on').waitFor();
      expect((await record(page)).asked).toBe(1);
    }

    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'Error rate above 5% on api',
      severity: 'critical',
    });
    for (const page of pages) await inboxItem(page, 'Error rate above 5% on api').waitFor();
    const shown = (await Promise.all(pages.map(record))).flatMap((r) => r.shown);
    expect(shown).toEqual(['Error rate above 5% on api']);
    app.check();
  });

  it('opens an external link in a new tab marked as external, and a path inside the app', async () => {
    await using app = await web.start();
    const { t } = app;
    const admin = await t.client({ username: 'admin' });
    for (const [title, link] of [
      ['Status page says degraded', 'https://status.example/incidents/42'],
      ['Look at the incidents', '/incidents'],
    ] as const) {
      await admin.notifications.send.mutate({
        to: { usernames: ['alice'] },
        title,
        severity: 'info',
        link,
      });
    }
    const { page } = await app.open('alice');
    await page.goto(t.url);

    const external = inboxItem(page, 'Status page says degraded').locator('a');
    await external.waitFor();
    expect(await external.getAttribute('href')).toBe('https://status.example/incidents/42');
    expect(await external.getAttribute('target')).toBe('_blank');
    expect(await external.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await external.getByRole('img', { name: 'opens external site' }).textContent()).toBe(
      '↗',
    );

    const internal = inboxItem(page, 'Look at the incidents').locator('a');
    expect(await internal.getAttribute('target')).toBeNull();
    expect(await internal.getByRole('img', { name: 'opens external site' }).count()).toBe(0);
    // In the app: no page load (the marker set on this document survives the click).
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    await internal.click();
    await page.locator('[data-testid=incident-board]').waitFor();
    expect(new URL(page.url()).pathname).toBe('/incidents');
    expect(await page.evaluate(() => 'sameDocument' in window)).toBe(true);
    app.check();
  });
});
