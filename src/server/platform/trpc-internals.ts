import type { IncomingMessage } from 'node:http';
import {
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  isTrackedEnvelope,
  TRPCError,
  type AnyTRPCRouter,
} from '@trpc/server';
import { jsonEncoder } from '@trpc/server/adapters/ws';
import {
  parseConnectionParamsFromUnknown,
  parseTRPCMessage,
} from '@trpc/server/unstable-core-do-not-import';

/**
 * The one module that relies on tRPC's internals: undocumented exports (`getTRPCErrorShape`,
 * `getTRPCErrorFromUnknown`, `isTrackedEnvelope`, and from its unstable core the parsers of
 * WebSocket messages and connectionParams), the router's `_def` (procedure lookup, each
 * procedure's middlewares, which `runProcedure` runs as tRPC's caller does, and the definitions
 * the API contract is generated from), and the wire formats of tRPC's SSE and WebSocket
 * adapters, which our transports (sse.ts, ws.ts) write by hand so that tRPC's own links read
 * them. tests/unit/trpc-internals.test.ts pins each of these against tRPC itself, so an upgrade
 * that changes one fails there, in one place, rather than in a client in production.
 */

export type ProcedureType = 'query' | 'mutation' | 'subscription';

/** What the transports read of a request's URL: a WHATWG `URL` has it, and so does the router's lighter parse. */
export type RequestUrl = Pick<URL, 'pathname' | 'search' | 'searchParams'>;

/** What an error answer is about: a call of a procedure, or a message no procedure was found for. */
export interface CallFacts {
  type: ProcedureType | 'unknown';
  path?: string | undefined;
  input?: unknown;
  ctx?: unknown;
}

/** The JSON body tRPC answers an error with (our `errorFormatter` applied). */
export interface ErrorShape {
  message: string;
  code: number;
  data: { code: string; httpStatus: number; [key: string]: unknown };
}

/** What the transports ask of tRPC about one router. */
export interface RouterAccess {
  /** The type of the procedure at `path` (as the client names it, `a.b`), or null. */
  procedureType(path: string): ProcedureType | null;
  /**
   * Runs a subscription procedure as tRPC's adapters do (input parsed by the procedure's
   * validators, every middleware run: auth, scopes) and resolves to what its resolver returned.
   */
  subscribe(opts: {
    path: string;
    input: unknown;
    ctx: unknown;
    /**
     * The signal the procedure sees as `signal`, made only if it reads it: a function that makes
     * it (an idle subscription then holds no `AbortSignal`, ~0.75 KiB), or the signal itself.
     */
    signal?: LazySignal;
  }): Promise<unknown>;
  /**
   * Runs a query or mutation as tRPC's HTTP handler does (input parsed by the procedure's
   * validators, every middleware run) and resolves to its output, or rejects with its error.
   */
  call(opts: {
    path: string;
    type: 'query' | 'mutation';
    /** Read only by procedures that take input (tRPC reads inputs lazily); may throw. */
    getInput: () => unknown;
    ctx: unknown;
    batchIndex: number;
  }): Promise<unknown>;
  /** The error as tRPC's adapters would put it on the wire: the router's error formatter applied. */
  errorShape(error: TRPCError, call: CallFacts): ErrorShape;
  /** Whether tRPC's HTTP handler refuses `output` in a plain JSON answer (it is stream-like). */
  streamLike(output: unknown): boolean;
}

