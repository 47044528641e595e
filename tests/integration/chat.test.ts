import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Message, Person, PresenceSummary } from '../../src/shared/schemas/chat.ts';
import { eventually, namesAre, record } from '../support/live.ts';
import { floodUntilDropped, startTestServer, type TestServer } from '../support/server.ts';
import { OPS } from '../support/people.ts';
import { wsClient } from '../support/ws.ts';

type Tracked = { id: string; data: Message };

async function chatAs(t: TestServer, username: string, password?: string, retryMs?: number) {
  const cookie = await t.login(username, password);
  return wsClient(t.url, { headers: { cookie }, retryMs });
}

async function opsRoom(t: TestServer) {
  const alice = await chatAs(t, 'alice');
  const rooms = await alice.trpc.chat.rooms.query();
  await alice.close();
  const room = rooms.find((r) => r.kind === 'team');
  if (!room) throw new Error('no team room');
  return room.id;
}

const send = (
  c: Awaited<ReturnType<typeof chatAs>>,
  roomId: string,
  text: string,
  clientMessageId = randomUUID(),
) => c.trpc.chat.send.mutate({ roomId, text, clientMessageId });

describe('chat over WebSocket', () => {
  it('gives each member each message exactly once, in order', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const members = await Promise.all(['alice', 'bob', 'carol'].map((u) => chatAs(t, u)));
    const streams = members.map((m) =>
      record<Tracked>((o) => m.trpc.chat.onMessage.subscribe({ roomId }, o)),
    );
    await Promise.all(streams.map((s) => s.started));
    await Promise.all(
      members.map((m, i) =>
        Promise.all(Array.from({ length: 6 }, (_, j) => send(m, roomId, `m${i}-${j}`))),
      ),
    );
    // A later message as the sentinel: a duplicate of the 18 would have come before it.
    const sentinel = await send(members[0]!, roomId, 'sentinel');
    for (const s of streams) await s.waitFor(19);
    for (const s of streams) expect(s.items.map((e) => e.id)).toHaveLength(19);
    for (const s of streams) expect(s.items.at(-1)?.id).toBe(sentinel.id);
    const orders = streams.map((s) => s.items.slice(0, 18).map((e) => e.data.id));
    for (const order of orders) {
      expect(order).toHaveLength(18);
      expect(new Set(order).size).toBe(18);
      expect(order.map((id) => Number(id.slice(4)))).toEqual(
        [...order.map((id) => Number(id.slice(4)))].sort((a, b) => a - b),
      );
    }
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    for (const s of streams) s.stop();
    await Promise.all(members.map((m) => m.close()));
  });

  it('resumes a cut connection from the last event id with no gap and no duplicate', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const bob = await chatAs(t, 'bob', undefined, 50);
    const alice = await chatAs(t, 'alice');
    const live = record<Tracked>((o) => bob.trpc.chat.onMessage.subscribe({ roomId }, o));
    await live.started;
    await send(alice, roomId, 'one');
    await live.waitFor(1);
    bob.socket()?.terminate(); // no close frame: the link notices and reconnects
    await send(alice, roomId, 'two');
    await send(alice, roomId, 'three');
    await live.waitFor(3, 10_000);
    await send(alice, roomId, 'four');
    await live.waitFor(4);
    live.stop();
    expect(live.items.map((e) => e.data.text)).toEqual(['one', 'two', 'three', 'four']);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('stores one message per clientMessageId; another author reusing it gets CONFLICT', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const alice = await chatAs(t, 'alice');
    const bob = await chatAs(t, 'bob');
    const id = randomUUID();
    const first = await send(alice, roomId, 'hello', id);
    const retry = await send(alice, roomId, 'hello', id);
    expect(retry).toEqual(first);
    await expect(send(bob, roomId, 'hijack', id)).rejects.toMatchObject({
      data: { code: 'CONFLICT' },
    });
    const history = await alice.trpc.chat.history.query({ roomId });
    expect(history.items.map((m) => m.text)).toEqual(['hello']);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('stores one message when retries of a send arrive at once', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const alice = await chatAs(t, 'alice');
    const id = randomUUID();
    // On PostgreSQL these run side by side: the unique client id decides, and every retry gets
    // the one stored message.
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => send(alice, roomId, 'once', id)),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    const history = await alice.trpc.chat.history.query({ roomId });
    expect(history.items.map((m) => m.text)).toEqual(['once']);
    await alice.close();
  });

  it('pages history oldest first within a page, with cursors to older pages', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const admin = await chatAs(t, 'admin');
    for (let i = 0; i < 12; i++) await send(admin, roomId, `h${i}`);
    const p1 = await admin.trpc.chat.history.query({ roomId, limit: 5 });
    expect(p1.items.map((m) => m.text)).toEqual(['h7', 'h8', 'h9', 'h10', 'h11']);
    const p2 = await admin.trpc.chat.history.query({ roomId, limit: 5, before: p1.nextCursor });
    expect(p2.items.map((m) => m.text)).toEqual(['h2', 'h3', 'h4', 'h5', 'h6']);
    const p3 = await admin.trpc.chat.history.query({ roomId, limit: 5, before: p2.nextCursor });
    expect(p3.items.map((m) => m.text)).toEqual(['h0', 'h1']);
    expect(p3.nextCursor).toBeNull();
    await admin.close();
  });

  it('takes `cursor` as the same thing as `before`, for infinite queries', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const admin = await chatAs(t, 'admin');
    for (let i = 0; i < 7; i++) await send(admin, roomId, `c${i}`);
    const p1 = await admin.trpc.chat.history.query({ roomId, limit: 5 });
    const byCursor = await admin.trpc.chat.history.query({
      roomId,
      limit: 5,
      cursor: p1.nextCursor,
    });
    const byBefore = await admin.trpc.chat.history.query({
      roomId,
      limit: 5,
      before: p1.nextCursor,
    });
    expect(byCursor).toEqual(byBefore);
    expect(byCursor.items.map((m) => m.text)).toEqual(['c0', 'c1']);
    await expect(
      admin.trpc.chat.history.query({ roomId, cursor: 'not-a-message' }),
    ).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    await admin.close();
  });

  it('shows presence once per user across tabs, and drops a socket that died without a close', async () => {
    await using t = await startTestServer({ PULSE_WS_PING_S: '0.5' }, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const bob = await chatAs(t, 'bob');
    const seen = record<Person[]>((o) => bob.trpc.chat.onPresence.subscribe({ roomId }, o));
    await namesAre(seen, 'bob');
    const tab1 = await chatAs(t, 'alice');
    const tab2 = await chatAs(t, 'alice');
    const s1 = record<Tracked>((o) => tab1.trpc.chat.onMessage.subscribe({ roomId }, o));
    const s2 = record<Person[]>((o) => tab2.trpc.chat.onTyping.subscribe({ roomId }, o));
    await Promise.all([s1.started, s2.started]);
    await namesAre(seen, 'alice,bob');
    const { counts } = t.server.app.metrics;
    const sockets = counts.ws;
    s1.stop();
    await tab1.close();
    await eventually(() => counts.ws === sockets - 1, 5000, 'the first tab released');
    // Carol joining is the sentinel: had the closed tab taken alice away, that came first.
    const carol = await chatAs(t, 'carol');
    const s3 = record<Tracked>((o) => carol.trpc.chat.onMessage.subscribe({ roomId }, o));
    await namesAre(seen, 'alice,bob,carol');
    expect(seen.items.map((ps) => ps.map((p) => p.username).join())).not.toContain('bob,carol');
    s3.stop();
    await carol.close();
    await namesAre(seen, 'alice,bob');
    // The second tab's network dies: no close frame, no PONG. Keep-alive finds out.
    const socket = tab2.socket() as unknown as { _socket: { pause(): void } };
    socket._socket.pause();
    await namesAre(seen, 'bob');
    seen.stop();
    await Promise.all([bob.close(), tab2.close()]);
  });

  it("summarizes presence with a count, everyone in a small room, to the room's members only", async () => {
    await using t = await startTestServer({}, { teams: [OPS, { name: 'dev', members: ['dora'] }] });
    const roomId = await opsRoom(t);
    const bob = await chatAs(t, 'bob');
    const seen = record<PresenceSummary>((o) =>
      bob.trpc.chat.onPresenceSummary.subscribe({ roomId }, o),
    );
    const summaryIs = (count: number, names: string) =>
      eventually(
        () => {
          const last = seen.items.at(-1);
          return (
            last?.count === count &&
            last.complete &&
            last.people.map((p) => p.username).join() === names
          );
        },
        5000,
        `a summary of ${count}: ${names}`,
      );
    await summaryIs(1, 'bob');
    const alice = await chatAs(t, 'alice');
    const s = record<Tracked>((o) => alice.trpc.chat.onMessage.subscribe({ roomId }, o));
    await summaryIs(2, 'alice,bob');
    s.stop();
    await alice.close();
    await summaryIs(1, 'bob');
    // Someone outside the team is refused, as for the full list.
    const dora = await chatAs(t, 'dora');
    const refused = record<PresenceSummary>((o) =>
      dora.trpc.chat.onPresenceSummary.subscribe({ roomId }, o),
    );
    await expect(refused.started).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    seen.stop();
    await Promise.all([bob.close(), dora.close()]);
  });

  it('expires typing after 5 s and clears it at once on typing: false', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const alice = await chatAs(t, 'alice');
    const bob = await chatAs(t, 'bob');
    const typing = record<Person[]>((o) => bob.trpc.chat.onTyping.subscribe({ roomId }, o));
    await typing.waitFor(1);
    expect(typing.items[0]).toEqual([]);
    await alice.trpc.chat.setTyping.mutate({ roomId, typing: true });
    await typing.waitUntil(
      (items) => items.at(-1)?.[0]?.username === 'alice',
      'alice typing',
      3000,
    );
    await alice.trpc.chat.setTyping.mutate({ roomId, typing: false });
    await typing.waitUntil((items) => items.at(-1)?.length === 0, 'cleared at once', 1000);
    await alice.trpc.chat.setTyping.mutate({ roomId, typing: true });
    const started = Date.now();
    await typing.waitUntil((items) => items.at(-1)?.length === 1, 'typing again', 3000);
    await typing.waitUntil((items) => items.at(-1)?.length === 0, 'expired', 8000);
    const lasted = Date.now() - started;
    expect(lasted).toBeGreaterThanOrEqual(4500);
    typing.stop();
    await Promise.all([alice.close(), bob.close()]);
  });

  it('rate-limits sends with TOO_MANY_REQUESTS and stores none of the excess', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const alice = await chatAs(t, 'alice');
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => send(alice, roomId, `r${i}`)),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const limited = results.filter(
      (r) =>
        r.status === 'rejected' &&
        (r.reason as { data?: { code?: string } }).data?.code === 'TOO_MANY_REQUESTS',
    ).length;
    expect(ok).toBe(20);
    expect(limited).toBe(10);
    expect((await alice.trpc.chat.history.query({ roomId, limit: 100 })).items).toHaveLength(20);
    await alice.close();
  });

  it('keeps people outside the team out: no history, no stream, no send', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const admin = await t.client({ username: 'admin' });
    await admin.users.create.mutate({ username: 'mallory', password: 'secret-password' });
    const mallory = await chatAs(t, 'mallory', 'secret-password');
    expect(await mallory.trpc.chat.rooms.query()).toEqual([]);
    await expect(mallory.trpc.chat.history.query({ roomId })).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    await expect(send(mallory, roomId, 'hi')).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    await expect(
      mallory.trpc.chat.setTyping.mutate({ roomId, typing: true }),
    ).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    const sub = record<Tracked>((o) => mallory.trpc.chat.onMessage.subscribe({ roomId }, o));
    expect((await sub.waitForError()).data?.code).toBe('NOT_FOUND');
    await expect(
      mallory.trpc.chat.send.mutate({ roomId, text: '', clientMessageId: 'nope' }),
    ).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    await mallory.close();
  });

  it('notifies @mentions and opens a room per incident', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await chatAs(t, 'alice');
    const [ops] = await alice.trpc.teams.list.query();
    const incident = await alice.trpc.incidents.create.mutate({
      title: 'DB failover',
      severity: 'critical',
      teamId: ops!.id,
    });
    const room = (await alice.trpc.chat.rooms.query()).find((r) => r.incidentId === incident.id);
    expect(room).toMatchObject({ kind: 'incident', teamId: ops!.id, name: 'DB failover' });
    const bob = await t.client({ username: 'bob' });
    const before = await bob.notifications.unreadCount.query();
    await send(alice, room!.id, 'hey @bob can you look? cc @nobody');
    await eventually(
      async () => (await bob.notifications.unreadCount.query()) === before + 1,
      3000,
      'mention',
    );
    const [note] = (await bob.notifications.list.query({ limit: 1 })).items;
    expect(note).toMatchObject({ link: `/incidents/${incident.id}` });
    expect(note?.title).toContain('mentioned you');
    await alice.close();
  });

  it("speaks tRPC's WebSocket frames exactly, and releases subscriptions on stop and on close", async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await opsRoom(t);
    const cookie = await t.login('bob');
    const raw = new WebSocket(`${t.url.replace('http', 'ws')}/trpc`, { headers: { cookie } });
    const frames: unknown[] = [];
    raw.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as unknown));
    await new Promise((r) => raw.once('open', r));
    const { counts } = t.server.app.metrics;
    raw.send(
      JSON.stringify([
        { id: 1, method: 'subscription', params: { path: 'chat.onMessage', input: { roomId } } },
        { id: 2, method: 'query', params: { path: 'auth.me', input: undefined } },
      ]),
    );
    await eventually(() => frames.length >= 2, 3000, 'started and the query answer');
    expect(frames).toContainEqual({ id: 1, result: { type: 'started' } });
    expect(frames).toContainEqual({
      id: 2,
      result: { type: 'data', data: expect.objectContaining({ username: 'bob' }) as unknown },
    });
    const alice = await chatAs(t, 'alice');
    const sent = await send(alice, roomId, 'exact');
    await eventually(() => frames.length >= 3, 3000, 'the message');
    expect(frames[2]).toEqual({
      id: 1,
      result: { type: 'data', id: sent.id, data: { id: sent.id, data: sent } },
    });
    raw.send(JSON.stringify({ id: 1, method: 'subscription.stop' }));
    await eventually(() => frames.length >= 4, 3000, 'stopped');
    expect(frames[3]).toEqual({ id: 1, result: { type: 'stopped' } });
    raw.send(
      JSON.stringify({
        id: 3,
        method: 'subscription',
        params: { path: 'chat.onTyping', input: { roomId } },
      }),
    );
    await eventually(() => counts.subscriptions === 1, 3000, 'one subscription');
    raw.terminate();
    await eventually(() => counts.subscriptions === 0, 3000, 'released on close');
    await alice.close();
  });

  it('closes a socket whose reader stalls instead of buffering without bound', async () => {
    await using t = await startTestServer(
      { PULSE_SLOW_CONSUMER_BYTES: String(64 * 1024) },
      { teams: [OPS] },
    );
    const cookie = await t.login('alice');
    const raw = new WebSocket(`${t.url.replace('http', 'ws')}/trpc`, { headers: { cookie } });
    await new Promise((r) => raw.once('open', r));
    const closed = new Promise<void>((r) => raw.once('close', () => r()));
    raw.send(
      JSON.stringify({
        id: 1,
        method: 'subscription',
        params: { path: 'notifications.onNotification', input: {} },
      }),
    );
    await new Promise<void>((r) => raw.once('message', () => r()));
    (raw as unknown as { _socket: { pause(): void } })._socket.pause();
    const { counts } = t.server.app.metrics;
    await floodUntilDropped(t, 'alice');
    expect(counts.dropped).toBe(1);
    (raw as unknown as { _socket: { resume(): void } })._socket.resume();
    await closed;
    await eventually(() => counts.ws === 0, 5000, 'the socket released');
  });
});
