import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import WebSocket from 'ws';
import type { AppRouter } from '../../src/server/router.ts';

/** A typed tRPC client over a real WebSocket (Node has none built in on 20), with headers. */
export function wsClient(
  url: string,
  opts: { token?: string; headers?: Record<string, string>; retryMs?: number } = {},
) {
  const headers = opts.headers ?? {};
  const sockets: WebSocket[] = [];
  class NodeWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers });
      sockets.push(this);
    }
  }
  const client = createWSClient({
    url: `${url.replace('http', 'ws')}/trpc`,
    WebSocket: NodeWebSocket as unknown as typeof globalThis.WebSocket,
    connectionParams: opts.token ? { token: opts.token } : null,
    retryDelayMs: () => opts.retryMs ?? 100_000,
  });
  return {
    client,
    trpc: createTRPCClient<AppRouter>({ links: [wsLink({ client })] }),
    /** The socket currently open. */
    socket: () => sockets.at(-1),
    close: () => client.close(),
  };
}
