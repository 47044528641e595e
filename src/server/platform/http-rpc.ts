import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import type { ContextFactory } from './context.ts';
import {
  isObject,
  toTRPCError,
  type ErrorShape,
  type RequestUrl,
  type RouterAccess,
} from './trpc-internals.ts';

/**
 * Queries and mutations over HTTP, answered as tRPC's HTTP handler answers them (decision 0013)
 * but without its fetch adapter: tRPC's node adapter turns every request into a WHATWG
 * `Request` with an `AbortSignal`, and its answer into a `Response` and a stream, which cost
 * more than the rest of a signed-in query. The calls themselves go through the procedure's own
 * definition (`runProcedure` in trpc-internals.ts runs its validators and middleware as tRPC's
 * caller does, and the error formatter is the router's), so what a procedure does and answers
 * is as under tRPC's handler; only the framing is ours.
 *
 * It takes the requests the official `httpLink` and `httpBatchLink` send: GET for queries and
 * POST (a JSON body) for mutations, one call or a batch (`?batch=1`), to procedures that exist.
 * Anything else (a wrong method, an unknown procedure, input that is not JSON, a batch over the
 * limit, streaming `jsonl` answers, `connectionParams` in the URL, HEAD) is left to tRPC's own
 * handler, which answers it with its error: `handle` returns false before answering.
 */
