import { backoffDelayMs } from './backoff.ts';

/**
 * Whether chat runs over the WebSocket or falls back to SSE + HTTP, decided from what the
 * sockets do. Pure, so the rules can be tested without a browser:
 *
 * - A socket that opens and stays open a while (`stable`) proves the way through: chat goes
 *   (back) over WebSocket. One that opens and closes at once proves nothing (a proxy that
 *   accepts the upgrade and cuts it): it counts as a failed open.
 * - A socket that closes after it proved usable is a server restart or a network blip:
 *   reconnect with backoff, stay on WebSocket. The server is just as gone for SSE.
 * - Sockets that fail before they are usable (refused, or closed at once), `fallbackAfter` times
 *   in a row, on a page where no socket has ever been usable, are a proxy in the way: fall back,
 *   and probe the WebSocket now and then (`probeMs`) to come back when one stays open.
 * - An upgrade that gets no answer at all within the open timeout (a proxy holding it) falls
 *   back at once, on such a page: waiting for three of them would leave chat dead for long.
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
  /** The open socket has stayed open a while. */
  usable: boolean;
  /** Some socket has been usable since the page loaded: later failures are restarts. */
  everUsable: boolean;
  /** Sockets in a row that failed before they were usable. */
  failedOpens: number;
  /** How the last of them failed, for the indicator. */
  lastFailure: 'refused' | 'closed-early' | 'timed-out' | null;
  /** The server refused a socket for having too many: an open alone proves nothing. */
  capped: boolean;
}

export type WsEvent =
  | { type: 'opened' }
  /** The socket has stayed open for a while. */
  | { type: 'stable' }
  /**
   * `timedOut`: we closed it because the upgrade got no answer within the open timeout.
   * `purposeful`: we closed it for reasons of our own (a new identity): it proves nothing.
   */
  | {
      type: 'closed';
      wasOpen: boolean;
      code?: number | undefined;
      timedOut?: boolean;
      purposeful?: boolean;
    };

/** The close code the server uses when this user has too many sockets open. */
export const TOO_MANY_SOCKETS = 1008;

/** What the header shows for the WebSocket link. */
export type WsLinkState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'fallback';

export const FALLBACK_AFTER_FAILED_OPENS = 3;
/** An upgrade not answered within this long is given up (and counts as a failed open). */
export const OPEN_TIMEOUT_MS = 4000;
export const FALLBACK_PROBE_MS = 30_000;

export const initialWsMachine: WsMachine = {
  mode: 'ws',
  open: false,
  everOpened: false,
  usable: false,
  everUsable: false,
  failedOpens: 0,
  lastFailure: null,
  capped: false,
};

export function wsStep(
  state: WsMachine,
  event: WsEvent,
  fallbackAfter = FALLBACK_AFTER_FAILED_OPENS,
): WsMachine {
  switch (event.type) {
    case 'opened':
      // In fallback (a probe, or after the per-user cap) only a socket that stays open counts.
      return { ...state, open: true, everOpened: true, usable: false };
    case 'stable':
      return state.open
        ? {
            ...state,
            mode: 'ws',
            capped: false,
            usable: true,
            everUsable: true,
            failedOpens: 0,
            lastFailure: null,
          }
        : state;
    case 'closed': {
      const closed = { ...state, open: false, usable: false };
      if (event.code === TOO_MANY_SOCKETS) return { ...closed, mode: 'fallback', capped: true };
      if (event.purposeful) return closed;
      if (event.wasOpen && state.usable) return { ...closed, failedOpens: 0 };
      const failedOpens = state.failedOpens + 1;
      const lastFailure = event.timedOut ? 'timed-out' : event.wasOpen ? 'closed-early' : 'refused';
      const giveUp = event.timedOut === true || failedOpens >= fallbackAfter;
      const mode = !state.everUsable && giveUp ? 'fallback' : state.mode;
      return { ...closed, failedOpens, lastFailure, mode };
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
