import type { Operation, OperationLink, TRPCClientError } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import type { Observer, Unsubscribable } from '@trpc/server/observable';
import type { ExternalStore } from '../lib/external-store.ts';
import type { LiveView } from './live-stream.ts';
import { runLinks } from './run-links.ts';
import {
  fromWire,
  fromWireError,
  parseRelayMessage,
  toWire,
  toWireError,
  wireContext,
  type Delivery,
  type Envelope,
  type RelayMessage,
  type WireResult,
} from './shared-subscription-codec.ts';

/** `leader` opens the real streams; `follower` relays through it; `standalone` has no locks or channel. */
export type TabRole = 'leader' | 'follower' | 'standalone';

export type SubscriptionObserver<TRouter extends AnyRouter> = Observer<
  Envelope<TRouter>,
  TRPCClientError<TRouter>
>;

export interface TabRelay<TRouter extends AnyRouter> {
  /** Follows a subscription through the leader (this tab or another); returns how to stop. */
  subscribe(op: Operation, observer: SubscriptionObserver<TRouter>): () => void;
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

/** A lock callback that never returns: the lock is held until the tab goes away. */
const holdForever = () => new Promise<never>(() => undefined);

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

/**
 * The leader/follower logic of one browser's shared subscriptions. One tab, the leader (holder
 * of a Web Lock), runs `upstream` once per distinct subscription and relays what it yields over
 * the BroadcastChannel `name`; the other tabs ask it for their subscriptions there. Needs Web
 * Locks and BroadcastChannel (see sharedSubscriptionLink for the fallback).
 */
/**
 * The leader's live stream as every tab's header shows it: `local` is this tab's own stream
 * (used while it leads), `shown` what the header reads (the leader's, relayed to followers).
 */
export interface RelayedStatus {
  local: ExternalStore<LiveView>;
  shown: ExternalStore<LiveView>;
}

export function createTabRelay<TRouter extends AnyRouter>(
  name: string,
  upstream: OperationLink<TRouter>[],
  onRoleChange: ((role: TabRole) => void) | undefined,
  status?: RelayedStatus,
): TabRelay<TRouter> {
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

  function post(message: RelayMessage) {
    channel.postMessage(message);
  }

  function deliver(message: Delivery) {
    for (const subId of message.to) {
      const sub = local.get(subId);
      if (!sub) continue;
      switch (message.kind) {
        case 'next':
          sub.observer.next({
            result: fromWire<TRouter>(message.result),
            context: wireContext(message.result),
          });
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
    stream.sub = runLinks(upstream, op).subscribe({
      next(envelope) {
        const result = toWire<TRouter>(envelope.result, envelope.context);
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

  function postStatus() {
    if (role === 'leader' && status) post({ kind: 'status', view: status.local.get() });
  }

  function becomeLeader() {
    role = 'leader';
    onRoleChange?.(role);
    if (status) {
      status.shown.set(status.local.get());
      status.local.subscribe(() => {
        status.shown.set(status.local.get());
        postStatus();
      });
    }
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
    const message = parseRelayMessage(event.data);
    if (!message) return;
    switch (message.kind) {
      case 'subscribe':
        if (role !== 'leader') return;
        watch(message.tabId);
        attach(message.subId, message.tabId, message.path, message.input);
        postStatus();
        return;
      case 'status':
        if (role !== 'leader') status?.shown.set(message.view);
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
    subscribe(op, observer) {
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
