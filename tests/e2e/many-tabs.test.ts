import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  describeInBrowser,
  inboxItem,
  waitForLive,
  waitForText,
  webAppFixture,
} from '../support/browser.ts';
import { eventually } from '../support/live.ts';
import { INBOX, OPS, teamOf } from '../support/people.ts';
import { sendTo } from '../support/server.ts';

/** Every subscription of every tab (notifications, inbox changes, …) on one multiplexed stream. */
const STREAMS_PER_BROWSER = 1;

async function roleOf(page: Page): Promise<string | null> {
  return page.locator('[data-testid=link-sse]').getAttribute('data-role');
}

/** Resolves once one of `pages` holds the streams. */
function someLeader(pages: readonly Page[]): Promise<unknown> {
  return Promise.any(
    pages.map((page) =>
      page.waitForFunction(
        () =>
          document.querySelector('[data-testid=link-sse]')?.getAttribute('data-role') === 'leader',
        undefined,
        { timeout: 10_000, polling: 100 },
      ),
    ),
  );
}

describeInBrowser('web app: many tabs on one browser', () => {
  const web = webAppFixture({ teams: [teamOf(OPS, 'alice')] });

  it('keeps five tabs live over one set of streams, and survives the leader tab closing', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendTo(t, 'alice', INBOX);
    const admin = await t.client({ username: 'admin' });
    const sseOpen = async () => (await admin.system.stats.query()).connections.sse;
    const { context, page: firstPage } = await app.open('alice');
    const pages = [
      firstPage,
      ...(await Promise.all(Array.from({ length: 4 }, () => app.newPage(context)))),
    ];
    // All at once, as a restored browser session would open them.
    await Promise.all(pages.map((page) => page.goto(t.url)));
    for (const page of pages) {
      await waitForText(page, '[data-testid=unread-count]', '3');
      await waitForLive(page);
    }
    const roles = await Promise.all(pages.map(roleOf));
    expect(roles.filter((r) => r === 'leader')).toHaveLength(1);
    expect(roles.filter((r) => r === 'follower')).toHaveLength(4);
    // Five tabs without sharing, one stream per subscription, would hold ten streams: more than
    // HTTP/1.1's six per origin.
    expect(await sseOpen()).toBe(STREAMS_PER_BROWSER);

    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'Deploy 142 finished',
      severity: 'info',
    });
    for (const page of pages) {
      await inboxItem(page, 'Deploy 142 finished').waitFor();
      await waitForText(page, '[data-testid=unread-count]', '4');
    }
    expect(await sseOpen()).toBe(STREAMS_PER_BROWSER);

    // The leader goes away: another tab takes the lock and reopens the streams for all.
    const leader = pages[roles.indexOf('leader')];
    if (!leader) throw new Error('no leader tab');
    const rest = pages.filter((page) => page !== leader);
    await leader.close();
    await someLeader(rest);
    for (const page of rest) await waitForLive(page);

    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'Deploy 143 finished',
      severity: 'warning',
    });
    for (const page of rest) {
      await inboxItem(page, 'Deploy 143 finished').waitFor();
      await waitForText(page, '[data-testid=unread-count]', '5');
    }
    // The old leader's streams closed with it; the new one holds just its own. (The server
    // announces no such event: its count is polled.)
    await eventually(
      async () => (await sseOpen()) === STREAMS_PER_BROWSER,
      10_000,
      'old streams to close',
    );

    // A follower that closes releases nothing the others need, and the leader keeps its streams.
    const follower = (await Promise.all(rest.map(roleOf))).indexOf('follower');
    await rest[follower]?.close();
    const remaining = rest.filter((_, i) => i !== follower);
    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'Deploy 144 finished',
      severity: 'info',
    });
    for (const page of remaining) await inboxItem(page, 'Deploy 144 finished').waitFor();
    expect(await sseOpen()).toBe(STREAMS_PER_BROWSER);
    app.check();
  }, 60_000);
});
