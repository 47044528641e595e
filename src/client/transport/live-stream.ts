import { TRPCClientError, type Operation } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import type { TRPCLink } from '@trpc/client';
import { observable, type Observer } from '@trpc/server/observable';
import { createExternalStore, type ExternalStore } from '../lib/external-store.ts';
import { backoffDelayMs } from './backoff.ts';
import type { Envelope } from './shared-subscription-codec.ts';

/**
 * The browser's side of the multiplexed live stream (`POST /trpc-live`, decision 0021): every
 * subscription this tab runs for real travels on one event-stream response, so that a browser
 * holds one long-lived HTTP connection to Pulse however many streams its pages follow (the
 * shared-subscription relay makes that one per browser, not per tab).
 *
 * Each subscription has a key on the stream and its own last event id. The stream is opened with
 * the whole set (a reconnect resumes every subscription exactly where it was: no gap, no
 * duplicate), and changed while open by short control requests. A restart that resumed from an
 * id is reported as such (`started` with `context.resumed`), so the hooks need not refetch what
 * the replay brings; until each resumed subscription's replay is out the stream is catching up.
 *
 * Read with fetch, not EventSource: it sends the set in a body, reads the keyed frames, and
 * reconnects by our rules (backoff with jitter, the network coming back, a frozen tab resuming).
 */

/** What the header shows about the stream. */
export type LiveState =
  'idle' | 'connecting' | 'connected' | 'catching-up' | 'reconnecting' | 'offline';

export interface LiveView {
  state: LiveState;
  /** A sentence for the indicator's explanation. */
  detail: string;
}

export type LiveObserver<TRouter extends AnyRouter> = Observer<
  Envelope<TRouter>,
  TRPCClientError<TRouter>
>;

export interface LiveStream<TRouter extends AnyRouter> {
  /** Runs a subscription op on the stream; returns how to stop it. */
  subscribe(op: Operation, observer: LiveObserver<TRouter>): () => void;
  view: ExternalStore<LiveView>;
  /** Check the stream now (a tab shown or resumed, the network back): reconnect if it is down. */
  wake(): void;
}

export interface LiveStreamOptions<TRouter extends AnyRouter> {
  /** `…/trpc-live`. */
  url: string;
  /** Whether a subscription's error is worth retrying (else it ends the subscription). */
  retry: (error: TRPCClientError<TRouter>) => boolean;
  /** The stream failed or was cut: the HTTP indicator checks whether the server answers. */
  onTrouble?: () => void;
  /** The server answered an open: it is up (for the HTTP indicator too). */
  onConnected?: () => void;
  /** How long a stream left with no subscriptions stays open (a page change removes, then adds). */
  lingerMs?: number;
  fetch?: typeof fetch;
}

interface Sub<TRouter extends AnyRouter> {
  key: string;
  path: string;
  input: unknown;
  observer: LiveObserver<TRouter>;
  /** The id of the last tracked event delivered: where it resumes. */
  lastEventId: string | undefined;
  /** The connection it was last sent on (opened with, or added by control), 0 for none. */
  sentOn: number;
  /** It was sent with a last event id: its replay covers the gap. */
  resuming: boolean;
  /** Its backlog is out on the current connection. */
  live: boolean;
  started: boolean;
  attempts: number;
  retryTimer: ReturnType<typeof setTimeout> | null;
}

