import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import {
  describeInBrowser,
  opsRoomId,
  refusedSocket,
  shownChatTexts,
  waitForAttribute,
  waitForChatTexts,
  waitForText,
  webAppFixture,
  type WebApp,
} from '../support/browser.ts';
import { OPS } from '../support/people.ts';

/** Chromium logs each socket refused while the server is down; only those are expected. */
const chatErrors = (t: TestServer) => ({ expected: [refusedSocket(t.url)] });

const roomUrl = (t: TestServer, roomId: string) => `${t.url}/chat/${encodeURIComponent(roomId)}`;

async function openRoom(
  app: WebApp,
  username: string,
  roomId: string,
  opts: { refuseWebSockets?: boolean } = {},
) {
  const tab = await app.open(username, {
    ...chatErrors(app.t),
    ...(opts.refuseWebSockets ? { initScript: refuseWebSockets } : {}),
  });
  await tab.page.goto(roomUrl(app.t, roomId));
  await waitForAttribute(tab.page, '[data-testid=chat-panel]', 'data-room-id', roomId);
  const link = opts.refuseWebSockets ? 'fallback' : 'connected';
  await waitForAttribute(tab.page, '[data-testid=link-ws]', 'data-state', link);
  return tab;
}

/**
 * In the page: a proxy that refuses WebSocket upgrades (each socket errors and closes before
 * it opens) for as long as `window.__refuseWebSockets` is true.
 */
function refuseWebSockets() {
  const Real = window.WebSocket;
  const flags = window as unknown as { __refuseWebSockets: boolean };
  flags.__refuseWebSockets = true;
  class Refused extends EventTarget {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSING = 2;
    static readonly CLOSED = 3;
    readyState = 0;
    binaryType = 'blob';
    constructor(url: string | URL, protocols?: string | string[]) {
      super();
      if (!flags.__refuseWebSockets) return new Real(url, protocols) as unknown as Refused;
      // Not a wait: a refused upgrade fails a moment later, never within the constructor.
      setTimeout(() => {
        this.readyState = 3;
        this.dispatchEvent(new Event('error'));
        this.dispatchEvent(new CloseEvent('close', { code: 1006 }));
      }, 20);
    }
    send() {
      throw new DOMException('not open', 'InvalidStateError');
    }
    close() {}
  }
  Object.defineProperty(window, 'WebSocket', {
    value: Refused,
    configurable: true,
    writable: true,
  });
}

const panel = '[data-testid=chat-panel]';

async function send(page: Page, text: string) {
  await page.fill(`${panel} [data-testid=chat-input]`, text);
  await page.press(`${panel} [data-testid=chat-input]`, 'Enter');
}

/** Waits until the room shows exactly these people present, in this order. */
async function waitForPresent(page: Page, usernames: string[]) {
  await page.waitForFunction(
    ([sel, want]) =>
      [...document.querySelectorAll(sel)].map((el) => el.getAttribute('data-username')).join() ===
      want,
    [`${panel} [data-testid=presence-avatar]`, usernames.join()] as const,
    { timeout: 10_000 },
  );
}

