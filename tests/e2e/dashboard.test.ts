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
import { OPS, teamOf } from '../support/people.ts';

const PULSE_SERIES = [
  'pulse.connections.sse',
  'pulse.connections.ws',
  'pulse.subscriptions',
  'pulse.eventloop.lag_ms',
  'pulse.rss_mb',
  'pulse.events.delivered_per_s',
];

const chart = (page: Page, series: string) =>
  page.locator(`[data-testid=chart][data-series="${series}"]`);

async function pointsOf(page: Page, series: string): Promise<number> {
  return Number(await chart(page, series).getAttribute('data-points'));
}

async function tileValues(page: Page): Promise<string[]> {
  return page.locator('[data-testid=tile-value]').allTextContents();
}

describeInBrowser('web app: live dashboard', () => {
  const web = webAppFixture({ teams: [teamOf(OPS, 'alice')] });

  it('shows Pulse’s own health on a fresh install, with tile values that move', async () => {
    await using app = await web.start();
    const { t } = app;
    const { page } = await app.open('alice');
    await page.goto(`${t.url}/dashboard`);
    await waitForLive(page);
    await page.locator('[data-testid=tile]').first().waitFor();
    const series = await page
      .locator('[data-testid=tile]')
      .evaluateAll((tiles) => tiles.map((tile) => tile.getAttribute('data-series')));
    expect(series).toEqual(PULSE_SERIES);

    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[data-testid=tile-value]')].every(
          (el) => el.textContent !== '—',
        ),
      undefined,
      { timeout: 10_000 },
    );
    const first = await tileValues(page);
    await page.waitForFunction(
      (was) =>
        [...document.querySelectorAll('[data-testid=tile-value]')].some(
          (el, i) => el.textContent !== was[i],
        ),
      first,
      { timeout: 15_000 },
    );
    // The default charts fill from the range and keep growing with the live points.
    const before = await pointsOf(page, 'pulse.rss_mb');
    await page.waitForFunction(
      (was) =>
        Number(
          document
            .querySelector('[data-testid=chart][data-series="pulse.rss_mb"]')
            ?.getAttribute('data-points'),
        ) > was,
      before,
      { timeout: 10_000 },
    );
    app.check();
  });

  it('grows a chart as points are ingested', async () => {
    await using app = await web.start();
    const { t } = app;
    const alice = await t.client({ username: 'alice' });
    await alice.dashboard.saveLayout.mutate({
      tiles: ['checkout.latency_ms'],
      charts: [{ series: 'checkout.latency_ms', range: '5m' }],
    });
    const { page } = await app.open('alice');
    await page.goto(`${t.url}/dashboard`);
    await waitForLive(page);
    await chart(page, 'checkout.latency_ms').waitFor();
    expect(await pointsOf(page, 'checkout.latency_ms')).toBe(0);

    const now = Date.now();
    await alice.metrics.ingest.mutate({
      points: [120, 135, 128, 150, 142].map((value, i) => ({
        series: 'checkout.latency_ms',
        value,
        ts: now - (5 - i) * 1000,
      })),
    });
    await waitForAttribute(
      page,
      '[data-testid=chart][data-series="checkout.latency_ms"]',
      'data-points',
      '5',
    );
    await waitForAttribute(
      page,
      '[data-testid=tile][data-series="checkout.latency_ms"] [data-testid=tile-value]',
      'data-ts',
      String(now - 1000),
    );
    expect(await page.locator('[data-testid=tile-value]').textContent()).toBe('142');
    // The chart in words for screen readers (rewritten at most once a second).
    await waitForText(
      page,
      '[data-testid=chart][data-series="checkout.latency_ms"] [data-testid=chart-summary]',
      'checkout.latency_ms over the last 5m: now 142, lowest 120, highest 150 (5 points).',
    );

    await alice.metrics.ingest.mutate({
      points: [
        { series: 'checkout.latency_ms', value: 990 },
        { series: 'checkout.latency_ms', value: 160 },
      ],
    });
    await waitForAttribute(
      page,
      '[data-testid=chart][data-series="checkout.latency_ms"]',
      'data-points',
      '7',
    );
    app.check();
  });

  it('fills the gap left by a server restart: the range reloads when the stream starts again', async () => {
    await using app = await web.start();
    const { t } = app;
    const alice = await t.client({ username: 'alice' });
    await alice.dashboard.saveLayout.mutate({
      tiles: [],
      charts: [{ series: 'queue.depth', range: '5m' }],
    });
    // The server goes away for a moment: Chromium logs the refused WebSocket, and only that.
    const { page } = await app.open('alice', { expected: [refusedSocket(t.url)] });
    await page.goto(`${t.url}/dashboard`);
    await waitForLive(page);
    const ingest = (values: number[]) =>
      alice.metrics.ingest.mutate({
        points: values.map((value) => ({ series: 'queue.depth', value })),
      });
    await ingest([1, 2]);
    await waitForAttribute(
      page,
      '[data-testid=chart][data-series="queue.depth"]',
      'data-points',
      '2',
    );

    // The server restarts, and points arrive before this browser's stream is back.
    const onPoints = (url: URL) => url.pathname === '/trpc/metrics.onPoints';
    await page.route(onPoints, (route) => route.abort());
    await t.stop();
    await t.restart();
    await ingest([3, 4, 5]);
    expect(await pointsOf(page, 'queue.depth')).toBe(2);
    await page.unroute(onPoints);
    // The stream starts again: the chart reloads its range, the three points included.
    await waitForAttribute(
      page,
      '[data-testid=chart][data-series="queue.depth"]',
      'data-points',
      '5',
    );
    await waitForLive(page);
    await ingest([6]);
    await waitForAttribute(
      page,
      '[data-testid=chart][data-series="queue.depth"]',
      'data-points',
      '6',
    );
    app.check();
  });

  it('edits the layout: a removed tile, a new chart and a range are saved for next time', async () => {
    await using app = await web.start();
    const { t } = app;
    const alice = await t.client({ username: 'alice' });
    await alice.metrics.ingest.mutate({ points: [{ series: 'api.errors', value: 3 }] });
    const { page } = await app.open('alice');
    await page.goto(`${t.url}/dashboard`);
    await waitForLive(page);
    await page.locator('[data-testid=tile]').first().waitFor();

    await page.click('[aria-label="Remove tile pulse.connections.ws"]');
    await page.selectOption('select[name=kind]', 'chart');
    await page.selectOption('select[name=series]', 'api.errors');
    await page.selectOption('select[name=range]', '1h');
    await page.click('form[aria-label="Add to the dashboard"] button[type=submit]');
    await chart(page, 'api.errors').waitFor();
    await waitForAttribute(
      page,
      '[data-testid=chart][data-series="api.errors"]',
      'data-points',
      '1',
    );
    await chart(page, 'pulse.rss_mb').locator('[data-range="24h"]').click();
    await waitForAttribute(
      page,
      '[data-testid=chart][data-series="pulse.rss_mb"]',
      'data-range',
      '24h',
    );

    // Saves run one after another; the page says "Saving…" until the last has answered.
    await page
      .locator('[data-testid=dashboard]')
      .getByText('Saving…')
      .waitFor({ state: 'detached' });
    const layout = await alice.dashboard.layout.query();
    expect(layout.tiles).not.toContain('pulse.connections.ws');
    expect(layout.charts).toEqual(
      expect.arrayContaining([
        { series: 'api.errors', range: '1h' },
        { series: 'pulse.rss_mb', range: '24h' },
      ]),
    );
    // It is alice's layout: it is what she finds on her next visit.
    await page.reload();
    await chart(page, 'api.errors').waitFor();
    expect(
      await page.locator('[data-testid=tile][data-series="pulse.connections.ws"]').count(),
    ).toBe(0);
    app.check();
  });
});
