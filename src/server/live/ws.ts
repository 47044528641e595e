import type { IncomingMessage } from 'node:http';
import {
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  TRPCError,
  type AnyTRPCRouter,
} from '@trpc/server';
import type { WebSocket } from 'ws';
import { authenticateSocket, createContextInner, type Context } from '../context.ts';
import { jsonDeeperThan, tooDeep } from '../json-depth.ts';
import type { Services } from '../services.ts';
import { feedSpecOf, tooManySubscriptions, type LiveEvent, type Sink } from './hub.ts';

/**
 * Feed subscriptions over WebSocket without tRPC's per-event machinery. tRPC's ws adapter
 * still owns each socket (queries, mutations, connectionParams, keep-alive); this sits in
 * front of it and takes the `subscription` requests whose procedure returns a Feed: the
 * procedure runs once through the router (`callTRPCProcedure`: validation, auth, scopes), then
 * each event's frame tail is built once and every subscriber only prefixes its own request id.
 * Frames are exactly those of tRPC's adapter, so `wsLink` works unchanged, resume included.
 */

type Id = number | string;
interface Request {
  id?: Id | null;
  jsonrpc?: '2.0';
  method?: string;
  params?: { path?: unknown; input?: unknown; lastEventId?: unknown };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The event's frame after the subscriber's id: `,"result":{…}}`, made once per event. */
function tailOf(event: LiveEvent & { ws?: string }): string {
  event.ws ??=
    event.id === null
      ? `,"result":{"type":"data","data":${event.json}}}`
      : `,"result":{"type":"data","id":${JSON.stringify(event.id)},"data":{"id":${JSON.stringify(event.id)},"data":${event.json}}}}`;
  return event.ws;
}

/** A subscription of one socket: pending until its procedure has run, then open until closed. */
interface Entry {
  close: (() => void) | null;
  /** Stopped by the client, or its socket closed, before or after it opened. */
  ended: boolean;
}

const isRequestId = (id: unknown): id is Id => typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));

