import { matchQuery, MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { httpBatchLink, splitLink, wsLink, type Operation, type TRPCLink } from '@trpc/client';
import { getQueryKey } from '@trpc/react-query';
import type { AppRouter } from '../server/router.ts';
import { CLIENT_BATCH_MAX, CLIENT_URL_MAX } from '../shared/limits.ts';
import { LIVE_PATH, TRPC_PATH } from '../shared/paths.ts';
import { errorCode, isFinalError, isUnreachable, retryDelayMs } from './lib/errors.ts';
import { createExternalStore, type ExternalStore } from './lib/external-store.ts';
import { createHttpHealth, type HttpHealth } from './transport/http-health.ts';
import { createStreamReports, type StreamReports } from './transport/live-status.ts';
import {
  createLiveStream,
  liveStreamLink,
  type LiveStream,
  type LiveView,
} from './transport/live-stream.ts';
import { sharedSubscriptionLink } from './transport/shared-subscription-link.ts';
import { startContextLink } from './transport/start-context.ts';
import type { TabRole } from './transport/shared-subscription-relay.ts';
import { transportSwitchLink } from './transport/transport-switch-link.ts';
import { createWsTransport, type WsTransport } from './transport/ws-transport.ts';
import { trpc } from './trpc.ts';

/** What the header shows about each link, kept outside React by the links themselves. */
export interface LinkStates {
  /** This tab's part in sharing the live streams between tabs (see shared-subscription-link.ts). */
  liveRole: ExternalStore<TabRole>;
  /**
   * Whether the server answers: from every query's and mutation's outcome, and a probe of
   * `/healthz` where none run (see http-health.ts).
   */
  http: HttpHealth;
  /** The browser's one live stream (the leader's, relayed to the other tabs), for the SSE indicator. */
  live: ExternalStore<LiveView>;
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
  /** This tab's multiplexed live stream (used while it leads the tabs, see decision 0021). */
  liveStream: LiveStream<AppRouter>;
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
  const http = createHttpHealth({ url: `${opts.origin ?? ''}/healthz` });
  const linkStates: LinkStates = {
    liveRole: createExternalStore<TabRole>('standalone'),
    http,
    live: createExternalStore<LiveView>({ state: 'idle', detail: 'no live updates yet' }),
    streams: createStreamReports(),
  };
  const observeHttp = (error: unknown) => http.observe(!isUnreachable(error));

  // Every subscription the tab runs for real, on one stream (decision 0021).
  const liveStream = createLiveStream<AppRouter>({
    url: `${opts.origin ?? ''}${LIVE_PATH}`,
    retry: (error) => !isFinalError(error.data?.code),
    onTrouble: () => http.check(),
    onConnected: () => http.observe(true),
  });

  // Same origin by default: the session cookie authenticates the upgrade.
  const wsTransport = createWsTransport({
    url: () => {
      const base = new URL(opts.origin ?? location.href);
      return `${base.protocol === 'https:' ? 'wss:' : 'ws:'}//${base.host}${TRPC_PATH}`;
    },
    WebSocket: opts.WebSocket,
  });
  // A socket that closed says little about HTTP; whether the server answers is worth a probe.
  wsTransport.view.subscribe(() => {
    if (wsTransport.view.get().state === 'reconnecting') http.check();
  });

  /** Subscriptions over the browser's one live stream; queries and mutations over batched HTTP. */
  const httpLinks = () =>
    splitLink<AppRouter>({
      condition: (op) => op.type === 'subscription',
      true: sharedSubscriptionLink<AppRouter>({
        name: 'pulse-live',
        onRoleChange: (role) => linkStates.liveRole.set(role),
        status: { local: liveStream.view, shown: linkStates.live },
        // Run by the leader tab only (or by every tab where locks or BroadcastChannel are missing).
        upstream: [liveStreamLink(liveStream)],
      }),
      false: httpBatchLink({
        url: httpUrl,
        maxURLLength: CLIENT_URL_MAX,
        maxItems: CLIENT_BATCH_MAX,
      }),
    });

  const trpcClient = trpc.createClient({
    links: opts.links ?? [
      // Tells onStarted whether a restart resumed from the last event id (no refetch needed).
      startContextLink(),
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
      onSuccess: () => http.observe(true),
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
      onSuccess: () => http.observe(true),
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

  return { queryClient, trpcClient, wsTransport, liveStream, linkStates };
}
