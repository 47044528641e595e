import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { callTRPCProcedure, TRPCError, tracked } from '@trpc/server';
import { applyWSSHandler, getWSConnectionHandler } from '@trpc/server/adapters/ws';
import { sseStreamProducer } from '@trpc/server/unstable-core-do-not-import';
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Context } from '../../src/server/platform/context.ts';
import { publicProcedure, router } from '../../src/server/platform/trpc.ts';
import {
  routerAccess,
  sseLastEventId,
  sseWire,
  procedureDefinitions,
  toTRPCError,
  untracked,
  withLastEventId,
  wsCallReader,
  wsConnectionParams,
  wsWire,
  type ErrorShape,
} from '../../src/server/platform/trpc-internals.ts';

/**
 * Pins what platform/trpc-internals.ts assumes of tRPC, against tRPC itself: an upgrade that
 * changes a wire format, an error shape or an internal export fails here first.
 */

const seenInputs: unknown[] = [];
const testRouter = router({
  feed: {
    values: publicProcedure
      .input(z.object({ from: z.number(), lastEventId: z.string().optional() }))
      .subscription(async function* ({ input }) {
        seenInputs.push(input);
        yield tracked('1', { n: input.from });
        yield { plain: true };
      }),
    anything: publicProcedure.input(z.unknown()).subscription(async function* ({ input }) {
      seenInputs.push(input);
      yield 1;
    }),
    fails: publicProcedure.subscription(async function* () {
      yield 1;
      throw new TRPCError({ code: 'FORBIDDEN', message: 'Not yours' });
    }),
    // Reads the signal it is given, as a generic subscription stops on it.
    untilAborted: publicProcedure.subscription(async function* ({ signal }) {
      yield signal?.aborted ?? 'no signal';
      if (!signal?.aborted)
        await new Promise((resolve) => signal?.addEventListener('abort', resolve));
      yield signal?.aborted ? 'aborted' : 'not aborted';
    }),
  },
  hello: publicProcedure.query(() => 'hi'),
  nothing: publicProcedure.query(() => undefined),
  echo: publicProcedure.input(z.object({ n: z.number() })).query(({ input }) => input),
  save: publicProcedure.mutation(() => 'saved'),
  // What the middleware runner must do as tRPC's procedure caller does.
  layered: publicProcedure
    .meta({ scope: 'read' })
    .use(({ ctx, next }) => next({ ctx: { ...ctx, layer: 1 } }))
    .input(z.object({ n: z.number() }))
    .use(({ ctx, input, meta, next }) =>
      next({
        ctx: {
          layer: 2,
          seen: `${String(meta?.scope)}:${input.n}:${(ctx as { layer?: number }).layer}`,
        },
      }),
    )
    .input(z.object({ m: z.string().optional() }))
    .output(z.object({ n: z.number(), m: z.string(), seen: z.string(), layer: z.number() }))
    .query(({ ctx, input }) => ({
      n: input.n,
      m: input.m ?? 'none',
      seen: (ctx as unknown as { seen: string }).seen,
      layer: (ctx as unknown as { layer: number }).layer,
    })),
  badOutput: publicProcedure.output(z.object({ n: z.number() })).query(() => ({ n: 'x' }) as never),
  // Zod parses these only asynchronously: our runner must fall back to parseAsync, as tRPC uses.
  asyncChecked: publicProcedure
    .input(z.object({ n: z.number().refine(async (n) => n > 0, 'positive') }))
    .output(z.object({ n: z.number().refine(async (n) => n < 10, 'small') }))
    .query(({ input }) => input),
  refuses: publicProcedure
    .use(() => {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'No' });
    })
    .query(() => 'never'),
  fails: publicProcedure.query(() => {
    throw new Error('boom');
  }),
  recovers: publicProcedure
    .use(async ({ next }) => {
      const result = await next();
      return result.ok ? result : next({ getRawInput: async () => ({ retried: true }) });
    })
    .input(z.object({ retried: z.boolean().optional() }).optional())
    .query(({ input }) => {
      if (!input?.retried) throw new TRPCError({ code: 'CONFLICT', message: 'again' });
      return 'second time';
    }),
});
const trpc = routerAccess(testRouter);
/** What publicProcedure reads of a context. */
const ctx = { originAllowed: true } as unknown as Context;

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

