/**
 * The classic hand-written chat broadcast, for bench/chat.ts to compare Pulse with: a `ws`
 * WebSocketServer on a `node:http` server; POST /send (any path ending in /send, body
 * `{"text":…}`) builds a ~200-byte JSON frame, encodes it once into a Buffer (one per
 * subscription id; the load's sockets all use id 1) and `client.send`s that Buffer to every
 * subscribed socket. It speaks just enough of tRPC's WebSocket protocol for the same load
 * generator: it ignores `connectionParams`, answers a `subscription` with `started`, and frames
 * each message as `{"id":<sub id>,"result":{"type":"data","id":…,"data":<message>}}`.
 *
 *   node --import tsx bench/chat-baseline-server.ts   → prints "listening on http://127.0.0.1:PORT"
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveBaseline } from './baseline-serve.ts';

const subscribers = new Map<WebSocket, string>();
let seq = 0;

const server = createServer((req, res) => {
  if (req.method !== 'POST' || !req.url?.endsWith('/send')) {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => {
    body += c;
    if (body.length > 100_000) req.destroy();
  });
  req.on('end', () => {
    let text: string;
    try {
      const parsed = (JSON.parse(body) as { text?: unknown }).text;
      text = typeof parsed === 'string' ? parsed : '';
    } catch {
      res.writeHead(400).end();
      return;
    }
    seq++;
    const message = {
      id: `msg_${seq}`,
      roomId: 'room_bench',
      authorId: 'user_bench',
      text,
      clientMessageId: randomUUID(),
      createdAt: new Date().toISOString(),
    };
    const json = JSON.stringify(message);
    // Each frame encoded once, into one Buffer for every socket that shares its subscription id
    // (every socket of the load does): the strongest simple broadcast.
    const frames = new Map<string, Buffer>();
    for (const [ws, subId] of subscribers) {
      let frame = frames.get(subId);
      if (!frame) {
        frame = Buffer.from(
          `{"id":${subId},"result":{"type":"data","id":"${message.id}","data":${json}}}`,
        );
        frames.set(subId, frame);
      }
      ws.send(frame, { binary: false });
    }
    const answer = JSON.stringify({ result: { data: message } });
    res
      .writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(answer),
      })
      .end(answer);
  });
});

const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  ws.on('message', (data: Buffer) => {
    const text = data.toString();
    if (text === 'PING') return ws.send('PONG');
    let msg: { id?: unknown; method?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return;
    }
    if (msg.method === 'subscription') {
      const id = JSON.stringify(msg.id ?? null);
      subscribers.set(ws, id);
      ws.send(`{"id":${id},"result":{"type":"started"}}`);
    } else if (msg.method === 'subscription.stop') {
      subscribers.delete(ws);
    }
  });
  ws.on('close', () => subscribers.delete(ws));
  ws.on('error', () => subscribers.delete(ws));
});

serveBaseline(server, wss, 'chat baseline');
