import type { TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';

/**
 * Whether the `started` being delivered right now is a restart that resumed from the last event
 * id (its replay covers the gap, so nothing needs refetching). The links say so in the event's
 * `context.resumed`, but React Query's `useSubscription` calls `onStarted` without the context;
 * this link, first in the chain, holds the flag while it hands the event on, and `onStarted`
 * (called synchronously on the way) reads it with `startWasResumed()`.
 */
let resumed = false;

export function startWasResumed(): boolean {
  return resumed;
}

export function startContextLink<TRouter extends AnyRouter>(): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) => {
      if (op.type !== 'subscription') return next(op);
      return observable((observer) =>
        next(op).subscribe({
          next(envelope) {
            if (envelope.result.type !== 'started') return observer.next(envelope);
            resumed = envelope.context?.['resumed'] === true;
            try {
              observer.next(envelope);
            } finally {
              resumed = false;
            }
          },
          error: (error) => observer.error(error),
          complete: () => observer.complete(),
        }),
      );
    };
}