describe('procedure lookup and calls', () => {
  it('finds procedures by their dotted path, and nothing else', () => {
    expect(trpc.procedureType('feed.values')).toBe('subscription');
    expect(trpc.procedureType('hello')).toBe('query');
    expect(trpc.procedureType('save')).toBe('mutation');
    expect(trpc.procedureType('feed')).toBeNull();
    expect(trpc.procedureType('nope.values')).toBeNull();
    expect(trpc.procedureType('constructor')).toBeNull();
    expect(trpc.procedureType('__proto__')).toBeNull();
  });

  it('runs a subscription with its input parsed by the procedure, and returns what the resolver returned', async () => {
    const result = await trpc.subscribe({ path: 'feed.values', input: { from: 3 }, ctx });
    expect(await collect(result as AsyncIterable<unknown>)).toEqual([
      tracked('1', { n: 3 }),
      { plain: true },
    ]);
  });

  it('makes a lazy signal only for a procedure that reads it, and that one sees it abort', async () => {
    let made = 0;
    const controller = new AbortController();
    const signal = () => {
      made += 1;
      return controller.signal;
    };
    await trpc.subscribe({ path: 'feed.values', input: { from: 1 }, ctx, signal });
    expect(made).toBe(0);
    const result = await trpc.subscribe({
      path: 'feed.untilAborted',
      input: undefined,
      ctx,
      signal,
    });
    const values = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    expect((await values.next()).value).toBe(false);
    expect(made).toBeGreaterThan(0);
    controller.abort();
    expect((await values.next()).value).toBe('aborted');
  });

  it('refuses bad input with BAD_REQUEST caused by zod, shaped by our error formatter with the issues', async () => {
    const failure = await trpc.subscribe({ path: 'feed.values', input: { from: 'x' }, ctx }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(TRPCError);
    const error = failure as TRPCError;
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.cause).toBeInstanceOf(z.ZodError);
    const shape = trpc.errorShape(error, {
      type: 'subscription',
      path: 'feed.values',
      input: { from: 'x' },
      ctx,
    });
    expect(shape.code).toBe(-32600);
    expect(shape.message).toMatch(/^Invalid input: /);
    expect(shape.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, path: 'feed.values' });
    expect(shape.data['issues']).toEqual([
      expect.objectContaining({ path: ['from'], code: 'invalid_type' }),
    ]);
    expect(shape.data).not.toHaveProperty('stack');
  });

  it('answers an unknown path as NOT_FOUND, and shapes errors of no procedure with issues null', async () => {
    const error = toTRPCError(
      await trpc.subscribe({ path: 'hello', input: undefined, ctx }).catch((e: unknown) => e),
    );
    expect(error.code).toBe('NOT_FOUND');
    const shape = trpc.errorShape(
      new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: 'Too big' }),
      { type: 'unknown' },
    );
    expect(shape).toEqual({
      message: 'Too big',
      code: -32013,
      data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413, issues: null },
    });
  });

  it('lists every procedure by path with the validators and merged meta tRPC built it from', () => {
    const definitions = procedureDefinitions(testRouter);
    expect(definitions.map((d) => d.path)).toEqual(Object.keys(testRouter._def.procedures).sort());
    const layered = definitions.find((d) => d.path === 'layered');
    expect(layered).toMatchObject({
      path: 'layered',
      type: 'query',
      inputs: testRouter._def.procedures.layered._def.inputs,
      // The builder's meta, merged with the procedure's own.
      meta: { access: 'public', scope: 'read' },
    });
    expect(layered?.inputs).toHaveLength(2);
    expect(Object.keys((layered?.output as z.ZodObject).shape)).toEqual([
      'n',
      'm',
      'seen',
      'layer',
    ]);
    expect(definitions.find((d) => d.path === 'feed.values')).toMatchObject({
      type: 'subscription',
      output: undefined,
    });
  });

  it('turns anything thrown into a TRPCError, keeping those that are', () => {
    const known = new TRPCError({ code: 'FORBIDDEN' });
    expect(toTRPCError(known)).toBe(known);
    expect(toTRPCError(new Error('boom'))).toMatchObject({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'boom',
    });
  });
});

