/**
 * The raw `ws` notification baseline, for bench/run.ts to compare Pulse's SSE fan-out with the
 * strongest simple WebSocket broadcast: a `ws` WebSocketServer on `node:http`. A socket opens
 * at `/trpc/notifications.onNotification` with a member token as `Authorization: Bearer` (else
 * 401 at the upgrade); `POST /trpc/notifications.send` (bench/notify-baseline.ts, the same
 * endpoint and event JSON as the plain SSE baseline) encodes each event's JSON once into one
 * Buffer and `send`s that Buffer as a text frame to every socket, or to those of the users in
 * `to: { usernames }`. No envelope: the frame is the event's JSON.
 *
 *   node --import tsx bench/ws-baseline-server.ts <credentials.json>
 *
 * Listens on an ephemeral port of 127.0.0.1 and prints `raw ws listening on http://…`.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveBaseline } from './baseline-serve.ts';
import { bearer, handleSend, loadBaseline, SEND_PATH, SUBSCRIBE_PATH } from './notify-baseline.ts';

const baseline = loadBaseline<WebSocket>();
const { subscribers } = baseline;

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === SEND_PATH) {
    return handleSend(req, res, baseline, (event, to) => {
      const frame = Buffer.from(event.json);
      for (const ws of to) ws.send(frame, { binary: false });
    });
  }
  res.writeHead(404).end();
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  const token = req.url === SUBSCRIBE_PATH ? bearer(req.headers.authorization) : null;
  const username = token === null ? undefined : baseline.memberOf.get(token);
  if (username === undefined) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    subscribers.add(username, ws);
    ws.on('close', () => subscribers.delete(username, ws));
    ws.on('error', () => ws.terminate());
  });
});

serveBaseline(server, wss, 'raw ws');
