import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  describeInBrowser,
  opsRoomId,
  refusedSocket,
  waitForAttribute,
  waitForLive,
  waitForText,
  webAppFixture,
} from '../support/browser.ts';
import { INBOX, MEMBER_PASSWORD, OPS } from '../support/people.ts';
import { sendTo, type TestServer } from '../support/server.ts';

/** axe-core, the accessibility engine browsers' own audits use, injected into each page. */
const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** The serious and critical violations axe finds on the page as it is now, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE_SCRIPT });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: Violation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact} ${v.id} (${v.help}): ${v.nodes
          .slice(0, 3)
          .map((n) => JSON.stringify(n.target))
          .join(', ')}`,
    );
}

/** A critical incident of the ops team, opened by the admin. */
async function openIncident(t: TestServer, title: string) {
  const admin = await t.client({ username: 'admin' });
  const team = (await admin.teams.list.query()).find((x) => x.name === OPS.name);
  if (!team) throw new Error('no ops team');
  return admin.incidents.create.mutate({ title, severity: 'critical', teamId: team.id });
}

describeInBrowser('web app: accessibility (axe-core)', () => {
  const web = webAppFixture({ teams: [OPS] });

  it('has no serious or critical violation on any page or state, at laptop and phone size', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendTo(t, 'alice', INBOX);
    const incident = await openIncident(t, 'Checkout is slow');
    const roomId = await opsRoomId(t);

    const signedOut = await app.open(null);
    await signedOut.page.goto(t.url);
    await signedOut.page.locator('input[name=username]').waitFor();
    const found: Record<string, string[]> = {
      'signed out': await seriousViolations(signedOut.page),
    };

    const { page } = await app.open('alice', { expected: [refusedSocket(t.url)] });
    for (const size of [
      { name: 'laptop', width: 1280, height: 800 },
      { name: 'phone', width: 390, height: 844 },
    ]) {
      await page.setViewportSize(size);
      await page.goto(t.url);
      await waitForText(page, '[data-testid=unread-count]', '3');
      await waitForLive(page);
      found[`${size.name}: inbox`] = await seriousViolations(page);

      await page.locator('main [data-testid=snooze]').first().click();
      await page.locator('[role=menu]').first().waitFor();
      found[`${size.name}: snooze menu`] = await seriousViolations(page);
      await page.keyboard.press('Escape');

      await page.click('[data-testid=open-preferences]');
      await page.locator('[data-testid=preferences-dialog]').waitFor();
      found[`${size.name}: preferences`] = await seriousViolations(page);
      await page.keyboard.press('Escape');
      await page.locator('[data-testid=preferences-dialog]').waitFor({ state: 'hidden' });

      await page.click('[data-testid=bell]');
      await page.locator('[data-testid=notification-panel]').waitFor();
      found[`${size.name}: bell open`] = await seriousViolations(page);
      await page.keyboard.press('Escape');

      await page.goto(`${t.url}/dashboard`);
      await page.locator('main').waitFor();
      found[`${size.name}: dashboard`] = await seriousViolations(page);

      await page.goto(`${t.url}/incidents`);
      await page.getByText('Checkout is slow').first().waitFor();
      found[`${size.name}: board`] = await seriousViolations(page);

      await page.goto(`${t.url}/incidents/${incident.id}`);
      await page.getByRole('heading', { name: 'Checkout is slow' }).first().waitFor();
      found[`${size.name}: incident`] = await seriousViolations(page);

      await page.goto(`${t.url}/chat/${roomId}`);
      await waitForAttribute(page, '[data-testid=chat-panel]', 'data-room-id', roomId);
      found[`${size.name}: chat`] = await seriousViolations(page);

      if (size.name === 'phone') {
        await page.click('[data-testid=menu-toggle]');
        await waitForAttribute(page, '[data-testid=menu-toggle]', 'aria-expanded', 'true');
        found['phone: menu open'] = await seriousViolations(page);
      }
    }
    expect(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length > 0))).toEqual({});
    app.check();
  });

  it('tells screen readers of new notifications and of chat messages from others, politely', async () => {
    await using app = await web.start();
    const { t } = app;
    const roomId = await opsRoomId(t);
    const { page } = await app.open('alice', { expected: [refusedSocket(t.url)] });
    await page.goto(`${t.url}/chat/${roomId}`);
    await waitForAttribute(page, '[data-testid=link-ws]', 'data-state', 'connected');
    await waitForLive(page);
    const region = page.locator('[data-testid=announcer]');
    expect(await region.getAttribute('aria-live')).toBe('polite');

    await sendTo(t, 'alice', ['Disk usage above 90% on db-2']);
    await waitForText(
      page,
      '[data-testid=announcer]',
      'New info notification: Disk usage above 90% on db-2',
    );

    const bob = await t.client({ username: 'bob' });
    await bob.chat.send.mutate({ roomId, text: 'looking into it', clientMessageId: randomUUID() });
    await waitForText(page, '[data-testid=announcer]', 'Bob Okafor: looking into it');
    // Her own messages are not read back to her.
    await page.fill('[data-testid=chat-input]', 'thanks');
    await page.click('[data-testid=chat-send]');
    await page
      .locator('[data-testid=chat-message][data-status=sent]', { hasText: 'thanks' })
      .waitFor();
    expect(await region.textContent()).toBe('Bob Okafor: looking into it');
    app.check();
  });

  it('keeps keyboard focus in place: after sign-in, marking read, acknowledging, and around the bell', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendTo(t, 'alice', INBOX);
    const incident = await openIncident(t, 'Search is down');
    const { page } = await app.open(null, { expected: [refusedSocket(t.url)] });
    /** Where focus is: the element's test id, or the `data-id` of the item it is in, or its tag. */
    const focus = () =>
      page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return 'body';
        return el.closest('[data-id]')?.getAttribute('data-id') ?? el.tagName.toLowerCase();
      });

    // Signed in by keyboard: focus lands on the page, not on nothing.
    await page.goto(t.url);
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', MEMBER_PASSWORD);
    await page.press('input[name=password]', 'Enter');
    await waitForText(page, '[data-testid=unread-count]', '3');
    expect(await focus()).toBe('main');

    // Marking one read removes its button: focus stays on that notification.
    const item = page.locator('main [data-testid=notification-item]').first();
    const id = await item.getAttribute('data-id');
    await item.locator('[data-testid=mark-read]').focus();
    await page.keyboard.press('Enter');
    await waitForText(page, '[data-testid=unread-count]', '2');
    await item.locator('[data-testid=mark-read]').waitFor({ state: 'detached' });
    expect(await focus()).toBe(id);

    // The bell: Tab past its panel closes it; Escape closes it onto the bell.
    await page.focus('[data-testid=bell]');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=notification-panel]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=notification-panel]').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(
      'bell',
    );
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=notification-panel]').waitFor();
    // Tab from its last control: focus leaves the panel, which closes.
    await page
      .locator('[data-testid=notification-panel] :is(a[href], button, select, input)')
      .last()
      .focus();
    await page.keyboard.press('Tab');
    await page.locator('[data-testid=notification-panel]').waitFor({ state: 'detached' });

    // Acknowledged, the card moves to another column: focus goes with it.
    await page.goto(`${t.url}/incidents`);
    const card = page.locator(`[data-testid=incident-card][data-id="${incident.id}"]`);
    await card.locator('[data-action=acknowledge]').focus();
    await page.keyboard.press('Enter');
    await waitForAttribute(
      page,
      `[data-testid=incident-card][data-id="${incident.id}"]`,
      'data-status',
      'acknowledged',
    );
    await waitForAttribute(
      page,
      `[data-testid=incident-card][data-id="${incident.id}"]`,
      'data-pending',
      'false',
    );
    expect(await focus()).toBe(incident.id);
    app.check();
  });
});
