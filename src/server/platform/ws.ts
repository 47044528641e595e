import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TRPCError, type AnyTRPCRouter } from '@trpc/server';
import { WebSocket, WebSocketServer } from 'ws';
import type { ConnectionRegistry } from './connections.ts';
import type { Authentication, Context, ContextFactory } from './context.ts';
import type { Drainable } from './drain.ts';
import { tooManySubscriptions, isFeed, type LiveEvent, type Sink } from './hub.ts';
import type { Metrics } from './telemetry.ts';
import { jsonDeeperThan, tooDeep } from './json-depth.ts';
import {
  attachTrpcSocket,
  isAsyncIterable,
  readWsCall,
  routerAccess,
  toTRPCError,
  wsWire,
  type CallFacts,
  type RequestId,
  type RouterAccess,
  type WsCall,
} from './trpc-internals.ts';

/**
 * The WebSocket transport: admission at the upgrade, one context per socket, tRPC's ws adapter
 * for connectionParams, keep-alive and whatever the fast path leaves, and in front of it the
 * fast path.
 *
 * The fast path takes the `subscription` requests whose procedure returns a Feed (and their
 * `subscription.stop`): the procedure runs once through the router (validation, auth, scopes),
 * then each event's frame tail is built once and every subscriber only prefixes its own request
 * id. It also answers queries and mutations to procedures of that type, each run through the
 * router as tRPC's adapter runs it. Frames are exactly those of tRPC's adapter, so `wsLink` works
 * unchanged, resume included.
 */

/** The close reason that goes with 1012 when the server drains. */
const RESTARTING = 'Server restarting';

/** WebSocket frames over this close the connection (1009); others are unaffected. */
export const MAX_WS_FRAME_BYTES = 1 << 20;

/** What the WebSocket transport is bounded by (from the environment). */
export interface WsLimits {
  /** Unsent bytes past which a socket is dropped (its client reconnects and resumes by replay). */
  slowConsumerBytes: number;
  /** Calls in one batch (an HTTP batch's limit, which wsLink's reconnect may re-send at once). */
  batchCalls: number;
  subscriptionsPerSocket: number;
  subscriptionsPerUser: number;
  /** Seconds between keep-alive pings; a socket that does not answer is ended. */
  pingS: number;
  /** How deep a message's JSON may nest; deeper is refused before it is parsed. */
  maxJsonDepth: number;
}

const TEXT = { binary: false } as const;

/** Distinct request ids an event's whole frames are kept for; past them, frames are per socket. */
const FRAMES_PER_EVENT = 16;

/**
 * An event's whole frame for one subscription's head (`{"id":…`), as bytes made once per event
 * and head. A frame differs between subscribers only by the client's request id, and wsLink
 * numbers each socket's requests from 1 in the order the page makes them, so the subscribers of
 * one room share a handful of ids: a broadcast encodes a handful of frames and hands every socket
 * the same bytes, as a plain `ws` broadcast does.
 */
function frameOf(
  event: LiveEvent & { wsTail?: string; wsFrames?: Map<string, Buffer> },
  head: string,
): Buffer | string {
  const frames = (event.wsFrames ??= new Map<string, Buffer>());
  const cached = frames.get(head);
  if (cached) return cached;
  event.wsTail ??= wsWire.dataTail(event.id, event.json);
  const text = head + event.wsTail;
  if (frames.size >= FRAMES_PER_EVENT) return text;
  const frame = Buffer.from(text);
  frames.set(head, frame);
  return frame;
}

/**
 * A socket that ends itself rather than queue past `limit` unsent bytes: tRPC's adapter never
 * looks at `bufferedAmount`, so a reader that stops reading would make it queue without bound.
 * Given to `ws` through its documented `WebSocket` option (a subclass of its WebSocket), so every
 * send on the socket, tRPC's and ours, is bounded.
 */
type SendData = Parameters<WebSocket['send']>[0];
type SendOptions = Parameters<WebSocket['send']>[1];
type SendCallback = (err?: Error) => void;

