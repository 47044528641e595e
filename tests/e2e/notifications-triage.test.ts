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
import { OPS, teamOf } from '../support/people.ts';
import type { TestServer } from '../support/server.ts';

type Severity = 'info' | 'warning' | 'critical';

/** Sends alice notifications, oldest first, as the admin. */
async function sendAlice(
  t: TestServer,
  list: readonly { title: string; body?: string; severity?: Severity; groupKey?: string }[],
) {
  const admin = await t.client({ username: 'admin' });
  for (const n of list) {
    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: n.title,
      body: n.body ?? '',
      severity: n.severity ?? 'info',
      ...(n.groupKey ? { groupKey: n.groupKey } : {}),
    });
  }
}

/** The titles the inbox lists, top to bottom (group entries by their latest title). */
const inboxTitles = (page: Page) =>
  page.$$eval(
    '[data-testid=inbox] .notification-list > ul > [data-testid=notification-item]',
    (els) => els.map((el) => el.querySelector('.notification__title')?.textContent ?? ''),
  );

async function waitForInbox(page: Page, want: string[]) {
  try {
    await page.waitForFunction(
      (expected) =>
        JSON.stringify(
          [
            ...document.querySelectorAll(
              '[data-testid=inbox] .notification-list > ul > [data-testid=notification-item]',
            ),
          ].map((el) => el.querySelector('.notification__title')?.textContent ?? ''),
        ) === expected,
      JSON.stringify(want),
      { timeout: 20_000 },
    );
  } catch (error) {
    throw new Error(
      `wanted ${JSON.stringify(want)}, have ${JSON.stringify(await inboxTitles(page))}`,
      {
        cause: error,
      },
    );
  }
}

/** A local time `ms` from now as the page's `datetime-local` input takes it, with seconds. */
const localInputIn = (page: Page, ms: number) =>
  page.evaluate((ahead) => {
    const at = new Date(Date.now() + ahead);
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  }, ms);