describeInBrowser('web app: chat', () => {
  const web = webAppFixture({ teams: [OPS] });

  it('two people in the team room see each other, their messages and their typing, live', async () => {
    await using app = await web.start();
    const { t } = app;
    const roomId = await opsRoomId(t);
    const alice = await openRoom(app, 'alice', roomId);
    const bob = await openRoom(app, 'bob', roomId);
    await waitForText(alice.page, '[data-testid=chat-room-name]', '#ops');

    for (const { page } of [alice, bob]) await waitForPresent(page, ['alice', 'bob']);

    await send(alice.page, 'Is anyone looking at the checkout latency?');
    await waitForChatTexts(bob.page, ['Is anyone looking at the checkout latency?']);
    await send(bob.page, 'On it @alice');
    const both = ['Is anyone looking at the checkout latency?', 'On it @alice'];
    await waitForChatTexts(alice.page, both);
    await waitForChatTexts(bob.page, both);

    // Typing shows for the other one only, and goes when the text is sent.
    await alice.page.fill(`${panel} [data-testid=chat-input]`, 'Thanks, I will');
    await waitForText(bob.page, '[data-testid=chat-typing]', 'Alice Martin is typing…');
    expect(await alice.page.textContent('[data-testid=chat-typing]')).toBe('');
    await alice.page.press(`${panel} [data-testid=chat-input]`, 'Enter');
    await waitForText(bob.page, '[data-testid=chat-typing]', '');
    await waitForChatTexts(bob.page, [...both, 'Thanks, I will']);

    // Bob leaves: alice sees him go.
    await bob.context.close();
    await waitForPresent(alice.page, ['alice']);
    app.check();
  });

  it('gives each incident page its room; a mention notifies, and the rooms page marks unread', async () => {
    await using app = await web.start();
    const { t } = app;
    const api = await t.client({ username: 'alice' });
    const ops = t.team('ops').team;
    const incident = await api.incidents.create.mutate({
      title: 'Checkout 502s',
      severity: 'critical',
      teamId: ops.id,
    });
    const roomId = `room_${incident.id}`;

    const alice = await openRoom(app, 'alice', roomId);
    await alice.page.goto(`${t.url}/incidents/${incident.id}`);
    await waitForAttribute(alice.page, '[data-testid=chat-panel]', 'data-room-id', roomId);
    await waitForText(alice.page, '[data-testid=chat-room-name]', 'Incident chat');
    await send(alice.page, '@bob can you look at the load balancer?');
    await waitForChatTexts(alice.page, ['@bob can you look at the load balancer?']);

    const { page } = await app.open('bob', chatErrors(t));
    await page.goto(`${t.url}/chat`);
    // The mention arrived as a notification (bob starts with none unread).
    await waitForText(page, '[data-testid=unread-badge]', '1');
    const link = `[data-testid=chat-room-link][data-room-id="${roomId}"]`;
    await waitForAttribute(page, link, 'data-unread', '1');
    await page.click(link);
    await waitForChatTexts(page, ['@bob can you look at the load balancer?']);
    await waitForAttribute(page, link, 'data-unread', '0');
    await page.click('[data-testid=nav-chat]');
    await page.locator('[data-testid=chat-panel]').waitFor({ state: 'detached' });
    await waitForAttribute(page, link, 'data-unread', '0');
    expect(await page.locator(`${link} [data-testid=chat-unread]`).count()).toBe(0);

    app.check();
  });

  it('loads older pages when scrolled to the top, keeping what is on screen in place', async () => {
    await using app = await web.start();
    const { t } = app;
    const roomId = await opsRoomId(t);
    const carol = await (await t.client({ username: 'carol' })).auth.me.query();
    // Stored directly: past the send rate limit, and quicker.
    for (let i = 0; i < 70; i++) {
      await t.server.app.stores.chat.send({
        roomId,
        authorId: carol.id,
        text: `m${i}`,
        clientMessageId: randomUUID(),
      });
    }
    const alice = await openRoom(app, 'alice', roomId);
    const latest = Array.from({ length: 50 }, (_, i) => `m${i + 20}`);
    await waitForChatTexts(alice.page, latest);
    const list = `${panel} [data-testid=chat-messages]`;
    // Opened at the newest message.
    await alice.page.waitForFunction((sel) => {
      const el = document.querySelector(sel);
      return el !== null && el.scrollHeight - el.clientHeight - el.scrollTop < 2;
    }, list);

    /** Where m20 sits: in the list's viewport, and in its scrolled content. */
    const m20 = () =>
      alice.page.$eval(list, (el) => {
        const row = [...el.querySelectorAll('[data-testid=chat-message-text]')].find(
          (r) => r.textContent === 'm20',
        );
        if (!row) return null;
        const onScreen = row.getBoundingClientRect().top - el.getBoundingClientRect().top;
        return { onScreen, inContent: onScreen + el.scrollTop };
      });
    // Where it will be on screen once scrolled to the top, before older messages come in.
    const before = (await m20())?.inContent;
    await alice.page.$eval(list, (el) => el.scrollTo({ top: 0 }));
    await waitForChatTexts(
      alice.page,
      Array.from({ length: 70 }, (_, i) => `m${i}`),
    );
    const after = (await m20())?.onScreen;
    expect(before).toBeGreaterThan(0);
    // Older messages went in above it without moving it (give or take the vanished button).
    expect(Math.abs((after ?? 0) - (before ?? 0))).toBeLessThan(40);
    expect(await alice.page.locator('[data-testid=chat-load-older]').count()).toBe(0);

    app.check();
  });

  it('names the authors of messages who are not in the room, and never shows an id', async () => {
    await using app = await web.start();
    const { t } = app;
    const roomId = await opsRoomId(t);
    // Alice and carol wrote before bob came, through the API: neither is ever present.
    for (const username of ['alice', 'carol']) {
      const client = await t.client({ username });
      await client.chat.send.mutate({
        roomId,
        text: `from ${username}`,
        clientMessageId: randomUUID(),
      });
    }
    const bob = await openRoom(app, 'bob', roomId);
    await waitForChatTexts(bob.page, ['from alice', 'from carol']);
    await bob.page.waitForFunction(
      ([sel, want]) =>
        [...document.querySelectorAll(sel)].map((el) => el.textContent).join() === want,
      [`${panel} .chat-msg__author`, 'Alice Martin,Carol Nguyen'] as const,
      { timeout: 10_000 },
    );
    app.check();
  });

  it('falls back to SSE and HTTP where WebSockets are refused, and comes back when they open', async () => {
    await using app = await web.start();
    const { t } = app;
    const roomId = await opsRoomId(t);
    const alice = await openRoom(app, 'alice', roomId, { refuseWebSockets: true });
    const bob = await openRoom(app, 'bob', roomId);
    for (const { page } of [alice, bob]) await waitForPresent(page, ['alice', 'bob']);

    await send(alice.page, 'over HTTP');
    await waitForChatTexts(bob.page, ['over HTTP']);
    await send(bob.page, 'to the fallback');
    await waitForChatTexts(alice.page, ['over HTTP', 'to the fallback']);
    await alice.page.fill(`${panel} [data-testid=chat-input]`, 'hm');
    await waitForText(bob.page, '[data-testid=chat-typing]', 'Alice Martin is typing…');
    await alice.page.fill(`${panel} [data-testid=chat-input]`, '');
    await waitForText(bob.page, '[data-testid=chat-typing]', '');

    // The proxy goes away; the network coming back is when the page tries the socket again.
    await alice.page.evaluate(() => {
      (window as unknown as { __refuseWebSockets: boolean }).__refuseWebSockets = false;
      window.dispatchEvent(new Event('online'));
    });
    await waitForAttribute(alice.page, '[data-testid=link-ws]', 'data-state', 'connected');
    await send(bob.page, 'back on the socket');
    await send(alice.page, 'and me');
    const all = ['over HTTP', 'to the fallback', 'back on the socket', 'and me'];
    await waitForChatTexts(alice.page, all);
    await waitForChatTexts(bob.page, all);

    app.check();
  });

  it('rides out a server restart: reconnecting, then every message once and in order', async () => {
    await using app = await web.start();
    const { t } = app;
    const roomId = await opsRoomId(t);
    const alice = await openRoom(app, 'alice', roomId);
    const bob = await openRoom(app, 'bob', roomId);

    await send(alice.page, 'before 1');
    await waitForChatTexts(bob.page, ['before 1']);
    await send(bob.page, 'before 2');
    await waitForChatTexts(alice.page, ['before 1', 'before 2']);

    await t.stop();
    for (const { page } of [alice, bob]) {
      await waitForAttribute(page, '[data-testid=link-ws]', 'data-state', 'reconnecting');
    }
    await send(alice.page, 'while down');
    await waitForAttribute(alice.page, `${panel} [data-status=pending]`, 'data-status', 'pending');

    await t.restart();
    // Straight away, before the pages have found the server again.
    await send(alice.page, 'during recovery');
    for (const { page } of [alice, bob]) {
      await waitForAttribute(page, '[data-testid=link-ws]', 'data-state', 'connected', 20_000);
    }
    const recovered = ['before 1', 'before 2', 'while down', 'during recovery'];
    await waitForChatTexts(bob.page, recovered);

    await send(bob.page, 'after');
    const all = [...recovered, 'after'];
    await waitForChatTexts(alice.page, all);
    await waitForChatTexts(bob.page, all);
    const api = await t.client({ username: 'carol' });
    const stored = await api.chat.history.query({ roomId });
    expect(stored.items.map((m) => m.text)).toEqual(all);

    app.check();
  }, 60_000);

  it('keeps a message written while the server is down through a reload, and sends it once', async () => {
    await using app = await web.start();
    const { t } = app;
    const roomId = await opsRoomId(t);
    const alice = await openRoom(app, 'alice', roomId);
    const bob = await openRoom(app, 'bob', roomId);
    await send(alice.page, 'first');
    await waitForChatTexts(bob.page, ['first']);

    await t.stop();
    await waitForAttribute(alice.page, '[data-testid=link-ws]', 'data-state', 'reconnecting');
    await send(alice.page, 'written offline');
    await waitForAttribute(alice.page, `${panel} [data-status=pending]`, 'data-status', 'pending');
    expect(await shownChatTexts(alice.page)).toEqual(['first', 'written offline']);
    const stored = () =>
      alice.page.evaluate(() =>
        Object.keys(localStorage)
          .filter((key) => key.startsWith('pulse-chat-outbox:'))
          .map((key) => localStorage.getItem(key) ?? ''),
      );
    expect((await stored()).join()).toContain('written offline');

    // The page goes away with the message unsent (the server cannot even serve a reload).
    await alice.page.goto('about:blank');
    await t.restart();
    await alice.page.goto(roomUrl(t, roomId));
    await waitForChatTexts(bob.page, ['first', 'written offline']);
    await waitForChatTexts(alice.page, ['first', 'written offline']);
    await alice.page.waitForFunction(
      () => !Object.keys(localStorage).some((key) => key.startsWith('pulse-chat-outbox:')),
      undefined,
      { timeout: 5000 },
    );
    const history = await (await t.client({ username: 'bob' })).chat.history.query({ roomId });
    expect(history.items.map((m) => m.text)).toEqual(['first', 'written offline']);

    app.check();
  }, 60_000);
});
