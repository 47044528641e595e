import { TRPCError } from '@trpc/server';
import { describe, expect, it, vi } from 'vitest';
import { ZodError } from 'zod';
import type { PointsBatch } from '../../src/shared/schemas/metrics.ts';
import { downsample } from '../../src/server/features/metrics/downsample.ts';
import { createPulseClient } from '../../src/sdk/client.ts';
import { createTestServices } from '../support/caller.ts';
import { record } from '../support/live.ts';
import { startTestServer } from '../support/server.ts';
import { OPS, teamOf } from '../support/people.ts';
import { wsClient } from '../support/ws.ts';

/** Every bound here is one alice meets, as a member of the ops team. */
const aliceInOps = [teamOf(OPS, 'alice')];

/** The error a call failed with (a TRPCError), or a failure when it did not fail. */
async function refusal(promise: Promise<unknown>): Promise<TRPCError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(outcome instanceof TRPCError))
    throw new Error(`expected a TRPCError, got ${String(outcome)}`);
  return outcome;
}

describe('notification links', () => {
  it('accepts a path on this site or an absolute http(s) URL, and nothing that only looks like one', async () => {
    await using t = await createTestServices({}, { teams: aliceInOps });
    const admin = t.caller('admin');
    const send = (link: string) =>
      admin.notifications.send({
        to: { usernames: ['alice'] },
        title: 'linked',
        severity: 'info',
        link,
      });

    for (const link of [
      '//evil.example',
      '/\\evil.example',
      'javascript:alert(1)',
      ' /x',
      '/x y',
      '/x\n',
      'https://ok.example/a\tb',
      'ftp://files.example/x',
      'https:/evil.example',
      'evil.example/x',
    ]) {
      const error = await refusal(send(link));
      expect(error.code, link).toBe('BAD_REQUEST');
      expect(error.cause, link).toBeInstanceOf(ZodError);
      expect(
        (error.cause as ZodError).issues.map((i) => i.path),
        link,
      ).toEqual([['link']]);
    }
    const stored = await t.caller('alice').notifications.list({ limit: 100 });
    expect(stored.items.map((n) => n.title)).not.toContain('linked');

    for (const link of ['https://ok.example/x', '/incidents/inc_1', 'HTTP://ok.example']) {
      expect(await send(link), link).toEqual({ count: 1 });
    }
    const { items } = await t.caller('alice').notifications.list({ limit: 3 });
    expect(items.map((n) => n.link)).toEqual([
      'HTTP://ok.example',
      '/incidents/inc_1',
      'https://ok.example/x',
    ]);
  });
});

