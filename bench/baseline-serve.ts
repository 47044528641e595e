import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocketServer } from 'ws';

/**
 * How a WebSocket baseline server runs: it listens on a free port of 127.0.0.1, prints
 * `<name> listening on http://127.0.0.1:PORT` (what `startServer` waits for), and on SIGINT or
 * SIGTERM ends its sockets and exits (at once after 1 s). Nothing else is loaded, so the
 * baselines' memory is theirs alone.
 */
export function serveBaseline(server: Server, wss: WebSocketServer, name: string): void {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`${name} listening on http://127.0.0.1:${port}`);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const ws of wss.clients) ws.terminate();
      server.close(() => process.exit(0));
      setTimeout(() => process.exit(0), 1000).unref();
    });
  }
}
