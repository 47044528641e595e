import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import type { z } from 'zod';
import {
  liveControlSchema,
  liveOpenSchema,
  type LiveSubscription,
} from '../../shared/schemas/live.ts';
import type { Closable, ConnectionRegistry } from './connections.ts';
import type { Context, ContextFactory } from './context.ts';
import {
  isFeed,
  isSlowConsumerError,
  liveEvent,
  tooManySubscriptions,
  type LiveEvent,
  type Sink,
} from './hub.ts';
import { SSE_HEADERS, SseResponse } from './sse-response.ts';
import type { Metrics } from './telemetry.ts';
import {
  sseWire,
  toTRPCError,
  untracked,
  withLastEventId,
  type CallFacts,
  type RouterAccess,
} from './trpc-internals.ts';

/**
 * The multiplexed live stream (decision 0021): one event-stream response carries many
 * subscriptions of one user, each under a key its client chose. `POST /trpc-live` opens it with
 * a first set (a reconnect sends the whole set, each with its own `lastEventId`), and `POST
 * /trpc-live/<stream>` adds and removes subscriptions while it is open. Each subscription runs
 * as it does on its own SSE endpoint (sse.ts): through the router (validation, auth, scopes),
 * into the hub as a feed (replay, de-duplication, held events), under the per-user subscription
 * cap; the stream as a whole is one SSE connection of the user (per-user connection cap,
 * revocation, drain, pings, the slow-consumer bound).
 *
 * Frames, besides tRPC's `event: ping`:
 * - `event: connected` `{stream, reconnectAfterInactivityMs}` first;
 * - `event: started` `{key}` once the procedure accepted the subscription;
 * - `data: {key, id?, data}` per event (`id`: the `tracked()` id to resume from);
 * - `event: live` `{key}` once its backlog (snapshot, replay) is out: the client has caught up;
 * - `event: error` `{key, error}` (tRPC's error shape) when it ends with an error;
 * - `event: stopped` `{key}` when it ends otherwise (the feed finished, or the client removed it);
 * - `event: serialized-error` (an error shape) when the whole stream ends (session ended).
 */

/** What a stream's id looks like (random, URL-safe); anything else is no stream. */
export const LIVE_STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;

const liveWire = {
  connected: (stream: string, reconnectAfterInactivityMs: number) =>
    `event: connected\ndata: ${JSON.stringify({ stream, reconnectAfterInactivityMs })}\n\n`,
  /** The start of a key's data frames: `data: {"key":"…"`; an event's tail completes it. */
  head: (key: string) => `data: {"key":${JSON.stringify(key)}`,
  tail: (event: LiveEvent) =>
    event.id === null
      ? `,"data":${event.json}}\n\n`
      : `,"id":${JSON.stringify(event.id)},"data":${event.json}}\n\n`,
  keyEvent: (name: 'started' | 'live' | 'stopped', key: string) =>
    `event: ${name}\ndata: {"key":${JSON.stringify(key)}}\n\n`,
  error: (key: string, shape: unknown) =>
    `event: error\ndata: ${JSON.stringify({ key, error: shape })}\n\n`,
};

/** An event's data tail, made once for every stream it goes to (the key differs, the tail not). */
type LiveTailed = LiveEvent & { liveTail?: string };

/** A subscription of a stream: pending until its procedure has run, then open until it ends. */
interface Entry {
  /** `data: {"key":…`, made once. */
  head: string;
  /** Stops its feed (or generic iterator) and aborts its procedure. */
  close: (() => void) | null;
  /** Removed, ended, or its stream closed: nothing more is written for it. */
  ended: boolean;
  /** Its place under the user's subscription cap. */
  slot: (() => void) | null;
}

class LiveStream extends SseResponse implements Closable {
  readonly entries = new Map<string, Entry>();

  constructor(
    res: ServerResponse,
    metrics: Metrics,
    slowConsumerBytes: number,
    readonly id: string,
    /** The credential that opened it: only that credential may change it. */
    readonly owner: string,
    private readonly revokedFrame: string,
  ) {
    super(res, metrics, slowConsumerBytes);
  }

  get over(): boolean {
    return this.done || this.res.destroyed;
  }

  write(frame: string): void {
    if (!this.over) this.res.write(frame);
  }

  deliver(entry: Entry, event: LiveTailed): void {
    if (this.over || entry.ended) return;
    this.res.write(entry.head + (event.liveTail ??= liveWire.tail(event)));
    this.delivered(event);
  }

  close(reason: 'revoked' | 'shutdown'): void {
    if (reason === 'shutdown') return this.endForRestart();
    if (this.done) return;
    this.done = true;
    this.res.end(this.revokedFrame);
  }
}

