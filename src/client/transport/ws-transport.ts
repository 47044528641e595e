import { createWSClient, type TRPCWebSocketClient } from '@trpc/client';
import { createExternalStore, type ExternalStore } from '../lib/external-store.ts';
import {
  initialWsMachine,
  OPEN_TIMEOUT_MS,
  openDelayMs,
  wsLinkState,
  wsStep,
  type WsEvent,
  type WsLinkState,
  type WsMachine,
  type WsMode,
} from './ws-fallback.ts';

export interface WsLinkView {
  state: WsLinkState;
  /** A sentence for the indicator's tooltip. */
  detail: string;
}

export interface WsTransport {
  /** The one WebSocket client of the page, for `wsLink`. */
  client: TRPCWebSocketClient;
  /** `ws` while chat should use the socket; `fallback` while it should use SSE + HTTP. */
  mode: ExternalStore<WsMode>;
  /** What the header shows. */
  view: ExternalStore<WsLinkView>;
  /**
   * Who is signed in. The cookie is read at the upgrade only, so a socket opened for someone
   * else (or nobody) is closed and reopened; with nobody signed in, no socket is opened.
   */
  setIdentity: (userId: string | null) => void;
  /** Reconnect now rather than at the end of the backoff, or check an open socket is alive. */
  wake: () => void;
}

export interface WsTransportOptions {
  /** The socket's URL, read at each open. */
  url: () => string;
  fallbackAfter?: number;
  probeMs?: number;
  /** A socket that does not answer a PING within this long after a wake-up is closed. */
  wakeProbeMs?: number;
  /** An upgrade not answered within this long is given up (OPEN_TIMEOUT_MS). */
  openTimeoutMs?: number;
  /** The WebSocket class (tests); the browser's by default. */
  WebSocket?: typeof WebSocket;
}

/** A socket open this long is not one the server is about to refuse (see ws-fallback.ts). */
const STABLE_AFTER_MS = 2000;

function describe(machine: WsMachine, state: WsLinkState): string {
  switch (state) {
    case 'connected':
      return 'chat runs over this WebSocket';
    case 'connecting':
      return machine.failedOpens > 0
        ? `opening the WebSocket: ${failureText(machine)} (${machine.failedOpens} time(s) so far)`
        : 'opening the WebSocket';
    case 'reconnecting':
      return 'the WebSocket closed (the server restarting, or the network); reconnecting with backoff, sooner when the tab is shown or the network returns';
    case 'offline':
      return 'the browser reports no network';
    case 'fallback':
      return machine.capped
        ? 'the server refuses more WebSockets for you (too many tabs or devices): chat runs over SSE and HTTP, and the WebSocket is retried now and then'
        : `WebSockets do not work here: ${failureText(machine)}. Chat runs over SSE and HTTP, and the WebSocket is retried now and then`;
  }
}

function failureText(machine: WsMachine): string {
  switch (machine.lastFailure) {
    case 'timed-out':
      return 'the upgrade got no answer (a proxy holding it?)';
    case 'closed-early':
      return 'the connection closed as soon as it opened (a proxy cutting it?)';
    case 'refused':
    case null:
      return 'the upgrade was refused (a proxy refusing WebSockets, or the server down)';
  }
}

/**
 * The WebSocket link's plumbing around tRPC's `createWSClient` (11.19), which has no public
 * "reconnect now" and no way to pause before it is needed. Both go through its `url` option,
 * which may be async and is awaited before every socket: it waits out the backoff (cut short
 * by a wake-up) and waits until someone is signed in. tRPC's own `retryDelayMs` is 0; it only
 * tells us which attempt is next.
 */
