import { backoffDelayMs } from './backoff.ts';

/**
 * Whether chat runs over the WebSocket or falls back to SSE + HTTP, decided from what the
 * sockets do. Pure, so the rules can be tested without a browser:
 *
 * - A socket that opens proves the way through: chat goes (back) over WebSocket.
 * - A socket that closes after it was open is a server restart or a network blip: reconnect
 *   with backoff, stay on WebSocket. The server is just as gone for SSE.
 * - Sockets that fail before ever opening, `fallbackAfter` times in a row, on a page where no
 *   socket has ever opened, are a proxy that refuses upgrades: fall back, and probe the
 *   WebSocket now and then (`probeMs`) to come back when it opens.
 * - A socket the server closes with 1008 (this user has too many sockets open, API.md) falls
 *   back at once: the SSE streams are shared by all of a browser's tabs, sockets are not. Such
 *   a server opens the next socket and closes it straight away, so then only a socket that
 *   stays open a while (`stable`) brings chat back.
 */
export type WsMode = 'ws' | 'fallback';

export interface WsMachine {
  mode: WsMode;
  /** A socket is open now. */
  open: boolean;
  /** Some socket has opened since the page loaded. */
  everOpened: boolean;
  /** Sockets in a row that failed before they opened. */
  failedOpens: number;
  /** The server refused a socket for having too many: an open alone proves nothing. */
  capped: boolean;
}

export type WsEvent =
  | { type: 'opened' }
  /** The socket has stayed open for a while. */
  | { type: 'stable' }
  | { type: 'closed'; wasOpen: boolean; code?: number | undefined };

/** The close code the server uses when this user has too many sockets open. */
export const TOO_MANY_SOCKETS = 1008;

/** What the header shows for the WebSocket link. */
export type WsLinkState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'fallback';

export const FALLBACK_AFTER_FAILED_OPENS = 3;
export const FALLBACK_PROBE_MS = 30_000;

export const initialWsMachine: WsMachine = {
  mode: 'ws',
  open: false,
  everOpened: false,
  failedOpens: 0,
  capped: false,
};

export function wsStep(
  state: WsMachine,
  event: WsEvent,
  fallbackAfter = FALLBACK_AFTER_FAILED_OPENS,
): WsMachine {
  switch (event.type) {
    case 'opened':
      return {
        ...state,
        mode: state.capped ? state.mode : 'ws',
        open: true,
        everOpened: true,
        failedOpens: 0,
      };
    case 'stable':
      return state.open ? { ...state, mode: 'ws', capped: false } : state;
    case 'closed': {
      if (event.code === TOO_MANY_SOCKETS) {
        return { ...state, open: false, mode: 'fallback', capped: true };
      }
      if (event.wasOpen) return { ...state, open: false, failedOpens: 0 };
      const failedOpens = state.failedOpens + 1;
      const refused = !state.everOpened && failedOpens >= fallbackAfter;
      return { ...state, open: false, failedOpens, mode: refused ? 'fallback' : state.mode };
    }
  }
}

export function wsLinkState(state: WsMachine, online: boolean): WsLinkState {
  if (!online) return 'offline';
  if (state.mode === 'fallback') return 'fallback';
  if (state.open) return 'connected';
  return state.everOpened ? 'reconnecting' : 'connecting';
}

/**
 * How long to wait before opening the next socket. `attempt` is tRPC's reconnect attempt
 * (0 for the first after a close) or `null` for an open nobody is waiting to retry (the first
 * socket of the page, a wake-up). In fallback the next socket is only a probe.
 */
export function openDelayMs(
  state: WsMachine,
  attempt: number | null,
  opts: { probeMs?: number; random?: () => number } = {},
): number {
  if (attempt === null) return 0;
  const random = opts.random ?? Math.random;
  if (state.mode === 'fallback') {
    const probe = opts.probeMs ?? FALLBACK_PROBE_MS;
    return probe / 2 + random() * (probe / 2);
  }
  return backoffDelayMs(attempt + 1, random);
}
