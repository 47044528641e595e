import type { Person } from '../../shared/schemas/chat.ts';
import type { ReadStateEvent } from '../../shared/schemas/notifications.ts';

/**
 * What travels between instances. The database stays the source of truth: an announcement
 * says how far a log is committed, and a receiver reads what is new from it. An announcement
 * of one new row may carry that row (`row`, as its feature wrote it) so that receivers that
 * have everything before it need not read it back (decision 0012); a receiver checks it, and
 * reads the database when it is absent, malformed, or does not follow on from what it has.
 */
export interface Topics {
  /** Notifications up to `seq` are committed; `row`: notification `seq` with its audience. */
  'notifications.created': { seq: number; row?: unknown };
  /** Inbox changes up to `seq` are committed; `row`: change `seq` with its user. */
  'notifications.inbox': { seq: number; row?: unknown };
  /** A user's read state changed (for their other tabs and devices). */
  'notifications.read': { userId: string; event: ReadStateEvent };
  /** Metric points up to id `lastId` are committed, for these series. */
  'metrics.ingested': { lastId: number; series: string[] };
  /** Incident changes up to `seq` are committed. */
  'incidents.changed': { seq: number };
  /** Chat messages up to `seq` are committed; `row`: message `seq`. */
  'chat.messages': { seq: number; row?: unknown };
  /** Someone started or stopped typing in a room. */
  'chat.typing': { roomId: string; person: Person; typing: boolean };
  /** A user's presence in a room changed on one instance (first subscription opened, last closed). */
  'chat.presence': { instance: string; roomId: string; person: Person; present: boolean };
  /**
   * Everyone present through one instance, sent on its heartbeat and after a resync: replaces
   * what the others knew of that instance (an empty list: it has no one, or is shutting down).
   */
  'chat.presence.snapshot': { instance: string; rooms: { roomId: string; people: Person[] }[] };
  /** A session or token ended, or a user was disabled (key: the user id): close what it opened. */
  'auth.revoked': { kind: 'session' | 'token' | 'user'; key: string };
  /** A user's facts that calls are authorized by changed (their teams): re-read them. */
  'users.changed': { userId: string };
}
export type Topic = keyof Topics;

export interface EventBus {
  /**
   * Delivers to this instance's subscribers at once (next microtask) and hands the message on
   * to the other instances, if any; resolves without waiting for them, and never throws: while
   * the link to other instances is down, what they miss is made good by a resync (see
   * `MessagesMayBeLost`), not by queueing.
   */
  publish<T extends Topic>(topic: T, payload: Topics[T]): Promise<void>;
  /**
   * Messages published from the moment this returns (even before iteration starts); the
   * subscription ends, and is released, when `signal` aborts or the loop breaks. One iteration.
   *
   * The iteration throws `MessagesMayBeLost` when this subscription may have missed messages:
   * its consumer fell behind, or the bus lost its link to other instances and has it back (it
   * throws once the link works again, so that what is published from then on is heard). The
   * owner subscribes again and catches up from the database; `consume` does both.
   */
  subscribe<T extends Topic>(topic: T, signal: AbortSignal): AsyncIterable<Topics[T]>;
  /**
   * What the bus depends on that does not answer now, by name (`['redis']` while Redis is down
   * or stalled): the instance still serves its own clients, but others do not hear from it.
   * Always empty for the in-process bus.
   */
  unavailable(): string[];
  close(): Promise<void>;
}

/**
 * A subscription may have missed messages published since `since` (ms since the epoch, this
 * instance's clock): catch up from the database. `reason` says why: the consumer `fell-behind`
 * (a bug or an overload, logged as an error), or the link to other instances was `interrupted`
 * (an outage, logged once by the bus).
 */
export class MessagesMayBeLost extends Error {
  constructor(
    readonly since: number,
    readonly reason: 'fell-behind' | 'interrupted',
    what: string,
  ) {
    super(
      reason === 'fell-behind'
        ? `Bus subscriber of '${what}' fell behind`
        : `Bus subscription of '${what}' may have missed messages`,
    );
    this.name = 'MessagesMayBeLost';
  }
}

/** More unread messages than this on one subscription means its consumer is stuck. */
const MAX_QUEUED = 10_000;

