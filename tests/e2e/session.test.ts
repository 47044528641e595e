import { expect, it } from 'vitest';
import {
  describeInBrowser,
  inboxItem,
  refusedSocket,
  signIn,
  waitForAttribute,
  waitForLive,
  waitForText,
  webAppFixture,
} from '../support/browser.ts';
import { INBOX, OPS } from '../support/people.ts';
import { sendTo } from '../support/server.ts';

describeInBrowser('web app: session and links', () => {
  const web = webAppFixture({ teams: [OPS] });

  it('signs in, shows the server’s error for wrong credentials, then the unread count', async () => {
    await using app = await web.start();
    await sendTo(app.t, 'alice', INBOX);
    const { page } = await app.open(null);
    await page.goto(app.t.url);

    await signIn(page, 'alice', 'not-her-password');
    await waitForText(page, '[data-testid=login-error]', 'Wrong username or password');

    await signIn(page, 'alice');
    await waitForText(page, '[data-testid=user-name]', 'Alice Martin');
    await waitForText(page, '[data-testid=unread-count]', '3');
    await waitForLive(page);
    await waitForAttribute(page, '[data-testid=link-http]', 'data-state', 'connected');
    expect(await inboxItem(page, 'Checkout latency p99 over 2 s').count()).toBe(1);
    app.check();
  });

  it('signing out in one tab signs out the others', async () => {
    await using app = await web.start();
    const { context, page: first } = await app.open('bob');
    const second = await app.newPage(context);
    for (const page of [first, second]) {
      await page.goto(app.t.url);
      await waitForText(page, '[data-testid=user-name]', 'Bob Okafor');
      await waitForLive(page);
    }
    await first.click('[data-testid=logout]');
    await first.locator('input[name=username]').waitFor();
    // The server ends the session's streams (UNAUTHORIZED); the other tab then asks who it is.
    await second.locator('input[name=username]').waitFor();
    expect(await second.locator('[data-testid=user-name]').count()).toBe(0);

    await signIn(second, 'carol');
    await waitForText(second, '[data-testid=user-name]', 'Carol Nguyen');
    await waitForLive(second);
    app.check();
  });

  it('shows reconnecting while the server is down, then resumes live', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendTo(t, 'alice', INBOX);
    // The server goes away for a moment: Chromium logs the refused WebSocket, and only that.
    const { page } = await app.open('alice', { expected: [refusedSocket(t.url)] });
    await page.goto(t.url);
    await waitForText(page, '[data-testid=unread-count]', '3');
    await waitForLive(page);

    await t.stop();
    await waitForAttribute(page, '[data-testid=link-sse]', 'data-state', 'reconnecting');
    await t.restart();
    const admin = await t.client({ username: 'admin' });
    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'Sent just after the restart',
      severity: 'warning',
    });
    // Delivered by replay on resume or by the refetch on restart, whichever comes first.
    await inboxItem(page, 'Sent just after the restart').waitFor({ timeout: 20_000 });
    await waitForText(page, '[data-testid=unread-count]', '4');
    await waitForLive(page);
    app.check();
  });
});