export function routerAccess(router: AnyTRPCRouter): RouterAccess {
  const procedures = router._def.procedures as Record<
    string,
    { _def: { type: ProcedureType } } | undefined
  >;
  const config = router._def._config;
  /** The procedure at `path` when it is of `type`, as tRPC's caller finds it; else null. */
  const procedureOf = (path: string, type: ProcedureType): RunnableProcedure | null => {
    const procedure = Object.hasOwn(procedures, path) ? procedures[path] : undefined;
    return procedure?._def.type === type ? (procedure as unknown as RunnableProcedure) : null;
  };
  const notFound = (type: ProcedureType, path: string) =>
    new TRPCError({ code: 'NOT_FOUND', message: `No "${type}"-procedure on path "${path}"` });
  return {
    procedureType: (path) =>
      Object.hasOwn(procedures, path) ? (procedures[path]?._def.type ?? null) : null,
    subscribe: ({ path, input, ctx, signal }) => {
      const procedure = procedureOf(path, 'subscription');
      if (!procedure) return Promise.reject(notFound('subscription', path));
      return runProcedure(procedure, {
        router,
        path,
        getRawInput: async () => input,
        ctx,
        type: 'subscription',
        signal,
        batchIndex: 0,
      });
    },
    call: ({ path, type, getInput, ctx, batchIndex }) => {
      const procedure = procedureOf(path, type);
      // As callTRPCProcedure answers it (callers check the type first; this is the guard).
      if (!procedure) return Promise.reject(notFound(type, path));
      return runProcedure(procedure, {
        router,
        path,
        getRawInput: async () => getInput(),
        ctx,
        type,
        signal: undefined,
        batchIndex,
      });
    },
    streamLike(output) {
      if (!isObject(output)) return false;
      if (isAsyncIterable(output)) return true;
      return Object.values(output).some((v) => isThenable(v) || isAsyncIterable(v));
    },
    errorShape: (error, call) =>
      getTRPCErrorShape({
        config,
        error,
        type: call.type,
        path: call.path,
        input: call.input,
        ctx: call.ctx,
      }) as ErrorShape,
  };
}

/** What a procedure is made of, as the API contract reads it. */
export interface ProcedureDefinition {
  /** Dotted path, as clients name it. */
  path: string;
  type: ProcedureType;
  /** Its input validators, in the order `.input()` added them (tRPC merges what they parse). */
  inputs: readonly unknown[];
  /** Its output validator, if it has one (subscriptions have none). */
  output: unknown;
  /** Its meta, as the builder and every `.meta()` call merged it. */
  meta: unknown;
}

/** Every procedure of a router with its definition, sorted by path. */
export function procedureDefinitions(router: AnyTRPCRouter): ProcedureDefinition[] {
  const procedures = router._def.procedures as Record<
    string,
    { _def: { type: ProcedureType; inputs: unknown[]; output?: unknown; meta?: unknown } }
  >;
  return Object.keys(procedures)
    .sort()
    .map((path) => {
      const { type, inputs, output, meta } = (procedures[path] as (typeof procedures)[string])._def;
      return { path, type, inputs, output, meta };
    });
}

/** Whether a value is an async iterable (a stream-like output tRPC refuses in a plain answer). */
export const isAsyncIterable = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Symbol.asyncIterator in v;
const isThenable = (v: unknown): boolean =>
  ((typeof v === 'object' && v !== null && !Array.isArray(v)) || typeof v === 'function') &&
  typeof (v as { then?: unknown }).then === 'function' &&
  typeof (v as { catch?: unknown }).catch === 'function';

/** What a middleware answers (tRPC's `MiddlewareResult`, as far as the runner reads it). */
type MiddlewareResult =
  | { ok: true; data: unknown; marker?: string; ctx?: unknown }
  | { ok: false; error: TRPCError; marker?: string };
type Middleware = ((opts: Record<string, unknown>) => Promise<MiddlewareResult | undefined>) & {
  /** tRPC marks the validators it makes for `.input()` and `.output()`. */
  _type?: string;
};
/** A procedure's definition as tRPC builds it: its middlewares, the resolver last. */
interface RunnableProcedure {
  _def: { middlewares: Middleware[]; meta: unknown; inputs: unknown[]; output?: unknown };
}
interface CallOptions {
  router: AnyTRPCRouter;
  path: string;
  getRawInput: () => Promise<unknown>;
  ctx: unknown;
  type: ProcedureType;
  signal: LazySignal | undefined;
  batchIndex: number;
  input?: unknown;
}

/** An `AbortSignal`, or a function that makes it the first time a procedure reads `signal`. */
export type LazySignal = AbortSignal | (() => AbortSignal);

/** A middleware's options get `signal` made on first read when it is lazy (`opts` has it undefined). */
function withSignal<T extends { signal: AbortSignal | undefined }>(
  opts: T,
  signal: LazySignal | undefined,
): T {
  if (typeof signal !== 'function') return opts;
  return Object.defineProperty(opts, 'signal', { get: signal, enumerable: true });
}