export function createWsFeeds(opts: { router: AnyTRPCRouter; services: Services }) {
  const { router, services } = opts;
  const { env } = services;
  const procedures = router._def.procedures as Record<string, { _def: { type: string } } | undefined>;
  // wsLink re-sends every open subscription plus the calls in flight in one frame after a
  // reconnect, so a frame may carry a full socket's subscriptions and a full batch.
  const maxCallsPerFrame = env.PULSE_MAX_BATCH_CALLS + env.PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET;

  return function attach(socket: WebSocket, req: IncomingMessage): void {
    const expectsParams = new URL(req.url ?? '/', 'http://localhost').searchParams.get('connectionParams') === '1';
    let params: Record<string, unknown> | null = null;
    let ctxPromise: Promise<Context> | null = null;
    const context = () =>
      (ctxPromise ??= authenticateSocket(services, req, params).then(({ user, credential }) =>
        createContextInner({ services, user, credential, ip: req.socket.remoteAddress ?? 'unknown' }),
      ));
    // Ids are reserved the moment a message arrives, so a second message with the same id is
    // refused even while the first is still being authorized.
    const entries = new Map<Id, Entry>();
    let sawParams = !expectsParams;

    const send = (text: string) => {
      if (socket.readyState === socket.OPEN) socket.send(text);
    };
    const prefix = (id: Id, jsonrpc?: string) => `{"id":${JSON.stringify(id)}${jsonrpc ? ',"jsonrpc":"2.0"' : ''}`;
    const errorFor = (id: Id, jsonrpc: string | undefined, path: string, input: unknown, ctx: Context | undefined) =>
      (cause: unknown) => {
        const error = getTRPCErrorFromUnknown(cause);
        const shape: unknown = getTRPCErrorShape({ config: router._def._config, error, type: 'subscription', path, input, ctx });
        send(`${prefix(id, jsonrpc)},"error":${JSON.stringify(shape)}}`);
      };

    async function subscribe(msg: Request & { id: Id }, entry: Entry) {
      const path = String(msg.params?.path);
      let input = msg.params?.input;
      const lastEventId = msg.params?.lastEventId;
      if (typeof lastEventId === 'string') {
        input = isObject(input) ? { ...input, lastEventId } : (input ?? { lastEventId });
      }
      const head = prefix(msg.id, msg.jsonrpc);
      let ctx: Context | undefined;
      let slot: (() => void) | null = null;
      const forget = () => {
        slot?.();
        if (entries.get(msg.id) === entry) entries.delete(msg.id);
      };
      try {
        ctx = await context();
        const userId = ctx.user?.id;
        if (userId !== undefined) {
          slot = services.connections.takeSubscription(userId);
          if (!slot) throw tooManySubscriptions(env.PULSE_MAX_SUBSCRIPTIONS_PER_USER);
        }
        const result: unknown = await callTRPCProcedure({
          router,
          path,
          getRawInput: async () => input,
          ctx,
          type: 'subscription',
          signal: undefined,
          batchIndex: 0,
        });
        const spec = feedSpecOf(result);
        if (!spec) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `${path} is not a feed` });
        if (entry.ended || socket.readyState !== socket.OPEN) return forget();
        send(`${head},"result":{"type":"started"}}`);
        const { metrics } = services;
        const fail = errorFor(msg.id, msg.jsonrpc, path, input, ctx);
        const sink: Sink = {
          deliver(event) {
            send(head + tailOf(event));
            metrics.counts.delivered++;
            metrics.deliveryLatency.observe((Date.now() - event.at) / 1000);
          },
          end(error) {
            if (entry.ended) return;
            entry.ended = true;
            close();
            forget();
            if (error) fail(error);
            else send(`${head},"result":{"type":"stopped"}}`);
          },
        };
        const close = spec.hub.open(spec, sink);
        entry.close = () => {
          close();
          forget();
        };
      } catch (cause) {
        forget();
        if (!entry.ended) errorFor(msg.id, msg.jsonrpc, path, input, ctx)(cause);
        entry.ended = true;
      }
    }

    function stop(id: Id, jsonrpc: string | undefined): void {
      const entry = entries.get(id);
      if (!entry) return;
      entries.delete(id);
      entry.ended = true;
      entry.close?.();
      send(`${prefix(id, jsonrpc)},"result":{"type":"stopped"}}`);
    }

    /** An error frame for id null: what tRPC answers a message it cannot read. */
    const refuseMessage = (error: TRPCError) => {
      const shape: unknown = getTRPCErrorShape({
        config: router._def._config,
        error,
        type: 'unknown',
        path: undefined,
        input: undefined,
        ctx: undefined,
      });
      send(`{"id":null,"error":${JSON.stringify(shape)}}`);
    };

    /** Takes what is ours out of a message; returns what tRPC should still see, or null. */
    function take(raw: string): string | null {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return raw;
      }
      if (!sawParams) {
        // The first message carries connectionParams; tRPC reads it too.
        sawParams = true;
        if (isObject(parsed) && parsed['method'] === 'connectionParams' && isObject(parsed['data'])) {
          params = parsed['data'];
        }
        return raw;
      }
      const messages = Array.isArray(parsed) ? parsed : [parsed];
      if (messages.length === 0) {
        // tRPC would stay silent; every message gets an answer.
        const shape: unknown = getTRPCErrorShape({
          config: router._def._config,
          error: new TRPCError({ code: 'BAD_REQUEST', message: 'An empty batch' }),
          type: 'unknown',
          path: undefined,
          input: undefined,
          ctx: undefined,
        });
        send(`{"id":null,"error":${JSON.stringify(shape)}}`);
        return null;
      }
      if (messages.length > maxCallsPerFrame) {
        socket.close(1008, `At most ${maxCallsPerFrame} calls per message`);
        return null;
      }
      const rest: unknown[] = [];
      for (const m of messages) {
        const msg = m as Request;
        if (!isObject(m) || !isRequestId(msg.id)) {
          rest.push(m);
          continue;
        }
        const id = msg.id;
        if (msg.method === 'subscription.stop' && entries.has(id)) {
          stop(id, msg.jsonrpc);
          continue;
        }
        const path = String(msg.params?.path);
        if (msg.method === 'subscription' && procedures[path]?._def.type === 'subscription') {
          const refuse = errorFor(id, msg.jsonrpc, path, msg.params?.input, undefined);
          if (entries.has(id)) {
            refuse(new TRPCError({ code: 'BAD_REQUEST', message: `Subscription id ${JSON.stringify(id)} is already open` }));
          } else if (entries.size >= env.PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET) {
            refuse(
              new TRPCError({
                code: 'TOO_MANY_REQUESTS',
                message: `At most ${env.PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection`,
              }),
            );
          } else {
            const entry: Entry = { close: null, ended: false };
            entries.set(id, entry);
            void subscribe({ ...msg, id }, entry);
          }
          continue;
        }
        rest.push(m);
      }
      if (rest.length === 0) return null;
      return JSON.stringify(Array.isArray(parsed) ? rest : rest[0]);
    }

    // In front of tRPC's listener: text frames pass through `take` first.
    const emit = socket.emit.bind(socket);
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'message' && args[1] === false && Buffer.isBuffer(args[0])) {
        const text = args[0].toString('utf8');
        if (text === 'PING' || text === 'PONG') return emit(event, ...args);
        // Refused before anything parses it; a first message (connectionParams) goes on to tRPC
        // as one it cannot read, which it answers as it answers any malformed first message.
        if (jsonDeeperThan(args[0], env.PULSE_MAX_JSON_DEPTH)) {
          if (sawParams) {
            refuseMessage(tooDeep(env.PULSE_MAX_JSON_DEPTH));
            return true;
          }
          sawParams = true;
          return emit(event, Buffer.from('\u0000'), false);
        }
        let rest: string | null;
        try {
          rest = take(text);
        } catch {
          // Input too deep to re-encode, say: answered as tRPC answers unparsable messages.
          rest = '\u0000';
        }
        if (rest === null) return true;
        return emit(event, Buffer.from(rest), false);
      }
      return emit(event, ...args);
    }) as WebSocket['emit'];

    socket.once('close', () => {
      for (const entry of entries.values()) {
        entry.ended = true;
        entry.close?.();
      }
      entries.clear();
    });
  };
}