describe('tracked envelopes and last event ids', () => {
  it('splits tracked() values into id and data, and leaves plain values whole', () => {
    expect(untracked(tracked('42', { a: 1 }))).toEqual({ id: '42', data: { a: 1 } });
    expect(untracked({ a: 1 })).toEqual({ id: null, data: { a: 1 } });
    expect(untracked(['1', 2])).toEqual({ id: null, data: ['1', 2] });
  });

  it('merges lastEventId into the input as tRPC does', () => {
    expect(withLastEventId({ from: 1 }, '7')).toEqual({ from: 1, lastEventId: '7' });
    expect(withLastEventId(undefined, '7')).toEqual({ lastEventId: '7' });
    expect(withLastEventId(5, '7')).toBe(5);
    expect(withLastEventId({ from: 1 }, undefined)).toEqual({ from: 1 });
  });

  it("takes SSE's last event id from the header first, then the query, ignoring empty ones", () => {
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
    const url = new URL('http://x/trpc/a?lastEventId=q1&Last-Event-Id=q2');
    expect(sseLastEventId(req({ 'last-event-id': 'h' }), url)).toBe('h');
    expect(sseLastEventId(req({}), url)).toBe('q1');
    expect(sseLastEventId(req({}), new URL('http://x/trpc/a?Last-Event-Id=q2'))).toBe('q2');
    expect(sseLastEventId(req({}), new URL('http://x/trpc/a?lastEventId='))).toBeUndefined();
  });
});

/** An event stream as EventSource sees it: each event's type, data and id (`retry` aside). */
function parseSse(text: string): Record<string, string>[] {
  const events: Record<string, string>[] = [];
  let current: Record<string, string> | null = null;
  for (const line of text.split('\n')) {
    if (line === '') {
      if (current) events.push(current);
      current = null;
      continue;
    }
    const colon = line.indexOf(':');
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, '');
    if (field === 'retry') continue;
    current ??= {};
    current[field] =
      field === 'data' && current['data'] !== undefined ? `${current['data']}\n${value}` : value;
  }
  return events;
}

/** What tRPC's own SSE producer writes for `data`; `onText` sees the text as it grows. */
async function trpcSse(
  data: AsyncIterable<unknown>,
  opts: { pingMs?: number; onText?: (text: string) => void } = {},
): Promise<string> {
  const stream = sseStreamProducer({
    data,
    client: { reconnectAfterInactivityMs: 3000 },
    ping: { enabled: opts.pingMs !== undefined, intervalMs: opts.pingMs ?? 1000 },
    formatError: ({ error }) =>
      trpc.errorShape(toTRPCError(error), { type: 'subscription', path: 'feed.fails' }),
  });
  let text = '';
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    text += Buffer.from(chunk).toString('utf8');
    opts.onText?.(text);
  }
  return text;
}