/**
 * A context with `extra` merged in, as tRPC merges what a middleware passes to `next`; when that
 * changes nothing (the auth middleware passes on the user and credential it checked, to narrow
 * their types), the same context object is passed on. Nothing in Pulse mutates a context.
 */
function withContext(ctx: unknown, extra: object): unknown {
  const base = ctx as Record<string, unknown>;
  const added = extra as Record<string, unknown>;
  for (const key in added) {
    if (base[key] !== added[key]) return { ...base, ...extra };
  }
  return ctx;
}

type Parse = (value: unknown) => unknown;
interface Schemaish {
  parse?: (value: unknown) => unknown;
  parseAsync?: (value: unknown) => Promise<unknown>;
  '~standard'?: { vendor?: string };
}

/**
 * How a validator parses, as tRPC's `getParseFn` picks it, except that a zod schema parses
 * synchronously first (its `parseAsync` costs a chain of promises per call) and asynchronously
 * only when it must (an async refinement, which zod reports by throwing `$ZodAsyncError`).
 * Anything but a zod schema is left to tRPC's own validator middleware.
 */
function zodParse(schema: unknown): Parse | null {
  const s = schema as Schemaish;
  if (s['~standard']?.vendor !== 'zod' || !s.parse || !s.parseAsync) return null;
  const parse = s.parse.bind(s);
  const parseAsync = s.parseAsync.bind(s);
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      if ((error as Error | null)?.constructor?.name === '$ZodAsyncError') return parseAsync(value);
      throw error;
    }
  };
}

/** A plain object (not null, not an array), as tRPC's `isObject` tests. */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One step of a procedure: a validator run natively, or a middleware (the resolver last). */
type Step =
  | { kind: 'input'; parse: Parse }
  | { kind: 'output'; parse: Parse }
  | { kind: 'middleware'; middleware: Middleware };

const stepsByProcedure = new WeakMap<RunnableProcedure, Step[]>();

/**
 * A procedure's middlewares as steps: tRPC's validator middlewares for zod schemas become native
 * steps (the k-th input validator parses with `inputs[k]`, the output validator with `output`),
 * which do what tRPC's do without its spread helper or `parseAsync`.
 */
function stepsOf(procedure: RunnableProcedure): Step[] {
  let steps = stepsByProcedure.get(procedure);
  if (steps) return steps;
  const { middlewares, inputs, output } = procedure._def;
  let nextInput = 0;
  steps = middlewares.map((middleware): Step => {
    if (middleware._type === 'input') {
      const parse = zodParse(inputs[nextInput++]);
      if (parse) return { kind: 'input', parse };
    } else if (middleware._type === 'output') {
      const parse = zodParse(output);
      if (parse) return { kind: 'output', parse };
    }
    return { kind: 'middleware', middleware };
  });
  // Validators tRPC made but that do not line up with their schemas: run tRPC's own, all of them.
  if (nextInput !== inputs.length)
    steps = middlewares.map((middleware) => ({ kind: 'middleware', middleware }));
  stepsByProcedure.set(procedure, steps);
  return steps;
}

/**
 * Runs a procedure's middlewares and resolver as tRPC's procedure caller does (each middleware
 * gets the call's options with `meta`, `input` and `next`; `next` may replace the context
 * (merged), the input or the raw input; a throw becomes a failed result; a failed result
 * rejects with its error), with native object spreads: tRPC's build copies the options at every
 * middleware with a helper that costs more than the rest of a small query. Zod validators run as
 * tRPC's validator middlewares do: bad input is BAD_REQUEST, bad output INTERNAL_SERVER_ERROR,
 * both caused by zod's error; an object input merges into the input before it. Pinned against
 * `callTRPCProcedure` in tests/unit/trpc-internals.test.ts.
 */
