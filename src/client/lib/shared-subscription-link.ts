import {
  TRPCClientError,
  type Operation,
  type OperationLink,
  type OperationResultEnvelope,
  type OperationResultObservable,
  type TRPCLink,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable, type Observer, type Unsubscribable } from '@trpc/server/observable';
import { z } from 'zod';

/**
 * One set of real subscriptions per browser, shared by all of its tabs.
 *
 * Why: on HTTP/1.1 a browser allows about six connections per origin, shared by every tab,
 * and each SSE subscription holds one open. Five tabs with two streams each would starve
 * the tabs' own queries. So one tab, the leader (holder of a Web Lock), opens the streams
 * and relays what they yield to the other tabs over a BroadcastChannel. Every tab's
 * `useSubscription` goes through this link unchanged; only the leader's reaches the network.
 * See docs/decisions/0002-one-sse-stream-per-browser.md.
 */

/** `leader` opens the real streams; `follower` relays through it; `standalone` has no locks or channel. */
export type TabRole = 'leader' | 'follower' | 'standalone';

export interface SharedSubscriptionLinkOptions<TRouter extends AnyRouter> {
  /** Names the leader lock, the tab locks and the channel; tabs sharing it share streams. */
  name?: string;
  /** The links that open a real subscription (retry, transport). Only the leader runs them. */
  upstream: TRPCLink<TRouter>[];
  /** Told whenever this tab's role changes (for the UI, and to show desktop notifications once). */
  onRoleChange?: (role: TabRole) => void;
}

type Envelope<TRouter extends AnyRouter> = OperationResultEnvelope<
  unknown,
  TRPCClientError<TRouter>
>;
type Result<TRouter extends AnyRouter> = Envelope<TRouter>['result'];
type SubscriptionObserver<TRouter extends AnyRouter> = Observer<
  Envelope<TRouter>,
  TRPCClientError<TRouter>
>;

// The wire between tabs. Errors travel as their shape: class instances do not survive cloning.
const wireErrorSchema = z.object({ message: z.string(), shape: z.unknown() });
const wireResultSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started') }),
  z.object({ type: z.literal('stopped') }),
  z.object({ type: z.literal('data'), id: z.string().optional(), data: z.unknown() }),
  z.object({
    type: z.literal('state'),
    state: z.enum(['idle', 'connecting', 'pending']),
    error: wireErrorSchema.nullable(),
  }),
]);
const messageSchema = z.discriminatedUnion('kind', [
  // A tab to the leader.
  z.object({
    kind: z.literal('subscribe'),
    tabId: z.string(),
    subId: z.string(),
    path: z.string(),
    input: z.unknown(),
  }),
  z.object({ kind: z.literal('unsubscribe'), subId: z.string() }),
  // The leader to the tabs: `leader` asks every tab to announce its subscriptions again.
  z.object({ kind: z.literal('leader'), tabId: z.string() }),
  z.object({ kind: z.literal('next'), to: z.array(z.string()), result: wireResultSchema }),
  z.object({ kind: z.literal('error'), to: z.array(z.string()), error: wireErrorSchema }),
  z.object({ kind: z.literal('complete'), to: z.array(z.string()) }),
]);
type WireError = z.infer<typeof wireErrorSchema>;
type WireResult = z.infer<typeof wireResultSchema>;
type Message = z.infer<typeof messageSchema>;
type Delivery = Extract<Message, { to: string[] }>;

function toWireError(error: TRPCClientError<AnyRouter>): WireError {
  return { message: error.message, shape: error.shape ?? null };
}

function fromWireError<TRouter extends AnyRouter>(error: WireError): TRPCClientError<TRouter> {
  return error.shape
    ? TRPCClientError.from<TRouter>({ error: error.shape })
    : new TRPCClientError<TRouter>(error.message);
}

function toWire<TRouter extends AnyRouter>(result: Result<TRouter>): WireResult {
  switch (result.type) {
    case 'state':
      return {
        type: 'state',
        state: result.state,
        error: result.error ? toWireError(result.error) : null,
      };
    case 'started':
    case 'stopped':
      return { type: result.type };
    case 'data':
    case undefined:
      return { type: 'data', id: result.id, data: result.data };
  }
}

