import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  describeInBrowser,
  inboxItem,
  opsRoomId,
  refusedSocket,
  waitForAttribute,
  waitForChatTexts,
  waitForLive,
  waitForText,
  webAppFixture,
} from '../support/browser.ts';
import { OPS } from '../support/people.ts';
import { sendTo, type TestServer } from '../support/server.ts';
import { startUpgradeProxy, type UpgradeMode } from '../support/upgrade-proxy.ts';

const panel = '[data-testid=chat-panel]';

async function say(t: TestServer, username: string, roomId: string, text: string) {
  const client = await t.client({ username });
  await client.chat.send.mutate({ roomId, text, clientMessageId: randomUUID() });
}

async function send(page: Page, text: string) {
  await page.fill(`${panel} [data-testid=chat-input]`, text);
  await page.press(`${panel} [data-testid=chat-input]`, 'Enter');
}

/** Waits until the room shows exactly these messages, all confirmed by the server (none "Sending…"). */
const waitForSent = (page: Page, want: string[], timeout = 15_000) =>
  waitForChatTexts(page, want, timeout);

const MODES: [string, UpgradeMode][] = [
  ['refused', 'refuse'],
  ['hung (never answered)', 'hang'],
  ['accepted and closed at once', 'close'],
];

describeInBrowser('web app: bad networks, within the connection budget', () => {
  const web = webAppFixture({ teams: [OPS] });

  it.each(MODES)(
    'with WebSocket upgrades %s, chat falls back within seconds and three tabs stay live on one stream',
    async (_name, mode) => {
      await using proxy = await startUpgradeProxy(mode);
      await using app = await web.start({ env: { PULSE_ALLOWED_ORIGINS: proxy.url } });
      const { t } = app;
      proxy.to(t.server.port);
      const roomId = await opsRoomId(t);
      const errors = { expected: [refusedSocket(proxy.url)] };

      const { context, page: chat } = await app.open('alice', errors);
      const began = performance.now();
      await chat.goto(`${proxy.url}/chat/${encodeURIComponent(roomId)}`);
      await waitForAttribute(chat, '[data-testid=link-ws]', 'data-state', 'fallback', 15_000);
      expect(performance.now() - began).toBeLessThan(10_000);
      expect(proxy.upgrades.seen).toBeGreaterThan(0);
      await send(chat, 'through the fallback');
      await waitForSent(chat, ['through the fallback']);

      const inbox = await app.newPage(context, errors);
      await inbox.goto(`${proxy.url}/`);
      const dashboard = await app.newPage(context, errors);
      await dashboard.goto(`${proxy.url}/dashboard`);
      await dashboard.locator('[data-testid=tile]').first().waitFor();
      for (const page of [chat, inbox, dashboard]) await waitForLive(page);

      // Live in every tab, and queries and mutations still answer in each.
      await say(t, 'bob', roomId, 'seen over SSE');
      await sendTo(t, 'alice', ['Deploy 7 finished']);
      await waitForSent(chat, ['through the fallback', 'seen over SSE']);
      await inboxItem(inbox, 'Deploy 7 finished').waitFor();
      await waitForText(inbox, '[data-testid=unread-count]', '1');
      await send(chat, 'and back');
      await waitForSent(chat, ['through the fallback', 'seen over SSE', 'and back']);
      await inbox.click('[data-testid=nav-dashboard]');
      await inbox.locator('[data-testid=tile]').first().waitFor();

      // One long-lived connection for the whole browser: the multiplexed stream (no socket).
      const admin = await t.client({ username: 'admin' });
      const { connections } = await admin.system.stats.query();
      expect(connections).toEqual({ sse: 1, ws: 0 });
      const history = await admin.chat.history.query({ roomId });
      expect(history.items.map((m) => m.text)).toEqual([
        'through the fallback',
        'seen over SSE',
        'and back',
      ]);
      app.check();
    },
    60_000,
  );

  it('brings a frozen, offline tab back caught up: every notification and message once', async () => {
    await using app = await web.start();
    const { t } = app;
    const roomId = await opsRoomId(t);
    const errors = { expected: [refusedSocket(t.url)] };
    const { context, page: inbox } = await app.open('alice', errors);
    await inbox.goto(t.url);
    await waitForLive(inbox);
    // Every state the SSE indicator takes from now on.
    await inbox.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __sse: string[] }).__sse = seen;
      const read = () => {
        const state = document.querySelector('[data-testid=link-sse]')?.getAttribute('data-state');
        if (state && seen.at(-1) !== state) seen.push(state);
      };
      new MutationObserver(read).observe(document.body, {
        subtree: true,
        attributes: true,
        attributeFilter: ['data-state'],
      });
    });
    const chat = await app.newPage(context, errors);
    await chat.goto(`${t.url}/chat/${encodeURIComponent(roomId)}`);
    await waitForAttribute(chat, '[data-testid=link-ws]', 'data-state', 'connected');
    await sendTo(t, 'alice', ['n1']);
    await say(t, 'bob', roomId, 'm1');
    await inboxItem(inbox, 'n1').waitFor();
    await waitForSent(chat, ['m1']);

    const cdp = await context.newCDPSession(inbox);
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    await context.setOffline(true);
    await sendTo(t, 'alice', ['n2', 'n3']);
    await say(t, 'bob', roomId, 'm2');
    await say(t, 'bob', roomId, 'm3');
    await context.setOffline(false);
    await cdp.send('Page.setWebLifecycleState', { state: 'active' });

    await waitForText(inbox, '[data-testid=unread-count]', '3', 20_000);
    for (const title of ['n1', 'n2', 'n3']) {
      await inboxItem(inbox, title).waitFor();
      expect(await inboxItem(inbox, title).count()).toBe(1);
    }
    await waitForSent(chat, ['m1', 'm2', 'm3'], 20_000);
    await waitForLive(inbox);
    // It said it was cut off, then came back. (Catching up, between the two, lasts as long as
    // the replay: too short here to be sure of seeing; tests/unit/live-stream.test.ts pins it.)
    const states = await inbox.evaluate(() => (window as unknown as { __sse: string[] }).__sse);
    expect(states.some((s) => s === 'offline' || s === 'reconnecting')).toBe(true);
    expect(states.at(-1)).toBe('connected');
    app.check();
  }, 60_000);

  it('tells the truth while the server is down, in words, and to the keyboard too', async () => {
    await using app = await web.start();
    const { t } = app;
    const { page } = await app.open('alice', { expected: [refusedSocket(t.url)] });
    await page.goto(t.url);
    await waitForLive(page);
    await waitForAttribute(page, '[data-testid=link-http]', 'data-state', 'connected');

    // Nobody clicks anything: the page is idle, and still finds out.
    await t.stop();
    await waitForAttribute(page, '[data-testid=link-sse]', 'data-state', 'reconnecting');
    await waitForAttribute(page, '[data-testid=link-http]', 'data-state', 'down');

    // Tab reaches each indicator; focus shows its explanation, which is its description.
    const focused = () =>
      page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
    for (let i = 0; i < 40 && (await focused()) !== 'link-sse-button'; i++) {
      await page.keyboard.press('Tab');
    }
    expect(await focused()).toBe('link-sse-button');
    const sseTip = page.locator('[data-testid=link-sse-detail]');
    expect(await sseTip.isVisible()).toBe(true);
    const describedBy = await page.getAttribute(
      '[data-testid=link-sse-button]',
      'aria-describedby',
    );
    expect(describedBy).toBe(await sseTip.getAttribute('id'));
    const sseText = (await sseTip.textContent()) ?? '';
    expect(sseText).toMatch(/server/);
    expect(sseText).not.toContain('Unknown error');
    // Enter pins it open, Escape closes it.
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('[data-testid=link-sse-button]', 'aria-expanded')).toBe('true');
    await page.keyboard.press('Escape');
    expect(await page.getAttribute('[data-testid=link-sse-button]', 'aria-expanded')).toBe('false');
    for (let i = 0; i < 10 && (await focused()) !== 'link-http-button'; i++) {
      await page.keyboard.press('Tab');
    }
    expect(await focused()).toBe('link-http-button');
    const httpTip = page.locator('[data-testid=link-http-detail]');
    expect(await httpTip.isVisible()).toBe(true);
    expect(await httpTip.textContent()).toMatch(/^The server does not answer/);

    await t.restart();
    await waitForLive(page, 20_000);
    await waitForAttribute(page, '[data-testid=link-http]', 'data-state', 'connected', 20_000);
    app.check();
  }, 60_000);
});
