import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { wsTextFrame } from '../../src/server/platform/ws.ts';

/**
 * Deliveries over WebSocket are frames made once per event and written to every socket as they
 * are (platform/ws.ts). Here a real `ws` client reads frames written by hand on a raw socket
 * after a hand-made handshake: each length class of RFC 6455 (7-bit, 16-bit and 64-bit lengths,
 * and the boundaries between them) and multi-byte text must arrive exactly as sent.
 */

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

let server: Server;
let url: string;
/** What the next accepted socket is sent, frame after frame, right after the handshake. */
let nextFrames: Buffer[] = [];

beforeAll(async () => {
  server = createServer((socket: Socket) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      for (const frame of nextFrames) socket.write(frame);
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Opens a `ws` client, has the server write `texts` as frames, and reads them back as text. */
async function roundTrip(texts: string[]): Promise<string[]> {
  nextFrames = texts.map(wsTextFrame);
  const client = new WebSocket(url);
  const received: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      client.on('message', (data, isBinary) => {
        if (isBinary) reject(new Error('a binary message'));
        received.push((data as Buffer).toString('utf8'));
        if (received.length === texts.length) resolve();
      });
      client.on('error', reject);
      client.on('close', (code) => reject(new Error(`closed with ${code}`)));
    });
  } finally {
    client.terminate();
  }
  return received;
}

describe('wsTextFrame', () => {
  it('frames every length class so a ws client reads the text back exactly', async () => {
    const lengths = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000];
    const texts = lengths.map((n, i) => String.fromCharCode(97 + i).repeat(n));
    expect(await roundTrip(texts)).toEqual(texts);
  });

  it('measures the length in bytes, not characters', async () => {
    // 42 × 3 bytes = 126 (a 16-bit length), 2 × 4 bytes, and a mix around the 125 boundary.
    const texts = ['€'.repeat(42), '😀😀', `{"id":1,"text":"${'é'.repeat(60)}"}`];
    expect(await roundTrip(texts)).toEqual(texts);
  });

  it('writes the header RFC 6455 specifies: FIN + text opcode, no mask, the shortest length', () => {
    expect([...wsTextFrame('hi')]).toEqual([0x81, 2, 0x68, 0x69]);
    expect([...wsTextFrame('x'.repeat(126)).subarray(0, 4)]).toEqual([0x81, 126, 0, 126]);
    expect([...wsTextFrame('x'.repeat(65_536)).subarray(0, 10)]).toEqual([
      0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0,
    ]);
  });
});
