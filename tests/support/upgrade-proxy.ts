import { createHash } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** What the proxy does with WebSocket upgrades; everything else it passes through. */
export type UpgradeMode = 'pass' | 'refuse' | 'hang' | 'close';

/**
 * A TCP proxy in front of a test server, standing for the proxies users sit behind: it passes
 * HTTP through untouched, and does to WebSocket upgrades what `mode` says (refuse them with 502,
 * hold them without ever answering, or accept them and close the connection at once). It
 * counts the connections it carries, by kind.
 */
export async function startUpgradeProxy(mode: UpgradeMode = 'pass') {
  let target = 0;
  const open = new Set<Socket>();
  const upgrades = { seen: 0 };

  function pipe(client: Socket, head: Buffer) {
    const upstream = connect(target, '127.0.0.1');
    open.add(upstream);
    upstream.once('close', () => open.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }

  function upgrade(client: Socket, head: Buffer, headers: string) {
    upgrades.seen++;
    switch (self.mode) {
      case 'pass':
        return pipe(client, head);
      case 'refuse':
        client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      case 'hang':
        return; // never a word; the socket stays until the browser gives up
      case 'close': {
        const key = /^sec-websocket-key:\s*(\S+)/im.exec(headers)?.[1] ?? '';
        const accept = createHash('sha1')
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
          .digest('base64');
        client.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        setImmediate(() => client.destroy());
        return;
      }
    }
  }

  const server = createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.off('data', onData);
      client.pause();
      const headers = head.subarray(0, end).toString('latin1');
      if (/^upgrade:\s*websocket/im.test(headers)) upgrade(client, head, headers);
      else pipe(client, head);
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const self = {
    port,
    url: `http://127.0.0.1:${port}`,
    mode,
    upgrades,
    /** The server to pass to (known once it has started). */
    to(serverPort: number) {
      target = serverPort;
    },
    async [Symbol.asyncDispose]() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return self;
}
