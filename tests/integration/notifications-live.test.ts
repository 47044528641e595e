import { describe, expect, it } from 'vitest';
import type { Notification, ReadStateEvent } from '../../src/shared/schemas/notifications.ts';
import { eventually, record } from '../support/live.ts';
import { openRawSse, subscriptionUrl } from '../support/raw-sse.ts';
import { floodUntilDropped, sendTo, startTestServer } from '../support/server.ts';
import { OPS } from '../support/people.ts';

type Tracked = { id: string; data: Notification };
const seqOf = (id: string) => Number(id.replace('ntf_', ''));

describe('notifications over SSE', () => {
  it('tracks each event by the notification id and replays after a lastEventId, in order', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const first = record<Tracked>((o) =>
      alice.notifications.onNotification.subscribe(undefined, o),
    );
    await first.started;
    await sendTo(t, 'alice', ['a1', 'a2']);
    await first.waitFor(2);
    first.stop();
    expect(first.items.map((e) => e.id)).toEqual(first.items.map((e) => e.data.id));

    // Missed while away.
    await sendTo(t, 'alice', ['a3', 'a4', 'a5']);
    const resumed = record<Tracked>((o) =>
      alice.notifications.onNotification.subscribe({ lastEventId: first.items[1]!.id }, o),
    );
    await resumed.waitFor(3);
    await sendTo(t, 'alice', ['a6']);
    await resumed.waitFor(4);
    resumed.stop();
    expect(resumed.items.map((e) => e.data.title)).toEqual(['a3', 'a4', 'a5', 'a6']);
  });

  it('resumes a cut stream from Last-Event-ID with no gap and no duplicate', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const live = record<Tracked>((o) => alice.notifications.onNotification.subscribe(undefined, o));
    await live.started;
    await sendTo(t, 'alice', ['b1', 'b2']);
    await live.waitFor(2);
    // Cut every stream server-side; EventSource reconnects by itself with Last-Event-ID.
    t.server.app.connections.closeAll();
    await sendTo(t, 'alice', ['b3', 'b4']);
    await live.waitFor(4, 10_000);
    await sendTo(t, 'alice', ['b5']);
    await live.waitFor(5);
    live.stop();
    expect(live.items.map((e) => e.data.title)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
  });

  it('replays across a server restart between disconnect and reconnect', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const live = record<Tracked>((o) => alice.notifications.onNotification.subscribe(undefined, o));
    await live.started;
    await sendTo(t, 'alice', ['c1']);
    await live.waitFor(1);
    await t.stop();
    await t.restart();
    // Sent before the client is back: only replay can deliver it.
    await sendTo(t, 'alice', ['c2', 'c3']);
    await live.waitFor(3, 15_000);
    await sendTo(t, 'alice', ['c4']);
    await live.waitFor(4);
    live.stop();
    expect(live.items.map((e) => e.data.title)).toEqual(['c1', 'c2', 'c3', 'c4']);
  });

  it('delivers concurrent sends to one user exactly once each, in id order', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const live = record<Tracked>((o) => alice.notifications.onNotification.subscribe(undefined, o));
    await live.started;
    const senders = await Promise.all([1, 2, 3, 4].map(() => t.client({ username: 'admin' })));
    await Promise.all(
      senders.map((admin, s) =>
        Promise.all(
          Array.from({ length: 25 }, (_, i) =>
            admin.notifications.send.mutate({
              to: { usernames: ['alice'] },
              title: `s${s}-${i}`,
              severity: 'info',
            }),
          ),
        ),
      ),
    );
    // A later send as the sentinel: any duplicate of the 100 would have come before it.
    await sendTo(t, 'alice', ['sentinel']);
    await live.waitFor(101);
    live.stop();
    expect(live.items.map((e) => e.data.title).indexOf('sentinel')).toBe(100);
    const ids = live.items.slice(0, 100).map((e) => seqOf(e.id));
    expect(ids).toHaveLength(100);
    expect(new Set(ids).size).toBe(100);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('joins replay and live without gap or duplicate while sends keep coming', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await sendTo(t, 'alice', ['anchor']);
    const alice = await t.client({ username: 'alice' });
    const [anchor] = (await alice.notifications.list.query({ limit: 1 })).items;
    const admin = await t.client({ username: 'admin' });
    let sending = true;
    let sent = 0;
    const sender = (async () => {
      while (sending && sent < 400) {
        await admin.notifications.send.mutate({
          to: { usernames: ['alice'] },
          title: `r${sent++}`,
          severity: 'info',
        });
      }
    })();
    await eventually(() => sent >= 40, 10_000, 'some sends');
    const live = record<Tracked>((o) =>
      alice.notifications.onNotification.subscribe({ lastEventId: anchor!.id }, o),
    );
    await eventually(() => sent >= 120, 20_000, 'more sends');
    sending = false;
    await sender;
    await live.waitFor(sent, 10_000);
    live.stop();
    expect(live.items.map((e) => e.data.title)).toEqual(
      Array.from({ length: sent }, (_, i) => `r${i}`),
    );
  });

  it("never shows one user another's notifications, whatever the input", async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const bobs = record<Tracked>((o) => bob.notifications.onNotification.subscribe(undefined, o));
    await bobs.started;
    await sendTo(t, 'alice', ['for alice']);
    await sendTo(t, 'bob', ['for bob']);
    await bobs.waitFor(1);
    const [aliceLatest] = (await alice.notifications.list.query({ limit: 1 })).items;
    expect(aliceLatest?.title).toBe('for alice');
    // Resuming from someone else's id is refused, not served.
    const probe = record<Tracked>((o) =>
      bob.notifications.onNotification.subscribe({ lastEventId: aliceLatest!.id }, o),
    );
    const error = await probe.waitForError();
    expect(error.data?.code).toBe('PRECONDITION_FAILED');
    expect(probe.items).toEqual([]);
    const page = await bob.notifications.list.query({ limit: 100, cursor: aliceLatest!.id });
    expect(page.items.map((n) => n.title)).not.toContain('for alice');
    bobs.stop();
    expect(bobs.items.map((e) => e.data.title)).toEqual(['for bob']);
  });

  it("keeps read state in sync across a user's devices, and only theirs", async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await sendTo(t, 'alice', ['one', 'two', 'three']);
    await sendTo(t, 'bob', ['for bob']);
    const phone = await t.client({ username: 'alice' });
    const laptop = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const laptopSees = record<ReadStateEvent>((o) =>
      laptop.notifications.onReadState.subscribe(undefined, o),
    );
    const bobSees = record<ReadStateEvent>((o) =>
      bob.notifications.onReadState.subscribe(undefined, o),
    );
    await Promise.all([laptopSees.started, bobSees.started]);
    const [latest] = (await phone.notifications.list.query({ limit: 1 })).items;
    await phone.notifications.markRead.mutate({ id: latest!.id });
    await phone.notifications.markRead.mutate({ id: latest!.id }); // idempotent: announces nothing new
    await phone.notifications.markAllRead.mutate();
    await laptopSees.waitFor(2);
    expect(laptopSees.items[0]).toMatchObject({ kind: 'read', ids: [latest!.id], unreadCount: 2 });
    expect(laptopSees.items[1]).toMatchObject({ kind: 'all', unreadCount: 0 });
    expect(laptopSees.items[1]?.ids).toHaveLength(2);
    await bob.notifications.markAllRead.mutate();
    await bobSees.waitFor(1);
    laptopSees.stop();
    bobSees.stop();
    expect(laptopSees.items).toHaveLength(2);
    expect(bobSees.items).toHaveLength(1);
  });

  it('ends an unresumable lastEventId with PRECONDITION_FAILED', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    for (const lastEventId of ['ntf_99999', 'garbage', 'ntf_-1']) {
      const probe = record<Tracked>((o) =>
        alice.notifications.onNotification.subscribe({ lastEventId }, o),
      );
      expect((await probe.waitForError()).data?.code).toBe('PRECONDITION_FAILED');
    }
  });

  it('answers UNAUTHORIZED, FORBIDDEN and BAD_REQUEST with their shapes over HTTP and SSE', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const anonymous = await t.client(null);
    await expect(anonymous.notifications.list.query({})).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED', httpStatus: 401 },
    });
    const sub = record<Tracked>((o) =>
      anonymous.notifications.onNotification.subscribe(undefined, o),
    );
    expect((await sub.waitForError()).data?.code).toBe('UNAUTHORIZED');
    const alice = await t.client({ username: 'alice' });
    await expect(
      alice.notifications.send.mutate({ to: { all: true }, title: 'x', severity: 'info' }),
    ).rejects.toMatchObject({ data: { code: 'FORBIDDEN', httpStatus: 403 } });
    const bad = await alice.notifications.list.query({ limit: 500 }).catch((e: unknown) => e);
    expect(bad).toMatchObject({
      message: expect.stringContaining('limit') as unknown,
      data: {
        code: 'BAD_REQUEST',
        httpStatus: 400,
        issues: [expect.objectContaining({ path: ['limit'] })],
      },
    });
    const badSub = record<Tracked>((o) =>
      alice.notifications.onNotification.subscribe({ lastEventId: 42 } as never, o),
    );
    expect((await badSub.waitForError()).data?.code).toBe('BAD_REQUEST');
    // The server is still up and serving (alice has had no notification).
    expect(await alice.notifications.unreadCount.query()).toBe(0);
  });

  it('releases subscriptions when clients go away, however they go', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const { counts } = t.server.app.metrics;
    const cookie = await t.login('alice');
    const alice = await t.client({ username: 'alice' });
    const subs = [1, 2, 3].map(() =>
      record<Tracked>((o) => alice.notifications.onNotification.subscribe(undefined, o)),
    );
    await Promise.all(subs.map((s) => s.started));
    const raw = openRawSse(subscriptionUrl(t.url, 'notifications.onNotification'), { cookie });
    await eventually(() => raw.frames.some((f) => f.event === 'connected'));
    expect(counts.subscriptions).toBe(4);
    expect(counts.sse).toBe(4);
    for (const s of subs) s.stop();
    raw.destroy();
    await eventually(() => counts.subscriptions === 0 && counts.sse === 0, 5000, 'release');
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^pulse_subscriptions_active 0$/m);
    expect(metrics).toMatch(/^pulse_connections_open\{transport="sse"\} 0$/m);
  });

  it('drops a reader that stops reading, counts it, and lets it resume by replay', async () => {
    await using t = await startTestServer(
      { PULSE_SLOW_CONSUMER_BYTES: String(64 * 1024) },
      { teams: [OPS] },
    );
    const cookie = await t.login('alice');
    const stalled = openRawSse(subscriptionUrl(t.url, 'notifications.onNotification'), { cookie });
    await eventually(() => stalled.frames.some((f) => f.event === 'connected'));
    stalled.pause();
    const { counts } = t.server.app.metrics;
    const sent = await floodUntilDropped(t, 'alice');
    expect(counts.dropped).toBe(1);
    expect(counts.subscriptions).toBe(0);
    stalled.resume();
    await eventually(() => stalled.ended, 10_000, 'the dropped stream to end');
    const got = stalled.data<Notification>();
    const last = got.at(-1);
    expect(last?.id).toBeTruthy();
    // Resume where it stopped: the rest arrives by replay, in order, without loss.
    const resumed = openRawSse(subscriptionUrl(t.url, 'notifications.onNotification'), {
      cookie,
      'last-event-id': last!.id!,
    });
    await eventually(
      () => got.length + resumed.data().length >= sent,
      20_000,
      'replay of the rest',
    );
    resumed.destroy();
    const all = [...got, ...resumed.data<Notification>()];
    // Concurrent sends commit in any order: every one exactly once, in id order.
    const ids = all.map((e) => seqOf(e.data.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(all.map((e) => e.data.title))).toEqual(
      new Set(Array.from({ length: sent }, (_, i) => `big ${i}`)),
    );
    expect(all).toHaveLength(sent);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^pulse_slow_consumers_dropped_total 1$/m);
    // Thousands of sends, each its own commit: on PostgreSQL (one commit at a time per log, each
    // flushed to disk) and a busy machine this takes longer than the default 30 s.
  }, 90_000);

  it('sends keep-alive pings on idle streams', async () => {
    await using t = await startTestServer({ PULSE_SSE_PING_S: '0.1' }, { teams: [OPS] });
    const cookie = await t.login('alice');
    const raw = openRawSse(subscriptionUrl(t.url, 'notifications.onNotification'), { cookie });
    await eventually(() => raw.frames.filter((f) => f.event === 'ping').length >= 2, 3000, 'pings');
    expect(raw.frames[0]).toEqual({
      event: 'connected',
      id: null,
      data: '{"reconnectAfterInactivityMs":300}',
    });
    raw.destroy();
  });
});
