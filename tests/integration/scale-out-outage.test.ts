import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPulseClient } from '../../src/sdk/client.ts';
import { teamRoomId } from '../../src/shared/rooms.ts';
import type { Message, Person } from '../../src/shared/schemas/chat.ts';
import type { Notification, ReadStateEvent } from '../../src/shared/schemas/notifications.ts';
import { scaleOutMissing, startCluster } from '../support/instances.ts';
import { eventually, namesAre, record } from '../support/live.ts';
import { MEMBER_PASSWORD, OPS } from '../support/people.ts';
import { sendTo, startTestServer, type TestServer } from '../support/server.ts';
import { startServerProcess } from '../support/server-process.ts';
import { signIn } from '../support/trpc-http.ts';
import { wsClient } from '../support/ws.ts';

type Tracked<T> = { id: string; data: T };

async function health(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: await res.json() };
}

async function redisGauge(url: string): Promise<string | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return /^pulse_redis_up (\d)$/m.exec(text)?.[1];
}

async function chatAt(url: string, username: string) {
  const cookie = await signIn(url, username, MEMBER_PASSWORD);
  return wsClient(url, { headers: { cookie } });
}

describe.skipIf(scaleOutMissing !== null)('Redis down and back', () => {
  it('keeps serving each instance, says degraded, and afterwards delivers everything missed once, closes what was revoked and rebuilds presence', async () => {
    await using cluster = await startCluster(2, { teams: [OPS] });
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const roomId = teamRoomId(a.team('ops').team.id);

    // Alice reads on b (SSE), bob chats on b (WebSocket), carol's token streams on b; alice is
    // present in the room through a.
    const aliceOnB = await b.client({ username: 'alice' });
    const notes = record<Tracked<Notification>>((o) =>
      aliceOnB.notifications.onNotification.subscribe(undefined, o),
    );
    const reads = record<ReadStateEvent>((o) =>
      aliceOnB.notifications.onReadState.subscribe(undefined, o),
    );
    const bob = await chatAt(b.url, 'bob');
    const chat = record<Tracked<Message>>((o) => bob.trpc.chat.onMessage.subscribe({ roomId }, o));
    const carol = await b.client({ username: 'carol' });
    const { token } = await carol.auth.createToken.mutate({ name: 'ci', scopes: ['read'] });
    const byToken = createPulseClient({ url: b.url, token, subscriptionRetries: 0 });
    const tokenStream = record<Tracked<Notification>>((o) =>
      byToken.notifications.onNotification.subscribe(undefined, o),
    );
    const aliceChat = await chatAt(a.url, 'alice');
    const aliceHere = record<Person[]>((o) =>
      aliceChat.trpc.chat.onPresence.subscribe({ roomId }, o),
    );
    await Promise.all([notes.started, reads.started, chat.started, tokenStream.started]);
    await namesAre(aliceHere, 'alice,bob');

    const aliceOnA = await a.client({ username: 'alice' });
    const carolOnA = await a.client({ username: 'carol' });
    const say = (c: typeof bob, text: string) =>
      c.trpc.chat.send.mutate({ roomId, text, clientMessageId: randomUUID() });

    // A steady flow of notifications to bob, sent through a from before the outage to after it.
    const bobOnB = await b.client({ username: 'bob' });
    const flow = record<Tracked<Notification>>((o) =>
      bobOnB.notifications.onNotification.subscribe(undefined, o),
    );
    await flow.started;
    const adminOnA = await a.client({ username: 'admin' });
    const flowed: string[] = [];
    let flowing = true;
    const sender = (async () => {
      while (flowing) {
        const title = `f${flowed.length + 1}`;
        await adminOnA.notifications.send.mutate({
          to: { usernames: ['bob'] },
          title,
          severity: 'info',
        });
        flowed.push(title);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    await sendTo(a, 'alice', ['n1', 'n2', 'n3']);
    await say(aliceChat, 'before');
    await notes.waitFor(3);
    await chat.waitFor(1);
    expect((await health(b.url)).body).toEqual({ status: 'ok' });
    expect(await redisGauge(b.url)).toBe('1');

    await cluster.redis.kill();
    for (const t of [a, b]) {
      await eventually(
        async () => (await health(t.url)).status === 200 && (await redisGauge(t.url)) === '0',
        5000,
        'the gauge to say Redis is down',
      );
      expect(await health(t.url)).toEqual({
        status: 200,
        body: { status: 'degraded', down: ['redis'] },
      });
    }

    // Meanwhile, through a: notifications, a read, a chat message, a revoked token.
    await sendTo(a, 'alice', ['n4', 'n5', 'n6']);
    const firstId = notes.items[0]!.data.id;
    await aliceOnA.notifications.markRead.mutate({ id: firstId });
    await say(aliceChat, 'during, from a');
    const [tokenInfo] = await carolOnA.auth.listTokens.query();
    await carolOnA.auth.revokeToken.mutate({ id: tokenInfo!.id });
    // b still serves its own clients and writes: bob's message reaches bob (with a's, which b
    // reads from the database as it follows its own announcement).
    await say(bob, 'during, from b');
    await chat.waitUntil(
      (items) => items.some((m) => m.data.text === 'during, from b'),
      "bob's own message",
    );
    // No notification of a's reached b: nothing on b announced them.
    expect(notes.items).toHaveLength(3);
    expect(tokenStream.error).toBeNull();

    await cluster.redis.start();
    const back = Date.now();
    await tokenStream.waitForError(5000);
    expect(tokenStream.error?.data?.code).toBe('UNAUTHORIZED');
    expect(Date.now() - back).toBeLessThan(5000);
    await notes.waitFor(6);
    await reads.waitUntil(
      (items) => items.some((r) => r.ids.includes(firstId)),
      'the read made during the outage',
    );
    expect(reads.items.at(-1)?.unreadCount).toBe(5);
    for (const t of [a, b]) {
      await eventually(
        async () => JSON.stringify((await health(t.url)).body) === '{"status":"ok"}',
        5000,
        'ok again',
      );
    }
    expect(await redisGauge(a.url)).toBe('1');

    // Live again both ways; the sentinels come after anything repeated would have.
    flowing = false;
    await sender;
    await flow.waitFor(flowed.length, 10_000);
    await sendTo(a, 'bob', ['sentinel']);
    await flow.waitFor(flowed.length + 1);
    expect(flow.items.map((n) => n.data.title)).toEqual([...flowed, 'sentinel']);
    await sendTo(a, 'alice', ['n7']);
    await say(aliceChat, 'after');
    await notes.waitFor(7);
    await chat.waitUntil((items) => items.some((m) => m.data.text === 'after'), 'after');
    expect(notes.items.map((n) => n.data.title)).toEqual([
      'n1',
      'n2',
      'n3',
      'n4',
      'n5',
      'n6',
      'n7',
    ]);
    expect(chat.items.map((m) => m.data.text)).toEqual([
      'before',
      'during, from a',
      'during, from b',
      'after',
    ]);

    // Redis came back empty: a third instance knows who is present from heartbeats alone.
    await using c = await startTestServer(cluster.env);
    const carolOnC = await chatAt(c.url, 'carol');
    const seenOnC = record<Person[]>((o) => carolOnC.trpc.chat.onPresence.subscribe({ roomId }, o));
    await namesAre(seenOnC, 'alice,bob,carol', 10_000);

    for (const s of [notes, reads, chat, aliceHere, seenOnC, flow]) s.stop();
    await Promise.all([bob.close(), aliceChat.close(), carolOnC.close()]);
  });

  it('drops the people of an instance killed with SIGKILL from presence within three heartbeats', async () => {
    await using cluster = await startCluster(1, { teams: [OPS] });
    const [a] = cluster.servers as [TestServer];
    const roomId = teamRoomId(a.team('ops').team.id);
    await using doomed = await startServerProcess(cluster.env);
    const alice = await chatAt(doomed.url, 'alice');
    const there = record<Tracked<Message>>((o) =>
      alice.trpc.chat.onMessage.subscribe({ roomId }, o),
    );
    await there.started;
    const bob = await chatAt(a.url, 'bob');
    const seen = record<Person[]>((o) => bob.trpc.chat.onPresence.subscribe({ roomId }, o));
    await namesAre(seen, 'alice,bob');

    process.kill(doomed.pid, 'SIGKILL');
    const killed = Date.now();
    // PULSE_HEARTBEAT_S is 1 here: silent for 3 s, dropped at the next sweep after that.
    await namesAre(seen, 'bob', 15_000);
    expect(Date.now() - killed).toBeGreaterThanOrEqual(2000);
    seen.stop();
    there.stop();
    await Promise.all([bob.close(), alice.close()]);
  });
});