describe("tRPC's SSE wire format", () => {
  it('frames connected, tracked and plain events and return as tRPC does', async () => {
    async function* values() {
      yield tracked('1', { n: 1 });
      yield { plain: true };
    }
    const ours =
      sseWire.connected(3000) +
      sseWire.data('1', JSON.stringify({ n: 1 })) +
      sseWire.data(null, JSON.stringify({ plain: true })) +
      sseWire.return;
    expect(parseSse(ours)).toEqual(parseSse(await trpcSse(values())));
  });

  it('frames an error as serialized-error with the error shape', async () => {
    async function* failing() {
      yield 1;
      throw new TRPCError({ code: 'FORBIDDEN', message: 'Not yours' });
    }
    const shape = trpc.errorShape(new TRPCError({ code: 'FORBIDDEN', message: 'Not yours' }), {
      type: 'subscription',
      path: 'feed.fails',
    });
    const ours = sseWire.connected(3000) + sseWire.data(null, '1') + sseWire.error(shape);
    expect(parseSse(ours)).toEqual(parseSse(await trpcSse(failing())));
  });

  it('frames a ping as tRPC does', async () => {
    let ended: () => void = () => undefined;
    const end = new Promise<void>((resolve) => (ended = resolve));
    async function* quiet() {
      await end;
      yield* [];
    }
    // The producer pings while the iterable is quiet; once a ping went out, the iterable ends.
    const text = await trpcSse(quiet(), {
      pingMs: 1,
      onText: (t) => t.includes('ping') && ended(),
    });
    expect(parseSse(text)).toContainEqual(parseSse(sseWire.ping)[0]);
  });
});

/** A `ws` socket as tRPC's adapter uses it: messages in, frames out. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  sent: string[] = [];
  private waiters: (() => void)[] = [];
  send(data: string | Uint8Array) {
    this.sent.push(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
    for (const wake of this.waiters.splice(0)) wake();
  }
  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit('close');
  }
  terminate() {
    this.close();
  }
  message(value: unknown, binary = false) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    this.emit('message', Buffer.from(text), binary);
  }
  /** Resolves once at least `count` frames went out. */
  async sends(count: number): Promise<string[]> {
    while (this.sent.length < count)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.sent;
  }
  /** Resolves with the parsed frames once there are at least `count`. */
  async frames(count: number): Promise<unknown[]> {
    return (await this.sends(count)).map((frame) => JSON.parse(frame) as unknown);
  }
}

const fakeReq = (url = '/trpc') =>
  ({ url, headers: { host: 'pulse.test' }, socket: {} }) as unknown as IncomingMessage;
const fakeWss = () => Object.assign(new EventEmitter(), { clients: new Set<FakeSocket>() });
const asWs = (socket: FakeSocket) => socket as unknown as WebSocket;

/** tRPC's own adapter on a fake socket. */
function trpcSocket(url?: string) {
  const socket = new FakeSocket();
  getWSConnectionHandler({
    router: testRouter,
    wss: fakeWss(),
    createContext: () => ctx,
  })(asWs(socket), fakeReq(url));
  return socket;
}

