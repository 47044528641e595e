import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { TRPCError, type AnyTRPCRouter } from '@trpc/server';
import type { Closable, ConnectionRegistry } from './connections.ts';
import type { Context, ContextFactory } from './context.ts';
import type { Drainable } from './drain.ts';
import {
  isFeed,
  isSlowConsumerError,
  liveEvent,
  tooManySubscriptions,
  type LiveEvent,
  type Sink,
} from './hub.ts';
import type { Metrics } from './telemetry.ts';
import {
  routerAccess,
  sseLastEventId,
  sseWire,
  toTRPCError,
  untracked,
  withLastEventId,
  type RequestUrl,
} from './trpc-internals.ts';
import { jsonDeeperThan, tooDeep } from './json-depth.ts';
import { createLiveStreams } from './sse-live.ts';
import { SSE_HEADERS, SseResponse } from './sse-response.ts';

/**
 * Subscriptions over Server-Sent Events, speaking exactly the wire format of tRPC's
 * `httpSubscriptionLink` (`event: connected`, `data:`/`id:` per event, `event: ping`,
 * `event: serialized-error`, `event: return`), without tRPC's per-event stream machinery:
 * each event's frame is built once and written straight to every response. Input validation,
 * auth and scopes still run through the router (`runProcedure`), once per subscription.
 */

const RETURN = Buffer.from(sseWire.return);
const CRLF = Buffer.from('\r\n');

const sseFrame = (event: LiveEvent): Buffer => Buffer.from(sseWire.data(event.id, event.json));

/** What the SSE transport is bounded by (from the environment). */
export interface SseLimits {
  /** Seconds between pings; clients reconnect after three without a byte. */
  pingS: number;
  /** Unsent bytes past which a reader is dropped (it resumes by replay). */
  slowConsumerBytes: number;
  /** Most bytes of a subscription's `input` query parameter. */
  maxInputBytes: number;
  /** How deep its JSON may nest; deeper is refused before it is parsed. */
  maxJsonDepth: number;
  subscriptionsPerUser: number;
  /** Subscriptions one multiplexed stream may carry (as one WebSocket: PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET). */
  subscriptionsPerStream: number;
}

/** The bytes `res.write(frame)` puts on a chunked response: `<size in hex>\r\n<frame>\r\n`. */
function chunkOf(frame: Buffer): Buffer {
  const head = Buffer.from(`${frame.length.toString(16)}\r\n`, 'latin1');
  return Buffer.concat([head, frame, CRLF], head.length + frame.length + CRLF.length);
}

/**
 * The response's socket when events may be written to it directly: the response is chunked, its
 * headers are out and nothing of it is buffered. One `socket.write` of the prepared chunk then
 * puts on the wire exactly the bytes `res.write` would, without its four writes, cork and
 * next-tick flush per delivery (about a third of the CPU of a delivery). Null otherwise (an
 * HTTP/1.0 client, say), and events go through `res.write`.
 */
function directSocket(res: ServerResponse): Socket | null {
  const socket = res.socket;
  return socket !== null &&
    res.chunkedEncoding &&
    res.headersSent &&
    !res.writableEnded &&
    res.writableLength === socket.writableLength
    ? socket
    : null;
}

/** One subscription's stream, in tRPC's own SSE wire format. */
class SseConnection extends SseResponse implements Sink, Closable {
  constructor(
    res: ServerResponse,
    metrics: Metrics,
    slowConsumerBytes: number,
    private readonly errorFrame: (error: TRPCError) => string,
  ) {
    super(res, metrics, slowConsumerBytes, directSocket(res));
  }

  deliver(event: LiveEvent): void {
    if (this.done) return;
    const socket = this.socket;
    if (socket !== null) {
      if (!socket.destroyed)
        socket.write((event.sseChunk ??= chunkOf((event.sse ??= sseFrame(event)))));
    } else {
      this.res.write((event.sse ??= sseFrame(event)));
    }
    this.delivered(event);
  }

  end(error?: TRPCError): void {
    if (this.done) return;
    if (error && isSlowConsumerError(error)) return this.drop();
    this.done = true;
    this.res.end(error ? this.errorFrame(error) : RETURN);
  }

  close(reason: 'revoked' | 'shutdown'): void {
    if (reason === 'revoked') {
      this.end(new TRPCError({ code: 'UNAUTHORIZED', message: 'Your session or token has ended' }));
    } else {
      this.endForRestart();
    }
  }
}

function parseJsonParam(url: RequestUrl, name: string, maxDepth: number): unknown {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  if (jsonDeeperThan(raw, maxDepth)) throw tooDeep(maxDepth);
  try {
    return JSON.parse(raw) as unknown;
  } catch (cause) {
    throw new TRPCError({ code: 'PARSE_ERROR', message: `'${name}' is not valid JSON`, cause });
  }
}

