import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  TRPCClientError,
  wsLink,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import { observable, type Unsubscribable } from '@trpc/server/observable';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import type { AppRouter } from '../server/router.ts';
import { CLIENT_BATCH_MAX, CLIENT_URL_MAX } from '../shared/limits.ts';
import { TRPC_PATH } from '../shared/paths.ts';
import { checkServerVersion, PulseVersionError } from './api-version.ts';
import type { RouterView } from './router-view.ts';

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
  /**
   * Asks the server its API version with the first call, which waits for the answer: a server
   * this SDK does not speak (`PULSE_API_RANGE`) fails that call and every later one with an
   * error whose `cause` is a `PulseVersionError`.
   */
  checkVersion?: boolean;
}

/** What `createPulseClient` returns: every procedure of the API, typed. */
export type PulseClient = ReturnType<typeof createPulseClient>;

/** The API's router type as clients see it, for tRPC's helpers (`inferRouterOutputs<PulseRouter>`). */
export type PulseRouter = PulseClient extends TRPCClient<infer R> ? R : never;

/** Exponential backoff, 0.5 s doubling to 30 s, with full jitter. */
export const backoffMs = (attempt: number): number =>
  Math.random() * Math.min(30_000, 500 * 2 ** attempt);

/**
 * A typed client for Node programs: queries and mutations over batched HTTP, subscriptions
 * over SSE. A dropped stream is resumed from the last event id by EventSource and tRPC; a
 * failed one is re-opened with backoff. `PRECONDITION_FAILED` (cannot resume) is not retried:
 * the caller refetches and subscribes afresh.
 *
 * Its return type is inferred, not written: tsc then writes the whole API into the emitted
 * declarations, so the client package's types need nothing of the server (router-view.ts).
 */
export function createPulseClient(opts: PulseClientOptions) {
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
  const gate: TRPCLink<AppRouter>[] = opts.checkVersion
    ? [
        versionGateLink(() =>
          checkServerVersion(createTRPCClient<RouterView<AppRouter>>({ links: [overHttp] })),
        ),
      ]
    : [];
  if (!opts.webSocket) {
    return createTRPCClient<RouterView<AppRouter>>({ links: [...gate, overHttp] });
  }

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
  return createTRPCClient<RouterView<AppRouter>>({
    links: [
      ...gate,
      splitLink({
        condition: (op) => op.path.startsWith('chat.'),
        true: wsLink({ client: socket }),
        false: overHttp,
      }),
    ],
  });
}

/**
 * Holds calls until the server's API version is known to be one this SDK speaks; `check` asks,
 * once, when the first call comes. A verdict against fails every call; a check that could not
 * reach the server lets the call go on (to fail, or retry, as it would) and is made again with
 * the next call.
 */
function versionGateLink(check: () => Promise<unknown>): TRPCLink<AppRouter> {
  let verdict: Promise<unknown> | null = null;
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        verdict ??= check().catch((error: unknown) => {
          if (error instanceof PulseVersionError) throw error;
          verdict = null;
        });
        let call: Unsubscribable | null = null;
        let ended = false;
        verdict.then(
          () => {
            if (!ended) call = next(op).subscribe(observer);
          },
          (error: PulseVersionError) => observer.error(TRPCClientError.from(error)),
        );
        return () => {
          ended = true;
          call?.unsubscribe();
        };
      });
}