/** One subscription's queue; `lose` ends it with `MessagesMayBeLost` once what it holds is read. */
interface Listener {
  push(payload: unknown): void;
  lose(since: number): void;
}

/**
 * This instance's subscriptions by topic: what every bus delivers to locally. `deliver` queues a
 * message for each subscription of its topic; `loseAll` tells every subscription it may have
 * missed messages (each is released at once; its owner subscribes again).
 */
export class LocalSubscriptions {
  private readonly listeners = new Map<Topic, Set<Listener>>();

  deliver(topic: Topic, payload: unknown): void {
    const set = this.listeners.get(topic);
    if (set) for (const listener of set) listener.push(payload);
  }

  loseAll(since: number): void {
    for (const set of [...this.listeners.values()]) for (const l of [...set]) l.lose(since);
  }

  clear(): void {
    this.listeners.clear();
  }

  // Eager: the listener is in place when `subscribe` returns, so nothing published after that
  // is missed, even before the first `next()`.
  subscribe<T extends Topic>(topic: T, signal: AbortSignal): AsyncIterable<Topics[T]> {
    const queue: Topics[T][] = [];
    let wake: (() => void) | null = null;
    let lost: MessagesMayBeLost | null = null;
    const release = () => {
      this.listeners.get(topic)?.delete(listener);
      wake?.();
    };
    const listener: Listener = {
      push(payload) {
        if (queue.length >= MAX_QUEUED) {
          lost ??= new MessagesMayBeLost(Date.now(), 'fell-behind', topic);
        } else queue.push(payload as Topics[T]);
        wake?.();
      },
      lose(since) {
        lost ??= new MessagesMayBeLost(since, 'interrupted', topic);
        release();
      },
    };
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    signal.addEventListener('abort', release, { once: true });
    const iterator: AsyncIterator<Topics[T]> = {
      async next(): Promise<IteratorResult<Topics[T]>> {
        for (;;) {
          if (lost?.reason === 'fell-behind') throw lost;
          const value = queue.shift();
          if (value !== undefined) return { value, done: false };
          if (lost) throw lost;
          if (signal.aborted) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      },
      async return(): Promise<IteratorResult<Topics[T]>> {
        signal.removeEventListener('abort', release);
        release();
        return { value: undefined, done: true };
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }
}

/** One process: delivery is asynchronous (next microtask), as it is over Redis. */
export function createMemoryBus(): EventBus {
  const local = new LocalSubscriptions();
  return {
    async publish(topic, payload) {
      queueMicrotask(() => local.deliver(topic, payload));
    },
    subscribe: (topic, signal) => local.subscribe(topic, signal),
    unavailable: () => [],
    async close() {
      local.clear();
    },
  };
}

/**
 * Runs `handle` for every message a subscription yields until `signal` aborts: the one way
 * background loops read the bus. A handler that throws is logged and the loop goes on; a
 * subscription that ends with `MessagesMayBeLost` (or fails otherwise) is taken again, and then
 * `resumed(since)` lets the owner catch up from the database on what it may have missed since
 * then. A consumer that fell behind, or any other failure, is logged as an error; an interrupted
 * link is not (the bus logs its outage once). Nothing here can end the process or silently stop
 * a loop.
 */
export function consume<T>(opts: {
  subscribe: () => AsyncIterable<T>;
  signal: AbortSignal;
  what: string;
  handle: (message: T) => void;
  /** Messages published since `since` (ms since the epoch) may have been missed. */
  resumed?: (since: number) => void;
}): void {
  let messages = opts.subscribe();
  void (async () => {
    while (!opts.signal.aborted) {
      try {
        for await (const message of messages) {
          try {
            opts.handle(message);
          } catch (error) {
            console.error(`${opts.what}: a bus message could not be handled`, error);
          }
        }
        return;
      } catch (error) {
        if (opts.signal.aborted) return;
        const lost = error instanceof MessagesMayBeLost ? error : null;
        if (lost?.reason !== 'interrupted') {
          console.error(`${opts.what}: bus subscription failed; subscribing again`, error);
        }
        messages = opts.subscribe();
        opts.resumed?.(lost?.since ?? Date.now());
      }
    }
  })();
}