async function runProcedure(procedure: RunnableProcedure, opts: CallOptions): Promise<unknown> {
  const { meta } = procedure._def;
  const steps = stepsOf(procedure);
  const run = async (index: number, at: CallOptions): Promise<MiddlewareResult | undefined> => {
    try {
      const step = steps[index];
      if (!step) return undefined;
      if (step.kind === 'input') {
        let parsed: unknown;
        try {
          parsed = await step.parse(await at.getRawInput());
        } catch (cause) {
          throw new TRPCError({ code: 'BAD_REQUEST', cause });
        }
        const input = isObject(at.input) && isObject(parsed) ? { ...at.input, ...parsed } : parsed;
        return await run(index + 1, { ...at, input });
      }
      if (step.kind === 'output') {
        const result = await run(index + 1, at);
        if (!result?.ok) return result;
        try {
          return { ...result, data: await step.parse(result.data) };
        } catch (cause) {
          throw new TRPCError({
            message: 'Output validation failed',
            code: 'INTERNAL_SERVER_ERROR',
            cause,
          });
        }
      }
      // Object literals of one fixed shape rather than spreads: this runs several times per call.
      const middlewareOpts = {
        router: at.router,
        path: at.path,
        getRawInput: at.getRawInput,
        ctx: at.ctx,
        type: at.type,
        signal: typeof at.signal === 'function' ? undefined : at.signal,
        batchIndex: at.batchIndex,
        meta,
        input: at.input,
        next(nextOpts?: { ctx?: object; input?: unknown; getRawInput?: () => Promise<unknown> }) {
          return run(index + 1, {
            router: at.router,
            path: at.path,
            getRawInput: nextOpts?.getRawInput ?? at.getRawInput,
            ctx: nextOpts?.ctx ? withContext(at.ctx, nextOpts.ctx) : at.ctx,
            type: at.type,
            signal: at.signal,
            batchIndex: at.batchIndex,
            input: nextOpts && 'input' in nextOpts ? nextOpts.input : at.input,
          });
        },
      };
      return await step.middleware(withSignal(middlewareOpts, at.signal));
    } catch (cause) {
      return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: 'middlewareMarker' };
    }
  };
  const result = await run(0, opts);
  if (!result) {
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'No result from middlewares - did you forget to `return next()`?',
    });
  }
  if (!result.ok) throw result.error;
  return result.data;
}

/** Any thrown value as the TRPCError tRPC would answer with (INTERNAL_SERVER_ERROR for the unknown). */
export const toTRPCError = (cause: unknown): TRPCError => getTRPCErrorFromUnknown(cause);

/** A value a subscription yielded, as tRPC's adapters split it: `tracked(id, data)` or plain data. */
export function untracked(value: unknown): { id: string | null; data: unknown } {
  return isTrackedEnvelope(value) ? { id: value[0], data: value[1] } : { id: null, data: value };
}

/** A subscription's input with the client's last event id, merged as tRPC's adapters merge it. */
export function withLastEventId(input: unknown, lastEventId: unknown): unknown {
  if (typeof lastEventId !== 'string') return input;
  return typeof input === 'object' && input !== null && !Array.isArray(input)
    ? { ...input, lastEventId }
    : (input ?? { lastEventId });
}

/**
 * The last event id an SSE request resumes from, with tRPC's precedence: a reconnecting
 * EventSource's header, then the query's `lastEventId`, then `Last-Event-Id`. Empty is none.
 */
