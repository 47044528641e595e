import { describe, expect, it } from 'vitest';
import type { Incident } from '../../src/shared/schemas/incidents.ts';
import type { PointsBatch } from '../../src/shared/schemas/metrics.ts';
import { createPulseClient } from '../../src/sdk/client.ts';
import { eventually, record } from '../support/live.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { OPS } from '../support/people.ts';

type TrackedIncident = { id: string; data: Incident };

const opsTeam = (t: TestServer) => t.team('ops').team.id;

describe('metrics', () => {
  it('delivers ingested points to onPoints subscribers in coalesced batches', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const live = record<PointsBatch>((o) =>
      alice.metrics.onPoints.subscribe({ series: ['app.latency', 'app.errors'] }, o),
    );
    await live.started;
    const t0 = Date.now();
    // 60 batches as fast as they go: far more than ten a second.
    for (let i = 0; i < 60; i++) {
      await alice.metrics.ingest.mutate({
        points: [
          { series: 'app.latency', value: i, ts: t0 + i },
          { series: 'other.series', value: i, ts: t0 + i },
        ],
      });
    }
    const elapsed = Date.now() - t0;
    await live.waitUntil(
      (items) => items.flat().flatMap((b) => b.points).length >= 60,
      'all points',
    );
    live.stop();
    const batches = live.items.flat();
    expect(batches.every((b) => b.series === 'app.latency')).toBe(true);
    expect(batches.flatMap((b) => b.points.map((p) => p.value))).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
    // At most about one batch per 100 ms window.
    expect(live.items.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 2);
    expect(live.items.length).toBeLessThan(60);
  });

  it('keeps a window of points and downsamples ranges keeping spikes', async () => {
    // Kept for 4 h while these arrive, then for 1 h after the restart below.
    await using t = await startTestServer({ PULSE_METRICS_RETENTION_H: '4' }, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const now = Date.now();
    const old = Array.from({ length: 10 }, (_, i) => ({
      series: 'disk.used',
      value: 1,
      ts: now - 3 * 3_600_000 + i,
    }));
    await alice.metrics.ingest.mutate({ points: old });
    const recent = Array.from({ length: 5000 }, (_, i) => ({
      series: 'disk.used',
      value: i === 2500 ? 1000 : 50 + (i % 7),
      ts: now - 5000 + i,
    }));
    await alice.metrics.ingest.mutate({ points: recent });
    const all = await alice.metrics.range.query({
      series: 'disk.used',
      from: 0,
      to: now,
      maxPoints: 10_000,
    });
    expect(all).toHaveLength(5010);
    const few = await alice.metrics.range.query({
      series: 'disk.used',
      from: now - 5000,
      to: now,
      maxPoints: 50,
    });
    expect(few.length).toBeLessThanOrEqual(50);
    expect(few.map((p) => p.value)).toContain(1000);
    expect(few.map((p) => p.ts)).toEqual([...few.map((p) => p.ts)].sort((a, b) => a - b));
    // Retention runs at start: after a restart, points older than an hour are gone.
    await t.stop();
    await t.restart({ PULSE_METRICS_RETENTION_H: '1' });
    const again = createPulseClient({ url: t.url, headers: { cookie: await t.login('alice') } });
    const kept = await again.metrics.range.query({
      series: 'disk.used',
      from: 0,
      to: now,
      maxPoints: 10_000,
    });
    expect(kept).toHaveLength(5000);
    const summary = (await again.metrics.list.query()).find((s) => s.series === 'disk.used');
    expect(summary?.last).toEqual({ ts: now - 1, value: 50 + (4999 % 7) });
  });

  it('refuses bad points with BAD_REQUEST and stores nothing', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const bad = [
      { points: [{ series: 'bad name!', value: 1 }] },
      { points: [{ series: 'x'.repeat(101), value: 1 }] },
      { points: [{ series: 'ok', value: Number.NaN }] },
      { points: [] },
      { points: Array.from({ length: 5001 }, () => ({ series: 'ok', value: 1 })) },
      {
        points: [
          { series: 'ok', value: 1 },
          { series: 'ok', value: 'high' },
        ],
      },
    ];
    for (const input of bad) {
      await expect(alice.metrics.ingest.mutate(input as never)).rejects.toMatchObject({
        data: { code: 'BAD_REQUEST' },
      });
    }
    // JSON cannot say Infinity, but a raw body can overflow to it.
    const cookie = await t.login('alice');
    const res = await fetch(`${t.url}/trpc/metrics.ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: '{"points":[{"series":"ok","value":1e999}]}',
    });
    expect(res.status).toBe(400);
    expect((await alice.metrics.list.query()).map((s) => s.series)).not.toContain('ok');
    expect(await alice.metrics.range.query({ series: 'ok', from: 0, to: Date.now() })).toEqual([]);
  });

  it('ingests its own health every second from the start', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    await eventually(
      async () => (await alice.metrics.list.query()).length >= 6,
      1500,
      'the first sample',
    );
    const names = (await alice.metrics.list.query()).map((s) => s.series);
    expect(names).toEqual(
      expect.arrayContaining([
        'pulse.connections.sse',
        'pulse.connections.ws',
        'pulse.subscriptions',
        'pulse.eventloop.lag_ms',
        'pulse.rss_mb',
        'pulse.events.delivered_per_s',
      ]),
    );
    const live = record<PointsBatch>((o) =>
      alice.metrics.onPoints.subscribe({ series: ['pulse.rss_mb'] }, o),
    );
    await live.waitFor(2, 4000);
    live.stop();
  });

  it('lets ingest-only tokens ingest and nothing else', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const { token } = await alice.auth.createToken.mutate({ name: 'agent', scopes: ['ingest'] });
    const agent = createPulseClient({ url: t.url, token });
    expect(
      await agent.metrics.ingest.mutate({ points: [{ series: 'agent.up', value: 1 }] }),
    ).toEqual({ accepted: 1 });
    await expect(agent.metrics.list.query()).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    const reader = createPulseClient({
      url: t.url,
      token: (await alice.auth.createToken.mutate({ name: 'r', scopes: ['read'] })).token,
    });
    await expect(
      reader.metrics.ingest.mutate({ points: [{ series: 'agent.up', value: 1 }] }),
    ).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
  });
});

describe('alerts and incidents', () => {
  it('opens exactly one incident per rule while unresolved and notifies the team', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const teamId = opsTeam(t);
    const alice = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const bobsBefore = await bob.notifications.unreadCount.query();
    const rule = await alice.alerts.createRule.mutate({
      series: 'api.p99',
      op: '>',
      threshold: 500,
      forSeconds: 2,
      severity: 'critical',
      teamId,
    });
    const now = Date.now();
    // Above the threshold for 5 s already: the rule holds as soon as these arrive.
    await alice.metrics.ingest.mutate({
      points: Array.from({ length: 6 }, (_, i) => ({
        series: 'api.p99',
        value: 900,
        ts: now - 5000 + i * 1000,
      })),
    });
    // One evaluation of every rule, as the engine's every-second pass makes.
    const evaluate = () => t.server.app.jobs.alerts.evaluateNow();
    await evaluate();
    expect(await alice.incidents.list.query()).toHaveLength(1);
    await alice.metrics.ingest.mutate({ points: [{ series: 'api.p99', value: 950 }] });
    await evaluate();
    const [incident] = await alice.incidents.list.query();
    expect(await alice.incidents.list.query()).toHaveLength(1);
    expect(incident).toMatchObject({
      ruleId: rule.id,
      teamId,
      status: 'open',
      severity: 'critical',
      version: 1,
    });
    const detail = await alice.incidents.get.query({ id: incident!.id });
    expect(detail.timeline).toEqual([expect.objectContaining({ action: 'opened', actorId: null })]);
    await eventually(
      async () => (await bob.notifications.unreadCount.query()) === bobsBefore + 1,
      3000,
      'the team notified',
    );
    const [note] = (await bob.notifications.list.query({ limit: 1 })).items;
    expect(note).toMatchObject({ severity: 'critical', link: `/incidents/${incident!.id}` });
    // Resolved while the condition still holds: the next evaluation opens a new one.
    await alice.incidents.resolve.mutate({ id: incident!.id, version: 1 });
    await evaluate();
    expect(await alice.incidents.list.query({ status: 'open' })).toHaveLength(1);
    expect(await alice.incidents.list.query()).toHaveLength(2);
  });

  it('does not open an incident before the condition has held forSeconds', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const teamId = opsTeam(t);
    const alice = await t.client({ username: 'alice' });
    await alice.alerts.createRule.mutate({
      series: 'q.depth',
      op: '<',
      threshold: 10,
      forSeconds: 60,
      severity: 'warning',
      teamId,
    });
    const now = Date.now();
    await alice.metrics.ingest.mutate({
      points: [
        { series: 'q.depth', value: 3, ts: now - 120_000 },
        { series: 'q.depth', value: 50, ts: now - 30_000 }, // broke the run
        { series: 'q.depth', value: 2, ts: now - 20_000 },
        { series: 'q.depth', value: 1, ts: now },
      ],
    });
    await t.server.app.jobs.alerts.evaluateNow();
    expect(await alice.incidents.list.query()).toEqual([]);
  });

  it('answers a stale version with CONFLICT and changes nothing; concurrent acknowledges: one wins', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const teamId = opsTeam(t);
    const alice = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const incident = await alice.incidents.create.mutate({
      title: 'Checkout down',
      severity: 'critical',
      teamId,
    });
    expect(incident.version).toBe(1);
    const results = await Promise.allSettled([
      alice.incidents.acknowledge.mutate({ id: incident.id, version: 1 }),
      bob.incidents.acknowledge.mutate({ id: incident.id, version: 1 }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ data: { code: 'CONFLICT' } });
    const before = await alice.incidents.get.query({ id: incident.id });
    expect(before).toMatchObject({ status: 'acknowledged', version: 2 });
    await expect(
      alice.incidents.resolve.mutate({ id: incident.id, version: 1 }),
    ).rejects.toMatchObject({
      data: { code: 'CONFLICT' },
    });
    expect(await alice.incidents.get.query({ id: incident.id })).toEqual(before);
    const resolved = await bob.incidents.resolve.mutate({ id: incident.id, version: 2 });
    expect(resolved).toMatchObject({ status: 'resolved', version: 3 });
    await expect(
      bob.incidents.acknowledge.mutate({ id: incident.id, version: 3 }),
    ).rejects.toMatchObject({
      data: { code: 'CONFLICT' },
    });
  });

  it('notifies the assignee and keeps incidents to their team', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const teamId = opsTeam(t);
    const admin = await t.client({ username: 'admin' });
    await admin.users.create.mutate({ username: 'dave', password: 'secret-password' });
    const alice = await t.client({ username: 'alice' });
    const carol = await t.client({ username: 'carol' });
    const dave = await t.client({ username: 'dave', password: 'secret-password' });
    const incident = await alice.incidents.create.mutate({
      title: 'Disk full',
      severity: 'warning',
      teamId,
    });
    const carolId = (await carol.auth.me.query()).id;
    const daveId = (await dave.auth.me.query()).id;
    const before = await carol.notifications.unreadCount.query();
    const assigned = await alice.incidents.assign.mutate({
      id: incident.id,
      version: 1,
      assigneeId: carolId,
    });
    expect(assigned).toMatchObject({ assigneeId: carolId, version: 2 });
    await eventually(
      async () => (await carol.notifications.unreadCount.query()) === before + 1,
      3000,
      'assignee notified',
    );
    await expect(
      alice.incidents.assign.mutate({ id: incident.id, version: 2, assigneeId: daveId }),
    ).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    // Outside the team: as if it did not exist.
    await expect(dave.incidents.get.query({ id: incident.id })).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    await expect(
      dave.incidents.acknowledge.mutate({ id: incident.id, version: 2 }),
    ).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    await expect(
      dave.incidents.create.mutate({ title: 'x', severity: 'info', teamId }),
    ).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    expect(await dave.incidents.list.query()).toEqual([]);
    expect(await admin.incidents.list.query()).toHaveLength(1);
  });

  it('streams incident changes and replays them from lastEventId, to the team only', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const teamId = opsTeam(t);
    const admin = await t.client({ username: 'admin' });
    await admin.users.create.mutate({ username: 'erin', password: 'secret-password' });
    const erin = await t.client({ username: 'erin', password: 'secret-password' });
    const alice = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const bobs = record<TrackedIncident>((o) => bob.incidents.onChange.subscribe(undefined, o));
    const erins = record<TrackedIncident>((o) => erin.incidents.onChange.subscribe(undefined, o));
    await Promise.all([bobs.started, erins.started]);
    const a = await alice.incidents.create.mutate({ title: 'A', severity: 'info', teamId });
    await alice.incidents.acknowledge.mutate({ id: a.id, version: 1 });
    await bobs.waitFor(2);
    bobs.stop();
    expect(bobs.items.map((e) => [e.data.id, e.data.version, e.data.status])).toEqual([
      [a.id, 1, 'open'],
      [a.id, 2, 'acknowledged'],
    ]);
    // Missed while away, then live again.
    await alice.incidents.resolve.mutate({ id: a.id, version: 2 });
    const b = await alice.incidents.create.mutate({ title: 'B', severity: 'warning', teamId });
    const resumed = record<TrackedIncident>((o) =>
      bob.incidents.onChange.subscribe({ lastEventId: bobs.items[1]!.id }, o),
    );
    await resumed.waitFor(2);
    await alice.incidents.acknowledge.mutate({ id: b.id, version: 1 });
    await resumed.waitFor(3);
    resumed.stop();
    expect(resumed.items.map((e) => [e.data.title, e.data.version, e.data.status])).toEqual([
      ['A', 3, 'resolved'],
      ['B', 1, 'open'],
      ['B', 2, 'acknowledged'],
    ]);
    // Erin is in no team: she saw nothing, and cannot resume from the team's ids.
    erins.stop();
    expect(erins.items).toEqual([]);
    const probe = record<TrackedIncident>((o) =>
      erin.incidents.onChange.subscribe({ lastEventId: resumed.items[0]!.id }, o),
    );
    expect((await probe.waitForError()).data?.code).toBe('PRECONDITION_FAILED');
  });

  it('keeps each user’s dashboard layout', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const initial = await alice.dashboard.layout.query();
    expect(initial.tiles).toContain('pulse.rss_mb');
    const mine = { tiles: ['api.p99'], charts: [{ series: 'api.p99', range: '1h' as const }] };
    await alice.dashboard.saveLayout.mutate(mine);
    expect(await alice.dashboard.layout.query()).toEqual(mine);
    expect(await bob.dashboard.layout.query()).toEqual(initial);
    await expect(
      alice.dashboard.saveLayout.mutate({ tiles: ['bad name'], charts: [] }),
    ).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
  });
});
