import { describe, expect, it, vi } from 'vitest';
import { DEMO_TOKEN_NAMES } from '../../src/server/demo/simulator.ts';
import { DEMO_LAYOUT, DEMO_RULES, HISTORY } from '../../src/server/demo/script.ts';
import { FLEET_SERIES, SERVICES } from '../../src/server/demo/fleet.ts';
import type { Incident } from '../../src/shared/schemas/incidents.ts';
import type { PointsBatch } from '../../src/shared/schemas/metrics.ts';
import type { Notification } from '../../src/shared/schemas/notifications.ts';
import { teamRoomId } from '../../src/shared/rooms.ts';
import { createPulseClient, type PulseClient } from '../../src/sdk/client.ts';
import { compiledServer } from '../support/compiled-server.ts';
import { countChanges, rowCounts } from '../support/db-snapshot.ts';
import { scaleOutMissing, startCluster } from '../support/instances.ts';
import { eventually, record } from '../support/live.ts';
import { startServerProcess } from '../support/server-process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { signIn } from '../support/trpc-http.ts';

/** The living demo as `npm start` runs it, its schedule 60 times faster: the first alert in ~4 s. */
const DEMO = { PULSE_DEMO: '1', PULSE_DEMO_FLEET: '1', PULSE_DEMO_SPEED: '60' };
/** The documented demo password, literally. */
const PASSWORD = 'pulse';

const P99 = SERVICES.map((service) => `${service}.latency.p99_ms`);
/** The tables only the demo's simulator writes (the alert engine writes incidents by itself). */
const SIMULATOR_TABLES = [
  'metric_points',
  'metric_series',
  'chat_messages',
  'alert_rules',
  'api_tokens',
  'user_settings',
];

/** The services with points stamped from `since` on (the hour filled at start comes first). */
const servicesIn = (batches: readonly PointsBatch[], since: number) =>
  new Set(
    batches
      .flat()
      .flatMap((b) => (b.points.some((p) => p.ts >= since) ? [b.series.split('.')[0]] : [])),
  );

async function demoReady(t: TestServer) {
  const demo = t.server.app.demo;
  if (!demo) throw new Error('the demo did not start');
  await demo.ready;
  return demo;
}

async function teamRoom(client: PulseClient) {
  const [ops] = await client.teams.list.query();
  if (!ops) throw new Error('not in a team');
  return teamRoomId(ops.id);
}

async function demoTokens(client: PulseClient) {
  const names = new Set<string>(Object.values(DEMO_TOKEN_NAMES));
  return (await client.auth.listTokens.query()).filter((token) => names.has(token.name));
}

