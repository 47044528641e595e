import type { TRPCClientError } from '@trpc/client';
import type { Unsubscribable } from '@trpc/server/observable';
import { vi } from 'vitest';
import type { AppRouter } from '../../src/server/router.ts';
import type { Person } from '../../src/shared/schemas/chat.ts';

export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Polls `check` (state the test observes: counters, lists, answers) until it holds, failing
 * after `ms`. For what a subscription yields, `record()` waits on the events themselves.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'condition',
) {
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout: ms, interval: 20 },
  );
}

type SubscribeOpts<T> = {
  onStarted: () => void;
  onData: (value: T) => void;
  onError: (error: TRPCClientError<AppRouter>) => void;
  onComplete: () => void;
};

/** Records what a subscription yields, with waits on count and start that wake on each event. */
export function record<T>(subscribe: (opts: SubscribeOpts<T>) => Unsubscribable) {
  const items: T[] = [];
  const started = deferred();
  // A stream refused before it starts rejects `started`; callers that never await it are fine.
  started.promise.catch(() => undefined);
  let starts = 0;
  let error: TRPCClientError<AppRouter> | null = null;
  let completed = false;
  /** Checks of pending waits, run after every event. */
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const waiter of [...waiters]) waiter();
  };
  /** Resolves once `done()` holds after some event; fails after `ms` saying `what`. */
  const until = (done: () => boolean, ms: number, what: () => string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what()}`));
      }, ms);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  const sub = subscribe({
    onStarted: () => {
      starts++;
      started.resolve();
      changed();
    },
    onData: (value) => {
      items.push(value);
      changed();
    },
    onError: (e) => {
      error = e;
      started.reject(e);
      changed();
    },
    onComplete: () => {
      completed = true;
      changed();
    },
  });
  return {
    items,
    started: started.promise,
    get starts() {
      return starts;
    },
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    async waitFor(n: number, ms = 5000) {
      await until(
        () => items.length >= n || error !== null,
        ms,
        () => `${n} events (have ${items.length})`,
      );
      if (error) throw error;
      return items;
    },
    async waitForError(ms = 5000) {
      await until(
        () => error !== null,
        ms,
        () => 'an error',
      );
      return error as unknown as TRPCClientError<AppRouter>;
    },
    /** Waits until `check` holds of the items (after the event that makes it so). */
    async waitUntil(check: (items: readonly T[]) => boolean, what: string, ms = 5000) {
      await until(
        () => check(items) || error !== null,
        ms,
        () => what,
      );
      if (error) throw error;
      return items;
    },
    stop: () => sub.unsubscribe(),
  };
}

/** Waits until the latest list a presence or typing stream saw is these usernames, in order. */
export const namesAre = (seen: ReturnType<typeof record<Person[]>>, usernames: string, ms = 5000) =>
  seen.waitUntil(
    (items) =>
      items
        .at(-1)
        ?.map((p) => p.username)
        .join() === usernames,
    `people ${usernames}`,
    ms,
  );
