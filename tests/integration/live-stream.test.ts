import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/shared/schemas/chat.ts';
import type { Notification } from '../../src/shared/schemas/notifications.ts';
import { openLiveStream, type ErrorAnswer, type LiveData } from '../support/live-stream.ts';
import { openRawSse } from '../support/raw-sse.ts';
import { eventually } from '../support/live.ts';
import { OPS } from '../support/people.ts';
import { floodUntilDropped, sendTo, startTestServer, type TestServer } from '../support/server.ts';

type Opened = Awaited<ReturnType<typeof openLiveStream>>;
type Live = Extract<Opened, { ok: true }>;

function live(opened: Opened): Live {
  if (!opened.ok) throw new Error(`refused: ${JSON.stringify(opened.answer)}`);
  return opened;
}

function refused(opened: Opened): ErrorAnswer {
  if (opened.ok) throw new Error('opened, but should have been refused');
  return opened.answer;
}

async function teamRoom(t: TestServer, username: string): Promise<string> {
  const client = await t.client({ username });
  const room = (await client.chat.rooms.query()).find((r) => r.kind === 'team');
  if (!room) throw new Error('no team room');
  return room.id;
}

async function say(t: TestServer, username: string, roomId: string, texts: readonly string[]) {
  const client = await t.client({ username });
  for (const text of texts) {
    await client.chat.send.mutate({ roomId, text, clientMessageId: randomUUID() });
  }
}

const stats = async (t: TestServer) => (await t.client({ username: 'admin' })).system.stats.query();