describe('alert rules per team', () => {
  it('stores up to PULSE_MAX_RULES_PER_TEAM rules in a team and refuses the next, naming the limit', async () => {
    await using t = await createTestServices(
      { PULSE_MAX_RULES_PER_TEAM: '3' },
      { teams: aliceInOps },
    );
    const admin = t.caller('admin');
    const alice = t.caller('alice');
    const ops = t.team('ops').team;
    const other = await admin.teams.create({ name: 'payments' });
    const rule = (teamId: string, i: number) =>
      ({
        series: `app.q${i}`,
        op: '>',
        threshold: i,
        forSeconds: 60,
        severity: 'warning',
        teamId,
      }) as const;

    const created = [];
    for (let i = 0; i < 3; i++) created.push(await alice.alerts.createRule(rule(ops.id, i)));
    const error = await refusal(alice.alerts.createRule(rule(ops.id, 3)));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toBe("Team 'ops' has 3 alert rules, its limit is 3: delete one first");
    const stored = (await alice.alerts.listRules()).map((r) => r.series);
    expect(stored.sort()).toEqual(['app.q0', 'app.q1', 'app.q2']);

    // Per team: another team still has room; a deleted rule makes room again.
    await admin.alerts.createRule(rule(other.id, 9));
    await alice.alerts.deleteRule({ id: created[0]!.id });
    expect((await alice.alerts.createRule(rule(ops.id, 4))).series).toBe('app.q4');
  });

  it('lets no two concurrent creates pass the limit together', async () => {
    await using t = await createTestServices(
      { PULSE_MAX_RULES_PER_TEAM: '3' },
      { teams: aliceInOps },
    );
    const alice = t.caller('alice');
    const ops = t.team('ops').team;
    await alice.alerts.createRule({
      series: 'app.first',
      op: '>',
      threshold: 1,
      forSeconds: 60,
      severity: 'warning',
      teamId: ops.id,
    });
    // Eight at once for the two places left (on PostgreSQL they run side by side).
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        alice.alerts.createRule({
          series: `app.race${i}`,
          op: '>',
          threshold: i,
          forSeconds: 60,
          severity: 'warning',
          teamId: ops.id,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    for (const r of results.filter((r) => r.status === 'rejected'))
      expect((r.reason as { code?: string }).code).toBe('TOO_MANY_REQUESTS');
    expect(await alice.alerts.listRules()).toHaveLength(3);
  });
});

/** `n` series names with a prefix: `a.0`, `a.1`, … */
const seriesNames = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}.${i}`);

describe('series watched by metrics.onPoints', () => {
  it('takes 50 series in one subscription and refuses 51', async () => {
    await using t = await createTestServices({}, { teams: aliceInOps });
    const alice = t.caller('alice');
    const stream = (await alice.metrics.onPoints({ series: seriesNames('a', 50) }))[
      Symbol.asyncIterator
    ]();
    await stream.return?.();
    const error = await refusal(alice.metrics.onPoints({ series: seriesNames('a', 51) }));
    expect(error.code).toBe('BAD_REQUEST');
  });

  it('refuses a subscription that would watch more than PULSE_MAX_WATCHED_SERIES series; watched ones cost nothing', async () => {
    await using t = await createTestServices(
      { PULSE_MAX_WATCHED_SERIES: '60' },
      { teams: aliceInOps },
    );
    const alice = t.caller('alice');
    const open = async (series: string[]) =>
      (await alice.metrics.onPoints({ series }))[Symbol.asyncIterator]();

    const first = await open(seriesNames('a', 50));
    // Resolved but never opened: it holds nothing back.
    await alice.metrics.onPoints({ series: seriesNames('x', 10) });
    const second = await open(seriesNames('b', 10));
    expect(t.app.feeds.metrics.watchedWith([])).toBe(60);

    const error = await refusal(alice.metrics.onPoints({ series: ['a.0', 'c.0'] }));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toBe(
      'This server watches at most 60 series (PULSE_MAX_WATCHED_SERIES); these would make 61: watch fewer, or try again later',
    );
    const again = await open([...seriesNames('a', 50).slice(10), ...seriesNames('b', 10)]);

    await second.return?.();
    await again.return?.();
    const third = await open(seriesNames('c', 10));
    expect(t.app.feeds.metrics.watchedWith([])).toBe(60);
    await third.return?.();
    await first.return?.();
    expect(t.app.feeds.metrics.watchedWith([])).toBe(0);
  });

  it('answers past the limit with a plain TOO_MANY_REQUESTS over SSE and WebSocket', async () => {
    await using t = await startTestServer(
      { PULSE_MAX_WATCHED_SERIES: '50' },
      { teams: aliceInOps },
    );
    const cookie = await t.login('alice');
    const sse = createPulseClient({ url: t.url, headers: { cookie }, subscriptionRetries: 0 });
    const full = record<PointsBatch>((o) =>
      sse.metrics.onPoints.subscribe({ series: seriesNames('a', 50) }, o),
    );
    await full.started;

    const overSse = record<PointsBatch>((o) =>
      sse.metrics.onPoints.subscribe({ series: ['a.0', 'b.0'] }, o),
    );
    expect((await overSse.waitForError()).data?.code).toBe('TOO_MANY_REQUESTS');
    const ws = wsClient(t.url, { headers: { cookie } });
    const overWs = record<PointsBatch>((o) =>
      ws.trpc.metrics.onPoints.subscribe({ series: ['b.0'] }, o),
    );
    const wsError = await overWs.waitForError();
    expect(wsError.data?.code).toBe('TOO_MANY_REQUESTS');
    expect(wsError.message).toContain('at most 50 series');

    // Series already watched cost nothing.
    const same = record<PointsBatch>((o) =>
      ws.trpc.metrics.onPoints.subscribe({ series: ['a.7'] }, o),
    );
    await same.started;
    same.stop();
    full.stop();
    await ws.close();
  });
});

describe('metric timestamps', () => {
  it('accepts points up to PULSE_MAX_CLOCK_SKEW_S ahead and back to the retention, and refuses a batch with any beyond', async () => {
    await using t = await createTestServices(
      { PULSE_MAX_CLOCK_SKEW_S: '60', PULSE_METRICS_RETENTION_H: '2' },
      { teams: aliceInOps },
    );
    const alice = t.caller('alice');
    const now = Date.now();
    // The server reads its clock once per call: pinned, the edges are exact.
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now);
    const ingest = (...ts: number[]) =>
      alice.metrics.ingest({
        points: ts.map((at, i) => ({ series: 'edge.ts', value: i, ts: at })),
      });
    const latest = now + 60_000;
    const earliest = now - 2 * 3_600_000;

    expect(await ingest(latest, earliest, now)).toEqual({ accepted: 3 });
    const error = await refusal(ingest(now, now, now, latest + 1, earliest - 1, earliest));
    clock.mockRestore();

    expect(error.code).toBe('BAD_REQUEST');
    expect(error.cause).toBeInstanceOf(ZodError);
    const { issues } = error.cause as ZodError;
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      [['points', 3, 'ts'], "more than 60 s ahead of the server's clock"],
      [['points', 4, 'ts'], 'older than the 2 h this server keeps points'],
    ]);
    const stored = await alice.metrics.range({ series: 'edge.ts', from: 0, to: latest + 1 });
    expect(stored.map((p) => p.ts)).toEqual([earliest, now, latest]);
  });

  it('shows the zod issues to clients, and points without ts are stamped now', async () => {
    await using t = await startTestServer({}, { teams: aliceInOps });
    const alice = await t.client({ username: 'alice' });
    const future = Date.now() + 10 * 60_000;
    const error = await alice.metrics.ingest
      .mutate({
        points: [
          { series: 'x.y', value: 1 },
          { series: 'x.y', value: 2, ts: future },
        ],
      })
      .catch((e: unknown) => e as { data?: { code?: string; issues?: { path: unknown[] }[] } });
    expect(error).toMatchObject({
      data: { code: 'BAD_REQUEST', issues: [{ path: ['points', 1, 'ts'] }] },
    });
    expect((await alice.metrics.list.query()).map((s) => s.series)).not.toContain('x.y');
    expect(await alice.metrics.ingest.mutate({ points: [{ series: 'x.y', value: 1 }] })).toEqual({
      accepted: 1,
    });
  });
});

describe('metrics.range', () => {
  it('reads up to PULSE_RANGE_MAX_ROWS points in pages, the same as downsampling them all, and refuses a wider range', async () => {
    await using t = await createTestServices(
      { PULSE_RANGE_MAX_ROWS: '10000' },
      { teams: aliceInOps },
    );
    const alice = t.caller('alice');
    const base = Date.now() - 60_000;
    // Three points per millisecond: pages of 5,000 end in the middle of equal stamps.
    const points = Array.from({ length: 10_000 }, (_, i) => ({
      ts: base + Math.floor(i / 3),
      value: Math.round(Math.sin(i / 40) * 1000) / 10 + (i === 7777 ? 500 : 0),
    }));
    for (let i = 0; i < points.length; i += 5000) {
      const batch = points.slice(i, i + 5000).map((p) => ({ series: 'wide', ...p }));
      await alice.metrics.ingest({ points: batch });
    }
    const from = base - 10;
    const to = base + 4000;

    expect(await alice.metrics.range({ series: 'wide', from, to, maxPoints: 10_000 })).toEqual(
      points,
    );
    for (const maxPoints of [1, 2, 99, 1000]) {
      expect(await alice.metrics.range({ series: 'wide', from, to, maxPoints })).toEqual(
        downsample(points, maxPoints, from, to),
      );
    }

    await alice.metrics.ingest({ points: [{ series: 'wide', ts: base + 3999, value: 1 }] });
    const error = await refusal(alice.metrics.range({ series: 'wide', from, to }));
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toContain("Series 'wide' has more than 10000 points");
    expect(error.message).toContain('narrow the range');
    // A narrower range of the same series is fine.
    expect(
      await alice.metrics.range({ series: 'wide', from, to: base + 3998, maxPoints: 10 }),
    ).toHaveLength(10);
  });
});

/** Every page of a list, `limit` at a time, asking with the last id of each page as the cursor. */
async function pages<T extends { id: string }>(
  fetch: (input: { cursor: string | null; limit: number }) => Promise<T[]>,
  limit: number,
): Promise<T[][]> {
  const all: T[][] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = await fetch({ cursor, limit });
    all.push(page);
    if (page.length < limit) return all;
    cursor = page.at(-1)?.id ?? null;
  }
}

describe('lists that grow are paged', () => {
  it('pages incidents newest first by a keyset cursor, with status, and refuses unknown or foreign cursors', async () => {
    await using t = await createTestServices({}, { teams: aliceInOps });
    const admin = t.caller('admin');
    const alice = t.caller('alice');
    const ops = t.team('ops').team;
    const other = await admin.teams.create({ name: 'payments' });
    const opened = [];
    // Many in the same millisecond: the id breaks the tie.
    for (let i = 0; i < 7; i++) {
      opened.push(
        await alice.incidents.create({ title: `i${i}`, severity: 'info', teamId: ops.id }),
      );
    }
    const foreign = await admin.incidents.create({
      title: 'theirs',
      severity: 'info',
      teamId: other.id,
    });
    await alice.incidents.acknowledge({ id: opened[2]!.id, version: 1 });

    const whole = await alice.incidents.list();
    expect(whole).toHaveLength(7);
    const newestFirst = [...whole].sort(
      (a, b) => b.openedAt.localeCompare(a.openedAt) || (a.id < b.id ? 1 : -1),
    );
    expect(whole.map((i) => i.id)).toEqual(newestFirst.map((i) => i.id));
    const paged = await pages((page) => alice.incidents.list(page), 3);
    expect(paged.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(paged.flat()).toEqual(whole);
    expect(await pages((page) => alice.incidents.list({ ...page, status: 'open' }), 2)).toEqual([
      whole.filter((i) => i.status === 'open').slice(0, 2),
      whole.filter((i) => i.status === 'open').slice(2, 4),
      whole.filter((i) => i.status === 'open').slice(4, 6),
      [],
    ]);

    // Keyset, not an offset: a new incident does not shift the pages after the first.
    const first = await alice.incidents.list({ limit: 3 });
    await alice.incidents.create({ title: 'late', severity: 'info', teamId: ops.id });
    expect(await alice.incidents.list({ cursor: first.at(-1)!.id, limit: 3 })).toEqual(
      whole.slice(3, 6),
    );

    for (const cursor of ['inc_nope', foreign.id]) {
      const error = await refusal(alice.incidents.list({ cursor }));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toBe(
        `Unknown cursor '${cursor}': pass the id of the last item of the previous page`,
      );
    }
    const everything = await admin.incidents.list();
    const at = everything.findIndex((i) => i.id === foreign.id);
    expect(await admin.incidents.list({ cursor: foreign.id })).toEqual(everything.slice(at + 1));
    expect((await refusal(alice.incidents.list({ limit: 0 }))).code).toBe('BAD_REQUEST');
    expect((await refusal(alice.incidents.list({ limit: 501 }))).code).toBe('BAD_REQUEST');
    expect(await alice.incidents.list({ limit: 500 })).toHaveLength(8);
  });

  it('pages chat rooms: team rooms by name, then incident rooms newest first', async () => {
    await using t = await createTestServices({}, { teams: aliceInOps });
    const admin = t.caller('admin');
    const ops = t.team('ops').team;
    const alice = t.user('alice');
    const teams = [];
    for (const name of ['zeta', 'alpha', 'mid']) {
      const team = await admin.teams.create({ name });
      await admin.teams.addMember({ teamId: team.id, userId: alice.id });
      teams.push(team);
    }
    const hidden = await admin.teams.create({ name: 'hidden' });
    const incidents = [];
    for (let i = 0; i < 4; i++) {
      incidents.push(
        await admin.incidents.create({ title: `i${i}`, severity: 'info', teamId: ops.id }),
      );
    }
    const hiddenIncident = await admin.incidents.create({
      title: 'h',
      severity: 'info',
      teamId: hidden.id,
    });
    const caller = await t.callerFor(alice.id);

    const whole = await caller.chat.rooms();
    expect(whole.map((r) => r.name)).toEqual([
      '#alpha',
      '#mid',
      '#ops',
      '#zeta',
      ...(await caller.incidents.list()).map((i) => i.title),
    ]);
    for (const limit of [1, 2, 3, 4, 5, 9]) {
      expect(
        (await pages((page) => caller.chat.rooms(page), limit)).flat(),
        `limit ${limit}`,
      ).toEqual(whole);
    }
    for (const cursor of [
      `room_${hidden.id}`,
      `room_${hiddenIncident.id}`,
      'room_team_nope',
      'room_inc_nope',
      'nope',
    ]) {
      expect((await refusal(caller.chat.rooms({ cursor }))).code, cursor).toBe('BAD_REQUEST');
    }
    // One room by id, wherever it is in the list, for the rooms the caller may enter.
    const last = whole.at(-1)!;
    expect(await caller.chat.room({ roomId: last.id })).toEqual(last);
    expect((await refusal(caller.chat.room({ roomId: `room_${hidden.id}` }))).code).toBe(
      'NOT_FOUND',
    );
  });

  it('pages alert rules oldest first, and refuses a rule of another team as the cursor', async () => {
    await using t = await createTestServices({}, { teams: aliceInOps });
    const admin = t.caller('admin');
    const alice = t.caller('alice');
    const ops = t.team('ops').team;
    const other = await admin.teams.create({ name: 'payments' });
    const rule = (teamId: string, i: number) =>
      ({
        series: `r.${i}`,
        op: '<',
        threshold: i,
        forSeconds: 0,
        severity: 'info',
        teamId,
      }) as const;
    for (let i = 0; i < 5; i++) await alice.alerts.createRule(rule(ops.id, i));
    const theirs = await admin.alerts.createRule(rule(other.id, 9));

    const whole = await alice.alerts.listRules();
    expect(whole).toHaveLength(5);
    const ordered = [...whole].sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || (a.id < b.id ? -1 : 1),
    );
    expect(whole).toEqual(ordered);
    expect((await pages((page) => alice.alerts.listRules(page), 2)).flat()).toEqual(whole);
    expect((await refusal(alice.alerts.listRules({ cursor: theirs.id }))).code).toBe('BAD_REQUEST');
    // Rules made in the same millisecond order by id: what follows a cursor is the rest of the
    // admin's whole list, whatever falls where.
    const everything = await admin.alerts.listRules();
    expect(everything).toContainEqual(theirs);
    const last = everything.findIndex((r) => r.id === whole.at(-1)!.id);
    expect(await admin.alerts.listRules({ cursor: whole.at(-1)!.id })).toEqual(
      everything.slice(last + 1),
    );
  });

  it("pages the caller's tokens newest first; a revoked token still marks the place; another's is refused", async () => {
    await using t = await createTestServices({}, { teams: [teamOf(OPS, 'alice', 'bob')] });
    const alice = t.caller('alice');
    const ids = [];
    for (let i = 0; i < 5; i++)
      ids.push((await alice.auth.createToken({ name: `t${i}`, scopes: ['read'] })).id);
    const bobs = await t.caller('bob').auth.createToken({ name: 'bob', scopes: ['read'] });

    const whole = await alice.auth.listTokens();
    expect(whole.map((tok) => tok.name).sort()).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(whole).toEqual(
      [...whole].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || (a.id < b.id ? 1 : -1)),
    );
    const [first] = await pages((page) => alice.auth.listTokens(page), 2);
    await alice.auth.revokeToken({ id: first!.at(-1)!.id });
    expect(await alice.auth.listTokens({ cursor: first!.at(-1)!.id, limit: 10 })).toEqual(
      whole.slice(2),
    );
    expect((await refusal(alice.auth.listTokens({ cursor: bobs.id }))).code).toBe('BAD_REQUEST');
  });

  it('pages users by username', async () => {
    await using t = await createTestServices({}, { teams: [OPS] });
    const admin = t.caller('admin');
    for (const username of ['zoe', 'dave', 'eve'])
      await admin.users.create({ username, password: 'secret-password' });
    const whole = await admin.users.list();
    expect(whole.map((u) => u.username)).toEqual([
      'admin',
      'alice',
      'bob',
      'carol',
      'dave',
      'eve',
      'zoe',
    ]);
    expect((await pages((page) => admin.users.list(page), 3)).flat()).toEqual(whole);
    expect((await refusal(admin.users.list({ cursor: 'usr_nope' }))).code).toBe('BAD_REQUEST');
    expect((await refusal(t.caller('alice').users.list())).code).toBe('FORBIDDEN');
  });
});
