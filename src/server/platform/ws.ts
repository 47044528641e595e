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
  binaryFrameError,
  isAsyncIterable,
  routerAccess,
  toTRPCError,
  wsCallReader,
  wsConnectionParams,
  wsWire,
  type CallFacts,
  type RequestId,
  type RequestUrl,
  type RouterAccess,
  type WsCall,
} from './trpc-internals.ts';

/**
 * The WebSocket transport: admission at the upgrade, one context per socket, and tRPC's
 * WebSocket protocol spoken on each socket by hand (decision 0020), so `wsLink`
 * works unchanged, resume included.
 *
 * A socket's messages are read with tRPC's own parser, and answered as tRPC's adapter answers
 * them: connectionParams first when the URL announces them, PING/PONG, queries and mutations
 * run through the router (validation, middlewares, output validation, error formatter), and
 * subscriptions, whose procedure returns a Feed: it runs once through the router (auth, scopes),
 * then each event's frame is built once and shared by the subscribers whose request ids match.
 * What tRPC's per-socket handler kept for each socket (an AbortController, two keep-alive timers,
 * a URL parse, half a dozen listeners and closures) is gone: keep-alive is one sweep over every
 * socket.
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

/** An unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2) carrying `text`, as `ws` frames it. */
export function wsTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, header, 'utf8');
  return frame;
}

/**
 * An event's whole WebSocket frame for one subscription's head (`{"id":…`), header included, as
 * bytes made once per event and head; null past `FRAMES_PER_EVENT` heads (the socket frames its
 * own). A frame differs between subscribers only by the client's request id, and wsLink numbers
 * each socket's requests from 1 in the order the page makes them, so the subscribers of one room
 * share a handful of ids: a broadcast frames a handful of messages and writes the same bytes to
 * every socket, as Socket.IO's pre-encoded broadcast does, with no per-socket framing.
 */
function frameOf(
  event: LiveEvent & { wsTail?: string; wsFrames?: Map<string, Buffer> },
  head: string,
): Buffer | null {
  const frames = (event.wsFrames ??= new Map<string, Buffer>());
  const cached = frames.get(head);
  if (cached) return cached;
  if (frames.size >= FRAMES_PER_EVENT) return null;
  const frame = wsTextFrame(messageOf(event, head));
  frames.set(head, frame);
  return frame;
}

/**
 * An event's message for one subscription's head: what `frameOf` frames, and what a socket is
 * sent as text when the event has frames for `FRAMES_PER_EVENT` other heads already.
 */
