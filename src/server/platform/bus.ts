import type { Person } from '../../shared/schemas/chat.ts';
import type { ReadStateEvent } from '../../shared/schemas/notifications.ts';

/**
 * What travels between instances. Announcements only: the database stays the source of truth,
 * and a receiver reads what is new from it.
 */
export interface Topics {
  /** Notifications up to `seq` are committed. */
  'notifications.created': { seq: number };
  /** A user's read state changed (for their other tabs and devices). */
  'notifications.read': { userId: string; event: ReadStateEvent };
  /** Metric points up to id `lastId` are committed, for these series. */
  'metrics.ingested': { lastId: number; series: string[] };
  /** Incident changes up to `seq` are committed. */
  'incidents.changed': { seq: number };
  /** Chat messages up to `seq` are committed. */
  'chat.messages': { seq: number };
  /** Someone started or stopped typing in a room. */
  'chat.typing': { roomId: string; person: Person; typing: boolean };
  /** A user's presence in a room changed on one instance (first subscription opened, last closed). */
  'chat.presence': { instance: string; roomId: string; person: Person; present: boolean };
  /** A session or token ended, or a user was disabled (key: the user id): close what it opened. */
  'auth.revoked': { kind: 'session' | 'token' | 'user'; key: string };
}
export type Topic = keyof Topics;

export interface EventBus {
  /** Resolves once the message is handed to the bus, not when it is delivered. */
  publish<T extends Topic>(topic: T, payload: Topics[T]): Promise<void>;
  /**
   * Messages published from the moment this returns (even before iteration starts); the
   * subscription ends, and is released, when `signal` aborts or the loop breaks. One iteration.
   */
  subscribe<T extends Topic>(topic: T, signal: AbortSignal): AsyncIterable<Topics[T]>;
  close(): Promise<void>;
}

/** More unread messages than this on one subscription means its consumer is stuck. */
const MAX_QUEUED = 10_000;

/** One process: delivery is asynchronous (next microtask), as it will be over Redis. */
export function createMemoryBus(): EventBus {
  const listeners = new Map<Topic, Set<(payload: unknown) => void>>();

  return {
    async publish(topic, payload) {
      const set = listeners.get(topic);
      if (!set) return;
      queueMicrotask(() => {
        for (const listener of set) listener(payload);
      });
    },

    // Eager: the listener is in place when `subscribe` returns, so nothing published after
    // that is missed, even before the first `next()`.
    subscribe<T extends Topic>(topic: T, signal: AbortSignal): AsyncIterable<Topics[T]> {
      const queue: Topics[T][] = [];
      let wake: (() => void) | null = null;
      let overflow = false;
      const listener = (payload: unknown) => {
        if (queue.length >= MAX_QUEUED) overflow = true;
        else queue.push(payload as Topics[T]);
        wake?.();
      };
      const release = () => {
        listeners.get(topic)?.delete(listener);
        wake?.();
      };
      let set = listeners.get(topic);
      if (!set) listeners.set(topic, (set = new Set()));
      set.add(listener);
      signal.addEventListener('abort', release, { once: true });
      const iterator: AsyncIterator<Topics[T]> = {
        async next(): Promise<IteratorResult<Topics[T]>> {
          for (;;) {
            if (overflow) throw new Error(`Bus subscriber of '${topic}' fell behind`);
            const value = queue.shift();
            if (value !== undefined) return { value, done: false };
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
    },

    async close() {
      listeners.clear();
    },
  };
}

/**
 * Runs `handle` for every message a subscription yields until `signal` aborts: the one way
 * background loops read the bus. A handler that throws is logged and the loop goes on; a
 * subscription that fails (its consumer fell behind) is logged and taken again, and `resumed`
 * lets the owner catch up from the database on what it may have missed. Nothing here can end the
 * process or silently stop a loop.
 */
export function consume<T>(opts: {
  subscribe: () => AsyncIterable<T>;
  signal: AbortSignal;
  what: string;
  handle: (message: T) => void;
  resumed?: () => void;
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
        console.error(`${opts.what}: bus subscription failed; subscribing again`, error);
        messages = opts.subscribe();
        opts.resumed?.();
      }
    }
  })();
}
