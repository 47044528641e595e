import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  wsLink,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import type { AppRouter } from '../server/router.ts';
import { CLIENT_BATCH_MAX, CLIENT_URL_MAX } from '../shared/limits.ts';
import { TRPC_PATH } from '../shared/paths.ts';

export interface PulseClientOptions {
  /** The server's origin, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** An API token (`auth.createToken`), sent as `Authorization: Bearer`. */
  token?: string | undefined;
  /** Extra headers on every request and stream (a `cookie`, for instance). */
  headers?: Record<string, string> | undefined;
  /** How many times a failed subscription is re-opened (with backoff) before it gives up. */
  subscriptionRetries?: number;
  /** Replaces the global `fetch` for requests and streams (to read response headers, say). */
  fetch?: typeof globalThis.fetch | undefined;
  /**
   * Sends every `chat.*` call over one WebSocket (opened on first use, closed when idle),
   * as the web app does; otherwise chat goes over HTTP and SSE like everything else.
   */
  webSocket?: boolean;
}

export type PulseClient = TRPCClient<AppRouter>;

/** Exponential backoff, 0.5 s doubling to 30 s, with full jitter. */
export const backoffMs = (attempt: number): number =>
  Math.random() * Math.min(30_000, 500 * 2 ** attempt);

/**
 * A typed client for Node programs: queries and mutations over batched HTTP, subscriptions
 * over SSE. A dropped stream is resumed from the last event id by EventSource and tRPC; a
 * failed one is re-opened with backoff. `PRECONDITION_FAILED` (cannot resume) is not retried:
 * the caller refetches and subscribes afresh.
 */
export function createPulseClient(opts: PulseClientOptions): PulseClient {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  const trpcUrl = `${opts.url.replace(/\/$/, '')}${TRPC_PATH}`;
  const retries = opts.subscriptionRetries ?? Infinity;
  const overHttp: TRPCLink<AppRouter> = splitLink({
    condition: (op) => op.type === 'subscription',
    true: [
      retryLink({
        retry: ({ error, attempts }) =>
          attempts <= retries &&
          error.data?.code !== 'PRECONDITION_FAILED' &&
          error.data?.code !== 'UNAUTHORIZED' &&
          error.data?.code !== 'FORBIDDEN' &&
          error.data?.code !== 'BAD_REQUEST',
        retryDelayMs: backoffMs,
      }),
      httpSubscriptionLink({
        url: trpcUrl,
        EventSource,
        eventSourceOptions: () => ({
          fetch: (input, init) =>
            (opts.fetch ?? fetch)(input, {
              ...init,
              headers: { ...init?.headers, ...headers },
            }),
        }),
      }),
    ],
    false: httpBatchLink({
      url: trpcUrl,
      headers: () => headers,
      fetch: opts.fetch,
      maxURLLength: CLIENT_URL_MAX,
      maxItems: CLIENT_BATCH_MAX,
    }),
  });
  if (!opts.webSocket) return createTRPCClient<AppRouter>({ links: [overHttp] });

  // Node 20 has no WebSocket of its own; `ws` also lets the upgrade carry our headers.
  class NodeWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const socket = createWSClient({
    url: trpcUrl.replace(/^http/, 'ws'),
    WebSocket: NodeWebSocket as unknown as typeof globalThis.WebSocket,
    connectionParams: opts.token ? { token: opts.token } : null,
    retryDelayMs: backoffMs,
    lazy: { enabled: true, closeMs: 1000 },
    keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 5_000 },
  });
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.path.startsWith('chat.'),
        true: wsLink({ client: socket }),
        false: overHttp,
      }),
    ],
  });
}