describeInBrowser('web app: inbox triage', () => {
  const web = webAppFixture({ teams: [teamOf(OPS, 'alice')] });

  /** Two tabs of alice's on the inbox, live. */
  async function twoTabs(app: Awaited<ReturnType<typeof web.start>>) {
    const { context, page: first } = await app.open('alice');
    const second = await app.newPage(context);
    for (const page of [first, second]) {
      await page.goto(app.t.url);
      await waitForLive(page);
    }
    return [first, second] as const;
  }

  it('archives in one tab and the other follows; the archive view brings it back', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendAlice(t, [
      { title: 'Disk usage above 80% on db-1' },
      { title: 'Deploy 142 finished' },
    ]);
    const [first, second] = await twoTabs(app);
    for (const page of [first, second]) {
      await waitForInbox(page, ['Deploy 142 finished', 'Disk usage above 80% on db-1']);
    }

    await inboxItem(first, 'Deploy 142 finished').locator('[data-testid=archive]').click();
    await waitForInbox(first, ['Disk usage above 80% on db-1']);
    await waitForInbox(second, ['Disk usage above 80% on db-1']);

    // Archived, not gone: the archive lists it, and moving it back returns it to both inboxes.
    await second.click('[data-testid=inbox-filters] [data-view=archived]');
    await waitForInbox(second, ['Deploy 142 finished']);
    await inboxItem(second, 'Deploy 142 finished').locator('[data-testid=unarchive]').click();
    await waitForInbox(second, []);
    await second.click('[data-testid=inbox-filters] [data-view=inbox]');
    await waitForInbox(first, ['Deploy 142 finished', 'Disk usage above 80% on db-1']);
    await waitForInbox(second, ['Deploy 142 finished', 'Disk usage above 80% on db-1']);
    const alice = await t.client({ username: 'alice' });
    expect((await alice.notifications.list.query({ archived: true })).items).toEqual([]);
    app.check();
  });

  it('snoozes until a time of one’s own; it comes back as new, live, in both tabs', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendAlice(t, [{ title: 'Certificate expires in 14 days' }, { title: 'Backup finished' }]);
    const [first, second] = await twoTabs(app);
    for (const page of [first, second]) {
      await waitForInbox(page, ['Backup finished', 'Certificate expires in 14 days']);
    }

    const item = inboxItem(first, 'Certificate expires in 14 days');
    await item.locator('[data-testid=snooze]').click();
    // The menu has the focus; the custom time is the last item.
    await first.locator('[role=menu] [data-snooze=custom]').click();
    await first.fill('[data-testid=snooze-until]', await localInputIn(first, 6_000));
    await first.click('[data-testid=snooze-custom]');
    await waitForInbox(first, ['Backup finished']);
    await waitForInbox(second, ['Backup finished']);

    // It wakes on the server's timer and comes back on top, unread, in both.
    for (const page of [first, second]) {
      await waitForInbox(page, ['Certificate expires in 14 days', 'Backup finished']);
      await waitForAttribute(
        page,
        '[data-testid=inbox] [data-testid=notification-item]',
        'data-read',
        'false',
      );
    }
    app.check();
  });

  it('opening the bell marks what it shows seen: the badge clears, nothing is read', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendAlice(t, [{ title: 'One' }, { title: 'Two' }, { title: 'Three' }]);
    const { page } = await app.open('alice');
    // Not the inbox page, which would mark them seen by itself.
    await page.goto(`${t.url}/incidents`);
    await waitForLive(page);
    await waitForText(page, '[data-testid=unread-badge]', '3');

    await page.click('[data-testid=bell]');
    await page
      .locator('[data-testid=notification-panel] [data-testid=notification-item]')
      .first()
      .waitFor();
    await waitForAttribute(page, '[data-testid=unread-badge]', 'data-count', '0');
    const alice = await t.client({ username: 'alice' });
    expect(await alice.notifications.unseenCount.query()).toBe(0);
    expect(await alice.notifications.unreadCount.query()).toBe(3);
    const panelItems = page.locator(
      '[data-testid=notification-panel] [data-testid=notification-item]',
    );
    expect(
      await panelItems.evaluateAll((els) => els.map((el) => el.getAttribute('data-read'))),
    ).toEqual(['false', 'false', 'false']);

    // Escape closes the panel and gives the focus back to the bell; a new arrival counts again.
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=notification-panel]').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(
      'bell',
    );
    await sendAlice(t, [{ title: 'Four' }]);
    await waitForText(page, '[data-testid=unread-badge]', '1');
    app.check();
  });

  it('narrows the inbox by filters and by search, and expands a group', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendAlice(t, [
      { title: 'Deploy 141 finished', groupKey: 'deploys' },
      { title: 'Disk usage above 80% on db-1', body: 'volume /var', severity: 'warning' },
      { title: 'Deploy 142 finished', groupKey: 'deploys' },
      { title: 'Checkout 500s above 2%', severity: 'critical' },
      { title: 'Deploy 143 finished', groupKey: 'deploys' },
    ]);
    const { page } = await app.open('alice');
    // A phone's width: everything fits, nothing scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(t.url);
    await waitForLive(page);
    // Grouped by default: the deploys are one entry, with the latest title and a count.
    await waitForInbox(page, [
      'Deploy 143 finished',
      'Checkout 500s above 2%',
      'Disk usage above 80% on db-1',
    ]);
    const group = page.locator(
      '[data-testid=inbox] [data-testid=notification-item][data-group-key=deploys]',
    );
    expect(await group.getAttribute('data-group-count')).toBe('3');
    await group.locator('[data-testid=group-toggle]').click();
    const members = group.locator('[data-testid=group-members] [data-testid=notification-item]');
    await members.nth(2).waitFor();
    expect(await members.locator('.notification__title').allTextContents()).toEqual([
      'Deploy 143 finished',
      'Deploy 142 finished',
      'Deploy 141 finished',
    ]);

    await group.locator('[data-testid=snooze]').first().click();
    await page.locator('[role=menu]').waitFor();
    if (process.env['PULSE_SCREENSHOTS']) {
      await page.screenshot({
        path: `${process.env['PULSE_SCREENSHOTS']}/inbox-390.png`,
        fullPage: true,
      });
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await page.keyboard.press('Escape');
    await page.locator('[role=menu]').waitFor({ state: 'detached' });
    // The bell's panel stays on screen too.
    await page.click('[data-testid=bell]');
    const panel = await page.locator('[data-testid=notification-panel]').boundingBox();
    if (process.env['PULSE_SCREENSHOTS']) {
      await page.screenshot({ path: `${process.env['PULSE_SCREENSHOTS']}/bell-390.png` });
    }
    expect(panel?.x).toBeGreaterThanOrEqual(0);
    expect((panel?.x ?? 0) + (panel?.width ?? 0)).toBeLessThanOrEqual(390);
    await page.keyboard.press('Escape');

    // Search (debounced) matches title or body, case-insensitively.
    await page.fill('[data-testid=inbox-search]', 'VOLUME');
    await waitForInbox(page, ['Disk usage above 80% on db-1']);
    await page.fill('[data-testid=inbox-search]', '');
    await page.check('[data-testid=inbox-filters] [data-severity=critical]');
    await waitForInbox(page, ['Checkout 500s above 2%']);
    await page.uncheck('[data-testid=inbox-filters] [data-severity=critical]');

    // Unread only, ungrouped: one read is left out.
    await inboxItem(page, 'Checkout 500s above 2%').locator('[data-testid=mark-read]').click();
    await page.uncheck('[data-testid=filter-grouped]');
    await page.check('[data-testid=filter-unread]');
    await waitForInbox(page, [
      'Deploy 143 finished',
      'Deploy 142 finished',
      'Disk usage above 80% on db-1',
      'Deploy 141 finished',
    ]);
    app.check();
  });

  it('saves preferences from a dialog: muted and quiet ones raise no badge, critical always does', async () => {
    await using app = await web.start();
    const { t } = app;
    const { page } = await app.open('alice');
    await page.goto(`${t.url}/incidents`);
    await waitForLive(page);
    await page.click('[data-testid=bell]');
    const opener = page.locator('[data-testid=notification-panel] [data-testid=open-preferences]');
    await opener.click();
    const dialog = page.locator('[data-testid=preferences-dialog]');
    await dialog.locator('[data-mute-severity=info]').check();
    // Quiet from an hour ago to an hour from now, in the browser's own time zone.
    await dialog.locator('[data-testid=quiet-hours]').check();
    const [from, to] = await page.evaluate(() =>
      [-1, 1].map((h) => {
        const at = new Date(Date.now() + h * 3_600_000);
        return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
      }),
    );
    const times = dialog.locator('input[type=time]');
    await times.nth(0).fill(from ?? '');
    await times.nth(1).fill(to ?? '');
    const saved = page.waitForResponse((r) => r.url().includes('notifications.setPreferences'));
    await dialog.locator('[data-testid=save-preferences]').click();
    await dialog.waitFor({ state: 'detached' });
    expect((await saved).ok()).toBe(true);
    const alice = await t.client({ username: 'alice' });
    const prefs = await alice.notifications.preferences.query();
    expect(prefs.mutedSeverities).toEqual(['info']);
    expect(prefs.quietHours).toMatchObject({ start: from, end: to });

    // Escape closes the panel and gives the focus back to the bell.
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=notification-panel]').waitFor({ state: 'detached' });
    await sendAlice(t, [
      { title: 'Muted: nightly report', severity: 'info' },
      { title: 'Quiet: disk at 70%', severity: 'warning' },
      { title: 'Critical: checkout down', severity: 'critical' },
    ]);
    await waitForText(page, '[data-testid=unread-badge]', '1');
    expect(await alice.notifications.unseenCount.query()).toBe(1);
    expect(await alice.notifications.unreadCount.query()).toBe(3);
    app.check();
  });

  it('closes the preferences dialog with Escape, giving the focus back to its button', async () => {
    await using app = await web.start();
    const { page } = await app.open('alice');
    await page.goto(app.t.url);
    await waitForLive(page);
    await page.click('[data-testid=inbox] [data-testid=open-preferences]');
    const dialog = page.locator('[data-testid=preferences-dialog]');
    await dialog.locator('[data-testid=save-preferences]').waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(
      'open-preferences',
    );
    app.check();
  });
});
