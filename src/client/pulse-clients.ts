import { matchQuery, MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import {
  httpBatchLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  wsLink,
  type Operation,
  type TRPCLink,
} from '@trpc/client';
import { getQueryKey } from '@trpc/react-query';
import type { AppRouter } from '../server/router.ts';
import { CLIENT_BATCH_MAX, CLIENT_URL_MAX } from '../shared/limits.ts';
import { TRPC_PATH } from '../shared/paths.ts';
import { errorCode, isFinalError, isUnreachable, retryDelayMs } from './lib/errors.ts';
import { createExternalStore, type ExternalStore } from './lib/external-store.ts';
import { createStreamReports, type StreamReports } from './transport/live-status.ts';
import { retryStateLink } from './transport/retry-state-link.ts';
import { sharedSubscriptionLink } from './transport/shared-subscription-link.ts';
import type { TabRole } from './transport/shared-subscription-relay.ts';
import { transportSwitchLink } from './transport/transport-switch-link.ts';
import { createWsTransport, type WsTransport } from './transport/ws-transport.ts';
import { trpc } from './trpc.ts';

/** What the header shows about each link, kept outside React by the links themselves. */
export interface LinkStates {
  /** This tab's part in sharing the live streams between tabs (see shared-subscription-link.ts). */
  liveRole: ExternalStore<TabRole>;
  /**
   * Whether the server answered the last query or mutation (any answer, errors included).
   * `unreachable` means the request itself failed: network down, server gone.
   */
  httpHealth: ExternalStore<'ok' | 'unreachable'>;
  /** The live streams open in this tab, for the SSE indicator. */
  streams: StreamReports;
}

/** Everything the web app talks to the server with; one set per page (or per test). */
export interface PulseClients {
  queryClient: QueryClient;
  trpcClient: ReturnType<typeof trpc.createClient>;
  /**
   * The page's one WebSocket, with its reconnect policy, its fallback to SSE + HTTP where
   * upgrades are refused, and its state for the header. The chat session tells it who is
   * signed in (`setIdentity`).
   */
  wsTransport: WsTransport;
  linkStates: LinkStates;
}

export interface PulseClientsOptions {
  /** The server's origin; by default the page's own (the session cookie goes along by itself). */
  origin?: string;
  /** The WebSocket class (tests); the browser's by default. */
  WebSocket?: typeof WebSocket;
  /** Links to use instead of the app's (tests: an in-process or fake server). */
  links?: TRPCLink<AppRouter>[];
}

const isChat = (op: Operation) => op.path.startsWith('chat.');

/** Builds the query client, the tRPC client with its links, the WebSocket and the link states. */
export function createPulseClients(opts: PulseClientsOptions = {}): PulseClients {
  const httpUrl = `${opts.origin ?? ''}${TRPC_PATH}`;
  const linkStates: LinkStates = {
    liveRole: createExternalStore<TabRole>('standalone'),
    httpHealth: createExternalStore<'ok' | 'unreachable'>('ok'),
    streams: createStreamReports(),
  };
  const observeHttp = (error: unknown) => {
    linkStates.httpHealth.set(isUnreachable(error) ? 'unreachable' : 'ok');
  };

  // Same origin by default: the session cookie authenticates the upgrade.
  const wsTransport = createWsTransport({
    url: () => {
      const base = new URL(opts.origin ?? location.href);
      return `${base.protocol === 'https:' ? 'wss:' : 'ws:'}//${base.host}${TRPC_PATH}`;
    },
    WebSocket: opts.WebSocket,
  });

  /** Subscriptions over the shared SSE streams; queries and mutations over batched HTTP. */
  const httpLinks = () =>
    splitLink<AppRouter>({
      condition: (op) => op.type === 'subscription',
      true: sharedSubscriptionLink<AppRouter>({
        name: 'pulse-live',
        onRoleChange: (role) => linkStates.liveRole.set(role),
        // Run by the leader tab only (or by every tab where locks or BroadcastChannel are missing).
        upstream: [
          retryLink({
            retry: ({ error }) => !isFinalError(error.data?.code),
            retryDelayMs,
          }),
          retryStateLink(),
          httpSubscriptionLink({ url: httpUrl }),
        ],
      }),
      false: httpBatchLink({
        url: httpUrl,
        maxURLLength: CLIENT_URL_MAX,
        maxItems: CLIENT_BATCH_MAX,
      }),
    });

  const trpcClient = trpc.createClient({
    links: opts.links ?? [
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

  const queryClient: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onSuccess: () => linkStates.httpHealth.set('ok'),
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
      onSuccess: () => linkStates.httpHealth.set('ok'),
      onError: observeHttp,
    }),
    defaultOptions: {
      queries: {
        retry: (failures, error) =>
          failures < 3 && !isFinalError(errorCode(error)) && errorCode(error) !== 'NOT_FOUND',
        retryDelay: retryDelayMs,
      },
    },
  });

  return { queryClient, trpcClient, wsTransport, linkStates };
}