export function sseLastEventId(req: IncomingMessage, url: RequestUrl): string | undefined {
  const id =
    req.headers['last-event-id'] ??
    url.searchParams.get('lastEventId') ??
    url.searchParams.get('Last-Event-Id');
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Frames of tRPC's SSE wire format, as `httpSubscriptionLink` reads them. */
export const sseWire = {
  /** First, with how long the client waits without a byte before it reconnects. */
  connected: (reconnectAfterInactivityMs: number) =>
    `event: connected\ndata: ${JSON.stringify({ reconnectAfterInactivityMs })}\n\n`,
  /** One event; `id` is the `tracked()` id (the client resumes from it), null for plain values. */
  data: (id: string | null, json: string) =>
    id === null ? `data: ${json}\n\n` : `id: ${id}\ndata: ${json}\n\n`,
  ping: 'event: ping\ndata: \n\n',
  /** The subscription finished; the client does not reconnect. */
  return: 'event: return\ndata: \n\n',
  /** The subscription failed; the client rejects with this shape (and does not reconnect). */
  error: (shape: ErrorShape) => `event: serialized-error\ndata: ${JSON.stringify(shape)}\n\n`,
} as const;

export type RequestId = number | string;

/** Frames of tRPC's WebSocket wire format (JSON-RPC-like), as `wsLink` reads them. */
export const wsWire = {
  /** The start of every answer to request `id`: `{"id":…` (and `"jsonrpc":"2.0"` when it was sent). */
  head: (id: RequestId | null, jsonrpc?: string) =>
    `{"id":${JSON.stringify(id)}${jsonrpc ? ',"jsonrpc":"2.0"' : ''}`,
  /** What follows the head for one event; `id` is the `tracked()` id, null for plain values. */
  dataTail: (id: string | null, json: string) =>
    id === null
      ? `,"result":{"type":"data","data":${json}}}`
      : `,"result":{"type":"data","id":${JSON.stringify(id)},"data":{"id":${JSON.stringify(id)},"data":${json}}}}`,
  /** What follows the head for a query's or mutation's output (`undefined`: none, as tRPC omits it). */
  resultTail: (output: unknown) =>
    output === undefined
      ? ',"result":{"type":"data"}}'
      : `,"result":{"type":"data","data":${JSON.stringify(output)}}}`,
  startedTail: ',"result":{"type":"started"}}',
  stoppedTail: ',"result":{"type":"stopped"}}',
  errorTail: (shape: ErrorShape) => `,"error":${JSON.stringify(shape)}}`,
  /** An error about no request in particular (an empty batch, say). */
  unaddressedError: (shape: ErrorShape) => `{"id":null,"error":${JSON.stringify(shape)}}`,
  /** Asks every client to reconnect (sent before a restart). */
  reconnect: JSON.stringify({ id: null, method: 'reconnect' }),
} as const;

/** A client message of tRPC's WebSocket protocol, as tRPC's adapter reads it. */
export interface WsCall {
  /** null is readable, and answered with an error of its own (tRPC requires an id). */
  id: RequestId | null;
  /** Answers carry `"jsonrpc":"2.0"` when the request named a version. */
  jsonrpc: '2.0' | undefined;
  method: ProcedureType | 'subscription.stop';
  /** The procedure's path ('' for `subscription.stop`). */
  path: string;
  /** The input with `lastEventId` merged in, as tRPC's adapter merges it. */
  input: unknown;
  /** The input as sent. */
  rawInput: unknown;
}

/**
 * Reads a message of a socket's frame with tRPC's own parser, for `router`'s transformer: what
 * it throws for a message that is not a call (no object, a bad id, method, path or lastEventId)
 * is what tRPC answers the whole frame with, a PARSE_ERROR.
 */
export function wsCallReader(router: AnyTRPCRouter): (message: unknown) => WsCall {
  const transformer = router._def._config.transformer;
  return (message) => {
    const call = parseTRPCMessage(message, transformer);
    if (call.method === 'subscription.stop') {
      const { id, jsonrpc, method } = call;
      return { id, jsonrpc, method, path: '', input: undefined, rawInput: undefined };
    }
    const { input, path, lastEventId } = call.params;
    return {
      id: call.id,
      jsonrpc: call.jsonrpc,
      method: call.method,
      path,
      input: withLastEventId(input, lastEventId),
      rawInput: input,
    };
  };
}

/**
 * The `connectionParams` of a socket's first message (when its URL announced them), read as
 * tRPC's adapter reads them: an object whose `data` is null or an object of strings. Anything
 * else throws the PARSE_ERROR tRPC answers it with (before it closes the socket).
 */
export function wsConnectionParams(message: unknown): Record<string, string | undefined> | null {
  if (!isObject(message)) {
    throw new TRPCError({
      code: 'PARSE_ERROR',
      message: 'Malformed TRPCConnectionParamsMessage',
      cause: new Error('Message was not an object'),
    });
  }
  return parseConnectionParamsFromUnknown(message['data']);
}

/** A binary frame, refused as tRPC's JSON encoder refuses it (with tRPC's words). */
export function binaryFrameError(data: Buffer): TRPCError {
  try {
    jsonEncoder.decode(data);
  } catch (cause) {
    return new TRPCError({ code: 'PARSE_ERROR', cause });
  }
  return new TRPCError({ code: 'PARSE_ERROR' });
}
