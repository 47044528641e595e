import { matchQuery, MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import {
  httpBatchLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  TRPCClientError,
  wsLink,
  type Operation,
} from '@trpc/client';
import { createTRPCReact, getQueryKey } from '@trpc/react-query';
import type { AppRouter } from '../server/routers/_app.ts';
import { CLIENT_BATCH_MAX, CLIENT_URL_MAX } from '../shared/limits.ts';
import { backoffDelayMs } from './transport/backoff.ts';
import { createExternalStore } from './lib/external-store.ts';
import { retryStateLink } from './transport/retry-state-link.ts';
import { sharedSubscriptionLink } from './transport/shared-subscription-link.ts';
import type { TabRole } from './transport/shared-subscription-relay.ts';
import { transportSwitchLink } from './transport/transport-switch-link.ts';
import { createWsTransport } from './transport/ws-transport.ts';

/** The typed hooks for the whole API; the only `createTRPCReact` in the app. */
export const trpc = createTRPCReact<AppRouter>();

/** The tRPC error code of an error from any call, if the server sent one. */
export function errorCode(error: unknown): string | undefined {
  return error instanceof TRPCClientError
    ? (error as TRPCClientError<AppRouter>).data?.code
    : undefined;
}

/** Errors that a retry cannot fix: the caller must act (refetch, sign in, change input). */
const FINAL_CODES = new Set(['PRECONDITION_FAILED', 'UNAUTHORIZED', 'FORBIDDEN', 'BAD_REQUEST']);

/**
 * About 1 s doubling to a 30 s cap. Half of each delay is random ("equal jitter") so that
 * every browser cut off by one server restart does not come back in the same instant.
 */
export function retryDelayMs(attempt: number): number {
  return backoffDelayMs(attempt);
}

/** This tab's part in sharing the live streams between tabs (see shared-subscription-link.ts). */
export const liveRole = createExternalStore<TabRole>('standalone');

/**
 * Whether the server answered the last query or mutation (any answer, errors included).
 * `unreachable` means the request itself failed: network down, server gone.
 */
export const httpHealth = createExternalStore<'ok' | 'unreachable'>('ok');

const observeHttp = (error: unknown) => {
  httpHealth.set(error instanceof TRPCClientError && !error.data ? 'unreachable' : 'ok');
};

const isChat = (op: Operation) => op.path.startsWith('chat.');

/**
 * The page's one WebSocket (same origin: the session cookie authenticates the upgrade), with
 * its reconnect policy, its fallback to SSE + HTTP where upgrades are refused, and its state
 * for the header. The app shell tells it who is signed in (`setIdentity`).
 */
export const wsTransport = createWsTransport({
  url: () => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/trpc`,
});

/** The one tRPC client: links are built once per page. */
export const trpcClient = trpc.createClient({
  links: [
    // Moves running chat operations when the transport below changes (WebSocket ⇄ fallback).
    transportSwitchLink({ applies: isChat, transport: wsTransport.mode }),
    splitLink({
      // Every chat.* call over the WebSocket (API.md, "Transports in the web app"); where
      // sockets cannot be opened, chat takes the same links as the rest (the server serves
      // every procedure on both).
      condition: (op) => isChat(op) && wsTransport.mode.get() === 'ws',
      true: wsLink({ client: wsTransport.client }),
      false: httpLinks(),
    }),
  ],
});

/** Subscriptions over the shared SSE streams; queries and mutations over batched HTTP. */
function httpLinks() {
  return splitLink<AppRouter>({
    condition: (op) => op.type === 'subscription',
    true: sharedSubscriptionLink<AppRouter>({
      name: 'pulse-live',
      onRoleChange: (role) => liveRole.set(role),
      // Run by the leader tab only (or by every tab where locks or BroadcastChannel are missing).
      upstream: [
        retryLink({
          retry: ({ error }) => !FINAL_CODES.has(error.data?.code ?? ''),
          retryDelayMs,
        }),
        retryStateLink(),
        // Same origin: the session cookie goes along on its own.
        httpSubscriptionLink({ url: '/trpc' }),
      ],
    }),
    false: httpBatchLink({
      url: '/trpc',
      maxURLLength: CLIENT_URL_MAX,
      maxItems: CLIENT_BATCH_MAX,
    }),
  });
}

/** The one QueryClient. */
export const queryClient = new QueryClient({
  queryCache: new QueryCache({
    onSuccess: () => httpHealth.set('ok'),
    onError: (error, query) => {
      observeHttp(error);
      // A session ended elsewhere (logout in another tab, revoked): ask who we are again,
      // which shows the sign-in page.
      const me = getQueryKey(trpc.auth.me);
      if (errorCode(error) === 'UNAUTHORIZED' && !matchQuery({ queryKey: me }, query)) {
        void queryClient.invalidateQueries({ queryKey: me });
      }
    },
  }),
  mutationCache: new MutationCache({
    onSuccess: () => httpHealth.set('ok'),
    onError: observeHttp,
  }),
  defaultOptions: {
    queries: {
      retry: (failures, error) =>
        failures < 3 &&
        !FINAL_CODES.has(errorCode(error) ?? '') &&
        errorCode(error) !== 'NOT_FOUND',
      retryDelay: retryDelayMs,
    },
  },
});
