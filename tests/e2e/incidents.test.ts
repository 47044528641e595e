import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  describeInBrowser,
  inboxItem,
  signIn,
  waitForAttribute,
  waitForLive,
  webAppFixture,
} from '../support/browser.ts';
import { deferred } from '../support/live.ts';
import { OPS } from '../support/people.ts';
import type { TestServer } from '../support/server.ts';

/** An incident of team ops, opened through the API by `username`. */
async function openIncident(t: TestServer, username: string, title: string) {
  const client = await t.client({ username });
  const me = await client.auth.me.query();
  const teamId = me.teamIds[0];
  if (!teamId) throw new Error(`${username} has no team`);
  const incident = await client.incidents.create.mutate({ title, severity: 'critical', teamId });
  return { client, incident };
}

/** The incident's card in the board's column for `status`. */
const cardIn = (page: Page, status: string, id: string) =>
  page.locator(`[data-testid=column-${status}] [data-testid=incident-card][data-id="${id}"]`);

async function openBoard(page: Page, t: TestServer, id: string) {
  await page.goto(`${t.url}/incidents`);
  await waitForLive(page);
  await cardIn(page, 'open', id).waitFor();
}

describeInBrowser('web app: incident board', () => {
  const web = webAppFixture({ teams: [OPS] });

  it('moves a card on a teammate’s board live when one acknowledges it', async () => {
    await using app = await web.start();
    const { t } = app;
    const { incident } = await openIncident(t, 'carol', 'Checkout 500s above 2%');
    const { page: alice } = await app.open('alice');
    const { page: bob } = await app.open('bob');
    await openBoard(alice, t, incident.id);
    await openBoard(bob, t, incident.id);

    await cardIn(alice, 'open', incident.id).locator('[data-action=acknowledge]').click();
    // Optimistic on alice's board, live on bob's, settled to the server's answer on both.
    await cardIn(alice, 'acknowledged', incident.id).waitFor();
    await cardIn(bob, 'acknowledged', incident.id).waitFor();
    expect(await cardIn(bob, 'open', incident.id).count()).toBe(0);
    for (const page of [alice, bob]) {
      await waitForAttribute(
        page,
        `[data-testid=incident-card][data-id="${incident.id}"]`,
        'data-version',
        '2',
      );
    }

    // Bob takes it: alice sees him as the assignee, by name.
    await cardIn(bob, 'acknowledged', incident.id).locator('[data-action=take]').click();
    await cardIn(alice, 'acknowledged', incident.id)
      .locator('[data-testid=assignee]', { hasText: 'Bob Okafor' })
      .waitFor();
    const viewer = await t.client({ username: 'admin' });
    const now = await viewer.incidents.get.query({ id: incident.id });
    expect(now).toMatchObject({ status: 'acknowledged', version: 3 });
    app.check();
  });

  it('rolls a stale action back to the server’s state and says why', async () => {
    await using app = await web.start();
    const { t } = app;
    const { client: alice, incident } = await openIncident(t, 'alice', 'Queue depth above 10k');
    const { page: bob } = await app.open('bob');
    await openBoard(bob, t, incident.id);
    await waitForAttribute(
      bob,
      `[data-testid=incident-card][data-id="${incident.id}"]`,
      'data-version',
      '1',
    );

    // Bob's resolve leaves with version 1; alice's acknowledge reaches the server first.
    const reached = deferred();
    const release = deferred();
    await bob.route(
      (url) => url.pathname.startsWith('/trpc/') && url.pathname.includes('incidents.resolve'),
      async (route) => {
        reached.resolve();
        await release.promise;
        await route.continue();
      },
    );
    await cardIn(bob, 'open', incident.id).locator('[data-action=resolve]').click();
    // The card moves at once…
    await cardIn(bob, 'resolved', incident.id).waitFor();
    await reached.promise;
    await alice.incidents.acknowledge.mutate({ id: incident.id, version: 1 });
    // The live change reaches bob's cache (version 2) without undoing what he just did.
    await waitForAttribute(
      bob,
      `[data-testid=incident-card][data-id="${incident.id}"]`,
      'data-version',
      '2',
    );
    expect(await cardIn(bob, 'resolved', incident.id).getAttribute('data-pending')).toBe('true');
    release.resolve();

    // …then goes back to what the server holds, with the server's reason in view.
    const card = cardIn(bob, 'acknowledged', incident.id);
    await card.waitFor();
    expect(await card.getAttribute('data-version')).toBe('2');
    const alert = card.locator('[role=alert]');
    await alert.waitFor();
    // Who changed what, by name; no ids or versions.
    await card
      .locator('[role=alert]', { hasText: 'Alice Martin acknowledged it meanwhile' })
      .waitFor();
    expect(await alert.textContent()).toContain(
      'Could not resolve: Alice Martin acknowledged it meanwhile',
    );
    expect(await cardIn(bob, 'resolved', incident.id).count()).toBe(0);
    const server = await alice.incidents.get.query({ id: incident.id });
    expect(server).toMatchObject({ status: 'acknowledged', version: 2 });

    // With the server's version in hand, the same action now goes through.
    await card.locator('[data-action=resolve]').click();
    await cardIn(bob, 'resolved', incident.id).waitFor();
    await waitForAttribute(
      bob,
      `[data-testid=incident-card][data-id="${incident.id}"]`,
      'data-version',
      '3',
    );
    expect(await bob.locator('[data-testid=incident-failure]').count()).toBe(0);
    app.check();
  });

  it('drops an action still in flight from view when its user signs out', async () => {
    await using app = await web.start();
    const { t } = app;
    const { incident } = await openIncident(t, 'carol', 'Cache hit rate below 50%');
    const { page } = await app.open('alice');
    await openBoard(page, t, incident.id);

    const reached = deferred();
    const release = deferred();
    await page.route(
      (url) => url.pathname.startsWith('/trpc/') && url.pathname.includes('incidents.resolve'),
      async (route) => {
        reached.resolve();
        await release.promise;
        await route.continue();
      },
    );
    await cardIn(page, 'open', incident.id).locator('[data-action=resolve]').click();
    await cardIn(page, 'resolved', incident.id).waitFor();
    await reached.promise;

    await page.click('[data-testid=logout]');
    await page.locator('input[name=username]').waitFor();
    await signIn(page, 'alice');
    await waitForLive(page);
    // The server has not resolved it, and this is a new session: no overlay from the last one.
    const card = cardIn(page, 'open', incident.id);
    await card.waitFor();
    expect(await card.getAttribute('data-pending')).toBe('false');
    release.resolve();
    app.check();
  });

  it('opens the incident page from a notification link, with a live timeline', async () => {
    await using app = await web.start();
    const { t } = app;
    const { incident } = await openIncident(t, 'carol', 'Disk full on db-2');
    const admin = await t.client({ username: 'admin' });
    const bobId = (await (await t.client({ username: 'bob' })).auth.me.query()).id;
    const { page } = await app.open('bob');
    await page.goto(t.url);
    await waitForLive(page);

    // Assignment notifies the assignee, with a link to the incident.
    await admin.incidents.assign.mutate({ id: incident.id, assigneeId: bobId, version: 1 });
    const item = inboxItem(page, `Assigned to you: ${incident.title}`);
    await item.locator('a').click();
    await page.locator(`[data-testid=incident-detail][data-id="${incident.id}"]`).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/incidents/${incident.id}`);
    await waitForLive(page);
    expect(
      await page.locator('[data-testid=incident-detail] [data-testid=assignee]').textContent(),
    ).toContain('Bob Okafor');
    // The admin, in no team of bob's, is named too; the detail names bob, not his id.
    await page
      .locator('[data-testid=timeline] [data-action=assigned]', {
        hasText: 'Administrator assigned · to Bob Okafor (you)',
      })
      .waitFor();
    expect(await page.locator('[data-testid=timeline]').textContent()).not.toContain('usr_');

    // A change made elsewhere shows on the page and in its timeline without a reload.
    await admin.incidents.acknowledge.mutate({ id: incident.id, version: 2 });
    await waitForAttribute(page, '[data-testid=incident-detail]', 'data-status', 'acknowledged');
    await page.locator('[data-testid=timeline] [data-action=acknowledged]').waitFor();

    // Resolved from the page; back on the board it sits in its column.
    await page.click('[data-testid=incident-detail] [data-action=resolve]');
    await waitForAttribute(page, '[data-testid=incident-detail]', 'data-version', '4');
    await page.click('text=All incidents');
    await cardIn(page, 'resolved', incident.id).waitFor();
    app.check();
  });
  it('opens an incident from the form, and adds and deletes an alert rule, validating both', async () => {
    await using app = await web.start();
    const { t } = app;
    const bob = await t.client({ username: 'bob' });
    const { page } = await app.open('alice');
    await page.goto(`${t.url}/incidents`);
    await waitForLive(page);

    await page.click('text=New incident');
    const form = page.locator('form[aria-label="New incident"]');
    await form.locator('button[type=submit]').click();
    await form.locator('.field-error', { hasText: 'Give it a title' }).waitFor();
    await form.locator('input[name=title]').fill('Payments webhook retries piling up');
    await form.locator('select[name=severity]').selectOption('critical');
    await form.locator('button[type=submit]').click();
    const card = page.locator('[data-testid=column-open] [data-testid=incident-card]', {
      hasText: 'Payments webhook retries piling up',
    });
    await card.waitFor();
    expect(await card.getAttribute('class')).toContain('incident-card--critical');
    const listed = await bob.incidents.list.query();
    expect(listed.map((i) => i.title)).toContain('Payments webhook retries piling up');

    const rules = page.locator('[data-testid=alert-rules]');
    const ruleForm = rules.locator('form[aria-label="New alert rule"]');
    await ruleForm.locator('input[name=series]').fill('bad series!');
    await ruleForm.locator('button[type=submit]').click();
    await ruleForm.locator('.field-error').first().waitFor();
    expect(await ruleForm.locator('.field-error').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('series'), 'A number']),
    );
    expect(await bob.alerts.listRules.query()).toEqual([]);

    await ruleForm.locator('input[name=series]').fill('payments.retries');
    await ruleForm.locator('select[name=op]').selectOption('>');
    await ruleForm.locator('input[name=threshold]').fill('500');
    await ruleForm.locator('input[name=forSeconds]').fill('120');
    await ruleForm.locator('button[type=submit]').click();
    await rules
      .locator('[data-testid=alert-rule]', { hasText: 'payments.retries > 500' })
      .waitFor();
    expect(await bob.alerts.listRules.query()).toMatchObject([
      { series: 'payments.retries', op: '>', threshold: 500, forSeconds: 120, severity: 'warning' },
    ]);

    await rules.locator('[data-testid=alert-rule] button', { hasText: 'Delete' }).click();
    await rules.locator('[data-testid=alert-rule]').waitFor({ state: 'detached' });
    expect(await bob.alerts.listRules.query()).toEqual([]);
    app.check();
  });

  it('lets a member assign an incident to a teammate, by name', async () => {
    await using app = await web.start();
    const { t } = app;
    const { incident } = await openIncident(t, 'carol', 'Search index lagging');
    const bob = await t.client({ username: 'bob' });
    const bobId = (await bob.auth.me.query()).id;
    const { page } = await app.open('alice');
    await openBoard(page, t, incident.id);

    const select = cardIn(page, 'open', incident.id).locator('select[data-action=assign]');
    const options = await select.locator('option:not([disabled])').allTextContents();
    expect(options).toEqual(['Alice Martin', 'Bob Okafor', 'Carol Nguyen']);
    await select.selectOption({ label: 'Bob Okafor' });
    await cardIn(page, 'open', incident.id)
      .locator('[data-testid=assignee]', { hasText: 'Bob Okafor' })
      .waitFor();
    await waitForAttribute(
      page,
      `[data-testid=incident-card][data-id="${incident.id}"]`,
      'data-version',
      '2',
    );
    expect(await bob.incidents.get.query({ id: incident.id })).toMatchObject({
      assigneeId: bobId,
      version: 2,
    });
    app.check();
  });

  it('shows the newest incidents first and loads older ones on demand, still live', async () => {
    await using app = await web.start();
    const { t } = app;
    const { client: carol, incident: oldest } = await openIncident(t, 'carol', 'The oldest one');
    const teamId = oldest.teamId;
    for (let i = 0; i < 100; i++) {
      await carol.incidents.create.mutate({ title: `Noise ${i}`, severity: 'info', teamId });
    }
    const { page } = await app.open('alice');
    await page.goto(`${t.url}/incidents`);
    await waitForLive(page);
    const open = page.locator('[data-testid=column-open] [data-testid=incident-card]');
    await page.locator('[data-testid=incidents-more]').waitFor();
    expect(await open.count()).toBe(100);
    expect(await cardIn(page, 'open', oldest.id).count()).toBe(0);

    await page.click('[data-testid=incidents-more]');
    await cardIn(page, 'open', oldest.id).waitFor();
    expect(await open.count()).toBe(101);
    await page.locator('[data-testid=incidents-more]').waitFor({ state: 'detached' });

    // A change to an incident on the second page, and a new one, both arrive live.
    await carol.incidents.acknowledge.mutate({ id: oldest.id, version: 1 });
    await cardIn(page, 'acknowledged', oldest.id).waitFor();
    const fresh = await carol.incidents.create.mutate({
      title: 'Fresh',
      severity: 'critical',
      teamId,
    });
    await cardIn(page, 'open', fresh.id).waitFor();
    expect(await open.count()).toBe(101);
    app.check();
  });
});
