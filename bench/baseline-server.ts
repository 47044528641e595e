/**
 * The baseline: the classic hand-written SSE broadcast server on plain `node:http`, speaking
 * the same URLs and frames as Pulse so the same load generator drives both. Subscribers are
 * kept in a Set of responses; a send builds the frame string once and `res.write`s it to each.
 * No database, no validation beyond a token check: the floor a real service is compared with.
 * A subscriber shows one of the member tokens as `Authorization: Bearer`, or as the session
 * cookie (bench/connections.ts signs in as a browser does and passes the session secrets).
 *
 *   node --import tsx bench/baseline-server.ts <credentials.json>
 *
 * Listens on an ephemeral port of 127.0.0.1 and prints `baseline listening on http://…`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseCookie } from 'cookie';
import { SESSION_COOKIE } from '../src/server/platform/context.ts';
import type { BenchCredentials } from './common.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: baseline-server.ts <credentials.json>');
const creds = JSON.parse(readFileSync(file, 'utf8')) as BenchCredentials;
const members = new Set(creds.memberTokens);

const clients = new Set<ServerResponse>();
let seq = 0;

function bearer(header: string | undefined): string | null {
  return header?.startsWith('Bearer ') ? header.slice(7) : null;
}

const sessionOf = (header: string | undefined): string | null =>
  (header ? parseCookie(header)[SESSION_COOKIE] : undefined) ?? null;

function reply(res: ServerResponse, status: number, body: unknown) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
  });
  res.end(json);
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/trpc/notifications.onNotification') {
    const token = bearer(req.headers.authorization) ?? sessionOf(req.headers.cookie);
    if (token === null || !members.has(token)) return reply(res, 401, { error: 'unauthorized' });
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.write('retry: 2000\nevent: connected\ndata: {}\n\n');
    clients.add(res);
    res.on('close', () => clients.delete(res));
    return;
  }
  if (req.method === 'POST' && path === '/trpc/notifications.send') {
    if (bearer(req.headers.authorization) !== creds.adminToken) {
      return reply(res, 401, { error: 'unauthorized' });
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      let input: { title?: string; body?: string; severity?: string; link?: string | null };
      try {
        input = JSON.parse(body) as typeof input;
      } catch {
        return reply(res, 400, { error: 'bad json' });
      }
      const notification = {
        id: `ntf_${++seq}`,
        title: input.title ?? '',
        body: input.body ?? '',
        severity: input.severity ?? 'info',
        link: typeof input.link === 'string' ? input.link : null,
        createdAt: new Date().toISOString(),
        readAt: null,
      };
      const frame = `id: ${notification.id}\ndata: ${JSON.stringify(notification)}\n\n`;
      for (const client of clients) client.write(frame);
      reply(res, 200, { result: { data: { count: clients.size } } });
    });
    return;
  }
  reply(res, 404, { error: 'not found' });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`baseline listening on http://127.0.0.1:${port}`);
});

function stop() {
  for (const client of clients) client.end();
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