export function createWsTransport(opts: WsTransportOptions): WsTransport {
  let machine = initialWsMachine;
  let online = typeof navigator === 'undefined' ? true : navigator.onLine;
  const mode = createExternalStore<WsMode>(machine.mode);
  const view = createExternalStore<WsLinkView>({
    state: wsLinkState(machine, online),
    detail: describe(machine, wsLinkState(machine, online)),
  });

  const publish = () => {
    mode.set(machine.mode);
    const state = wsLinkState(machine, online);
    const current = view.get();
    const detail = describe(machine, state);
    if (current.state !== state || current.detail !== detail) view.set({ state, detail });
  };
  const dispatch = (event: WsEvent) => {
    machine = wsStep(machine, event, opts.fallbackAfter);
    publish();
  };

  /** Set by `retryDelayMs`: the attempt the next open is; `null` for an open nobody retries. */
  let nextAttempt: number | null = null;
  /** The next open goes at once (a wake-up, a new identity). */
  let immediate = false;
  let wakeGate: (() => void) | null = null;

  let identity: string | null = null;
  let socketIdentity: string | null = null;
  let identityWaiters: (() => void)[] = [];
  let pendingSignOut: ReturnType<typeof setTimeout> | null = null;

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakeGate = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakeGate = done;
    });

  async function gate(): Promise<string> {
    const attempt = nextAttempt;
    nextAttempt = null;
    const delay = immediate ? 0 : openDelayMs(machine, attempt, { probeMs: opts.probeMs });
    immediate = false;
    if (delay > 0) await wait(delay);
    while (identity === null) {
      await new Promise<void>((resolve) => identityWaiters.push(resolve));
    }
    socketIdentity = identity;
    return opts.url();
  }

  // Whether the socket now being opened, or open, fired `open`: a close before that is a
  // failed open. Every socket's `close` fires once, failed opens included.
  let socketOpened = false;
  /** We closed it ourselves (a new identity, a dead socket): not a refused upgrade. */
  let closingOnPurpose = false;
  /** We closed the socket being opened because its upgrade got no answer in time. */
  let openTimedOut = false;
  const Socket = opts.WebSocket ?? globalThis.WebSocket;
  const openTimeoutMs = opts.openTimeoutMs ?? OPEN_TIMEOUT_MS;
  // Browsers wait minutes for an upgrade nobody answers; a socket still opening after the open
  // timeout is closed here, which tRPC sees as a failed open (and the machine as a timeout).
  class TimedSocket extends Socket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      const timer = setTimeout(() => {
        if (this.readyState !== Socket.CONNECTING) return;
        openTimedOut = true;
        this.close();
      }, openTimeoutMs);
      const clear = () => clearTimeout(timer);
      this.addEventListener('open', clear);
      this.addEventListener('close', clear);
    }
  }
  const client = createWSClient({
    WebSocket: TimedSocket,
    url: gate,
    retryDelayMs: (attempt) => {
      nextAttempt = attempt;
      return 0;
    },
    // The server PINGs every 30 s and tRPC answers; our own PING (after 10 s of silence)
    // notices a socket that died without a close (a laptop lid, a dropped Wi-Fi).
    keepAlive: { enabled: true, intervalMs: 10_000, pongTimeoutMs: 5_000 },
    onOpen: () => {
      socketOpened = true;
      dispatch({ type: 'opened' });
      const socket = currentSocket();
      setTimeout(() => {
        if (socketOpened && currentSocket() === socket) dispatch({ type: 'stable' });
      }, STABLE_AFTER_MS);
    },
    onClose: (cause) => {
      // Closed by us on purpose (a new identity, a dead socket): no failure of the way through.
      if (closingOnPurpose) {
        const wasOpen = socketOpened;
        socketOpened = false;
        closingOnPurpose = false;
        openTimedOut = false;
        dispatch({ type: 'closed', wasOpen, code: cause?.code, purposeful: true });
        return;
      }
      const wasOpen = socketOpened;
      const timedOut = openTimedOut;
      socketOpened = false;
      openTimedOut = false;
      dispatch({ type: 'closed', wasOpen, code: cause?.code, timedOut });
    },
  });

  const currentSocket = (): WebSocket | null => client.connection?.ws ?? null;

  /** Closes the current socket; tRPC reconnects (through the gate, at once). */
  function reopen() {
    const ws = currentSocket();
    if (!ws || ws.readyState === Socket.CLOSING || ws.readyState === Socket.CLOSED) return;
    immediate = true;
    closingOnPurpose = true;
    ws.close();
  }

  let probing = false;
  function wake() {
    if (identity === null) return;
    if (wakeGate) {
      wakeGate();
      return;
    }
    const ws = currentSocket();
    if (!ws || ws.readyState !== Socket.OPEN || probing) return;
    // Open, as far as the browser knows; after a sleep it may be dead. Any answer proves it.
    probing = true;
    const answered = () => {
      probing = false;
      clearTimeout(timer);
    };
    const timer = setTimeout(() => {
      probing = false;
      ws.removeEventListener('message', answered);
      if (currentSocket() === ws) reopen();
    }, opts.wakeProbeMs ?? 3000);
    ws.addEventListener('message', answered, { once: true });
    ws.send('PING');
  }

  function setIdentity(userId: string | null) {
    if (pendingSignOut) clearTimeout(pendingSignOut);
    pendingSignOut = null;
    if (userId === null) {
      // Deferred: a remount (StrictMode, a route change) signs straight back in.
      pendingSignOut = setTimeout(() => {
        pendingSignOut = null;
        identity = null;
        reopen();
      }, 0);
      return;
    }
    if (userId === identity) return;
    identity = userId;
    const waiters = identityWaiters;
    identityWaiters = [];
    for (const resolve of waiters) resolve();
    if (socketIdentity !== null && socketIdentity !== userId) reopen();
  }

  if (typeof window !== 'undefined') {
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') wake();
    });
    // Page Lifecycle: a tab the browser froze checks its socket as soon as it runs again.
    document.addEventListener('resume', wake);
    window.addEventListener('online', () => {
      online = true;
      publish();
      wake();
    });
    window.addEventListener('offline', () => {
      online = false;
      publish();
    });
  }

  return { client, mode, view, setIdentity, wake };
}