function fromWire<TRouter extends AnyRouter>(result: WireResult): Result<TRouter> {
  switch (result.type) {
    case 'state':
      return result.state === 'connecting'
        ? {
            type: 'state',
            state: 'connecting',
            error: result.error ? fromWireError<TRouter>(result.error) : null,
          }
        : { type: 'state', state: result.state, error: null };
    case 'started':
    case 'stopped':
      return { type: result.type };
    case 'data':
      return result.id === undefined ? { data: result.data } : { id: result.id, data: result.data };
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Which subscriptions can share one stream: same procedure, same input. The resume point
 * (`lastEventId`) is left out: it says where one subscriber got to, not what it wants.
 */
export function subscriptionKey(path: string, input: unknown): string {
  let wanted = input;
  if (isPlainObject(input)) {
    const entries = Object.entries(input).filter(
      ([k, v]) => k !== 'lastEventId' && v !== undefined,
    );
    // `{}` and no input are the same request to an optional object input.
    wanted = entries.length > 0 ? Object.fromEntries(entries) : undefined;
  }
  const sorted = JSON.stringify(wanted ?? null, (_key, value: unknown) =>
    isPlainObject(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value,
  );
  return `${path}:${sorted}`;
}

/** Runs an op through a list of links, as tRPC's own (unexported) chain does. */
function runChain<TRouter extends AnyRouter>(
  links: OperationLink<TRouter>[],
  op: Operation,
): OperationResultObservable<TRouter, unknown> {
  const execute = (
    index: number,
    current: Operation,
  ): OperationResultObservable<TRouter, unknown> => {
    const link = links[index];
    if (!link)
      throw new Error('sharedSubscriptionLink: the upstream links need a terminating link');
    return link({ op: current, next: (nextOp) => execute(index + 1, nextOp) });
  };
  return execute(0, op);
}

/** A lock callback that never returns: the lock is held until the tab goes away. */
const holdForever = () => new Promise<never>(() => undefined);

export function sharedSubscriptionLink<TRouter extends AnyRouter>(
  opts: SharedSubscriptionLinkOptions<TRouter>,
): TRPCLink<TRouter> {
  return (runtime) => {
    const upstream = opts.upstream.map((link) => link(runtime));
    const supported =
      typeof navigator !== 'undefined' &&
      typeof navigator.locks?.request === 'function' &&
      typeof BroadcastChannel === 'function';
    if (!supported) {
      opts.onRoleChange?.('standalone');
      return ({ op }) => runChain(upstream, op);
    }
    const tabs = createTabRelay<TRouter>(opts.name ?? 'pulse-live', upstream, opts.onRoleChange);
    return ({ op }) => {
      if (op.type !== 'subscription') return runChain(upstream, op);
      return observable<Envelope<TRouter>, TRPCClientError<TRouter>>((observer) =>
        tabs.subscribe(op, observer),
      );
    };
  };
}

interface Upstream {
  /** subId → the tab that holds it. */
  holders: Map<string, string>;
  sub: Unsubscribable | null;
  /** Started and not reconnecting since: a tab that joins now is told it has started. */
  live: boolean;
  /** The last `connecting` state with an error, replayed to tabs that join while reconnecting. */
  trouble: WireResult | null;
}

interface LocalSubscription<TRouter extends AnyRouter> {
  path: string;
  input: unknown;
  observer: SubscriptionObserver<TRouter>;
}

function createTabRelay<TRouter extends AnyRouter>(
  name: string,
  upstream: OperationLink<TRouter>[],
  onRoleChange: ((role: TabRole) => void) | undefined,
) {
  const tabId = crypto.randomUUID();
  const channel = new BroadcastChannel(name);
  const locks = navigator.locks;
  let role: TabRole = 'follower';
  let nextSub = 0;
  let nextOp = 0;
  /** This tab's subscriptions, by subId. */
  const local = new Map<string, LocalSubscription<TRouter>>();
  /** Leader only: the real streams by key, and which key each subId holds. */
  const streams = new Map<string, Upstream>();
  const keyOf = new Map<string, string>();
  const watched = new Set<string>();

  const tabLock = (id: string) => `${name}-tab-${id}`;
  // Our own lock, held for the tab's life, is how the leader learns that we are gone
  // (pagehide/unload never fire reliably on crash or kill). We speak only once we hold it,
  // or the leader's wait on it could be granted at once and drop us.
  const tabLockHeld = new Promise<void>((resolve) => {
    void locks.request(tabLock(tabId), () => {
      resolve();
      return holdForever();
    });
  });
  // Granted to one tab at a time; when that tab closes, to the next in line.
  void locks.request(`${name}-leader`, () => {
    becomeLeader();
    return holdForever();
  });
  onRoleChange?.(role);

  function post(message: Message) {
    channel.postMessage(message);
  }

  function deliver(message: Delivery) {
    for (const subId of message.to) {
      const sub = local.get(subId);
      if (!sub) continue;
      switch (message.kind) {
        case 'next':
          sub.observer.next({ result: fromWire<TRouter>(message.result) });
          break;
        case 'error':
          local.delete(subId);
          sub.observer.error(fromWireError<TRouter>(message.error));
          break;
        case 'complete':
          local.delete(subId);
          sub.observer.complete();
          break;
      }
    }
  }

  /** Leader: to the holders in this tab directly, to the others over the channel. */
  function emit(message: Delivery) {
    if (message.to.some((subId) => !local.has(subId))) post(message);
    deliver(message);
  }

  function end(key: string, stream: Upstream, message: Delivery) {
    streams.delete(key);
    for (const subId of stream.holders.keys()) keyOf.delete(subId);
    emit(message);
  }

  function open(key: string, stream: Upstream, path: string, input: unknown) {
    const op: Operation = {
      id: ++nextOp,
      type: 'subscription',
      path,
      input,
      context: {},
      signal: null,
    };
    stream.sub = runChain(upstream, op).subscribe({
      next(envelope) {
        const result = toWire<TRouter>(envelope.result);
        if (result.type === 'started') {
          stream.live = true;
          stream.trouble = null;
        } else if (result.type === 'state' && result.state !== 'pending') {
          stream.live = false;
          stream.trouble = result.error ? result : null;
        }
        emit({ kind: 'next', to: [...stream.holders.keys()], result });
      },
      error(error) {
        end(key, stream, {
          kind: 'error',
          to: [...stream.holders.keys()],
          error: toWireError(error),
        });
      },
      complete() {
        end(key, stream, { kind: 'complete', to: [...stream.holders.keys()] });
      },
    });
  }

  /** Leader: one more holder for a stream, opening it if it is the first. */
  function attach(subId: string, holderTab: string, path: string, input: unknown) {
    if (keyOf.has(subId)) return; // announced again after a leader change we already serve
    const key = subscriptionKey(path, input);
    keyOf.set(subId, key);
    const existing = streams.get(key);
    if (existing) {
      existing.holders.set(subId, holderTab);
      // A late joiner missed `started`; its onStarted (refetch) covers what came before.
      if (existing.live) emit({ kind: 'next', to: [subId], result: { type: 'started' } });
      else if (existing.trouble) emit({ kind: 'next', to: [subId], result: existing.trouble });
      return;
    }
    const stream: Upstream = {
      holders: new Map([[subId, holderTab]]),
      sub: null,
      live: false,
      trouble: null,
    };
    streams.set(key, stream);
    open(key, stream, path, input);
  }

  function detach(subId: string) {
    const key = keyOf.get(subId);
    if (key === undefined) return;
    keyOf.delete(subId);
    const stream = streams.get(key);
    if (!stream) return;
    stream.holders.delete(subId);
    if (stream.holders.size > 0) return;
    streams.delete(key);
    stream.sub?.unsubscribe();
  }

  /** Leader: waits on a tab's own lock, which it gets only once that tab is gone. */
  function watch(holderTab: string) {
    if (holderTab === tabId || watched.has(holderTab)) return;
    watched.add(holderTab);
    void locks.request(tabLock(holderTab), () => {
      watched.delete(holderTab);
      for (const stream of [...streams.values()]) {
        for (const [subId, tab] of stream.holders) if (tab === holderTab) detach(subId);
      }
    });
  }

  function becomeLeader() {
    role = 'leader';
    onRoleChange?.(role);
    for (const [subId, sub] of local) attach(subId, tabId, sub.path, sub.input);
    // Followers re-announce: what they asked of the old leader died with it.
    post({ kind: 'leader', tabId });
  }

  function announce(subId: string, sub: LocalSubscription<TRouter>) {
    void tabLockHeld.then(() => {
      if (local.has(subId))
        post({ kind: 'subscribe', tabId, subId, path: sub.path, input: sub.input });
    });
  }

  channel.onmessage = (event: MessageEvent<unknown>) => {
    const parsed = messageSchema.safeParse(event.data);
    if (!parsed.success) return;
    const message = parsed.data;
    switch (message.kind) {
      case 'subscribe':
        if (role !== 'leader') return;
        watch(message.tabId);
        attach(message.subId, message.tabId, message.path, message.input);
        return;
      case 'unsubscribe':
        if (role === 'leader') detach(message.subId);
        return;
      case 'leader':
        for (const [subId, sub] of local) {
          // Reconnecting through the new leader; its `started` (and the hooks' refetch) follows.
          sub.observer.next({ result: { type: 'state', state: 'connecting', error: null } });
          announce(subId, sub);
        }
        return;
      case 'next':
      case 'error':
      case 'complete':
        deliver(message);
        return;
    }
  };

  return {
    subscribe(op: Operation, observer: SubscriptionObserver<TRouter>): () => void {
      const subId = `${tabId}:${++nextSub}`;
      const sub: LocalSubscription<TRouter> = { path: op.path, input: op.input, observer };
      local.set(subId, sub);
      if (role === 'leader') attach(subId, tabId, sub.path, sub.input);
      else announce(subId, sub);
      return () => {
        // Already gone when the stream ended (error or complete) on its own.
        if (!local.delete(subId)) return;
        if (role === 'leader') detach(subId);
        else void tabLockHeld.then(() => post({ kind: 'unsubscribe', subId }));
      };
    },
  };
}
