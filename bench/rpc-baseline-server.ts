/**
 * The request/response baselines for bench/rpc.ts (and the WebSocket ones of
 * bench/connections.ts), hand-written on `node:http` and `ws`: the floor Pulse's calls are
 * compared with. One user and one session from the environment, or many from a file:
 *
 * - `GET /me` parses the `Cookie` header (the `cookie` package, as Pulse does), finds the
 *   session in a Map and answers the user in tRPC's envelope, `{"result":{"data":<user>}}`,
 *   so the answer is the same bytes as Pulse's `auth.me`; 401 without the session;
 * - `GET /health` reads no cookie and answers a small public JSON shaped as `system.health`;
 * - a WebSocket upgrade to `/trpc` is let in only with the session cookie; then every text
 *   message `{"id":n,…}` is parsed and answered `{"id":n,"result":{"type":"data","data":<user>}}`.
 *
 *   BENCH_SESSION_SECRET=ps_… BENCH_USER='{"id":…}' node --import tsx bench/rpc-baseline-server.ts
 *   BENCH_SESSIONS_FILE=sessions.json node --import tsx bench/rpc-baseline-server.ts
 *
 * (`sessions.json`: `[["ps_…", {"id":…}], …]`, each session secret with its user.)
 *
 * Listens on an ephemeral port of 127.0.0.1 and prints `rpc baseline listening on http://…`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { parse as parseCookie } from 'cookie';
import { WebSocketServer } from 'ws';
import type { User } from '../src/shared/schemas/auth.ts';
import { SESSION_COOKIE } from '../src/server/platform/context.ts';
import { serveBaseline } from './baseline-serve.ts';

const {
  BENCH_SESSION_SECRET: secret,
  BENCH_USER: userJson,
  BENCH_SESSIONS_FILE: file,
} = process.env;
if (!file && (!secret || !userJson))
  throw new Error('set BENCH_SESSION_SECRET and BENCH_USER, or BENCH_SESSIONS_FILE');
const sessions = new Map<string, User>(
  file
    ? (JSON.parse(readFileSync(file, 'utf8')) as [string, User][])
    : [[secret ?? '', JSON.parse(userJson ?? '') as User]],
);
const startedAt = Date.now();

const userOf = (cookieHeader: string | undefined): User | undefined => {
  const presented = cookieHeader ? parseCookie(cookieHeader)[SESSION_COOKIE] : undefined;
  return presented ? sessions.get(presented) : undefined;
};

function reply(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(json),
    })
    .end(json);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    const uptimeS = Math.round((Date.now() - startedAt) / 1000);
    return reply(res, 200, { result: { data: { status: 'ok', version: '0.1.0', uptimeS } } });
  }
  if (req.method === 'GET' && req.url === '/me') {
    const user = userOf(req.headers.cookie);
    return user
      ? reply(res, 200, { result: { data: user } })
      : reply(res, 401, { error: { message: 'Sign in first' } });
  }
  reply(res, 404, { error: { message: 'Not found' } });
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  const user = req.url === '/trpc' ? userOf(req.headers.cookie) : undefined;
  if (!user) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const text = data.toString();
      if (text === 'PING') return ws.send('PONG');
      let id: unknown;
      try {
        id = (JSON.parse(text) as { id?: unknown }).id;
      } catch {
        return ws.close(1003, 'Not JSON');
      }
      ws.send(JSON.stringify({ id, result: { type: 'data', data: user } }));
    });
    ws.on('error', () => ws.terminate());
  });
});

serveBaseline(server, wss, 'rpc baseline');