/** What the live streams share with the per-procedure SSE transport. */
export interface LiveStreamDeps {
  trpc: RouterAccess;
  contexts: ContextFactory;
  connections: ConnectionRegistry;
  metrics: Metrics;
  limits: {
    slowConsumerBytes: number;
    maxInputBytes: number;
    subscriptionsPerUser: number;
    subscriptionsPerStream: number;
  };
  /** Clients reconnect after this long without a byte (three pings). */
  reconnectAfterInactivityMs: number;
  /** Pings the stream and ends it on a drain, until it closes (the returned function). */
  track(stream: SseResponse & Closable): () => void;
  /** The server drains: nothing new opens. */
  refusing(): boolean;
}

export function createLiveStreams(deps: LiveStreamDeps) {
  const { trpc, contexts, connections, metrics, limits } = deps;
  const streams = new Map<string, LiveStream>();

  /** Answers a request with an error in tRPC's shape and HTTP status, as a call's error. */
  function refuse(res: ServerResponse, error: TRPCError, facts: CallFacts = { type: 'unknown' }) {
    if (res.headersSent || res.destroyed) return;
    const shape = trpc.errorShape(error, facts);
    res.writeHead(shape.data.httpStatus, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: shape }));
  }

  function parse<T>(schema: z.ZodType<T>, body: string): T {
    let json: unknown;
    try {
      json = JSON.parse(body) as unknown;
    } catch (cause) {
      throw new TRPCError({ code: 'PARSE_ERROR', message: 'The body is not valid JSON', cause });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error });
    return parsed.data;
  }

  /** Who is asking: a signed-in user whose page may call us. */
  async function caller(
    req: IncomingMessage,
  ): Promise<Context & { user: NonNullable<Context['user']> }> {
    const ctx = await contexts.forRequest(req, { connectionParams: null });
    if (!ctx.user || !ctx.credential) {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in, or send an API token' });
    }
    // As a cookie-authenticated mutation: a foreign page must not start subscriptions (presence).
    if (!ctx.originAllowed) {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'This origin may not open live streams' });
    }
    return { ...ctx, user: ctx.user };
  }

  /** Keys of one request: none twice, none already open (after `removed`), at most the cap. */
  function checkKeys(
    stream: LiveStream | null,
    added: readonly LiveSubscription[],
    removed: ReadonlySet<string>,
  ) {
    const seen = new Set<string>();
    for (const { key } of added) {
      if (seen.has(key)) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: `Key '${key}' is given twice` });
      }
      if (stream?.entries.has(key) === true && !removed.has(key)) {
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: `Key '${key}' is already open on this stream`,
        });
      }
      seen.add(key);
    }
    const kept = stream ? [...stream.entries.keys()].filter((k) => !removed.has(k)).length : 0;
    if (kept + added.length > limits.subscriptionsPerStream) {
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: `At most ${limits.subscriptionsPerStream} subscriptions per stream`,
      });
    }
  }

  /** Runs one subscription into the stream under its key, as sse.ts runs one into its response. */
  async function start(stream: LiveStream, ctx: Context, userId: string, sub: LiveSubscription) {
    const { key, path } = sub;
    const entry: Entry = { head: liveWire.head(key), close: null, ended: false, slot: null };
    stream.entries.set(key, entry);
    const input = withLastEventId(sub.input, sub.lastEventId);
    // Made only if the procedure reads its `signal` (feeds do not).
    let controller: AbortController | null = null;
    const signal = () => (controller ??= new AbortController()).signal;
    const abort = () => controller?.abort();
    const forget = () => {
      entry.ended = true;
      entry.slot?.();
      entry.slot = null;
      if (stream.entries.get(key) === entry) stream.entries.delete(key);
    };
    const fail = (error: TRPCError) =>
      stream.write(
        liveWire.error(key, trpc.errorShape(error, { type: 'subscription', path, input, ctx })),
      );
    const sink: Sink = {
      deliver: (event) => stream.deliver(entry, event),
      end(error) {
        if (entry.ended) return;
        // Too far behind: the stream is dropped, and its client resumes every subscription.
        if (error && isSlowConsumerError(error)) return stream.drop();
        entry.close?.();
        forget();
        if (error) fail(error);
        else stream.write(liveWire.keyEvent('stopped', key));
      },
      ready: () => stream.ready(),
      live() {
        if (!entry.ended) stream.write(liveWire.keyEvent('live', key));
      },
    };
    try {
      if (
        sub.input !== undefined &&
        Buffer.byteLength(JSON.stringify(sub.input)) > limits.maxInputBytes
      ) {
        throw new TRPCError({
          code: 'PAYLOAD_TOO_LARGE',
          message: `Subscription input is limited to ${limits.maxInputBytes} bytes`,
        });
      }
      entry.slot = connections.takeSubscription(userId);
      if (!entry.slot) throw tooManySubscriptions(limits.subscriptionsPerUser);
      const result = await trpc.subscribe({ path, input, ctx, signal });
      // Removed, or the stream closed, while the procedure ran.
      if (entry.ended || stream.over) {
        abort();
        return forget();
      }
      stream.write(liveWire.keyEvent('started', key));
      if (isFeed(result)) {
        const closeFeed = result.open(sink);
        entry.close = () => {
          closeFeed();
          abort();
        };
        return;
      }
      // Any other async iterable: tRPC's generic form, framed per event.
      entry.close = abort;
      sink.live?.();
      for await (const value of result as AsyncIterable<unknown>) {
        if (entry.ended || stream.over) break;
        const { id, data } = untracked(value);
        sink.deliver(liveEvent(data, id));
      }
      sink.end();
    } catch (cause) {
      abort();
      if (!entry.ended) fail(toTRPCError(cause));
      forget();
    }
  }

  function stop(stream: LiveStream, key: string): void {
    const entry = stream.entries.get(key);
    if (!entry) return;
    entry.close?.();
    entry.ended = true;
    entry.slot?.();
    entry.slot = null;
    stream.entries.delete(key);
    stream.write(liveWire.keyEvent('stopped', key));
  }

  async function open(req: IncomingMessage, res: ServerResponse, body: string) {
    let ctx: Awaited<ReturnType<typeof caller>>;
    let subscriptions: LiveSubscription[];
    try {
      ({ subscriptions } = parse(liveOpenSchema, body));
      ctx = await caller(req);
      checkKeys(null, subscriptions, new Set());
    } catch (cause) {
      return refuse(res, toTRPCError(cause));
    }
    if (res.destroyed) return;
    if (deps.refusing()) {
      return refuse(
        res,
        new TRPCError({
          code: 'SERVICE_UNAVAILABLE',
          message: 'This instance is shutting down; try again',
        }),
      );
    }
    const id = randomBytes(18).toString('base64url');
    const revoked = sseWire.error(
      trpc.errorShape(
        new TRPCError({ code: 'UNAUTHORIZED', message: 'Your session or token has ended' }),
        {
          type: 'unknown',
        },
      ),
    );
    const credential = ctx.credential as NonNullable<Context['credential']>;
    const stream = new LiveStream(
      res,
      metrics,
      limits.slowConsumerBytes,
      id,
      credential.key,
      revoked,
    );
    const unregister = await connections.add('sse', ctx.user.id, credential, stream);
    if (!unregister) {
      return refuse(
        res,
        new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: 'Too many open streams for this user',
        }),
      );
    }
    // A client that left while the shared count answered gives its place back.
    if (res.destroyed) return unregister();
    res.writeHead(200, SSE_HEADERS);
    res.write(liveWire.connected(id, deps.reconnectAfterInactivityMs));
    streams.set(id, stream);
    const untrack = deps.track(stream);
    res.once('close', () => {
      streams.delete(id);
      untrack();
      unregister();
      for (const key of [...stream.entries.keys()]) {
        const entry = stream.entries.get(key);
        if (!entry) continue;
        entry.ended = true;
        entry.close?.();
        entry.slot?.();
      }
      stream.entries.clear();
    });
    for (const sub of subscriptions) void start(stream, ctx, ctx.user.id, sub);
  }

  async function control(req: IncomingMessage, res: ServerResponse, id: string, body: string) {
    try {
      const change = parse(liveControlSchema, body);
      const ctx = await caller(req);
      const stream = streams.get(id);
      // Someone else's stream is no stream at all: its existence must not leak.
      if (!stream || stream.over || stream.owner !== ctx.credential?.key) {
        throw new TRPCError({
          code: 'NOT_FOUND',
          message: 'No such live stream (it closed, or is on another instance): open a new one',
        });
      }
      const removed = new Set(change.unsubscribe ?? []);
      const added = change.subscribe ?? [];
      checkKeys(stream, added, removed);
      for (const key of removed) stop(stream, key);
      for (const sub of added) void start(stream, ctx, ctx.user.id, sub);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ open: stream.entries.size }));
    } catch (cause) {
      refuse(res, toTRPCError(cause));
    }
  }

  return {
    /** `POST /trpc-live`: opens a stream with its first subscriptions. */
    open: (req: IncomingMessage, res: ServerResponse, body: string): void => {
      open(req, res, body).catch((error: unknown) => {
        console.error('Opening a live stream failed', error);
        res.destroy();
      });
    },
    /** `POST /trpc-live/<id>`: adds and removes subscriptions of an open stream. */
    control: (req: IncomingMessage, res: ServerResponse, id: string, body: string): void => {
      control(req, res, id, body).catch((error: unknown) => {
        console.error('Changing a live stream failed', error);
        res.destroy();
      });
    },
  };
}
