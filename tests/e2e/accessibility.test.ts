import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  describeInBrowser,
  refusedSocket,
  waitForAttribute,
  waitForLive,
  waitForText,
  webAppFixture,
} from '../support/browser.ts';
import { INBOX, OPS } from '../support/people.ts';
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

async function opsRoomId(t: TestServer): Promise<string> {
  const alice = await t.client({ username: 'alice' });
  const room = (await alice.chat.rooms.query()).find((r) => r.kind === 'team');
  if (!room) throw new Error('no team room');
  return room.id;
}

describeInBrowser('web app: accessibility (axe-core)', () => {
  const web = webAppFixture({ teams: [OPS] });

  it('has no serious or critical violation on any page or state, at laptop and phone size', async () => {
    await using app = await web.start();
    const { t } = app;
    await sendTo(t, 'alice', INBOX);
    const admin = await t.client({ username: 'admin' });
    const team = (await admin.teams.list.query()).find((x) => x.name === OPS.name);
    if (!team) throw new Error('no ops team');
    const incident = await admin.incidents.create.mutate({
      title: 'Checkout is slow',
      severity: 'critical',
      teamId: team.id,
    });
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
});
