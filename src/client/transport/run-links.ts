import type { Operation, OperationLink, OperationResultObservable } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';

/** Runs an op through a list of initialised links, as tRPC's own (unexported) chain does. */
export function runLinks<TRouter extends AnyRouter>(
  links: OperationLink<TRouter>[],
  op: Operation,
): OperationResultObservable<TRouter, unknown> {
  const execute = (
    index: number,
    current: Operation,
  ): OperationResultObservable<TRouter, unknown> => {
    const link = links[index];
    if (!link) throw new Error('runLinks: the links need a terminating link');
    return link({ op: current, next: (nextOp) => execute(index + 1, nextOp) });
  };
  return execute(0, op);
}
