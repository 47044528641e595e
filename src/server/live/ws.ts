import type { IncomingMessage } from 'node:http';
import {
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  TRPCError,
  type AnyTRPCRouter,
} from '@trpc/server';
import type { WebSocket } from 'ws';
import { authenticate, createContextInner, type Context } from '../context.ts';
import type { Services } from '../services.ts';
import { feedSpecOf, type LiveEvent, type Sink } from './hub.ts';

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

export function createWsFeeds(opts: { router: AnyTRPCRouter; services: Services }) {
  const { router, services } = opts;
  const procedures = router._def.procedures as Record<string, { _def: { type: string } } | undefined>;

  return function attach(socket: WebSocket, req: IncomingMessage): void {
    const expectsParams = new URL(req.url ?? '/', 'http://localhost').searchParams.get('connectionParams') === '1';
    let params: Record<string, unknown> | null = null;
    let ctxPromise: Promise<Context> | null = null;
    const context = () =>
      (ctxPromise ??= authenticate(services, req, params).then(({ user, credential }) =>
        createContextInner({ services, user, credential, ip: req.socket.remoteAddress ?? 'unknown' }),
      ));
    const open = new Map<Id, () => void>();
    let sawParams = !expectsParams;

    const send = (text: string) => {
      if (socket.readyState === socket.OPEN) socket.send(text);
    };
    const prefix = (id: Id, jsonrpc?: string) => `{"id":${JSON.stringify(id)}${jsonrpc ? ',"jsonrpc":"2.0"' : ''}`;

    async function subscribe(msg: Request & { id: Id }) {
      const path = String(msg.params?.path);
      let input = msg.params?.input;
      const lastEventId = msg.params?.lastEventId;
      if (typeof lastEventId === 'string') {
        input = isObject(input) ? { ...input, lastEventId } : (input ?? { lastEventId });
      }
      const head = prefix(msg.id, msg.jsonrpc);
      let ctx: Context | undefined;
      const fail = (cause: unknown) => {
        const error = getTRPCErrorFromUnknown(cause);
        const shape: unknown = getTRPCErrorShape({ config: router._def._config, error, type: 'subscription', path, input, ctx });
        send(`${head},"error":${JSON.stringify(shape)}}`);
      };
      try {
        if (open.has(msg.id)) throw new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${msg.id}` });
        ctx = await context();
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
        if (socket.readyState !== socket.OPEN) return;
        send(`${head},"result":{"type":"started"}}`);
        const { metrics } = services;
        const sink: Sink = {
          deliver(event) {
            send(head + tailOf(event));
            metrics.counts.delivered++;
            metrics.deliveryLatency.observe((Date.now() - event.at) / 1000);
          },
          end(error) {
            if (!open.delete(msg.id)) return;
            close();
            if (error) fail(error);
            else send(`${head},"result":{"type":"stopped"}}`);
          },
        };
        const close = spec.hub.open(spec, sink);
        open.set(msg.id, close);
      } catch (cause) {
        fail(cause);
      }
    }

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
      const rest: unknown[] = [];
      for (const m of messages) {
        const msg = m as Request;
        if (isObject(m) && msg.id !== undefined && msg.id !== null) {
          const id = msg.id;
          if (msg.method === 'subscription.stop' && open.has(id)) {
            open.get(id)?.();
            open.delete(id);
            send(`${prefix(id, msg.jsonrpc)},"result":{"type":"stopped"}}`);
            continue;
          }
          if (msg.method === 'subscription' && procedures[String(msg.params?.path)]?._def.type === 'subscription') {
            void subscribe({ ...msg, id });
            continue;
          }
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
        const rest = take(text);
        if (rest === null) return true;
        return emit(event, Buffer.from(rest), false);
      }
      return emit(event, ...args);
    }) as WebSocket['emit'];

    socket.once('close', () => {
      for (const close of open.values()) close();
      open.clear();
    });
  };
}
