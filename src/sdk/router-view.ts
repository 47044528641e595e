import type {
  AnyProcedure,
  AnyRouter,
  inferRouterError,
  TRPCBuiltRouter,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
  TRPCSubscriptionProcedure,
} from '@trpc/server';

type ProcedureView<P> =
  P extends TRPCQueryProcedure<infer D>
    ? TRPCQueryProcedure<{ input: D['input']; output: D['output']; meta: object }>
    : P extends TRPCMutationProcedure<infer D>
      ? TRPCMutationProcedure<{ input: D['input']; output: D['output']; meta: object }>
      : P extends TRPCSubscriptionProcedure<infer D>
        ? TRPCSubscriptionProcedure<{ input: D['input']; output: D['output']; meta: object }>
        : never;

type RecordView<R> = R extends object
  ? { [K in keyof R]: R[K] extends AnyProcedure ? ProcedureView<R[K]> : RecordView<R[K]> }
  : never;

/**
 * A router as its clients see it: each procedure's kind, input and output, and the error shape;
 * not the server's context or procedure meta, which clients never use and whose types live in
 * the server's code.
 *
 * Why: the client package's declarations must name nothing of the server's code, whose types
 * reach the database, Redis and HTTP (decision 0015). tsc writes an inferred type out in full in
 * the declarations it emits (`createPulseClient`'s return type), but keeps a type alias as a
 * reference to where it is declared; so each step here ends in a conditional type, which
 * resolves to its branch rather than its name, and writes each procedure's definition inline.
 */
export type RouterView<R extends AnyRouter> = R extends AnyRouter
  ? TRPCBuiltRouter<
      {
        ctx: object;
        meta: object;
        errorShape: inferRouterError<R>;
        transformer: R['_def']['_config']['$types']['transformer'];
      },
      RecordView<R['_def']['record']>
    >
  : never;
