import type { TRPCClientError } from '@trpc/client';
import type { Unsubscribable } from '@trpc/server/observable';
import type { AppRouter } from '../../src/server/router.ts';

export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Polls `check` until it holds or `ms` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000, what = 'condition') {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type SubscribeOpts<T> = {
  onStarted: () => void;
  onData: (value: T) => void;
  onError: (error: TRPCClientError<AppRouter>) => void;
  onComplete: () => void;
};

/** Records what a subscription yields, with waits on count and start. */
export function record<T>(subscribe: (opts: SubscribeOpts<T>) => Unsubscribable) {
  const items: T[] = [];
  const started = deferred();
  // A stream refused before it starts rejects `started`; callers that never await it are fine.
  started.promise.catch(() => undefined);
  let starts = 0;
  let error: TRPCClientError<AppRouter> | null = null;
  let completed = false;
  const sub = subscribe({
    onStarted: () => {
      starts++;
      started.resolve();
    },
    onData: (value) => items.push(value),
    onError: (e) => {
      error = e;
      started.reject(e);
    },
    onComplete: () => (completed = true),
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
      await eventually(() => items.length >= n || error !== null, ms, `${n} events (have ${items.length})`);
      if (error) throw error;
      return items;
    },
    waitForError(ms = 5000) {
      return eventually(() => error !== null, ms, 'an error').then(() => error as unknown as TRPCClientError<AppRouter>);
    },
    stop: () => sub.unsubscribe(),
  };
}
