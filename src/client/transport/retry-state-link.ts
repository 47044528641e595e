import type { TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';

/**
 * Goes between `retryLink` and the transport. When the transport fails, it first reports
 * `connecting` with the error, then passes the error on. Why: `retryLink` swallows the error
 * while it waits out its backoff, and without this the UI would go on showing the last state
 * it saw (`connected`) for up to 30 s while nothing is connected.
 */
export function retryStateLink<TRouter extends AnyRouter>(): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) =>
        next(op).subscribe({
          next: (envelope) => observer.next(envelope),
          error: (error) => {
            if (op.type === 'subscription') {
              observer.next({ result: { type: 'state', state: 'connecting', error } });
            }
            observer.error(error);
          },
          complete: () => observer.complete(),
        }),
      );
}
