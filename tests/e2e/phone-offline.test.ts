import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  describeInBrowser,
  opsRoomId,
  refusedSocket,
  waitForAttribute,
  waitForText,
  webAppFixture,
} from '../support/browser.ts';
import { OPS } from '../support/people.ts';

/** A phone's screen (CSS pixels), as an iPhone 14 shows a page. */
const PHONE = { width: 390, height: 844 };

/**
 * What sticks out of a phone's screen: the page's horizontal overflow, and every visible
 * control (link, button, field) not wholly inside the viewport's width, by its text.
 */
async function offScreen(
  page: Page,
): Promise<{ overflow: number; controls: string[]; small: string[] }> {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const controls: string[] = [];
    // Touch targets under 44 px (buttons, fields, menu items; links in text are exempt).
    const small: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>(
      "button, select, input:not([type='checkbox'], [type='radio']), [role='menuitem']",
    )) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      if (box.height < 43.5 || box.width < 43.5) {
        small.push(
          `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 30)}" ${Math.round(box.width)}×${Math.round(box.height)}`,
        );
      }
    }
    for (const el of document.querySelectorAll<HTMLElement>(
      'a[href], button, input, textarea, select, [tabindex]:not([tabindex="-1"])',
    )) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === 'hidden')
        continue;
      if (box.left < -0.5 || box.right > width + 0.5) {
        controls.push(
          `${el.tagName.toLowerCase()} "${(el.textContent ?? el.getAttribute('aria-label') ?? '').trim().slice(0, 40)}" at ${Math.round(box.left)}–${Math.round(box.right)}`,
        );
      }
    }
    return { overflow: document.documentElement.scrollWidth - width, controls, small };
  });
}

describeInBrowser('web app: phones and offline', () => {
  const web = webAppFixture({ teams: [OPS] });

  it('fits a phone on every page: nothing off screen, the pages behind a menu, the bell and link state in view', async () => {
    await using app = await web.start();
    const roomId = await opsRoomId(app.t);
    // Rows with long content: an alert rule on a long series name, and an incident.
    const alice = await app.t.client({ username: 'alice' });
    const [teamId] = (await alice.auth.me.query()).teamIds;
    if (!teamId) throw new Error('alice is in no team');
    await alice.alerts.createRule.mutate({
      series: 'checkout.latency.p99_ms.eu_west_primary',
      op: '>',
      threshold: 1000,
      forSeconds: 30,
      severity: 'critical',
      teamId,
    });
    await alice.incidents.create.mutate({
      title: 'Checkout p99 over a second in eu-west since the last deploy',
      severity: 'critical',
      teamId,
    });
    const { page } = await app.open('alice', { expected: [refusedSocket(app.t.url)] });
    await page.setViewportSize(PHONE);
    const pages = ['/', '/dashboard', '/incidents', '/chat', `/chat/${roomId}`, '/explorer'];
    // The narrowest phones in use (360 px), then this one.
    for (const width of [360, PHONE.width]) {
      await page.setViewportSize({ width, height: PHONE.height });
      for (const path of pages) {
        await page.goto(app.t.url + path);
        await waitForText(page, '[data-testid=menu-toggle]', 'Menu');
        await page.locator('main').first().waitFor();
        expect(await offScreen(page), `${path} at ${width} px`).toEqual({
          overflow: 0,
          controls: [],
          small: [],
        });
        // Without opening the menu: the bell and the link state.
        expect(await page.locator('[data-testid=bell]').isVisible(), path).toBe(true);
        expect(await page.locator('[data-testid=link-sse]').isVisible(), path).toBe(true);
        expect(await page.locator('[data-testid=nav-dashboard]').isVisible(), path).toBe(false);
      }
    }

    await page.setViewportSize(PHONE);
    // In a room, its composer is on the first screen, and the list a link away.
    await page.goto(`${app.t.url}/chat/${roomId}`);
    await waitForAttribute(page, '[data-testid=chat-panel]', 'data-room-id', roomId);
    const composer = await page.locator('[data-testid=chat-input]').boundingBox();
    expect(composer && composer.y + composer.height).toBeLessThanOrEqual(PHONE.height);
    expect(await page.locator('[data-testid=chat-back]').isVisible()).toBe(true);

    // The menu: opened by keyboard, its first page focused, closed by Escape onto its button.
    await page.focus('[data-testid=menu-toggle]');
    await page.keyboard.press('Enter');
    await waitForAttribute(page, '[data-testid=menu-toggle]', 'aria-expanded', 'true');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Inbox');
    expect(await offScreen(page)).toEqual({ overflow: 0, controls: [], small: [] });
    for (const control of ['nav-incidents', 'user-name', 'logout']) {
      const box = await page.locator(`[data-testid=${control}]`).boundingBox();
      expect(box?.height, control).toBeGreaterThanOrEqual(control === 'user-name' ? 0 : 44);
    }
    await page.keyboard.press('Escape');
    await waitForAttribute(page, '[data-testid=menu-toggle]', 'aria-expanded', 'false');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(
      'menu-toggle',
    );
    // A page chosen from the menu closes it.
    await page.click('[data-testid=menu-toggle]');
    await page.click('[data-testid=nav-dashboard]');
    await waitForAttribute(page, '[data-testid=menu-toggle]', 'aria-expanded', 'false');
    app.check();
  });

  it('opens offline from its service worker as the last person signed in, and sends what waited once the network is back', async () => {
    await using app = await web.start();
    const roomId = await opsRoomId(app.t);
    const { context, page } = await app.open('alice', { expected: [refusedSocket(app.t.url)] });
    await page.goto(`${app.t.url}/chat/${roomId}`);
    await waitForAttribute(page, '[data-testid=link-ws]', 'data-state', 'connected');
    // The worker controls the page once it has installed (the shell is kept at install).
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (navigator.serviceWorker.controller) return;
      await new Promise((resolve) =>
        navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }),
      );
    });

    await context.setOffline(true);
    const text = `offline ${randomUUID()}`;
    await page.fill('[data-testid=chat-input]', text);
    await page.click('[data-testid=chat-send]');
    await waitForText(page, '[data-testid=chat-message-state]', 'Waiting to send');

    // Reloaded without a network: the shell comes from the worker, the app says it is
    // offline, knows who was signed in, and the message still waits in the outbox.
    await page.reload();
    await page.locator('[data-testid=offline-banner]').waitFor();
    expect(await page.locator('[data-testid=user-name]').textContent()).toBe('Alice Martin');
    await waitForText(page, '[data-testid=chat-message-state]', 'Waiting to send');

    await context.setOffline(false);
    await page.locator('[data-testid=offline-banner]').waitFor({ state: 'detached' });
    // Sent: the server's message (with its id) takes the outbox entry's place.
    await page.locator('[data-testid=chat-message][data-status=sent]', { hasText: text }).waitFor();
    expect(await page.locator('[data-testid=chat-message-state]').count()).toBe(0);
    const bob = await app.t.client({ username: 'bob' });
    const sent = (await bob.chat.history.query({ roomId })).items.filter((m) => m.text === text);
    expect(sent).toHaveLength(1);
    app.check();
  });
});