function messageOf(event: LiveEvent & { wsTail?: string }, head: string): string {
  event.wsTail ??= wsWire.dataTail(event.id, event.json);
  return head + event.wsTail;
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

/** `ws`'s sender: `sendFrame` writes frames already made (what Socket.IO's broadcasts use). */
interface FrameSender {
  sendFrame(list: Buffer[], cb?: SendCallback): void;
}

/** A bounded socket, which also writes whole frames made once for many sockets. */
export interface BoundedWebSocket extends WebSocket {
  /** Writes a frame from `wsTextFrame` as is, under the same bound as `send`; open sockets only. */
  sendFrame(frame: Buffer): void;
}

function boundedSocketClass(limit: number, dropped: () => void): typeof WebSocket {
  return class BoundedSocket extends WebSocket implements BoundedWebSocket {
    override send(data: SendData, cb?: SendCallback): void;
    override send(data: SendData, options: SendOptions, cb?: SendCallback): void;
    // The arguments passed on as they came (no rest array and spread per frame: this runs once
    // per delivery); `ws` itself tells a callback in second place from options.
    override send(data: SendData, options?: SendOptions | SendCallback, cb?: SendCallback): void {
      if (this.bufferedAmount <= limit) {
        return (super.send as (d: SendData, o?: unknown, c?: SendCallback) => void)(
          data,
          options,
          cb,
        );
      }
      this.drop();
    }

    // Without permessage-deflate (off: the server never offers it) and without Blobs (never
    // sent), `ws`'s sender writes each message at once, in order, so a whole frame written
    // through it lands between the messages `send` wrote before and after it.
    sendFrame(frame: Buffer): void {
      if (this.readyState !== WebSocket.OPEN) return;
      if (this.bufferedAmount <= limit) {
        (this as unknown as { _sender: FrameSender })._sender.sendFrame([frame]);
        return;
      }
      this.drop();
    }

    private drop(): void {
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
    // Never negotiated: deliveries write frames made once for every socket (`sendFrame`).
    perMessageDeflate: false,
    WebSocket: boundedSocketClass(limits.slowConsumerBytes, () => metrics.counts.dropped++),
  });
  // wsLink re-sends every open subscription plus the calls in flight in one frame after a
  // reconnect, so a frame may carry a full socket's subscriptions and a full batch.
  const maxCallsPerFrame = limits.batchCalls + limits.subscriptionsPerSocket;
  /** Set when the server drains: upgrades still being admitted are refused. */
  let refusing = false;
  const readCall = wsCallReader(deps.router);
  const pingMs = limits.pingS * 1000;
  const alive = keepAlive(pingMs, Math.min(10_000, pingMs));

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

  function accept(
    socket: WebSocket,
    req: IncomingMessage,
    admission: Admission,
    expectsParams: boolean,
  ): void {
    const context = socketContext(socket, req, admission);
    let params: Record<string, string | undefined> | null = null;
    socketSession({
      // The server makes every socket a bounded one (its `WebSocket` option).
      socket: socket as BoundedWebSocket,
      trpc,
      readCall,
      onError: deps.onError,
      context: () => context(params),
      // The connectionParams message, when the URL announced one: then the context is made.
      expectsParams,
      onParams: (given) => {
        params = given;
        void context(params);
      },
      limits,
      maxCallsPerFrame,
      metrics,
      connections,
      alive,
    });
    // As tRPC's adapter does: the context (and the socket's registration) at once when no
    // connectionParams are to come.
    if (!expectsParams) void context(null);
  }

  /**
   * Whether a WebSocket may open: one with a valid cookie or bearer header always may (its
   * per-user cap applies later); any other takes one of its address's anonymous slots, held
   * until it authenticates through `connectionParams` or closes.
   */
  async function admit(
    req: IncomingMessage,
    socket: Duplex,
    expectsParams: boolean,
  ): Promise<Admission | null> {
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
     * Takes an upgrade to `/trpc` whose host, URL (`target`, as parsed) and origin the caller
     * has checked: admits it (or answers 429) and opens the socket.
     */
    upgrade(
      req: IncomingMessage,
      socket: Duplex,
      head: Buffer,
      refuse: (status: number, text: string) => void,
      target: RequestUrl,
    ): void {
      // wsLink's `connectionParams` option: the socket's first message carries them.
      const expectsParams = target.searchParams.get('connectionParams') === '1';
      admit(req, socket, expectsParams)
        .then((admission) => {
          if (socket.destroyed) return;
          if (refusing) return refuse(503, 'Service Unavailable');
          if (!admission) return refuse(429, 'Too Many Requests');
          wss.handleUpgrade(req, socket, head, (ws) => {
            if (refusing) ws.close(1012, RESTARTING);
            else accept(ws, req, admission, expectsParams);
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
      alive.stop();
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

/** Ignores a socket's errors (a frame over the limit, a reset): its close follows, and is handled. */
const ignore = () => undefined;

/**
 * Keep-alive for every socket at once, as tRPC's adapter keeps each alive: a socket that sent
 * nothing for `pingMs` is sent `PING`, and ended if it still sends nothing (wsLink answers
 * `PONG`) for `pongWaitMs`. One timer sweeps them all, a tick of half the shorter wait, so each
 * wait may run up to a tick longer.
 */
function keepAlive(pingMs: number, pongWaitMs: number) {
  const watched = new Set<Liveness>();
  const tick = Math.max(10, Math.min(pingMs, pongWaitMs) / 2);
  let timer: ReturnType<typeof setInterval> | null = null;
  const sweep = () => {
    const now = Date.now();
    for (const it of watched) {
      if (it.pingedAt > it.heardAt) {
        if (now - it.pingedAt >= pongWaitMs) it.socket.terminate();
      } else if (now - it.heardAt >= pingMs && it.socket.readyState === WebSocket.OPEN) {
        it.pingedAt = now;
        it.socket.send('PING');
      }
    }
  };
  return {
    watch(socket: WebSocket): Liveness {
      const it: Liveness = { socket, heardAt: Date.now(), pingedAt: 0 };
      watched.add(it);
      timer ??= setInterval(sweep, tick).unref();
      return it;
    },
    unwatch(it: Liveness): void {
      watched.delete(it);
    },
    stop(): void {
      if (timer) clearInterval(timer);
      timer = null;
      watched.clear();
    },
  };
}

/** When a socket was last heard from, and when it was last sent PING (ms since the epoch). */
interface Liveness {
  socket: WebSocket;
  heardAt: number;
  pingedAt: number;
}

/** tRPC's WebSocket protocol on one socket: every message read and answered here. */
function socketSession(opts: {
  socket: BoundedWebSocket;
  trpc: RouterAccess;
  readCall: (message: unknown) => WsCall;
  onError: (opts: { error: TRPCError; path: string | undefined; type: string }) => void;
  context: () => Promise<Context>;
  expectsParams: boolean;
  onParams: (params: Record<string, string | undefined> | null) => void;
  limits: WsLimits;
  maxCallsPerFrame: number;
  metrics: Metrics;
  connections: ConnectionRegistry;
  alive: ReturnType<typeof keepAlive>;
}): void {
  const { socket, trpc, limits, metrics, connections } = opts;
  // Ids are reserved the moment a message arrives, so a second message with the same id is
  // refused even while the first is still being authorized.
  const entries = new Map<RequestId, Entry>();

  // Every frame goes out as a text message, as tRPC's adapter sends it, whether text or bytes.
  const send = (frame: Buffer | string) => {
    if (socket.readyState === socket.OPEN) socket.send(frame, TEXT);
  };
  const errorFor = (id: RequestId, call: WsCall, ctx: Context | undefined) => (cause: unknown) => {
    const facts: CallFacts = { type: 'subscription', path: call.path, input: call.input, ctx };
    send(
      wsWire.head(id, call.jsonrpc) + wsWire.errorTail(trpc.errorShape(toTRPCError(cause), facts)),
    );
  };

  async function subscribe(id: RequestId, call: WsCall, entry: Entry) {
    const head = wsWire.head(id, call.jsonrpc);
    let ctx: Context | undefined;
    let slot: (() => void) | null = null;
    const forget = () => {
      slot?.();
      if (entries.get(id) === entry) entries.delete(id);
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
      const fail = errorFor(id, call, ctx);
      const sink: Sink = {
        deliver(event) {
          const frame = frameOf(event, head);
          if (frame) socket.sendFrame(frame);
          else send(messageOf(event, head));
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
      if (!entry.ended) errorFor(id, call, ctx)(cause);
      entry.ended = true;
    }
  }

  /**
   * A query or mutation, answered as tRPC's adapter answers it (its procedure run through the
   * router: validation, middlewares, output validation, error formatter), without the adapter.
   */
  async function answer(
    id: RequestId,
    call: WsCall,
    type: 'query' | 'mutation',
    batchIndex: number,
  ) {
    const head = wsWire.head(id, call.jsonrpc);
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

  /** Ends a subscription of this socket; an id that is not one is ignored, as tRPC ignores it. */
  function stop(id: RequestId, call: WsCall): void {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    entry.ended = true;
    entry.close?.();
    send(wsWire.head(id, call.jsonrpc) + wsWire.stoppedTail);
  }

  /** Answers a frame refused as a whole, as tRPC answers one it cannot read: an error for id null. */
  function refuse(error: TRPCError): void {
    send(wsWire.unaddressedError(trpc.errorShape(error, { type: 'unknown' })));
  }

  /** Answers every message of a parsed frame, as tRPC's adapter does. */
  function take(parsed: unknown): void {
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    if (messages.length === 0) {
      // tRPC would stay silent; every message gets an answer.
      return refuse(new TRPCError({ code: 'BAD_REQUEST', message: 'An empty batch' }));
    }
    if (messages.length > opts.maxCallsPerFrame) {
      return socket.close(1008, `At most ${opts.maxCallsPerFrame} calls per message`);
    }
    let calls: WsCall[];
    try {
      calls = messages.map(opts.readCall);
    } catch (cause) {
      // One message that is not a call refuses the frame, as tRPC refuses it: nothing runs.
      return refuse(new TRPCError({ code: 'PARSE_ERROR', cause }));
    }
    for (const [index, call] of calls.entries()) {
      const { id } = call;
      if (id === null) {
        const error = new TRPCError({ code: 'PARSE_ERROR', message: '`id` is required' });
        send(
          wsWire.head(null, call.jsonrpc) +
            wsWire.errorTail(trpc.errorShape(error, { type: 'unknown' })),
        );
      } else if (call.method === 'subscription.stop') {
        stop(id, call);
      } else if (unreadParams) {
        // Until the socket closes, calls are answered with why its connectionParams failed.
        const facts: CallFacts = { type: call.method, path: call.path, input: call.input };
        send(
          wsWire.head(id, call.jsonrpc) + wsWire.errorTail(trpc.errorShape(unreadParams, facts)),
        );
      } else if (call.method === 'subscription') {
        open(id, call);
      } else {
        void answer(id, call, call.method, index);
      }
    }
  }

  function open(id: RequestId, call: WsCall): void {
    const refuse = errorFor(id, { ...call, input: call.rawInput }, undefined);
    if (entries.has(id)) {
      refuse(
        new TRPCError({
          code: 'BAD_REQUEST',
          message: `Subscription id ${JSON.stringify(id)} is already open`,
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
      entries.set(id, entry);
      void subscribe(id, call, entry);
    }
  }

  /**
   * A text frame's JSON, refused as tRPC refuses what it cannot read (a binary frame, invalid
   * JSON) and before parsing when it nests deeper than the limit: the error answers the frame.
   */
  function readFrame(data: Buffer, isBinary: boolean): unknown {
    if (isBinary) throw binaryFrameError(data);
    const text = data.toString('utf8');
    if (jsonDeeperThan(text, limits.maxJsonDepth)) throw tooDeep(limits.maxJsonDepth);
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new TRPCError({ code: 'PARSE_ERROR', cause });
    }
  }

  /** The connectionParams message: read as tRPC reads it; one it cannot read ends the socket. */
  function takeParams(data: Buffer, isBinary: boolean): void {
    try {
      let message: unknown;
      try {
        message = readFrame(data, isBinary);
      } catch (cause) {
        throw new TRPCError({
          code: 'PARSE_ERROR',
          message: 'Malformed TRPCConnectionParamsMessage',
          cause,
        });
      }
      opts.onParams(wsConnectionParams(message));
    } catch (cause) {
      unreadParams = toTRPCError(cause);
      refuse(unreadParams);
      setImmediate(() => socket.close());
    }
  }

  const liveness = opts.alive.watch(socket);
  let awaitingParams = opts.expectsParams;
  /** Why the connectionParams could not be read: the socket is closing. */
  let unreadParams: TRPCError | null = null;
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    liveness.heardAt = Date.now();
    if (!isBinary && data.length === 4) {
      const text = data.toString('latin1');
      if (text === 'PONG') return;
      if (text === 'PING') return send('PONG');
    }
    if (awaitingParams) {
      awaitingParams = false;
      return takeParams(data, isBinary);
    }
    let parsed: unknown;
    try {
      parsed = readFrame(data, isBinary);
    } catch (cause) {
      return refuse(toTRPCError(cause));
    }
    take(parsed);
  });
  socket.on('error', ignore);
  socket.once('close', () => {
    opts.alive.unwatch(liveness);
    for (const entry of entries.values()) {
      entry.ended = true;
      entry.close?.();
    }
    entries.clear();
  });
}
