import type { Operation, TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable, type Unsubscribable } from '@trpc/server/observable';

export interface TransportSwitchLinkOptions {
  /** The operations whose transport can change while they run. */
  applies: (op: Operation) => boolean;
  /** The transport in use; the links after this one read it to route each operation. */
  transport: { get: () => string; subscribe: (listener: () => void) => () => void };
}

/** The input a subscription resumes with: tRPC's own rule, for object and missing inputs. */
export function withLastEventId(input: unknown, lastEventId: string | undefined): unknown {
  if (lastEventId === undefined) return input;
  if (input === undefined || input === null) return { lastEventId };
  if (typeof input === 'object' && !Array.isArray(input)) return { ...input, lastEventId };
  return input;
}

/**
 * Goes before a `splitLink` that routes by a transport chosen at run time (WebSocket or its
 * SSE + HTTP fallback). The split decides when an operation starts; this moves the ones still
 * running when the choice changes: a subscription is re-opened on the new transport from the
 * last event id it delivered (a replay, no gap, no duplicate), and a query or mutation that has
 * not answered yet is sent again there. That is only safe for idempotent procedures: every
 * `chat.*` mutation is (`send` by its clientMessageId, `setTyping` by its value).
 */
export function transportSwitchLink<TRouter extends AnyRouter>(
  opts: TransportSwitchLinkOptions,
): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) => {
      if (!opts.applies(op)) return next(op);
      return observable((observer) => {
        let lastEventId: string | undefined;
        let transport = opts.transport.get();
        let inner: Unsubscribable | null = null;
        // Unsubscribing from a link may still call back `complete` (wsLink does): callbacks
        // from a run we left behind are ignored.
        let generation = 0;
        let done = false;

        const run = (input: unknown) => {
          const mine = ++generation;
          transport = opts.transport.get();
          inner = next({ ...op, input }).subscribe({
            next(envelope) {
              if (mine !== generation) return;
              const { result } = envelope;
              if (
                op.type === 'subscription' &&
                (result.type === 'data' || result.type === undefined) &&
                'id' in result &&
                typeof result.id === 'string'
              ) {
                lastEventId = result.id;
              }
              observer.next(envelope);
            },
            error(error) {
              if (mine !== generation) return;
              finish();
              observer.error(error);
            },
            complete() {
              if (mine !== generation) return;
              finish();
              observer.complete();
            },
          });
        };

        const stopWatching = opts.transport.subscribe(() => {
          if (done || opts.transport.get() === transport) return;
          const left = inner;
          generation++;
          inner = null;
          left?.unsubscribe();
          if (op.type === 'subscription') {
            observer.next({ result: { type: 'state', state: 'connecting', error: null } });
          }
          run(op.type === 'subscription' ? withLastEventId(op.input, lastEventId) : op.input);
        });

        function finish() {
          done = true;
          stopWatching();
        }

        run(op.input);
        return () => {
          finish();
          generation++;
          inner?.unsubscribe();
        };
      });
    };
}
