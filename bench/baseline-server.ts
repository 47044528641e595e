/**
 * The baseline: the classic hand-written SSE broadcast server on plain `node:http`, speaking
 * the same URLs and frames as Pulse so the same load generator drives both. Subscribers are
 * kept in a Set of responses; a send builds the frame string once and `res.write`s it to each
 * (to every subscriber, or to those of the users in `to: { usernames }`: see
 * bench/notify-baseline.ts). No database, no validation beyond a token check: the floor a real
 * service is compared with. A subscriber shows one of the member tokens as `Authorization:
 * Bearer`, or as the session cookie (bench/connections.ts signs in as a browser does and passes
 * the session secrets).
 *
 *   node --import tsx bench/baseline-server.ts <credentials.json>
 *
 * Listens on an ephemeral port of 127.0.0.1 and prints `baseline listening on http://…`.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseCookie } from 'cookie';
import { SESSION_COOKIE } from '../src/server/platform/context.ts';
import {
  bearer,
  handleSend,
  loadBaseline,
  reply,
  SEND_PATH,
  SUBSCRIBE_PATH,
} from './notify-baseline.ts';

const baseline = loadBaseline<ServerResponse>();
const { subscribers } = baseline;

const sessionOf = (header: string | undefined): string | null =>
  (header ? parseCookie(header)[SESSION_COOKIE] : undefined) ?? null;

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === SUBSCRIBE_PATH) {
    const token = bearer(req.headers.authorization) ?? sessionOf(req.headers.cookie);
    const username = token === null ? undefined : baseline.memberOf.get(token);
    if (username === undefined) return reply(res, 401, { error: 'unauthorized' });
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.write('retry: 2000\nevent: connected\ndata: {}\n\n');
    subscribers.add(username, res);
    res.on('close', () => subscribers.delete(username, res));
    return;
  }
  if (req.method === 'POST' && path === SEND_PATH) {
    return handleSend(req, res, baseline, (event, to) => {
      const frame = `id: ${event.id}\ndata: ${event.json}\n\n`;
      for (const client of to) client.write(frame);
    });
  }
  reply(res, 404, { error: 'not found' });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`baseline listening on http://127.0.0.1:${port}`);
});

function stop() {
  for (const client of subscribers.all) client.end();
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
