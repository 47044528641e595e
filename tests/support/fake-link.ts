import { TRPCClientError, type Operation, type TRPCLink } from '@trpc/client';
import { observable, type Observer } from '@trpc/server/observable';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { z } from 'zod';
import type { AppRouter } from '../../src/server/router.ts';

type Envelope = { result: { type: 'started' } | { type?: 'data'; data: unknown } };
type ClientError = TRPCClientError<AppRouter>;

/**
 * What a fake procedure does with one call: a query or mutation answers with what it returns
 * (or throws); a subscription's handler drives the observer and returns its teardown.
 */
export type FakeHandler = (op: Operation, stream: Observer<Envelope, ClientError>) => unknown;

/**
 * A tRPC error as the server would send it, with its code (what `errorCode` reads) and, for
 * an input it refused, zod's issues (what `errorIssues` reads).
 */
export function serverError(
  code: TRPC_ERROR_CODE_KEY,
  message: string,
  issues: z.core.$ZodIssue[] | null = null,
): ClientError {
  return TRPCClientError.from<AppRouter>({
    error: { message, code: -32000, data: { code, httpStatus: 400, path: null, issues } },
  });
}

/**
 * A terminating link that answers from `handlers` by path, instead of a server: queries and
 * mutations resolve with what the handler returns; a subscription's handler is handed the
 * observer and returns its teardown. A call without a handler fails the test that made it.
 */
export function fakeLink(handlers: Record<string, FakeHandler>): TRPCLink<AppRouter> {
  return () =>
    ({ op }) =>
      observable<Envelope, ClientError>((observer) => {
        const handler = handlers[op.path];
        if (!handler) {
          observer.error(serverError('NOT_FOUND', `no fake for ${op.type} ${op.path}`));
          return () => undefined;
        }
        if (op.type === 'subscription') {
          const teardown: unknown = handler(op, observer);
          return () => {
            if (typeof teardown === 'function') (teardown as () => void)();
          };
        }
        Promise.resolve()
          .then(() => handler(op, observer))
          .then(
            (data) => {
              observer.next({ result: { type: 'data', data } });
              observer.complete();
            },
            (error: unknown) =>
              observer.error(
                error instanceof TRPCClientError
                  ? (error as ClientError)
                  : TRPCClientError.from<AppRouter>(
                      error instanceof Error ? error : new Error(String(error)),
                    ),
              ),
          );
        return () => undefined;
      });
}