describe("tRPC's WebSocket wire format", () => {
  it('answers a tracked subscription with started, data frames and stopped, as our frames say', async () => {
    seenInputs.length = 0;
    const socket = trpcSocket();
    socket.message({
      id: 1,
      jsonrpc: '2.0',
      method: 'subscription',
      params: { path: 'feed.values', input: { from: 1 }, lastEventId: '0' },
    });
    const head = wsWire.head(1, '2.0');
    const ours = [
      head + wsWire.startedTail,
      head + wsWire.dataTail('1', JSON.stringify({ n: 1 })),
      head + wsWire.dataTail(null, JSON.stringify({ plain: true })),
      head + wsWire.stoppedTail,
    ].map((frame) => JSON.parse(frame) as unknown);
    expect(await socket.frames(4)).toEqual(ours);
    // The input the procedure saw: lastEventId merged as withLastEventId merges it.
    expect(seenInputs).toEqual([withLastEventId({ from: 1 }, '0')]);
  });

  it('merges lastEventId into non-object inputs as withLastEventId does', async () => {
    seenInputs.length = 0;
    const socket = trpcSocket();
    socket.message([
      { id: 'a', method: 'subscription', params: { path: 'feed.anything', lastEventId: 'x' } },
      {
        id: 'b',
        method: 'subscription',
        params: { path: 'feed.anything', input: 5, lastEventId: 'x' },
      },
    ]);
    await socket.frames(6);
    expect(seenInputs).toEqual([withLastEventId(undefined, 'x'), withLastEventId(5, 'x')]);
  });

  it('answers an error with the error shape after the id, as our frames say', async () => {
    const socket = trpcSocket();
    socket.message({
      id: 'e',
      method: 'subscription',
      params: { path: 'feed.values', input: { from: 'x' } },
    });
    const [frame] = (await socket.frames(1)) as { error: ErrorShape }[];
    const error = new TRPCError({ code: 'BAD_REQUEST', message: frame?.error.message ?? '' });
    const ours =
      wsWire.head('e') +
      wsWire.errorTail(trpc.errorShape(error, { type: 'subscription', path: 'feed.values' }));
    expect(frame).toMatchObject({
      id: 'e',
      error: { code: -32600, data: { code: 'BAD_REQUEST', httpStatus: 400 } },
    });
    expect(Object.keys(frame ?? {})).toEqual(Object.keys(JSON.parse(ours) as object));
  });

  it('answers queries and mutations with their output, or none, as our result frames say', async () => {
    const socket = trpcSocket();
    socket.message([
      { id: 1, method: 'query', params: { path: 'hello' } },
      { id: 2, jsonrpc: '2.0', method: 'mutation', params: { path: 'save' } },
      { id: 3, method: 'query', params: { path: 'nothing' } },
    ]);
    const byId = new Map(
      ((await socket.frames(3)) as { id: number }[]).map((frame) => [frame.id, frame]),
    );
    expect(byId.get(1)).toEqual(JSON.parse(wsWire.head(1) + wsWire.resultTail('hi')));
    expect(byId.get(2)).toEqual(JSON.parse(wsWire.head(2, '2.0') + wsWire.resultTail('saved')));
    expect(byId.get(3)).toEqual(JSON.parse(wsWire.head(3) + wsWire.resultTail(undefined)));
  });

  it('runs a query with its input parsed, and refuses bad input as a call does', async () => {
    expect(
      await trpc.call({
        path: 'echo',
        type: 'query',
        getInput: () => ({ n: 2 }),
        ctx,
        batchIndex: 0,
      }),
    ).toEqual({ n: 2 });
    const refused = await trpc
      .call({ path: 'echo', type: 'query', getInput: () => ({ n: 'x' }), ctx, batchIndex: 0 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCError);
    expect((refused as TRPCError).code).toBe('BAD_REQUEST');
    // Input is read only by procedures that take some.
    expect(
      await trpc.call({
        path: 'hello',
        type: 'query',
        getInput: () => {
          throw new Error('not read');
        },
        ctx,
        batchIndex: 0,
      }),
    ).toBe('hi');
  });

  it('runs procedures through their middlewares as callTRPCProcedure does, results and errors', async () => {
    const cases: { path: string; input: unknown }[] = [
      { path: 'layered', input: { n: 3, m: 'x' } },
      { path: 'layered', input: { n: 3 } },
      { path: 'layered', input: { n: 'three' } },
      { path: 'layered', input: undefined },
      { path: 'badOutput', input: undefined },
      { path: 'asyncChecked', input: { n: 3 } },
      { path: 'asyncChecked', input: { n: -3 } },
      { path: 'asyncChecked', input: { n: 30 } },
      { path: 'refuses', input: undefined },
      { path: 'fails', input: undefined },
      { path: 'recovers', input: undefined },
      { path: 'echo', input: { n: 1 } },
      { path: 'hello', input: 'ignored' },
    ];
    const outcome = (p: Promise<unknown>) =>
      p.then(
        (data) => ({ data }),
        (error: unknown) => {
          const e = error as TRPCError;
          return { code: e.code, message: e.message, cause: e.cause?.constructor.name };
        },
      );
    const ours = (path: string, input: unknown) =>
      outcome(trpc.call({ path, type: 'query', getInput: () => input, ctx, batchIndex: 0 }));
    const theirs = (path: string, input: unknown) =>
      outcome(
        callTRPCProcedure({
          router: testRouter,
          path,
          getRawInput: async () => input,
          ctx,
          type: 'query',
          signal: undefined,
          batchIndex: 0,
        }),
      );
    for (const { path, input } of cases) {
      expect(await ours(path, input), path).toEqual(await theirs(path, input));
    }
    expect(await ours('layered', { n: 3 })).toEqual({
      data: { n: 3, m: 'none', seen: 'read:3:1', layer: 2 },
    });
    expect(await ours('recovers', undefined)).toEqual({ data: 'second time' });
    expect(await ours('asyncChecked', { n: 3 })).toEqual({ data: { n: 3 } });
    expect(await ours('asyncChecked', { n: -3 })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await ours('asyncChecked', { n: 30 })).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    // A procedure of another type, or none: NOT_FOUND, as tRPC answers it.
    for (const path of ['save', 'nothing.here']) {
      expect(await ours(path, undefined), path).toEqual(await theirs(path, undefined));
    }
  });

  it('answers what concerns no request with id null, as our unaddressed frames say', async () => {
    const socket = trpcSocket();
    socket.message('not json');
    const [frame] = await socket.frames(1);
    const ours: unknown = JSON.parse(
      wsWire.unaddressedError(
        trpc.errorShape(new TRPCError({ code: 'PARSE_ERROR' }), { type: 'unknown' }),
      ),
    );
    expect(frame).toMatchObject({ id: null, error: { data: { code: 'PARSE_ERROR' } } });
    expect(Object.keys(frame as object)).toEqual(Object.keys(ours as object));
  });

  it('asks clients to reconnect with the message our transport broadcasts', () => {
    const socket = new FakeSocket();
    const wss = fakeWss();
    wss.clients.add(socket);
    applyWSSHandler({
      router: testRouter,
      wss,
      createContext: () => ctx,
    }).broadcastReconnectNotification();
    expect(socket.sent).toEqual([wsWire.reconnect]);
  });

  it("reads calls and connectionParams with tRPC's parsers, refusing what tRPC refuses", () => {
    const read = wsCallReader(testRouter);
    expect(
      read({
        id: 3,
        jsonrpc: '2.0',
        method: 'subscription',
        params: { path: 'a.b', input: { x: 1 }, lastEventId: 'e' },
      }),
    ).toEqual({
      id: 3,
      jsonrpc: '2.0',
      method: 'subscription',
      path: 'a.b',
      input: { x: 1, lastEventId: 'e' },
      rawInput: { x: 1 },
    });
    expect(read({ id: 'x', method: 'subscription.stop' })).toMatchObject({
      id: 'x',
      method: 'subscription.stop',
    });
    // null is a readable id (answered with an error of its own); these are not calls at all.
    expect(read({ id: null, method: 'query', params: { path: 'a' } }).id).toBeNull();
    for (const bad of [
      'PING',
      {},
      { id: 1, method: 'nope', params: { path: 'a' } },
      { id: 1, method: 'query' },
      { id: 1, method: 'query', params: { path: 5 } },
      { id: 1, jsonrpc: '1.0', method: 'query', params: { path: 'a' } },
      { id: 1, method: 'query', params: { path: 'a', lastEventId: 3 } },
    ]) {
      expect(() => read(bad), JSON.stringify(bad)).toThrow();
    }
    expect(wsConnectionParams({ method: 'connectionParams', data: { token: 't' } })).toEqual({
      token: 't',
    });
    expect(wsConnectionParams({ method: 'connectionParams', data: null })).toBeNull();
    for (const bad of ['x', { data: { n: 1 } }, { method: 'connectionParams' }]) {
      expect(() => wsConnectionParams(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'PARSE_ERROR' }) as Error,
      );
    }
  });
});