describe('the multiplexed live stream (POST /trpc-live)', () => {
  it('carries many subscriptions of different procedures on one connection, each under its key', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await teamRoom(t, 'alice');
    const cookie = await t.login('alice');
    const stream = live(
      await openLiveStream(t.url, {
        headers: { cookie },
        subscriptions: [
          { key: 'n', path: 'notifications.onNotification' },
          { key: 'r', path: 'notifications.onReadState' },
          { key: 'i', path: 'incidents.onChange' },
          { key: 'm', path: 'chat.onMessage', input: { roomId } },
          { key: 'p', path: 'chat.onPresence', input: { roomId } },
          { key: 'pts', path: 'metrics.onPoints', input: { series: ['cpu'] } },
        ],
      }),
    );
    for (const key of ['n', 'r', 'i', 'm', 'p', 'pts']) await stream.waitFor('live', key);
    expect((await stats(t)).connections.sse).toBe(1);

    await sendTo(t, 'alice', ['deploy done']);
    await say(t, 'bob', roomId, ['hello']);
    const admin = await t.client({ username: 'admin' });
    await admin.metrics.ingest.mutate({ points: [{ series: 'cpu', value: 42 }] });
    const [note] = await stream.waitForData<Notification>('n', 1);
    expect(note?.data.title).toBe('deploy done');
    expect(note?.id).toBe(note?.data.id);
    const [message] = await stream.waitForData<Message>('m', 1);
    expect(message?.data.text).toBe('hello');
    expect(message?.id).toBe(message?.data.id);
    const [points] = await stream.waitForData<{ series: string }[]>('pts', 1);
    expect(points?.data[0]?.series).toBe('cpu');
    expect(points?.id).toBeUndefined();
    // Presence: alice herself, from her chat subscription on this stream.
    await stream.until(
      () =>
        stream
          .data<{ username: string }[]>('p')
          .some((e) => e.data.some((person) => person.username === 'alice')),
      'alice present',
    );
    await stream.close();
    await eventually(
      async () => (await stats(t)).subscriptions === 0,
      5000,
      'subscriptions closed',
    );
    expect((await stats(t)).connections.sse).toBe(0);
  });

  it('adds and removes subscriptions with control requests, leaving the others running', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await teamRoom(t, 'alice');
    const cookie = await t.login('alice');
    const stream = live(
      await openLiveStream(t.url, {
        headers: { cookie },
        subscriptions: [{ key: 'n', path: 'notifications.onNotification' }],
      }),
    );
    await stream.waitFor('live', 'n');
    expect(
      await stream.control({
        subscribe: [{ key: 'm', path: 'chat.onMessage', input: { roomId } }],
      }),
    ).toEqual({
      status: 200,
      json: { open: 2 },
    });
    await stream.waitFor('live', 'm');
    await say(t, 'bob', roomId, ['one']);
    await stream.waitForData('m', 1);

    expect((await stream.control({ unsubscribe: ['m'] })).status).toBe(200);
    await stream.waitFor('stopped', 'm');
    await say(t, 'bob', roomId, ['two']);
    await sendTo(t, 'alice', ['still here']);
    await stream.waitForData('n', 1);
    expect(stream.data('m')).toHaveLength(1);
    // Removing one and adding under the same key in one request: the new one runs.
    await stream.control({
      unsubscribe: ['n'],
      subscribe: [{ key: 'n', path: 'chat.onMessage', input: { roomId } }],
    });
    await eventually(() => stream.of('started', 'n').length === 2, 5000, 'n restarted');
    await say(t, 'bob', roomId, ['three']);
    await stream.until(
      () => stream.data<Message>('n').some((e) => e.data.text === 'three'),
      'the new n',
    );
    expect((await stats(t)).subscriptions).toBe(1);
    await stream.close();
  });

  it('resumes every subscription from its own last id after a reconnect: no gap, no duplicate', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const roomId = await teamRoom(t, 'alice');
    const cookie = await t.login('alice');
    const first = live(
      await openLiveStream(t.url, {
        headers: { cookie },
        subscriptions: [
          { key: 'n', path: 'notifications.onNotification' },
          { key: 'm', path: 'chat.onMessage', input: { roomId } },
        ],
      }),
    );
    await first.waitFor('live', 'n');
    await first.waitFor('live', 'm');
    await sendTo(t, 'alice', ['n1', 'n2']);
    await say(t, 'bob', roomId, ['m1']);
    const notes = await first.waitForData<Notification>('n', 2);
    const messages = await first.waitForData<Message>('m', 1);
    await first.close();

    // Missed while away, on both.
    await sendTo(t, 'alice', ['n3', 'n4']);
    await say(t, 'bob', roomId, ['m2', 'm3']);
    const second = live(
      await openLiveStream(t.url, {
        headers: { cookie },
        subscriptions: [
          { key: 'n', path: 'notifications.onNotification', lastEventId: notes[1]?.id },
          { key: 'm', path: 'chat.onMessage', input: { roomId }, lastEventId: messages[0]?.id },
        ],
      }),
    );
    await second.waitFor('live', 'n');
    await second.waitFor('live', 'm');
    await sendTo(t, 'alice', ['n5']);
    await say(t, 'bob', roomId, ['m4']);
    const n = await second.waitForData<Notification>('n', 3);
    const m = await second.waitForData<Message>('m', 3);
    expect(n.map((e) => e.data.title)).toEqual(['n3', 'n4', 'n5']);
    expect(m.map((e) => e.data.text)).toEqual(['m2', 'm3', 'm4']);
    // The backlog came before `live`, the new ones after.
    const order = second.frames.filter((f) => f.event !== 'ping').map((f) => f.event);
    expect(order.indexOf('live')).toBeGreaterThan(order.indexOf('message'));
    await second.close();
  });

  it("lets no one else touch a stream: another user's or another session's control request is NOT_FOUND", async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.login('alice');
    const stream = live(
      await openLiveStream(t.url, {
        headers: { cookie: alice },
        subscriptions: [{ key: 'n', path: 'notifications.onNotification' }],
      }),
    );
    const add = { subscribe: [{ key: 'x', path: 'notifications.onNotification' }] };
    const bob = await t.login('bob');
    const aliceAgain = await t.login('alice');
    for (const cookie of [bob, aliceAgain]) {
      const answer = await stream.control(add, { headers: { cookie } });
      expect(answer.status).toBe(404);
      expect(answer.json).toMatchObject({ error: { data: { code: 'NOT_FOUND' } } });
    }
    const anonymous = await stream.control(add, { headers: {} });
    expect(anonymous.status).toBe(401);
    // A made-up id answers as someone else's does.
    const unknown = await stream.control(add, { id: 'AAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(unknown.status).toBe(404);
    expect(await stream.control(add, { id: '..%2F' })).toMatchObject({ status: 404 });
    expect((await stats(t)).subscriptions).toBe(1);

    // Opening needs a signed-in user whose page may call us.
    expect(refused(await openLiveStream(t.url, { headers: {} })).status).toBe(401);
    const foreign = refused(
      await openLiveStream(t.url, { headers: { cookie: alice, origin: 'https://evil.example' } }),
    );
    expect(foreign.error.data.code).toBe('FORBIDDEN');
    // A room of another team: the procedure's own answer, for that key alone.
    const other = await t.createTeamWithMembers({ name: 'sec', members: ['dave'] });
    const secRoom = await teamRoom(t, other.members[0]?.username ?? 'dave');
    await stream.control({
      subscribe: [{ key: 'sec', path: 'chat.onMessage', input: { roomId: secRoom } }],
    });
    await stream.waitFor('error', 'sec');
    const [failure] = stream.of('error', 'sec');
    expect(failure?.data).toMatchObject({
      error: { data: { code: 'NOT_FOUND' } },
    });
    expect(stream.of('started', 'sec')).toHaveLength(0);
    await stream.close();
  });

  it('answers hostile opens and control requests with typed errors, and changes nothing', async () => {
    await using t = await startTestServer(
      { PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET: '3' },
      { teams: [OPS] },
    );
    const cookie = await t.login('alice');
    const open = (body: string) => openLiveStream(t.url, { headers: { cookie }, body });
    expect(refused(await open('{')).error.data.code).toBe('PARSE_ERROR');
    const badKey = refused(
      await open(
        JSON.stringify({
          subscriptions: [{ key: 'no spaces', path: 'notifications.onNotification' }],
        }),
      ),
    );
    expect(badKey.status).toBe(400);
    expect(badKey.error.data.issues).toEqual([
      expect.objectContaining({ path: ['subscriptions', 0, 'key'] }),
    ]);
    expect(refused(await open(JSON.stringify({ subscriptions: 'all' }))).error.data.code).toBe(
      'BAD_REQUEST',
    );
    expect(
      refused(await open(JSON.stringify({ subscriptions: [], extra: 1 }))).error.data.code,
    ).toBe('BAD_REQUEST');
    const four = Array.from({ length: 4 }, (_, i) => ({
      key: `k${i}`,
      path: 'notifications.onReadState',
    }));
    const tooMany = refused(await open(JSON.stringify({ subscriptions: four })));
    expect(tooMany).toMatchObject({ status: 429, error: { data: { code: 'TOO_MANY_REQUESTS' } } });
    const twice = refused(await open(JSON.stringify({ subscriptions: [four[0], four[0]] })));
    expect(twice.error.data.code).toBe('BAD_REQUEST');
    expect((await stats(t)).connections.sse).toBe(0);

    const stream = live(
      await openLiveStream(t.url, {
        headers: { cookie },
        subscriptions: [
          { key: 'a', path: 'notifications.onReadState' },
          // The procedures' own refusals come per key, on the stream.
          { key: 'nope', path: 'notifications.list' },
          { key: 'gone', path: 'no.such.thing' },
        ],
      }),
    );
    await stream.waitFor('error', 'nope');
    await stream.waitFor('error', 'gone');
    expect(stream.of('error', 'nope')[0]?.data).toMatchObject({
      error: { data: { code: 'NOT_FOUND' } },
    });
    // Each control refusal changes nothing: 'a' is still the one open.
    const refusals: [unknown, string][] = [
      [{ subscribe: [{ key: 'a', path: 'notifications.onReadState' }] }, 'BAD_REQUEST'],
      [{ subscribe: four.slice(1) }, 'TOO_MANY_REQUESTS'],
      [{}, 'BAD_REQUEST'],
      [{ unsubscribe: ['a'], subscribe: [{ key: '', path: 'x' }] }, 'BAD_REQUEST'],
      [
        {
          subscribe: [
            { key: 'b', path: 'notifications.onReadState', lastEventId: 'x'.repeat(300) },
          ],
        },
        'BAD_REQUEST',
      ],
    ];
    for (const [body, code] of refusals) {
      const answer = await stream.control(body);
      expect(answer.json, JSON.stringify(body)).toMatchObject({ error: { data: { code } } });
    }
    expect((await stream.control(null, { raw: '{"subscribe":' })).json).toMatchObject({
      error: { data: { code: 'PARSE_ERROR' } },
    });
    expect(stream.of('stopped', 'a')).toHaveLength(0);
    expect((await stats(t)).subscriptions).toBe(1);

    // A resume point that is not the caller's ends that subscription alone, as on its own endpoint.
    await stream.control({
      subscribe: [{ key: 'n', path: 'notifications.onNotification', lastEventId: 'ntf_999999' }],
    });
    await stream.waitFor('error', 'n');
    expect(stream.of('error', 'n')[0]?.data).toMatchObject({
      error: { data: { code: 'PRECONDITION_FAILED' } },
    });
    // Other methods and bodies than JSON POSTs.
    const get = await fetch(`${t.url}/trpc-live`, { headers: { cookie } });
    expect(get.status).toBe(405);
    const form = await fetch(`${t.url}/trpc-live`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'subscriptions=1',
    });
    expect(form.status).toBe(415);
    expect((await stats(t)).subscriptions).toBe(1);
    await stream.close();
  });

  it('counts every subscription against the per-user cap, across streams', async () => {
    await using t = await startTestServer(
      { PULSE_MAX_SUBSCRIPTIONS_PER_USER: '20' },
      { teams: [OPS] },
    );
    const cookie = await t.login('alice');
    const subs = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        key: `${prefix}${i}`,
        path: 'notifications.onReadState',
      }));
    const one = live(
      await openLiveStream(t.url, { headers: { cookie }, subscriptions: subs('a', 15) }),
    );
    for (let i = 0; i < 15; i++) await one.waitFor('started', `a${i}`);
    const two = live(
      await openLiveStream(t.url, { headers: { cookie }, subscriptions: subs('b', 10) }),
    );
    await two.until(
      () => two.frames.filter((f) => f.event === 'started' || f.event === 'error').length === 10,
      'every b settled',
    );
    const errors = two.frames.filter((f) => f.event === 'error');
    expect(errors).toHaveLength(5);
    expect(errors[0]?.data).toMatchObject({ error: { data: { code: 'TOO_MANY_REQUESTS' } } });
    expect((await stats(t)).subscriptions).toBe(20);
    await one.close();
    await two.close();
  });

  it('ends the whole stream with UNAUTHORIZED when its session ends', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const cookie = await t.login('alice');
    const stream = live(
      await openLiveStream(t.url, {
        headers: { cookie },
        subscriptions: [{ key: 'n', path: 'notifications.onNotification' }],
      }),
    );
    await stream.waitFor('live', 'n');
    const response = await fetch(`${t.url}/trpc/auth.logout`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(200);
    await stream.waitForEnd();
    const last = stream.frames.at(-1);
    expect(last).toMatchObject({
      event: 'serialized-error',
      data: { data: { code: 'UNAUTHORIZED' } },
    });
    await eventually(async () => t.server.app.metrics.counts.subscriptions === 0, 5000, 'released');
  });

  it('ends cleanly on shutdown, so that its client reconnects and resumes', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const cookie = await t.login('alice');
    const stream = live(
      await openLiveStream(t.url, {
        headers: { cookie },
        subscriptions: [{ key: 'n', path: 'notifications.onNotification' }],
      }),
    );
    await stream.waitFor('live', 'n');
    t.server.app.connections.closeAll();
    await stream.waitForEnd();
    // No error and no `stopped`: nothing ended but the connection.
    expect(stream.frames.filter((f) => f.event !== 'ping').map((f) => f.event)).toEqual([
      'connected',
      'started',
      'live',
    ]);
    await eventually(async () => (await stats(t)).subscriptions === 0, 5000, 'released');
  });

  it('drops a stream whose reader stops reading, and every subscription resumes from its own id', async () => {
    await using t = await startTestServer(
      { PULSE_SLOW_CONSUMER_BYTES: String(64 * 1024) },
      { teams: [OPS] },
    );
    const roomId = await teamRoom(t, 'alice');
    const cookie = await t.login('alice');
    const stalled = openRawSse(
      `${t.url}/trpc-live`,
      { cookie },
      JSON.stringify({
        subscriptions: [
          { key: 'n', path: 'notifications.onNotification' },
          { key: 'm', path: 'chat.onMessage', input: { roomId } },
        ],
      }),
    );
    await eventually(() => stalled.frames.filter((f) => f.event === 'live').length === 2);
    stalled.pause();
    const { counts } = t.server.app.metrics;
    await say(t, 'bob', roomId, ['before the flood']);
    const sent = await floodUntilDropped(t, 'alice');
    expect(counts.dropped).toBe(1);
    await eventually(() => counts.subscriptions === 0, 5000, 'both released');
    await say(t, 'bob', roomId, ['after the drop']);
    stalled.resume();
    await eventually(() => stalled.ended, 10_000, 'the dropped stream to end');
    const got = (key: string) =>
      stalled
        .data<LiveData>()
        .map((e) => e.data)
        .filter((e) => e.key === key);
    const notes = got('n');
    const messages = got('m');
    expect(messages.map((m) => (m.data as Message).text)).toEqual(['before the flood']);

    const resumed = live(
      await openLiveStream(t.url, {
        headers: { cookie },
        subscriptions: [
          { key: 'n', path: 'notifications.onNotification', lastEventId: notes.at(-1)?.id },
          { key: 'm', path: 'chat.onMessage', input: { roomId }, lastEventId: messages[0]?.id },
        ],
      }),
    );
    const rest = await resumed.waitForData<Notification>('n', sent - notes.length, 20_000);
    const titles = [
      ...notes.map((e) => (e.data as Notification).title),
      ...rest.map((e) => e.data.title),
    ];
    // Every one once: the batches were sent 50 at a time, so in commit order, not by number.
    expect(titles).toHaveLength(sent);
    expect(new Set(titles)).toEqual(new Set(Array.from({ length: sent }, (_, i) => `big ${i}`)));
    const more = await resumed.waitForData<Message>('m', 1);
    expect(more.map((e) => e.data.text)).toEqual(['after the drop']);
    await resumed.close();
  }, 60_000);
});
