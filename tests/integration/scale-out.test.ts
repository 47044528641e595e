import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPulseClient } from '../../src/sdk/client.ts';
import { teamRoomId } from '../../src/shared/rooms.ts';
import type { Message, Person } from '../../src/shared/schemas/chat.ts';
import type { Incident } from '../../src/shared/schemas/incidents.ts';
import type { Notification, ReadStateEvent } from '../../src/shared/schemas/notifications.ts';
import { scaleOutMissing, startCluster } from '../support/instances.ts';
import { eventually, namesAre, record } from '../support/live.ts';
import { OPS } from '../support/people.ts';
import { sendTo, type TestServer } from '../support/server.ts';
import { TrpcSocket } from '../support/trpc-socket.ts';
import { wsClient } from '../support/ws.ts';

type Tracked<T> = { id: string; data: T };

async function chatAs(t: TestServer, username: string) {
  const cookie = await t.login(username);
  return wsClient(t.url, { headers: { cookie } });
}

const opsRoomOf = (t: TestServer) => teamRoomId(t.team('ops').team.id);

describe.skipIf(scaleOutMissing !== null)('several instances on one database and one Redis', () => {
  it('carries notifications, read state and incident changes to the subscribers of another instance', async () => {
    await using cluster = await startCluster(2, { teams: [OPS] });
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const aliceOnB = await b.client({ username: 'alice' });
    const notes = record<Tracked<Notification>>((o) =>
      aliceOnB.notifications.onNotification.subscribe(undefined, o),
    );
    const reads = record<ReadStateEvent>((o) =>
      aliceOnB.notifications.onReadState.subscribe(undefined, o),
    );
    const changes = record<Tracked<Incident>>((o) =>
      aliceOnB.incidents.onChange.subscribe(undefined, o),
    );
    await Promise.all([notes.started, reads.started, changes.started]);

    await sendTo(a, 'alice', ['one', 'two', 'three']);
    await notes.waitFor(3);
    expect(notes.items.map((n) => n.data.title)).toEqual(['one', 'two', 'three']);

    const aliceOnA = await a.client({ username: 'alice' });
    const first = notes.items[0]!.data.id;
    await aliceOnA.notifications.markRead.mutate({ id: first });
    await reads.waitFor(1);
    expect(reads.items[0]).toMatchObject({ kind: 'read', ids: [first], unreadCount: 2 });

    const incident = await aliceOnA.incidents.create.mutate({
      title: 'db-1 down',
      severity: 'critical',
      teamId: a.team('ops').team.id,
    });
    await changes.waitUntil(
      (items) => items.some((c) => c.data.id === incident.id),
      'the new incident',
    );
    // Every change once: a sentinel notification after them all, then the counts.
    await sendTo(a, 'alice', ['sentinel']);
    await notes.waitFor(4);
    expect(notes.items.map((n) => n.data.title)).toEqual(['one', 'two', 'three', 'sentinel']);
    expect(reads.items).toHaveLength(1);
    expect(changes.items.filter((c) => c.data.id === incident.id)).toHaveLength(1);
    for (const s of [notes, reads, changes]) s.stop();
  });

  it('carries chat messages, typing and presence over WebSocket between instances', async () => {
    await using cluster = await startCluster(3, { teams: [OPS] });
    const [a, b, c] = cluster.servers as [TestServer, TestServer, TestServer];
    const roomId = opsRoomOf(a);
    const alice = await chatAs(a, 'alice');
    const bob = await chatAs(b, 'bob');
    const carol = await chatAs(c, 'carol');
    const presence = record<Person[]>((o) => bob.trpc.chat.onPresence.subscribe({ roomId }, o));
    await namesAre(presence, 'bob');
    const typing = record<Person[]>((o) => bob.trpc.chat.onTyping.subscribe({ roomId }, o));
    const messagesOnB = record<Tracked<Message>>((o) =>
      bob.trpc.chat.onMessage.subscribe({ roomId }, o),
    );
    const messagesOnC = record<Tracked<Message>>((o) =>
      carol.trpc.chat.onMessage.subscribe({ roomId }, o),
    );
    await Promise.all([typing.started, messagesOnB.started, messagesOnC.started]);
    await namesAre(presence, 'bob,carol');

    const aliceHere = record<Tracked<Message>>((o) =>
      alice.trpc.chat.onMessage.subscribe({ roomId }, o),
    );
    await aliceHere.started;
    await namesAre(presence, 'alice,bob,carol');

    await alice.trpc.chat.setTyping.mutate({ roomId, typing: true });
    await namesAre(typing, 'alice');
    await alice.trpc.chat.setTyping.mutate({ roomId, typing: false });
    await namesAre(typing, '');

    for (const text of ['hello', 'from', 'a']) {
      await alice.trpc.chat.send.mutate({ roomId, text, clientMessageId: randomUUID() });
    }
    await carol.trpc.chat.send.mutate({ roomId, text: 'and c', clientMessageId: randomUUID() });
    for (const s of [messagesOnB, messagesOnC, aliceHere]) {
      await s.waitFor(4);
      expect(s.items.map((m) => m.data.text)).toEqual(['hello', 'from', 'a', 'and c']);
    }

    // Alice leaves instance a: bob, on b, sees it.
    aliceHere.stop();
    await alice.close();
    await namesAre(presence, 'bob,carol');
    for (const s of [presence, typing, messagesOnB, messagesOnC]) s.stop();
    await Promise.all([bob.close(), carol.close()]);
  });

  it('closes the streams and sockets of a session or token ended on another instance within 5 s', async () => {
    await using cluster = await startCluster(2, { teams: [OPS] });
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const cookie = await b.login('alice');
    const onB = await b.client({ username: 'alice' });
    // The session's stream and socket live on b; the logout happens on a.
    const bySession = createPulseClient({ url: b.url, headers: { cookie } });
    const stream = record<Tracked<Notification>>((o) =>
      bySession.notifications.onNotification.subscribe(undefined, o),
    );
    await stream.started;
    const socket = wsClient(b.url, { headers: { cookie } });
    expect((await socket.trpc.auth.me.query()).username).toBe('alice');
    const socketClosed = new Promise<number>((resolve) => {
      socket.client.connection?.ws.addEventListener('close', (e) => resolve(e.code));
    });
    const { token } = await onB.auth.createToken.mutate({ name: 'ci', scopes: ['read'] });
    const byToken = createPulseClient({ url: b.url, token });
    const tokenStream = record<Tracked<Notification>>((o) =>
      byToken.notifications.onNotification.subscribe(undefined, o),
    );
    await tokenStream.started;

    const sameSessionOnA = createPulseClient({ url: a.url, headers: { cookie } });
    await sameSessionOnA.auth.logout.mutate();
    expect((await stream.waitForError(5000)).data?.code).toBe('UNAUTHORIZED');
    expect(await socketClosed).toBe(4001);

    const tokens = await (await a.client({ username: 'alice' })).auth.listTokens.query();
    const id = tokens.find((t) => t.name === 'ci')?.id;
    await (await a.client({ username: 'alice' })).auth.revokeToken.mutate({ id: id! });
    expect((await tokenStream.waitForError(5000)).data?.code).toBe('UNAUTHORIZED');
    await socket.close();
  });

  it('holds the sign-in failure limit and the chat send limit across instances', async () => {
    await using cluster = await startCluster(2, {
      teams: [OPS],
      env: { PULSE_LOGIN_FAILURES_PER_USER: '4', PULSE_CHAT_SENDS_PER_10S: '3' },
    });
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const anonA = await a.client(null);
    const anonB = await b.client(null);
    const guess = (client: typeof anonA) =>
      client.auth.login.mutate({ username: 'bob', password: 'wrong-password' });
    for (const client of [anonA, anonB, anonA, anonB]) {
      await expect(guess(client)).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    }
    for (const client of [anonA, anonB]) {
      await expect(guess(client)).rejects.toMatchObject({ data: { code: 'TOO_MANY_REQUESTS' } });
    }

    const roomId = opsRoomOf(a);
    const onA = await chatAs(a, 'alice');
    const onB = await chatAs(b, 'alice');
    const send = (c: typeof onA, text: string) =>
      c.trpc.chat.send.mutate({ roomId, text, clientMessageId: randomUUID() });
    await send(onA, 'one');
    await send(onB, 'two');
    await send(onA, 'three');
    await expect(send(onB, 'four')).rejects.toMatchObject({ data: { code: 'TOO_MANY_REQUESTS' } });
    await expect(send(onA, 'five')).rejects.toMatchObject({ data: { code: 'TOO_MANY_REQUESTS' } });
    const history = await onA.trpc.chat.history.query({ roomId });
    expect(history.items.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    await Promise.all([onA.close(), onB.close()]);
  });

  it("holds a user's connection cap across instances, and gives places back as connections close", async () => {
    await using cluster = await startCluster(2, {
      teams: [OPS],
      env: { PULSE_MAX_CONNECTIONS_PER_USER: '20' },
    });
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const cookie = await a.login('alice');
    // Raw tRPC sockets: each is one connection, and a refused one shows its close code.
    const open = async (t: TestServer) => {
      const socket = await TrpcSocket.open(t.url, { headers: { cookie } });
      socket.send({ id: 1, method: 'query', params: { path: 'auth.me' } });
      const answer = await socket.frameOrClose((f) => f.id === 1, 'the answer to auth.me');
      const admitted = answer.frame?.result !== undefined;
      return { socket, admitted, code: admitted ? null : (await socket.closed()).code };
    };
    const held = [];
    for (let i = 0; i < 12; i++) held.push(await open(a));
    for (let i = 0; i < 8; i++) held.push(await open(b));
    expect(held.every((h) => h.admitted)).toBe(true);
    // The 21st, on either instance, is one too many.
    expect(await open(b)).toMatchObject({ admitted: false, code: 1008 });
    expect(await open(a)).toMatchObject({ admitted: false, code: 1008 });

    // One closes on each: places are free again, wherever the next one goes.
    await held.pop()!.socket.close();
    await held.shift()!.socket.close();
    await eventually(() => a.server.app.metrics.counts.ws === 11, 5000, 'a place freed on a');
    await eventually(() => b.server.app.metrics.counts.ws === 7, 5000, 'a place freed on b');
    const again = [await open(b), await open(b)];
    expect(again.map((h) => h.admitted)).toEqual([true, true]);
    expect(await open(a)).toMatchObject({ admitted: false, code: 1008 });
    for (const h of [...held, ...again]) await h.socket.close();
  });
});