export interface HttpRpc {
  /**
   * Answers the call if it is one of those it takes, and returns true; false leaves the request
   * untouched. `path` is the decoded procedure path (`a.b`, or `a.b,c.d` for a batch); `body` the
   * JSON body of a POST, already read.
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    url: RequestUrl,
    body: string | undefined,
  ): boolean;
}

/** What tRPC's handler sends with every JSON answer. */
const HEADERS = { 'content-type': 'application/json', vary: 'trpc-accept, accept' } as const;
/** The same, as the flat list `writeHead` takes without walking an object. */
const HEADER_LIST = Object.entries(HEADERS).flat();

interface Call {
  path: string;
  /** The call's input; throws when the request's input is not JSON (as tRPC, only if read). */
  input: () => unknown;
  /** The input if it was read and parsed, for error shapes (tRPC's `call.result()`). */
  parsed: () => unknown;
}

type Outcome = { ok: true; data: unknown } | { ok: false; error: TRPCError };

/**
 * The inputs of a request as tRPC reads them: parsed when a procedure first asks for its
 * input, and a parse failure is that call's BAD_REQUEST (procedures without input never ask).
 */
function lazyInputs(text: string | null) {
  let state: { ok: true; value: unknown } | { ok: false; error: TRPCError } | null = null;
  const read = () => {
    if (state === null) {
      try {
        // tRPC parses a POST body with `Request.json()`: an empty one fails too.
        state = { ok: true, value: text === null ? undefined : (JSON.parse(text) as unknown) };
      } catch (cause) {
        state = {
          ok: false,
          error: new TRPCError({
            code: 'BAD_REQUEST',
            message: cause instanceof Error ? cause.message : 'Invalid input',
            cause,
          }),
        };
      }
    }
    if (!state.ok) throw state.error;
    return state.value;
  };
  return { read, value: () => (state?.ok ? state.value : undefined) };
}

/** Whether the client asked for tRPC's streamed (`jsonl`) answers, as tRPC reads the headers. */
function wantsStream(req: IncomingMessage): boolean {
  const trpcAccept = req.headers['trpc-accept'];
  if (trpcAccept !== undefined) return trpcAccept === 'application/jsonl';
  const accept = req.headers.accept;
  return accept !== undefined && accept.split(',').some((t) => t.trim() === 'application/jsonl');
}

export function createHttpRpc(deps: {
  trpc: RouterAccess;
  contexts: Pick<ContextFactory, 'forRequest'>;
  maxBatchSize: number;
  /** Called for every failed call, as tRPC's handler calls its `onError`. */
  onError: (opts: {
    error: TRPCError;
    path: string;
    input: unknown;
    ctx: unknown;
    type: 'query' | 'mutation';
    req: IncomingMessage;
  }) => void;
}): HttpRpc {
  const { trpc, contexts } = deps;

  /** The calls of a request this path takes, or null to leave it to tRPC. */
  function callsOf(
    req: IncomingMessage,
    path: string,
    url: RequestUrl,
    body: string | undefined,
  ): { type: 'query' | 'mutation'; batch: boolean; calls: Call[] } | null {
    const type = req.method === 'GET' ? 'query' : req.method === 'POST' ? 'mutation' : null;
    if (type === null || wantsStream(req)) return null;
    const { searchParams } = url;
    if (searchParams.has('connectionParams')) return null;
    const batch = searchParams.get('batch') === '1';
    const paths = batch ? path.split(',') : [path];
    if (paths.length > deps.maxBatchSize) return null;
    // GET only for queries, POST only for mutations: anything else is tRPC's error to answer.
    if (paths.some((p) => trpc.procedureType(p) !== type)) return null;

    // A query's input is in the URL (absent or empty: none); a mutation's is its body (which
    // must be JSON, even empty, once a procedure reads it).
    if (type === 'mutation' && body === undefined) return null; // not a JSON body
    const inputs = lazyInputs(type === 'query' ? searchParams.get('input') || null : (body ?? ''));
    if (!batch) return { type, batch, calls: [{ path, input: inputs.read, parsed: inputs.value }] };
    // A batch's inputs are one object keyed by position; anything else is tRPC's error to give.
    let all: unknown;
    try {
      all = inputs.read();
    } catch {
      return null;
    }
    if (all !== undefined && !isObject(all)) return null;
    return {
      type,
      batch,
      calls: paths.map((p, i) => {
        const value = all === undefined ? undefined : all[String(i)];
        return { path: p, input: () => value, parsed: () => value };
      }),
    };
  }

  /** One call's outcome: its output, or the error it fails with (the context's, if that failed). */
  async function outcomeOf(
    req: IncomingMessage,
    type: 'query' | 'mutation',
    ctx: unknown,
    ctxError: TRPCError | null,
    { path, input, parsed }: Call,
    batchIndex: number,
  ): Promise<Outcome> {
    let error: TRPCError;
    if (ctxError) error = ctxError;
    else {
      try {
        const data = await trpc.call({ path, type, getInput: input, ctx, batchIndex });
        if (!trpc.streamLike(data)) return { ok: true, data };
        error = new TRPCError({
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message:
            'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink',
        });
      } catch (cause) {
        error = toTRPCError(cause);
      }
    }
    deps.onError({ error, path, input: parsed(), ctx, type, req });
    return { ok: false, error };
  }

  async function answer(
    req: IncomingMessage,
    res: ServerResponse,
    type: 'query' | 'mutation',
    batch: boolean,
    calls: Call[],
  ): Promise<void> {
    let ctx: unknown;
    let ctxError: TRPCError | null = null;
    try {
      ctx = await contexts.forRequest(req, {
        connectionParams: null,
        setCookie: (header) => res.appendHeader('Set-Cookie', header),
      });
    } catch (cause) {
      // As tRPC's handler: every call of the request fails with the context's error.
      ctxError = toTRPCError(cause);
    }
    const [only] = calls;
    const outcomes =
      calls.length === 1 && only
        ? [await outcomeOf(req, type, ctx, ctxError, only, 0)]
        : await Promise.all(calls.map((call, i) => outcomeOf(req, type, ctx, ctxError, call, i)));
    // One status for all the calls, else 207 (Multi-Status), as tRPC answers a batch.
    let status = 0;
    const bodies = outcomes.map((outcome, i) => {
      let body: object;
      let callStatus = 200;
      if (outcome.ok) body = { result: { data: outcome.data } };
      else {
        const call = calls[i];
        const shape: ErrorShape = trpc.errorShape(outcome.error, {
          type,
          path: call?.path,
          input: call?.parsed(),
          ctx,
        });
        callStatus = shape.data.httpStatus;
        body = { error: shape };
      }
      status = status === 0 || status === callStatus ? callStatus : 207;
      return body;
    });
    const json = JSON.stringify(batch ? bodies : bodies[0]);
    if (res.destroyed) return;
    res.writeHead(status || 200, [
      ...HEADER_LIST,
      'content-length',
      String(Buffer.byteLength(json)),
    ]);
    res.end(json);
  }

  return {
    handle(req, res, path, url, body) {
      const parsed = callsOf(req, path, url, body);
      if (parsed === null) return false;
      answer(req, res, parsed.type, parsed.batch, parsed.calls).catch((error: unknown) => {
        // Nothing above throws on purpose; if it did, the client still gets an answer.
        console.error('HTTP call failed', error);
        if (res.headersSent) return void res.destroy();
        const shape = trpc.errorShape(toTRPCError(error), { type: parsed.type });
        res.writeHead(shape.data.httpStatus, HEADERS);
        res.end(JSON.stringify({ error: shape }));
      });
      return true;
    },
  };
}