export function createSseTransport(deps: {
  router: AnyTRPCRouter;
  contexts: ContextFactory;
  connections: ConnectionRegistry;
  metrics: Metrics;
  limits: SseLimits;
}) {
  const { contexts, connections, metrics, limits } = deps;
  const trpc = routerAccess(deps.router);
  /** Every open event stream (one subscription each, or multiplexed): pinged, drained. */
  const open = new Set<SseResponse & Closable>();
  /** Set when the server drains: streams still being authorized are refused, not opened. */
  let refusing = false;
  const pingMs = limits.pingS * 1000;
  const connected = sseWire.connected(pingMs * 3);
  // One timer for every stream, rather than one per subscription.
  const pinger = setInterval(() => {
    for (const conn of open) conn.ping();
  }, pingMs);
  pinger.unref();
  const live = createLiveStreams({
    trpc,
    contexts,
    connections,
    metrics,
    limits,
    reconnectAfterInactivityMs: pingMs * 3,
    track(stream) {
      open.add(stream);
      return () => open.delete(stream);
    },
    refusing: () => refusing,
  });

  async function serve(req: IncomingMessage, res: ServerResponse, path: string, url: RequestUrl) {
    let ctx: Context | undefined;
    let input: unknown;
    const errorFrame = (error: TRPCError) =>
      sseWire.error(trpc.errorShape(error, { type: 'subscription', path, input, ctx }));
    // Made only if the procedure reads its `signal` (feeds do not): an idle stream holds none.
    let controller: AbortController | null = null;
    const signal = () => (controller ??= new AbortController()).signal;
    const abort = () => controller?.abort();
    let result: unknown;
    let failure: TRPCError | null = null;
    try {
      const rawInput = url.searchParams.get('input');
      if (rawInput !== null && Buffer.byteLength(rawInput) > limits.maxInputBytes) {
        throw new TRPCError({
          code: 'PAYLOAD_TOO_LARGE',
          message: `Subscription input is limited to ${limits.maxInputBytes} bytes`,
        });
      }
      input = withLastEventId(
        parseJsonParam(url, 'input', limits.maxJsonDepth),
        sseLastEventId(req, url),
      );
      const params = parseJsonParam(url, 'connectionParams', limits.maxJsonDepth);
      ctx = await contexts.forRequest(req, {
        connectionParams:
          typeof params === 'object' && params !== null
            ? (params as Record<string, unknown>)
            : null,
      });
      result = await trpc.subscribe({ path, input, ctx, signal });
    } catch (cause) {
      failure = toTRPCError(cause);
    }

    // A client that left while we authorized gets nothing.
    if (res.destroyed) {
      abort();
      return;
    }
    if (refusing) {
      abort();
      res.writeHead(503, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end('This instance is shutting down\n');
      return;
    }
    res.writeHead(200, SSE_HEADERS);
    const retryMs = 1000 + Math.floor(Math.random() * 2000);
    res.write(`retry: ${retryMs}\n${connected}`);
    const conn = new SseConnection(res, metrics, limits.slowConsumerBytes, errorFrame);
    if (failure) return conn.end(failure);

    const unregister = await connections.add(
      'sse',
      ctx?.user?.id ?? null,
      ctx?.credential ?? null,
      conn,
    );
    // A client that left while the shared count answered gives its place back.
    if (unregister && res.destroyed) {
      unregister();
      abort();
      return;
    }
    if (!unregister) {
      abort();
      return conn.end(
        new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: 'Too many open streams for this user',
        }),
      );
    }
    const userId = ctx?.user?.id;
    const slot = userId === undefined ? () => undefined : connections.takeSubscription(userId);
    if (!slot) {
      unregister();
      abort();
      return conn.end(tooManySubscriptions(limits.subscriptionsPerUser));
    }
    open.add(conn);
    let stop = abort;
    // 'close' comes once: `on` spares an idle stream `once`'s wrapper.
    res.on('close', () => {
      open.delete(conn);
      unregister();
      slot();
      stop();
    });

    if (isFeed(result)) {
      const closeFeed = result.open(conn);
      stop = () => {
        closeFeed();
        abort();
      };
      return;
    }
    // Any other async iterable: tRPC's generic form, still framed once per event.
    const iterable = result as AsyncIterable<unknown>;
    try {
      for await (const value of iterable) {
        if (res.destroyed) break;
        const { id, data } = untracked(value);
        conn.deliver(liveEvent(data, id));
      }
      conn.end();
    } catch (cause) {
      conn.end(toTRPCError(cause));
    }
  }

  return {
    /** Serves `GET /trpc/<path>` when `path` is a subscription; false otherwise. */
    handle(req: IncomingMessage, res: ServerResponse, path: string, url: RequestUrl): boolean {
      if (req.method !== 'GET' || trpc.procedureType(path) !== 'subscription') return false;
      serve(req, res, path, url).catch((error: unknown) => {
        console.error('SSE subscription failed', error);
        res.destroy();
      });
      return true;
    },
    /** `POST /trpc-live`: opens a multiplexed stream (sse-live.ts). */
    openLive: live.open,
    /** `POST /trpc-live/<id>`: changes a multiplexed stream's subscriptions. */
    controlLive: live.control,
    /** Refuses the streams that have not opened yet (the server drains). */
    refuseNew(): void {
      refusing = true;
    },
    /** The open streams, each ended cleanly (no `return` event: clients reconnect and resume). */
    streams(): Drainable[] {
      return [...open].map((conn) => ({ end: () => conn.close('shutdown') }));
    },
    close(): void {
      clearInterval(pinger);
      for (const conn of open) conn.close('shutdown');
    },
  };
}
