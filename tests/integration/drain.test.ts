import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KeptAliveConnection } from '../support/kept-alive.ts';
import { eventually } from '../support/live.ts';
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
});