describe('the living demo (PULSE_DEMO)', () => {
  it('comes alive: live charts of the fleet, a rule-opened incident that notifies the team, a room with history; a restart resumes without duplicates; nothing is written after close', async () => {
    await using t = await startTestServer(DEMO);
    const alice = await t.client({ username: 'alice', password: PASSWORD });
    const changes = record<{ id: string; data: Incident }>((o) =>
      alice.incidents.onChange.subscribe(undefined, o),
    );
    // From the seed's last notification on: whenever the incident opens, its notice replays.
    const [seeded] = (await alice.notifications.list.query({ limit: 1 })).items;
    const notices = record<{ id: string; data: Notification }>((o) =>
      alice.notifications.onNotification.subscribe({ lastEventId: seeded?.id }, o),
    );
    const points = record<PointsBatch>((o) => alice.metrics.onPoints.subscribe({ series: P99 }, o));
    await Promise.all([changes.started, notices.started, points.started]);
    await demoReady(t);
    const live = Date.now();

    // The dashboard: every service's points arrive live, and alice's layout shows them.
    await points.waitUntil(
      (batches) => servicesIn(batches, live).size === SERVICES.length,
      'points of every service',
      15_000,
    );
    expect(await alice.dashboard.layout.query()).toEqual(DEMO_LAYOUT);
    const past = await alice.metrics.range.query({
      series: P99[0] ?? '',
      from: Date.now() - 3_600_000,
      to: Date.now(),
    });
    const raw = await alice.metrics.range.query({
      series: P99[0] ?? '',
      from: Date.now() - 3_600_000,
      to: Date.now(),
      maxPoints: 10000,
    });
    console.log('DEBUG', past.length, raw.length, raw.slice(0, 3), raw.slice(-3), Date.now());
    // The hour before the start is filled (every 10 s), so charts are not empty.
    expect(past.length).toBeGreaterThan(300);
    expect(past[0]?.ts).toBeLessThan(Date.now() - 3_500_000);

    // A demo rule breaches and opens an incident, which the team hears about.
    const rules = await alice.alerts.listRules.query();
    expect(rules.map((r) => [r.series, r.op, r.threshold])).toEqual(
      DEMO_RULES.map((r) => [r.series, r.op, r.threshold]),
    );
    await changes.waitUntil(
      (events) => events.some((e) => e.data.ruleId !== null && e.data.status === 'open'),
      'an incident a rule opened',
      40_000,
    );
    const opened = changes.items.find(
      (e) => e.data.ruleId !== null && e.data.status === 'open',
    )?.data;
    const rule = rules.find((r) => r.id === opened?.ruleId);
    expect(opened).toMatchObject({ version: 1, severity: rule?.severity, teamId: rule?.teamId });
    await notices.waitUntil(
      (items) => items.some((n) => n.data.link === `/incidents/${opened?.id}`),
      'the notification about it',
      10_000,
    );
    expect(
      notices.items.find((n) => n.data.link === `/incidents/${opened?.id}`)?.data,
    ).toMatchObject({
      title: `Incident: ${opened?.title}`,
      severity: opened?.severity,
    });
    // The on-call person answers in the incident's room.
    await eventually(
      async () =>
        (await alice.chat.history.query({ roomId: `room_${opened?.id}` })).items.length > 0,
      10_000,
      'a word from the on-call person',
    );

    // The team's room has its history, from its three people.
    const roomId = await teamRoom(alice);
    const history = await alice.chat.history.query({ roomId, limit: 100 });
    expect(history.items.map((m) => m.text)).toEqual(HISTORY.map((h) => h.text));
    const members = await alice.chat.members.query({ roomId });
    const authors = new Set(history.items.map((m) => m.authorId));
    expect(members.filter((p) => authors.has(p.userId)).map((p) => p.username)).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    changes.stop();
    notices.stop();
    points.stop();

    // After close nothing more is written: a server on the same port and database without
    // the demo (where a simulator left running would land) hears no fleet point while its own
    // health sampler ticks three times.
    await t.stop();
    const closed = await rowCounts(t.databaseUrl);
    await t.restart({ PULSE_DEMO_FLEET: '0' });
    expect(t.server.app.demo).toBeNull();
    const admin = await t.client({ username: 'admin' });
    const quiet = record<PointsBatch>((o) =>
      admin.metrics.onPoints.subscribe({ series: [...FLEET_SERIES, 'pulse.rss_mb'] }, o),
    );
    await quiet.waitUntil(
      (batches) => batches.filter((b) => b.some((s) => s.series === 'pulse.rss_mb')).length >= 3,
      'three health samples',
      10_000,
    );
    quiet.stop();
    expect(quiet.items.flat().filter((b) => b.series !== 'pulse.rss_mb')).toEqual([]);
    const after = countChanges(closed, await rowCounts(t.databaseUrl));
    expect(Object.keys(after).filter((table) => SIMULATOR_TABLES.includes(table))).toEqual([]);

    // Restarted with the demo: it resumes where it was, duplicating nothing.
    await t.stop();
    await t.restart();
    await demoReady(t);
    const resumedAt = Date.now();
    const again = await t.client({ username: 'alice', password: PASSWORD });
    const resumed = record<PointsBatch>((o) =>
      again.metrics.onPoints.subscribe({ series: P99 }, o),
    );
    await resumed.waitUntil(
      (batches) => servicesIn(batches, resumedAt).size === SERVICES.length,
      'the fleet again',
      15_000,
    );
    resumed.stop();
    expect((await again.alerts.listRules.query()).map((r) => r.id)).toEqual(rules.map((r) => r.id));
    expect((await again.chat.history.query({ roomId, limit: 100 })).items).toEqual(history.items);
    // Its tokens of the first run were revoked: one of each kind works.
    expect((await demoTokens(again)).map((token) => token.name)).toEqual([DEMO_TOKEN_NAMES.user]);
    const carol = await t.client({ username: 'carol', password: PASSWORD });
    expect((await demoTokens(carol)).map((token) => token.name).sort()).toEqual(
      [DEMO_TOKEN_NAMES.fleet, DEMO_TOKEN_NAMES.user].sort(),
    );
  }, 90_000);

  it('signs in again when its token is revoked, and stops, saying why, when a demo user is disabled', async () => {
    const warn = vi.spyOn(console, 'warn');
    await using t = await startTestServer(DEMO);
    const demo = await demoReady(t);
    const carol = await t.client({ username: 'carol', password: PASSWORD });
    const [fleetToken] = (await demoTokens(carol)).filter((k) => k.name === DEMO_TOKEN_NAMES.fleet);
    if (!fleetToken) throw new Error('no fleet token');
    await carol.auth.revokeToken.mutate({ id: fleetToken.id });
    // The fleet goes on with a new token of its own.
    const points = record<PointsBatch>((o) => carol.metrics.onPoints.subscribe({ series: P99 }, o));
    await points.started;
    await points.waitFor(1, 15_000);
    points.stop();
    await eventually(
      async () =>
        (await demoTokens(carol)).some(
          (k) => k.name === DEMO_TOKEN_NAMES.fleet && k.id !== fleetToken.id,
        ),
      10_000,
      'a new fleet token',
    );

    // Carol disabled: her tokens stop working and the demo cannot sign her in again.
    const admin = await t.client({ username: 'admin' });
    const carolId = (await carol.auth.me.query()).id;
    await admin.users.setDisabled.mutate({ userId: carolId, disabled: true });
    await demo.finished;
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/^Demo: not running: cannot sign in as carol/),
    );
    const quietFrom = await rowCounts(t.databaseUrl);
    // Its rounds have ended: the health sampler ticks on and no fleet point comes.
    const bob = await t.client({ username: 'bob', password: PASSWORD });
    const quiet = record<PointsBatch>((o) =>
      bob.metrics.onPoints.subscribe({ series: [...FLEET_SERIES, 'pulse.rss_mb'] }, o),
    );
    await quiet.waitUntil(
      (batches) => batches.filter((b) => b.some((s) => s.series === 'pulse.rss_mb')).length >= 2,
      'two health samples',
      10_000,
    );
    quiet.stop();
    expect(quiet.items.flat().filter((b) => b.series !== 'pulse.rss_mb')).toEqual([]);
    expect(countChanges(quietFrom, await rowCounts(t.databaseUrl))).not.toHaveProperty(
      'metric_points',
    );
  }, 60_000);

  it('plays on with the rules its team may still have', async () => {
    await using t = await startTestServer({ ...DEMO, PULSE_MAX_RULES_PER_TEAM: '2' });
    await demoReady(t);
    const readyAt = Date.now();
    const alice = await t.client({ username: 'alice', password: PASSWORD });
    expect((await alice.alerts.listRules.query()).map((r) => r.series)).toEqual(
      DEMO_RULES.slice(0, 2).map((r) => r.series),
    );
    const points = record<PointsBatch>((o) => alice.metrics.onPoints.subscribe({ series: P99 }, o));
    await points.waitUntil(
      (batches) => servicesIn(batches, readyAt).size === SERVICES.length,
      'the fleet',
      15_000,
    );
    points.stop();
  });

  it('is not there with PULSE_DEMO=0, nor with PULSE_DEMO_FLEET=0', async () => {
    {
      await using t = await startTestServer({ PULSE_DEMO_FLEET: '1', PULSE_DEMO_SPEED: '60' });
      expect(t.server.app.demo).toBeNull();
      const admin = await t.client({ username: 'admin' });
      expect(await admin.teams.list.query()).toEqual([]);
      expect(await admin.alerts.listRules.query()).toEqual([]);
      expect(await admin.incidents.list.query()).toEqual([]);
      expect(
        (await admin.metrics.list.query()).filter((s) => !s.series.startsWith('pulse.')),
      ).toEqual([]);
    }
    // The demo users alone, as test servers have them.
    await using t = await startTestServer({ PULSE_DEMO: '1', PULSE_DEMO_SPEED: '60' });
    expect(t.server.app.demo).toBeNull();
    const alice = await t.client({ username: 'alice', password: PASSWORD });
    expect(await alice.alerts.listRules.query()).toEqual([]);
    expect((await alice.chat.history.query({ roomId: await teamRoom(alice) })).items).toEqual([]);
    expect(
      (await alice.metrics.list.query()).filter((s) => !s.series.startsWith('pulse.')),
    ).toEqual([]);
  });

  it.skipIf(scaleOutMissing !== null)(
    'runs on one instance of several, and another takes over when it stops',
    async () => {
      await using cluster = await startCluster(2, { env: DEMO });
      const [a, b] = cluster.servers as [TestServer, TestServer];
      await demoReady(a);
      const carol = await b.client({ username: 'carol', password: PASSWORD });
      const points = record<PointsBatch>((o) =>
        carol.metrics.onPoints.subscribe({ series: P99 }, o),
      );
      await points.waitFor(1, 15_000);
      points.stop();
      // One simulator: its tokens alone (two simulators would revoke each other's).
      expect((await demoTokens(carol)).map((token) => token.name).sort()).toEqual(
        [DEMO_TOKEN_NAMES.fleet, DEMO_TOKEN_NAMES.user].sort(),
      );
      let bReady = false;
      void b.server.app.demo?.ready.then(() => (bReady = true));
      expect(bReady).toBe(false);

      await a.stop();
      await demoReady(b);
      const takenOver = Date.now();
      const after = record<PointsBatch>((o) =>
        carol.metrics.onPoints.subscribe({ series: P99 }, o),
      );
      await after.waitUntil(
        (batches) => servicesIn(batches, takenOver).size === SERVICES.length,
        'the fleet from the other instance',
        15_000,
      );
      after.stop();
      expect((await carol.alerts.listRules.query()).length).toBe(DEMO_RULES.length);
    },
    60_000,
  );

  it('runs in the compiled server as `npm start` runs it, and ends with it on SIGTERM, cleanly', async () => {
    const entry = await compiledServer();
    await using server = await startServerProcess(DEMO, { entry });
    const cookie = await signIn(server.url, 'alice', PASSWORD);
    const alice = createPulseClient({ url: server.url, headers: { cookie } });
    // What a new user sees on the incident board: an incident a rule opened.
    await eventually(
      async () => (await alice.incidents.list.query()).some((i) => i.ruleId !== null),
      30_000,
      'an incident a rule opened',
    );
    expect(server.output()).toMatch(/Demo: a simulated fleet/);
    await server.stop();
    expect(server.exitDescription()).toBe('exit 0');
    expect(server.output()).toMatch(/Drained and closed/);
    expect(server.output()).not.toMatch(/failed|rror/);
  }, 60_000);
});
