import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createPulseClient } from '../../src/sdk/client.ts';
import { teamRoomId } from '../../src/shared/rooms.ts';
import { KeptAliveConnection } from '../support/kept-alive.ts';
import { eventually, record } from '../support/live.ts';
import { MEMBER_PASSWORD } from '../support/people.ts';
import { openRawSse, subscriptionUrl } from '../support/raw-sse.ts';
import { ADMIN_PASSWORD, startServerProcess } from '../support/server-process.ts';
import { signIn } from '../support/trpc-http.ts';
import { TrpcSocket } from '../support/trpc-socket.ts';

const STREAMS = 20;
const DRAIN_S = 2;

/** Whether a new TCP connection to the port is refused (nothing listens). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/**
 * A TCP relay in front of a server, whose target can change and which can hold new
 * connections (accepted, not yet passed on) until `release`: the clients' reconnects can then
 * be made to wait until events have been sent that they must resume with.
 */
async function startRelay(targetPort: number) {
  let target = targetPort;
  let held: Socket[] | null = null;
  const sockets = new Set<Socket>();
  const pass = (client: Socket) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    upstream.once('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.once('close', () => upstream.end());
    upstream.once('close', () => client.end());
  };
  const server = createServer((client) => {
    client.pause();
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    if (held) held.push(client);
    else pass(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: () => void (held ??= []),
    /** How many connections wait. */
    waiting: () => held?.length ?? 0,
    release(port: number) {
      target = port;
      const waiting = held ?? [];
      held = null;
      for (const client of waiting) pass(client);
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('shutdown drains', () => {
  it('answers 503 draining at once, takes nothing new, ends streams spread over PULSE_DRAIN_S, then exits 0', async () => {
    await using server = await startServerProcess({ PULSE_DRAIN_S: String(DRAIN_S) });
    const cookie = await signIn(server.url, 'admin', ADMIN_PASSWORD);
    const stream = subscriptionUrl(server.url, 'notifications.onNotification');

    const sses = Array.from({ length: STREAMS }, () => openRawSse(stream, { Cookie: cookie }));
    await eventually(
      () => sses.every((s) => s.frames.some((f) => f.event === 'connected')),
      10_000,
      'every SSE stream connected',
    );
    const sockets = await Promise.all(
      Array.from({ length: STREAMS }, () => TrpcSocket.open(server.url, { headers: { cookie } })),
    );
    for (const socket of sockets) {
      const started = await socket.subscribe(1, 'notifications.onNotification');
      expect(started.result?.type).toBe('started');
    }
    const sseEnds = sses.map((s) => s.closed);
    // Settled whatever happens (awaited below), so a failure earlier leaves nothing unhandled.
    const wsEnds = sockets.map((s) =>
      s.closed(15_000).then(
        (info) => ({ ...info, at: performance.now() }),
        (error: unknown) => ({ code: -1, reason: String(error), at: NaN }),
      ),
    );
    let ended = 0;
    for (const end of [...sseEnds, ...wsEnds]) void end.then(() => ended++);

    // Connections opened (and used once) before the signal, kept alive.
    const [health, sse, upgrade] = await Promise.all(
      [0, 1, 2].map(() => KeptAliveConnection.open(server.url)),
    );
    for (const conn of [health!, sse!, upgrade!]) {
      expect((await conn.request('GET', '/healthz')).status).toBe(200);
    }

    process.kill(server.pid, 'SIGTERM');
    await eventually(() => /SIGTERM: draining/.test(server.output()), 5000, 'the drain to start');

    const answer = await health!.request('GET', '/healthz');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ status: 'draining' });
    expect(answer.headers['connection']).toBe('close');
    // At once: well before the streams have all been ended.
    expect(ended).toBeLessThan(STREAMS * 2);

    expect(await refused(server.port)).toBe(true);
    const newStream = await sse!.request('GET', new URL(stream).pathname, [`Cookie: ${cookie}`]);
    expect(newStream.status).toBe(503);
    expect(newStream.headers['connection']).toBe('close');
    const newSocket = await upgrade!.request('GET', '/trpc', [
      `Cookie: ${cookie}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ]);
    expect(newSocket.status).toBe(503);

    const sseTimes = await Promise.all(sseEnds);
    const closes = await Promise.all(wsEnds);
    // SSE: a clean end (the last chunk), with no `return` and no error, so clients reconnect.
    for (const s of sses) {
      expect(s.complete).toBe(true);
      expect(s.frames.filter((f) => f.event !== 'connected' && f.event !== 'ping')).toEqual([]);
    }
    expect(closes.map((c) => c.code)).toEqual(Array(STREAMS).fill(1012));

    const times = [...sseTimes, ...closes.map((c) => c.at)];
    const span = Math.max(...times) - Math.min(...times);
    expect(span).toBeGreaterThanOrEqual((DRAIN_S * 1000) / 2);

    expect(await server.waitForExit(15_000)).toBe(true);
    expect(server.exitDescription(), server.output()).toBe('exit 0');
    expect(server.output()).toContain('Drained and closed');
  }, 60_000);

  it("the SDK's SSE and WebSocket subscriptions reconnect after the drain and resume on the next server", async () => {
    await using first = await startServerProcess({ PULSE_DRAIN_S: '1' });
    const adminCookie = await signIn(first.url, 'admin', ADMIN_PASSWORD);
    const admin = createPulseClient({ url: first.url, headers: { cookie: adminCookie } });
    const team = await admin.teams.create.mutate({ name: 'ops' });
    const alice = await admin.users.create.mutate({
      username: 'alice',
      password: MEMBER_PASSWORD,
      teamIds: [team.id],
    });
    const roomId = teamRoomId(team.id);
    const aliceCookie = await signIn(first.url, 'alice', MEMBER_PASSWORD);

    await using relay = await startRelay(first.port);
    const client = createPulseClient({
      url: relay.url,
      headers: { cookie: aliceCookie },
      webSocket: true,
    });
    const notifications = record<{ id: string; data: { title: string } }>((handlers) =>
      client.notifications.onNotification.subscribe(undefined, handlers),
    );
    const messages = record<{ id: string; data: { text: string } }>((handlers) =>
      client.chat.onMessage.subscribe({ roomId }, handlers),
    );
    await Promise.all([notifications.started, messages.started]);

    const send = async (url: string, cookie: string, n: number) => {
      const as = createPulseClient({ url, headers: { cookie } });
      await as.notifications.send.mutate({
        to: { userIds: [alice.id] },
        title: `n${n}`,
        severity: 'info',
      });
    };
    const say = async (url: string, n: number) => {
      const as = createPulseClient({
        url,
        headers: { cookie: await signIn(url, 'alice', MEMBER_PASSWORD) },
      });
      await as.chat.send.mutate({ roomId, text: `m${n}`, clientMessageId: randomUUID() });
    };
    await send(first.url, adminCookie, 1);
    await say(first.url, 1);
    await notifications.waitFor(1, 10_000);
    await messages.waitFor(1, 10_000);

    // Their reconnects wait at the relay while the server drains, and the next one starts.
    relay.hold();
    process.kill(first.pid, 'SIGTERM');
    expect(await first.waitForExit(15_000)).toBe(true);
    expect(first.exitDescription()).toBe('exit 0');
    await using next = await startServerProcess({ DATABASE_URL: first.databaseUrl });
    await send(next.url, await signIn(next.url, 'admin', ADMIN_PASSWORD), 2);
    await say(next.url, 2);
    // Both the SSE stream (ended cleanly) and the WebSocket (closed 1012) are reconnecting.
    await eventually(() => relay.waiting() >= 2, 15_000, 'both reconnects at the relay');
    relay.release(next.port);

    // Each resumes after the last event it had: the one sent meanwhile comes, once.
    await notifications.waitFor(2, 15_000);
    await messages.waitFor(2, 15_000);
    await send(next.url, await signIn(next.url, 'admin', ADMIN_PASSWORD), 3);
    await say(next.url, 3);
    await notifications.waitFor(3, 10_000);
    await messages.waitFor(3, 10_000);
    expect(notifications.items.map((n) => n.data.title)).toEqual(['n1', 'n2', 'n3']);
    expect(messages.items.map((m) => m.data.text)).toEqual(['m1', 'm2', 'm3']);
    notifications.stop();
    messages.stop();
  }, 60_000);

  it('ends the drain at once on a second signal, and still exits 0', async () => {
    await using server = await startServerProcess({ PULSE_DRAIN_S: '600' });
    const cookie = await signIn(server.url, 'admin', ADMIN_PASSWORD);
    const stream = subscriptionUrl(server.url, 'notifications.onNotification');
    const sses = Array.from({ length: 3 }, () => openRawSse(stream, { Cookie: cookie }));
    const socket = await TrpcSocket.open(server.url, { headers: { cookie } });
    await eventually(
      () => sses.every((s) => s.frames.some((f) => f.event === 'connected')),
      10_000,
      'every SSE stream connected',
    );
    process.kill(server.pid, 'SIGINT');
    await eventually(() => /SIGINT: draining/.test(server.output()), 5000, 'the drain to start');
    process.kill(server.pid, 'SIGINT');
    // Far sooner than the 600 s window: the rest of the streams end now.
    expect(await server.waitForExit(15_000)).toBe(true);
    expect(server.exitDescription(), server.output()).toBe('exit 0');
    expect(server.output()).toContain('SIGINT again: ending the drain now');
    await Promise.all(sses.map((s) => s.closed));
    expect((await socket.closed(5000)).code).toBeGreaterThan(0);
  });
});
