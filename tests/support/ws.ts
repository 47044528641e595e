import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import WebSocket from 'ws';
import type { AppRouter } from '../../src/server/router.ts';

/**
 * A typed tRPC client over a real WebSocket (Node has none built in on 20), with headers.
 * Reconnects after `retryMs` (100 s unless given), or after `retryDelayMs(attempt)` (the SDK's
 * `backoffMs`, say) when given.
 */
export function wsClient(
  url: string,
  opts: {
    token?: string;
    headers?: Record<string, string>;
    retryMs?: number;
    retryDelayMs?: (attempt: number) => number;
  } = {},
) {
  const headers = opts.headers ?? {};
  const sockets: WebSocket[] = [];
  /** When each socket was opened (`performance.now()`): the first connect, then each reconnect. */
  const openedAt: number[] = [];
  class NodeWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers });
      sockets.push(this);
      openedAt.push(performance.now());
    }
  }
  const client = createWSClient({
    url: `${url.replace('http', 'ws')}/trpc`,
    WebSocket: NodeWebSocket as unknown as typeof globalThis.WebSocket,
    connectionParams: opts.token ? { token: opts.token } : null,
    retryDelayMs: opts.retryDelayMs ?? (() => opts.retryMs ?? 100_000),
  });
  return {
    client,
    trpc: createTRPCClient<AppRouter>({ links: [wsLink({ client })] }),
    /** The socket currently open. */
    socket: () => sockets.at(-1),
    openedAt,
    close: () => client.close(),
  };
}
