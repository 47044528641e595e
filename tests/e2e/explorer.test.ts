import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  describeInBrowser,
  waitForAttribute,
  waitForLive,
  webAppFixture,
  type WebApp,
} from '../support/browser.ts';
import { OPS, teamOf } from '../support/people.ts';

/** Opens the explorer on one procedure (or none), signed in as `username`. */
async function openExplorer(app: WebApp, username: string, procedure = ''): Promise<Page> {
  const { page } = await app.open(username);
  await page.goto(`${app.t.url}/explorer/${procedure.replaceAll('.', '/')}`);
  await page.locator('[data-testid=explorer]').waitFor();
  await waitForLive(page);
  if (procedure) await waitForProcedure(page, procedure);
  return page;
}

const waitForProcedure = (page: Page, procedure: string) =>
  page.locator('[data-testid=explorer-procedure]', { hasText: procedure }).waitFor();

/** The answer shown for the last call, as the JSON it shows. */
async function shownResult(page: Page): Promise<unknown> {
  const result = page.locator('[data-testid=explorer-result]');
  await result.waitFor();
  return JSON.parse((await result.textContent()) ?? '') as unknown;
}

/** The text of the element that has the keyboard focus. */
const focused = (page: Page) => page.evaluate(() => document.activeElement?.textContent?.trim());

describeInBrowser('web app: API explorer', () => {
  const web = webAppFixture({ teams: [teamOf(OPS, 'alice')] });

  it('a member finds system.health from the keyboard, calls it and reads status ok', async () => {
    await using app = await web.start();
    const { page } = await app.open('alice');
    await page.goto(app.t.url);
    await waitForLive(page);
    await page.click('[data-testid=nav-api]');

    await page.getByLabel('Find a procedure').fill('system.health');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toContain('health');
    await page.keyboard.press('Enter');
    await waitForProcedure(page, 'system.health');
    // Picking it moves the focus to it; then its documentation, then the call.
    expect(await focused(page)).toBe('system.health');
    expect(await page.textContent('[data-testid=explorer-access]')).toBe(
      'anyone, signed in or not',
    );
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused(page));
    }
    expect(order).toEqual(['Input schema', 'Output schema', 'Run query']);
    await page.keyboard.press('Enter');

    expect(await shownResult(page)).toMatchObject({ status: 'ok' });
    app.check();
  });

  it('a member sends a chat message through the form generated from chat.send', async () => {
    await using app = await web.start();
    const alice = await app.t.client({ username: 'alice' });
    const room = (await alice.chat.rooms.query()).find((r) => r.kind === 'team');
    if (!room) throw new Error('no team room');
    const page = await openExplorer(app, 'alice', 'chat.send');

    await page.getByLabel('roomId', { exact: true }).fill(room.id);
    await page.getByLabel('text', { exact: true }).fill('Sent from the API explorer');
    await page.getByRole('button', { name: 'New UUID for clientMessageId' }).click();
    await page.getByRole('button', { name: 'Send mutation' }).click();

    const sent = await shownResult(page);
    expect(sent).toMatchObject({ roomId: room.id, text: 'Sent from the API explorer' });
    const history = await alice.chat.history.query({ roomId: room.id });
    expect(history.items.map((m) => m.text)).toEqual(['Sent from the API explorer']);
    app.check();
  });

  it('an admin sends a notification through the form of notifications.send (a union, a list, an enum)', async () => {
    await using app = await web.start();
    const alice = await app.t.client({ username: 'alice' });
    const page = await openExplorer(app, 'admin', 'notifications.send');

    const to = page.getByRole('group', { name: 'to' });
    await to.getByLabel('one of').selectOption({ label: 'usernames' });
    await to.getByLabel('usernames 1', { exact: true }).fill('alice');
    await page.getByLabel('title', { exact: true }).fill('Explorer says hello');
    await page.getByLabel('severity').selectOption('critical');
    await page.getByRole('button', { name: 'Send mutation' }).click();

    expect(await shownResult(page)).toEqual({ count: 1 });
    const inbox = await alice.notifications.list.query({});
    expect(inbox.items.map((n) => [n.title, n.severity])).toEqual([
      ['Explorer says hello', 'critical'],
    ]);
    app.check();
  });

  it('a member streams notifications.onNotification: an event arrives live, then stops', async () => {
    await using app = await web.start();
    const admin = await app.t.client({ username: 'admin' });
    const page = await openExplorer(app, 'alice', 'notifications.onNotification');

    await page.getByRole('button', { name: 'Start' }).click();
    await waitForAttribute(page, '[data-testid=explorer-stream]', 'data-status', 'live');
    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'Streamed into the explorer',
      severity: 'warning',
    });
    const event = page.locator('[data-testid=explorer-event]', {
      hasText: 'Streamed into the explorer',
    });
    await event.waitFor();
    expect(await page.locator('[data-testid=explorer-event]').count()).toBe(1);

    await page.getByRole('button', { name: 'Stop' }).click();
    await waitForAttribute(page, '[data-testid=explorer-stream]', 'data-status', 'stopped');
    app.check();
  });

  it('a member calling an admin-only procedure is answered FORBIDDEN', async () => {
    await using app = await web.start();
    const page = await openExplorer(app, 'alice', 'system.stats');

    await page.getByRole('button', { name: 'Run query' }).click();
    const error = page.locator('[data-testid=explorer-error]');
    await error.waitFor();
    expect(await error.getAttribute('data-code')).toBe('FORBIDDEN');
    expect(await page.locator('[data-testid=explorer-result]').count()).toBe(0);
    app.check();
  });
});