interface Connection {
  id: number;
  abort: AbortController;
  /** The server's name for it, once `connected` arrived. */
  stream: string | null;
  inactivityMs: number;
  lastByteAt: number;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `lastEventId` an input carries (tRPC puts it there when a link resumes), if any. */
function inputLastEventId(input: unknown): string | undefined {
  const id = isPlainObject(input) ? input['lastEventId'] : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** The input without its resume point: the stream sends that apart, and keeps it current. */
function withoutLastEventId(input: unknown): unknown {
  if (!isPlainObject(input) || !('lastEventId' in input)) return input;
  const rest = Object.entries(input).filter(([name]) => name !== 'lastEventId');
  return rest.length > 0 ? Object.fromEntries(rest) : undefined;
}

/** An event stream's frames (`event:` and `data:` lines, blank-line separated), as they come. */
function frameReader() {
  let rest = '';
  return (text: string): { event: string; data: string }[] => {
    rest += text;
    const frames: { event: string; data: string }[] = [];
    let cut: number;
    while ((cut = rest.indexOf('\n\n')) !== -1) {
      const block = rest.slice(0, cut);
      rest = rest.slice(cut + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      frames.push({ event, data: data.join('\n') });
    }
    return frames;
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** A tRPC error from the shape the server sent, or one in our own words. */
function clientError<TRouter extends AnyRouter>(
  shape: unknown,
  fallback: string,
): TRPCClientError<TRouter> {
  return isPlainObject(shape) && typeof shape['message'] === 'string'
    ? TRPCClientError.from<TRouter>({ error: shape as never })
    : new TRPCClientError<TRouter>(fallback);
}

/** The tRPC error code the server sent, if any. */
const codeOf = (error: TRPCClientError<AnyRouter>): string | undefined =>
  (error.data as { code?: string } | undefined)?.code;

const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));

export function createLiveStream<TRouter extends AnyRouter>(
  opts: LiveStreamOptions<TRouter>,
): LiveStream<TRouter> {
  const fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const lingerMs = opts.lingerMs ?? 3000;
  const subs = new Map<string, Sub<TRouter>>();
  let nextKey = 0;
  let nextConnection = 0;
  let conn: Connection | null = null;
  let everConnected = false;
  /** Failed connections in a row, for the backoff. */
  let failures = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let reconnectAt = 0;
  let lingerTimer: ReturnType<typeof setTimeout> | null = null;
  /** Why the last connection failed, in words. */
  let problem: string | null = null;
  /** Keys to remove from the current connection at the next control request. */
  let removals: string[] = [];
  let flushQueued = false;
  // `false` is reliable, anything else (`true`, or no such property) is a hope.
  let online = typeof navigator === 'undefined' || navigator.onLine !== false;

  const view = createExternalStore<LiveView>({ state: 'idle', detail: describe('idle') });

  function describe(state: LiveState): string {
    const n = subs.size;
    switch (state) {
      case 'idle':
        return 'no live updates are needed on this page';
      case 'connecting':
        return problem
          ? `opening the live stream; the last try failed: ${problem}`
          : 'opening the live stream';
      case 'connected':
        return `live: ${n} ${n === 1 ? 'subscription' : 'subscriptions'} on one stream`;
      case 'catching-up': {
        const behind = [...subs.values()].filter((s) => s.resuming && !s.live).length;
        return `back after a pause: replaying what was missed (${n - behind} of ${n} caught up)`;
      }
      case 'reconnecting': {
        const wait = reconnectTimer
          ? ` Trying again in ${seconds(reconnectAt - Date.now())} s.`
          : '';
        return `${problem ?? 'the live stream was cut'}.${wait}`;
      }
      case 'offline':
        return 'the browser reports no network; live updates resume where they stopped when it returns';
    }
  }

  function publish() {
    let state: LiveState;
    if (subs.size === 0) state = 'idle';
    else if (!online) state = 'offline';
    else if (conn?.stream) {
      const behind = [...subs.values()].some((s) => s.resuming && !s.live);
      state = behind ? 'catching-up' : 'connected';
    } else state = everConnected ? 'reconnecting' : 'connecting';
    const detail = describe(state);
    const current = view.get();
    if (current.state !== state || current.detail !== detail) view.set({ state, detail });
  }

  function wireOf(sub: Sub<TRouter>) {
    return {
      key: sub.key,
      path: sub.path,
      ...(sub.input === undefined ? {} : { input: sub.input }),
      ...(sub.lastEventId === undefined ? {} : { lastEventId: sub.lastEventId }),
    };
  }

  /** Marks a subscription as sent on the current connection, and how it will start. */
  function send(sub: Sub<TRouter>, on: number) {
    sub.sentOn = on;
    sub.started = false;
    sub.live = false;
    sub.resuming = sub.lastEventId !== undefined;
  }

  /** Every subscription's state goes back to connecting, saying why. */
  function interrupted(error: TRPCClientError<TRouter> | null) {
    for (const sub of subs.values()) {
      sub.started = false;
      sub.live = false;
      sub.observer.next({ result: { type: 'state', state: 'connecting', error } });
    }
  }

  function connect() {
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (subs.size === 0 || !online) return publish();
    const id = ++nextConnection;
    const abort = new AbortController();
    const current: Connection = {
      id,
      abort,
      stream: null,
      inactivityMs: 45_000,
      lastByteAt: Date.now(),
    };
    conn = current;
    removals = [];
    const pending = [...subs.values()].filter((s) => s.retryTimer === null);
    for (const sub of pending) send(sub, id);
    publish();
    fetchImpl(opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subscriptions: pending.map(wireOf) }),
      signal: abort.signal,
      cache: 'no-store',
      credentials: 'same-origin',
    })
      .then(async (response) => {
        if (!response.ok || !response.body) return refused(current, response);
        await read(current, response.body);
        lost(current, 'the server ended the live stream (restarting or shutting down?)');
      })
      .catch(() => {
        if (!abort.signal.aborted) {
          lost(
            current,
            'the server cannot be reached (the network is down or the server is restarting)',
          );
        }
      });
  }

