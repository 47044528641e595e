import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  describeInBrowser,
  refusedSocket,
  waitForLive,
  webAppFixture,
} from '../support/browser.ts';
import { NEXT_MINOR } from '../support/versions.ts';

const OFFER = 'A new version of Pulse is available';

/** Presses Tab until the button named `name` has the focus (at most `max` times). */
async function tabTo(page: Page, name: string, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    if (focused === name) return;
  }
  throw new Error(`Tab never reached the ${name} button`);
}

describeInBrowser('web app: a new version of the server', () => {
  const web = webAppFixture();

  it('offers a reload once its streams reconnect to a newer Pulse, by keyboard too', async () => {
    await using app = await web.start();
    const { t } = app;
    // The server goes away for a moment: Chromium logs the refused WebSocket, and only that.
    const { page } = await app.open('admin', { expected: [refusedSocket(t.url)] });
    await page.goto(t.url);
    await waitForLive(page);

    // A deploy: the server restarts as a newer version, and the streams reconnect to it.
    await t.stop();
    await t.restart({}, { version: NEXT_MINOR });
    const status = page.getByRole('status').filter({ hasText: OFFER });
    await status.waitFor({ timeout: 20_000 });
    expect(await status.textContent()).toContain('Reload');

    // Reload, from the keyboard. The page's build is still this one (only the server's version
    // is new here), so the offer comes back: then dismiss it, from the keyboard too.
    await tabTo(page, 'Reload');
    const reloaded = page.waitForEvent('load');
    await page.keyboard.press('Enter');
    await reloaded;
    await status.waitFor({ timeout: 20_000 });
    await tabTo(page, 'Dismiss');
    await page.keyboard.press('Enter');
    await status.waitFor({ state: 'detached' });
    app.check();
  });
});