function boundedSocketClass(limit: number, dropped: () => void): typeof WebSocket {
  return class BoundedSocket extends WebSocket {
    override send(data: SendData, cb?: SendCallback): void;
    override send(data: SendData, options: SendOptions, cb?: SendCallback): void;
    override send(data: SendData, ...rest: [SendOptions, SendCallback?] | [SendCallback?]): void {
      if (this.bufferedAmount <= limit)
        return (super.send as (...args: unknown[]) => void)(data, ...rest);
      if (this.readyState === WebSocket.OPEN) {
        dropped();
        this.terminate();
      }
    }
  };
}

/** A subscription of one socket: pending until its procedure has run, then open until closed. */
interface Entry {
  close: (() => void) | null;
  /** Stopped by the client, or its socket closed, before or after it opened. */
  ended: boolean;
}

/** How an upgrade was let in: its credentials if it showed any, and its anonymous slot if it took one. */
interface Admission {
  authentication: Promise<Authentication> | null;
  releaseAnonymous: (() => void) | null;
}

export function createWsTransport(deps: {
  router: AnyTRPCRouter;
  contexts: ContextFactory;
  connections: ConnectionRegistry;
  metrics: Metrics;
  limits: WsLimits;
  /** tRPC's errors on a socket, as its adapters report them. */
  onError: (opts: { error: TRPCError; path: string | undefined; type: string }) => void;
}) {
  const { contexts, connections, metrics, limits } = deps;
  const trpc = routerAccess(deps.router);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_FRAME_BYTES,
    WebSocket: boundedSocketClass(limits.slowConsumerBytes, () => metrics.counts.dropped++),
  });
  // wsLink re-sends every open subscription plus the calls in flight in one frame after a
  // reconnect, so a frame may carry a full socket's subscriptions and a full batch.
  const maxCallsPerFrame = limits.batchCalls + limits.subscriptionsPerSocket;
  /** Set when the server drains: upgrades still being admitted are refused. */
  let refusing = false;

  /**
   * The socket's one context, made the first time tRPC or the fast path asks: from the upgrade's
   * credentials, or its `connectionParams`. It registers the socket (per-user cap, revocation).
   */
  function socketContext(socket: WebSocket, req: IncomingMessage, admission: Admission) {
    let made: Promise<Context> | null = null;
    return (connectionParams: Record<string, unknown> | null) =>
      (made ??= (async () => {
        const authentication = await (admission.authentication ??
          contexts.authenticate(req, connectionParams));
        const { user, credential } = authentication;
        if (user) admission.releaseAnonymous?.();
        const unregister = await connections.add('ws', user?.id ?? null, credential, {
          close: (reason) =>
            socket.close(
              reason === 'revoked' ? 4001 : 1012,
              reason === 'revoked' ? 'Session or token ended' : RESTARTING,
            ),
        });
        if (!unregister) {
          socket.close(1008, 'Too many open connections for this user');
          return contexts.fromAuthentication(req, { user: null, credential: null, bearer: false });
        }
        // A socket that closed while the shared count answered gives its place back now.
        if (socket.readyState === WebSocket.CLOSED) unregister();
        else socket.once('close', unregister);
        return contexts.fromAuthentication(req, authentication);
      })());
  }

  function accept(socket: WebSocket, req: IncomingMessage, admission: Admission): void {
    const context = socketContext(socket, req, admission);
    let params: Record<string, unknown> | null = null;
    const feeds = socketFeeds({
      socket,
      trpc,
      onError: deps.onError,
      context: () => context(params),
      limits,
      maxCallsPerFrame,
      metrics,
      connections,
    });
    attachTrpcSocket(socket, req, {
      router: deps.router,
      wss,
      keepAlive: {
        enabled: true,
        pingMs: limits.pingS * 1000,
        pongWaitMs: Math.min(10_000, limits.pingS * 1000),
      },
      // Socket-level errors (a frame over the limit, a reset) come without a path: not bugs.
      onError: (opts) => {
        if (opts.path !== undefined) deps.onError(opts);
      },
      // Never throws: a throwing createContext makes tRPC 11.19 clients reconnect in a loop.
      // Bad credentials give a context without a user, and procedures answer UNAUTHORIZED.
      createContext: ({ info }) => context(info.connectionParams),
      connectionParams: (given) => (params = given),
      intercept: feeds.take,
      screen: (text) =>
        jsonDeeperThan(text, limits.maxJsonDepth) ? tooDeep(limits.maxJsonDepth) : null,
      refuse: feeds.refuse,
    });
  }

  /**
   * Whether a WebSocket may open: one with a valid cookie or bearer header always may (its
   * per-user cap applies later); any other takes one of its address's anonymous slots, held
   * until it authenticates through `connectionParams` or closes.
   */
  async function admit(req: IncomingMessage, socket: Duplex): Promise<Admission | null> {
    const expectsParams =
      new URL(req.url ?? '/', 'http://localhost').searchParams.get('connectionParams') === '1';
    let authentication: Promise<Authentication> | null = null;
    if (
      !expectsParams &&
      (req.headers.cookie !== undefined || req.headers.authorization !== undefined)
    ) {
      authentication = contexts.authenticate(req, null);
      if ((await authentication).user) return { authentication, releaseAnonymous: null };
    }
    if (socket.destroyed) return null;
    const slot = connections.takeAnonymous(contexts.clientAddress(req));
    if (!slot) return null;
    socket.once('close', slot);
    return { authentication, releaseAnonymous: slot };
  }

  return {
    /**
     * Takes an upgrade to `/trpc` whose host, URL and origin the caller has checked: admits it
     * (or answers 429) and opens the socket.
     */
    upgrade(
      req: IncomingMessage,
      socket: Duplex,
      head: Buffer,
      refuse: (status: number, text: string) => void,
    ): void {
      admit(req, socket)
        .then((admission) => {
          if (socket.destroyed) return;
          if (refusing) return refuse(503, 'Service Unavailable');
          if (!admission) return refuse(429, 'Too Many Requests');
          wss.handleUpgrade(req, socket, head, (ws) => {
            if (refusing) ws.close(1012, RESTARTING);
            else accept(ws, req, admission);
          });
        })
        .catch((error: unknown) => {
          console.error(`WebSocket upgrade ${(req.url ?? '').slice(0, 200)} failed`, error);
          socket.destroy();
        });
    },
    /** Refuses upgrades not yet let in (the server drains). */
    refuseNew(): void {
      refusing = true;
    },
    /** The open sockets, each closed with 1012 (service restart): clients reconnect and resume. */
    streams(): Drainable[] {
      return [...wss.clients].map((client) => ({ end: () => client.close(1012, RESTARTING) }));
    },
    close(): void {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

/** The feed fast path of one socket: takes its subscriptions out of each frame before tRPC sees it. */
function socketFeeds(opts: {
  socket: WebSocket;
  trpc: RouterAccess;
  onError: (opts: { error: TRPCError; path: string | undefined; type: string }) => void;
  context: () => Promise<Context>;
  limits: WsLimits;
  maxCallsPerFrame: number;
  metrics: Metrics;
  connections: ConnectionRegistry;
}) {
  const { socket, trpc, limits, metrics, connections } = opts;
  // Ids are reserved the moment a message arrives, so a second message with the same id is
  // refused even while the first is still being authorized.
  const entries = new Map<RequestId, Entry>();

  // Every frame goes out as a text message, as tRPC's adapter sends it, whether text or bytes.
  const send = (frame: Buffer | string) => {
    if (socket.readyState === socket.OPEN) socket.send(frame, TEXT);
  };
  const errorFor = (call: WsCall, ctx: Context | undefined) => (cause: unknown) => {
    const facts: CallFacts = { type: 'subscription', path: call.path, input: call.input, ctx };
    send(
      wsWire.head(call.id, call.jsonrpc) +
        wsWire.errorTail(trpc.errorShape(toTRPCError(cause), facts)),
    );
  };

  async function subscribe(call: WsCall, entry: Entry) {
    const head = wsWire.head(call.id, call.jsonrpc);
    let ctx: Context | undefined;
    let slot: (() => void) | null = null;
    const forget = () => {
      slot?.();
      if (entries.get(call.id) === entry) entries.delete(call.id);
    };
    try {
      ctx = await opts.context();
      const userId = ctx.user?.id;
      if (userId !== undefined) {
        slot = connections.takeSubscription(userId);
        if (!slot) throw tooManySubscriptions(limits.subscriptionsPerUser);
      }
      const result = await trpc.subscribe({ path: call.path, input: call.input, ctx });
      if (!isFeed(result))
        throw new TRPCError({
          code: 'INTERNAL_SERVER_ERROR',
          message: `${call.path} is not a feed`,
        });
      if (entry.ended || socket.readyState !== socket.OPEN) return forget();
      send(head + wsWire.startedTail);
      const fail = errorFor(call, ctx);
      const sink: Sink = {
        deliver(event) {
          send(frameOf(event, head));
          metrics.counts.delivered++;
          metrics.deliveryLatency.observe((Date.now() - event.at) / 1000);
        },
        end(error) {
          if (entry.ended) return;
          entry.ended = true;
          close();
          forget();
          if (error) fail(error);
          else send(head + wsWire.stoppedTail);
        },
      };
      const close = result.open(sink);
      entry.close = () => {
        close();
        forget();
      };
    } catch (cause) {
      forget();
      if (!entry.ended) errorFor(call, ctx)(cause);
      entry.ended = true;
    }
  }

  /**
   * A query or mutation, answered as tRPC's adapter answers it (its procedure run through the
   * router: validation, middlewares, output validation, error formatter), without the adapter.
   */
  async function answer(call: WsCall, type: 'query' | 'mutation', batchIndex: number) {
    const head = wsWire.head(call.id, call.jsonrpc);
    let ctx: Context | undefined;
    try {
      ctx = await opts.context();
      const output = await trpc.call({
        path: call.path,
        type,
        getInput: () => call.input,
        ctx,
        batchIndex,
      });
      if (isAsyncIterable(output)) {
        throw new TRPCError({
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: `Cannot return an async iterable or observable from a ${type} procedure with WebSockets`,
        });
      }
      send(head + wsWire.resultTail(output));
    } catch (cause) {
      const error = toTRPCError(cause);
      opts.onError({ error, path: call.path, type });
      send(
        head +
          wsWire.errorTail(
            trpc.errorShape(error, { type, path: call.path, input: call.input, ctx }),
          ),
      );
    }
  }

  function stop(call: WsCall): void {
    const entry = entries.get(call.id);
    if (!entry) return;
    entries.delete(call.id);
    entry.ended = true;
    entry.close?.();
    send(wsWire.head(call.id, call.jsonrpc) + wsWire.stoppedTail);
  }

  /** Answers a frame refused as a whole, as tRPC answers one it cannot read: an error for id null. */
  function refuse(error: TRPCError): void {
    send(wsWire.unaddressedError(trpc.errorShape(error, { type: 'unknown' })));
  }

  /** Takes what is ours out of a parsed frame; returns what tRPC should still see (`[]`: nothing). */
  function take(parsed: unknown): unknown {
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    if (messages.length === 0) {
      // tRPC would stay silent; every message gets an answer.
      refuse(new TRPCError({ code: 'BAD_REQUEST', message: 'An empty batch' }));
      return [];
    }
    if (messages.length > opts.maxCallsPerFrame) {
      socket.close(1008, `At most ${opts.maxCallsPerFrame} calls per message`);
      return [];
    }
    const rest: unknown[] = [];
    for (const [index, message] of messages.entries()) {
      const call = readWsCall(message);
      if (call?.method === 'subscription.stop' && entries.has(call.id)) {
        stop(call);
      } else if (
        (call?.method === 'query' || call?.method === 'mutation') &&
        trpc.procedureType(call.path) === call.method
      ) {
        void answer(call, call.method, index);
      } else if (
        call?.method === 'subscription' &&
        trpc.procedureType(call.path) === 'subscription'
      ) {
        open(call);
      } else {
        rest.push(message);
      }
    }
    return Array.isArray(parsed) ? rest : (rest[0] ?? []);
  }

  function open(call: WsCall): void {
    const refuse = errorFor({ ...call, input: call.rawInput }, undefined);
    if (entries.has(call.id)) {
      refuse(
        new TRPCError({
          code: 'BAD_REQUEST',
          message: `Subscription id ${JSON.stringify(call.id)} is already open`,
        }),
      );
    } else if (entries.size >= limits.subscriptionsPerSocket) {
      refuse(
        new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: `At most ${limits.subscriptionsPerSocket} subscriptions per connection`,
        }),
      );
    } else {
      const entry: Entry = { close: null, ended: false };
      entries.set(call.id, entry);
      void subscribe(call, entry);
    }
  }

  socket.once('close', () => {
    for (const entry of entries.values()) {
      entry.ended = true;
      entry.close?.();
    }
    entries.clear();
  });

  return { take, refuse };
}