  async function refused(current: Connection, response: Response) {
    const answer: unknown = await response.json().catch(() => null);
    const shape = isPlainObject(answer) ? answer['error'] : null;
    const error = clientError<TRouter>(
      shape,
      `the server answered ${response.status} ${response.statusText}`.trim(),
    );
    if (current !== conn) return;
    if (!opts.retry(error)) {
      // Signed out, say: every subscription ends with it, as each would have on its own.
      conn = null;
      for (const sub of [...subs.values()]) end(sub, error);
      return publish();
    }
    lost(current, describeRefusal(error, response.status), error);
  }

  function describeRefusal(error: TRPCClientError<TRouter>, status: number): string {
    if (codeOf(error) === 'TOO_MANY_REQUESTS') {
      return 'the server refuses more live streams for you (too many tabs or devices)';
    }
    if (status === 503) return 'the server is shutting down or restarting';
    return `the server refused the live stream: ${error.message}`;
  }

  async function read(current: Connection, body: ReadableStream<Uint8Array>) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const frames = frameReader();
    const watchdog = setInterval(() => {
      if (current !== conn) return clearInterval(watchdog);
      if (Date.now() - current.lastByteAt > current.inactivityMs) {
        current.abort.abort();
        lost(current, `the server went silent for ${seconds(current.inactivityMs)} s`);
      }
    }, 1000);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || current !== conn) break;
        current.lastByteAt = Date.now();
        for (const frame of frames(decoder.decode(value, { stream: true }))) {
          if (current !== conn) break;
          take(current, frame.event, parseJson(frame.data));
        }
      }
    } finally {
      clearInterval(watchdog);
    }
  }

  function take(current: Connection, event: string, data: unknown) {
    if (event === 'connected') {
      if (!isPlainObject(data) || typeof data['stream'] !== 'string') return;
      current.stream = data['stream'];
      const inactivity = data['reconnectAfterInactivityMs'];
      if (typeof inactivity === 'number' && inactivity > 0) current.inactivityMs = inactivity;
      everConnected = true;
      failures = 0;
      problem = null;
      opts.onConnected?.();
      publish();
      scheduleFlush();
      return;
    }
    if (event === 'ping') return;
    if (event === 'serialized-error') {
      // The whole stream ended (the session ended, say): every subscription with it.
      const error = clientError<TRouter>(data, 'the server ended the live stream');
      current.abort.abort();
      if (opts.retry(error)) return lost(current, error.message, error);
      conn = null;
      for (const sub of [...subs.values()]) end(sub, error);
      return publish();
    }
    const key = isPlainObject(data) && typeof data['key'] === 'string' ? data['key'] : null;
    const sub = key === null ? undefined : subs.get(key);
    // Removed meanwhile, or sent on an older connection: not ours to act on.
    if (!sub || !isPlainObject(data) || sub.sentOn !== current.id) return;
    switch (event) {
      case 'message': {
        const id = typeof data['id'] === 'string' ? data['id'] : undefined;
        if (id !== undefined) sub.lastEventId = id;
        // Tracked events reach the hooks as `{ id, data }`, as tRPC's own links hand them on.
        sub.observer.next({
          result:
            id === undefined ? { data: data['data'] } : { id, data: { id, data: data['data'] } },
        });
        return;
      }
      case 'started':
        sub.started = true;
        sub.attempts = 0;
        sub.observer.next({ result: { type: 'started' }, context: { resumed: sub.resuming } });
        sub.observer.next({ result: { type: 'state', state: 'pending', error: null } });
        return publish();
      case 'live':
        sub.live = true;
        return publish();
      case 'stopped':
        subs.delete(sub.key);
        sub.observer.complete();
        if (subs.size === 0) linger();
        return publish();
      case 'error': {
        const error = clientError<TRouter>(data['error'], 'the subscription failed');
        if (!opts.retry(error)) return end(sub, error);
        // Refused for now (too many subscriptions, a server fault): again, after a while.
        sub.sentOn = 0;
        sub.observer.next({ result: { type: 'state', state: 'connecting', error } });
        sub.retryTimer = setTimeout(() => {
          sub.retryTimer = null;
          if (subs.get(sub.key) === sub) scheduleFlush();
        }, backoffDelayMs(++sub.attempts));
        return publish();
      }
    }
  }

  function end(sub: Sub<TRouter>, error: TRPCClientError<TRouter>) {
    subs.delete(sub.key);
    if (sub.retryTimer) clearTimeout(sub.retryTimer);
    sub.observer.error(error);
    publish();
    if (subs.size === 0) linger();
  }

  /** The connection failed or was cut: every subscription waits, and it is tried again. */
  function lost(current: Connection, why: string, error?: TRPCClientError<TRouter>) {
    if (current !== conn) return;
    conn = null;
    current.abort.abort();
    problem = why;
    interrupted(error ?? new TRPCClientError<TRouter>(`Live updates interrupted: ${why}`));
    opts.onTrouble?.();
    if (subs.size === 0) return publish();
    const delay = backoffDelayMs(++failures);
    reconnectAt = Date.now() + delay;
    reconnectTimer = setTimeout(connect, delay);
    publish();
  }

  let connectQueued = false;
  /** Opens the stream once this tick's subscriptions are in (a page mounts several at once). */
  function scheduleConnect() {
    if (connectQueued) return;
    connectQueued = true;
    queueMicrotask(() => {
      connectQueued = false;
      if (!conn && !reconnectTimer) connect();
    });
  }

  function scheduleFlush() {
    if (flushQueued) return;
    flushQueued = true;
    queueMicrotask(() => {
      flushQueued = false;
      flush();
    });
  }

  /** Sends what changed since the connection opened: additions and removals, in one request. */
  function flush() {
    const current = conn;
    if (!current?.stream) return; // sent with the next connection, or once this one is up
    const added = [...subs.values()].filter(
      (s) => s.sentOn !== current.id && s.retryTimer === null,
    );
    const removed = removals;
    removals = [];
    if (added.length === 0 && removed.length === 0) return;
    for (const sub of added) send(sub, current.id);
    fetchImpl(`${opts.url}/${current.stream}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...(added.length > 0 ? { subscribe: added.map(wireOf) } : {}),
        ...(removed.length > 0 ? { unsubscribe: removed } : {}),
      }),
      cache: 'no-store',
      credentials: 'same-origin',
    })
      .then(async (response) => {
        if (response.ok) return;
        const answer: unknown = await response.json().catch(() => null);
        const error = clientError<TRouter>(
          isPlainObject(answer) ? answer['error'] : null,
          `the server answered ${response.status}`,
        );
        if (current !== conn) return;
        if (codeOf(error) === 'NOT_FOUND' || response.status >= 500) {
          // The stream closed, or the request reached another instance: open one with the whole set.
          return restart(current);
        }
        for (const sub of added) {
          if (subs.get(sub.key) === sub && sub.sentOn === current.id) end(sub, error);
        }
      })
      .catch(() => {
        if (current === conn) restart(current);
      });
  }

  function restart(current: Connection) {
    if (current !== conn) return;
    current.abort.abort();
    conn = null;
    interrupted(null);
    connect();
  }

  function linger() {
    if (lingerTimer) clearTimeout(lingerTimer);
    lingerTimer = setTimeout(() => {
      lingerTimer = null;
      if (subs.size > 0 || !conn) return;
      conn.abort.abort();
      conn = null;
      publish();
    }, lingerMs);
  }

  function wake() {
    if (subs.size === 0 || !online) return;
    if (!conn) return connect();
    // After a freeze or a sleep the connection may be dead without a word: a ping is due every
    // third of the inactivity limit, so one that has not come by then is not coming.
    const quiet = Date.now() - conn.lastByteAt;
    if (conn.stream && quiet > conn.inactivityMs / 3 + 2000) {
      problem = 'the tab was paused; resuming every stream from where it stopped';
      restart(conn);
    }
  }

  if (typeof window !== 'undefined') {
    window.addEventListener('online', () => {
      online = true;
      failures = 0;
      wake();
      publish();
    });
    window.addEventListener('offline', () => {
      online = false;
      if (conn) {
        const current = conn;
        conn = null;
        current.abort.abort();
        interrupted(
          new TRPCClientError<TRouter>('Live updates paused: the browser reports no network'),
        );
      }
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      publish();
    });
    // Page Lifecycle: a frozen tab runs nothing; when it resumes, it catches up at once.
    document.addEventListener('resume', wake);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') wake();
    });
  }

  return {
    view,
    wake,
    subscribe(op, observer) {
      const sub: Sub<TRouter> = {
        key: (++nextKey).toString(36),
        path: op.path,
        input: withoutLastEventId(op.input),
        observer,
        lastEventId: inputLastEventId(op.input),
        sentOn: 0,
        resuming: false,
        live: false,
        started: false,
        attempts: 0,
        retryTimer: null,
      };
      subs.set(sub.key, sub);
      if (lingerTimer) clearTimeout(lingerTimer);
      lingerTimer = null;
      observer.next({ result: { type: 'state', state: 'connecting', error: null } });
      if (conn) scheduleFlush();
      else if (!reconnectTimer) scheduleConnect();
      publish();
      return () => {
        if (subs.get(sub.key) !== sub) return;
        subs.delete(sub.key);
        if (sub.retryTimer) clearTimeout(sub.retryTimer);
        if (conn && sub.sentOn === conn.id) {
          removals.push(sub.key);
          scheduleFlush();
        }
        if (subs.size === 0) linger();
        publish();
      };
    },
  };
}

/** The link that runs subscriptions on a live stream (in the leader tab, under the relay). */
export function liveStreamLink<TRouter extends AnyRouter>(
  stream: LiveStream<TRouter>,
): TRPCLink<TRouter> {
  return () =>
    ({ op }) =>
      observable<Envelope<TRouter>, TRPCClientError<TRouter>>((observer) => {
        if (op.type !== 'subscription') {
          observer.error(
            new TRPCClientError<TRouter>('The live stream carries subscriptions only'),
          );
          return () => undefined;
        }
        return stream.subscribe(op, observer);
      });
}
