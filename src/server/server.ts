import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import { sql } from 'kysely';
import sirv from 'sirv';
import { WebSocket, WebSocketServer } from 'ws';
import { getTRPCErrorShape, TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import {
  authenticateSocket,
  createContextInner,
  createRequestContext,
  isOriginAllowed,
  peerAddress,
} from './context.ts';
import type { Env } from './env.ts';
import { jsonDeeperThan, tooDeep } from './json-depth.ts';
import { createSseTransport } from './live/sse.ts';
import { createWsFeeds } from './live/ws.ts';
import { appRouter } from './routers/_app.ts';
import { seedIfEmpty } from './seed.ts';
import { createServices, type Services } from './services.ts';

/** WebSocket frames over this close the connection (1009); others are unaffected. */
export const MAX_WS_FRAME_BYTES = 1 << 20;

/**
 * tRPC's WebSocket server never looks at `bufferedAmount`: a reader that stops reading makes it
 * queue without bound. Past `PULSE_SLOW_CONSUMER_BYTES` unsent, the connection ends instead;
 * the client reconnects and resumes by replay.
 */
function boundSendBuffer(services: Services, socket: WebSocket): void {
  const limit = services.env.PULSE_SLOW_CONSUMER_BYTES;
  const send = socket.send.bind(socket);
  socket.send = ((...args: Parameters<WebSocket['send']>) => {
    if (socket.bufferedAmount <= limit) return send(...args);
    if (socket.readyState === WebSocket.OPEN) {
      services.metrics.counts.dropped++;
      socket.terminate();
    }
  }) as WebSocket['send'];
}

/** One procedure path, or a batch of them joined by commas. */
const PROCEDURE_PATHS = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*(?:,[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)*$/;

/**
 * The path, percent-decoded, when it and the query string are well-formed: every `%` starts an
 * escape of valid UTF-8 and nothing decodes to a control character. Null otherwise.
 */
function wellFormed(pathname: string, search: string): string | null {
  try {
    const decoded = decodeURIComponent(pathname);
    decodeURIComponent(search.replaceAll('+', ' '));
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u001f\u007f]/.test(decoded) ? null : decoded;
  } catch {
    return null;
  }
}

/**
 * After an early answer to an oversized body, the rest is read and dropped (never buffered) so
 * that the client, still sending, reads the answer instead of a connection reset; past a few
 * times the limit it is not worth waiting for, and the connection ends.
 */
function discardBody(req: IncomingMessage, limit: number): void {
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > 4 * limit) req.socket.destroy();
  });
  req.resume();
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}

/** tRPC's error shape, as its adapters would answer, for requests refused before tRPC runs. */
function errorShape(error: TRPCError) {
  return getTRPCErrorShape({
    config: appRouter._def._config,
    error,
    type: 'unknown',
    path: undefined,
    input: undefined,
    ctx: undefined,
  });
}

/**
 * Expected errors (bad input, auth) are answers, not incidents; anything that reaches a client
 * as INTERNAL_SERVER_ERROR is a bug, logged once here with where it happened.
 */
function logInternalError(opts: { error: TRPCError; path: string | undefined; type: string }): void {
  if (opts.error.code !== 'INTERNAL_SERVER_ERROR') return;
  console.error(`tRPC ${opts.type} ${opts.path ?? '(no path)'} failed`, opts.error.cause ?? opts.error);
}

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  /** What first start created (admin password, demo users), for the console. */
  seeded: string[];
  close(): Promise<void>;
}

/** Starts Pulse: one HTTP server for the app, tRPC over HTTP/SSE/WebSocket, health and metrics. */
export async function startServer(env: Env): Promise<RunningServer> {
  const { services, close: closeServices } = await createServices(env);
  const seeded = await seedIfEmpty(services);
  const sse = createSseTransport({ router: appRouter, services });

  const trpcHttp = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    // A body without Content-Length is cut off here; one that declares too much is refused before.
    maxBodySize: env.PULSE_MAX_BODY_BYTES,
    maxBatchSize: env.PULSE_MAX_BATCH_CALLS,
    createContext: ({ req, res, info }) =>
      createRequestContext(services, req, {
        connectionParams: info.connectionParams,
        setCookie: (header) => res.appendHeader('Set-Cookie', header),
      }),
    onError: logInternalError,
  });

  const staticDir = resolve(env.PULSE_STATIC_DIR);
  const serveStatic = existsSync(staticDir)
    ? sirv(staticDir, { single: true, etag: true, gzip: false })
    : (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('The web app is not built: run `npm run build` (npm start does it for you).\n');
      };

  async function healthy(): Promise<boolean> {
    try {
      await sql`select 1`.execute(services.db);
      return true;
    } catch {
      return false;
    }
  }

  function observe(req: IncomingMessage, res: ServerResponse, kind: string) {
    const end = services.metrics.requestDuration.startTimer();
    res.once('finish', () => end({ kind, status: String(res.statusCode) }));
  }

  /** Answers a request to `/trpc/*` before tRPC sees it, in tRPC's error shape. */
  function refuseCall(res: ServerResponse, code: TRPC_ERROR_CODE_KEY, message: string) {
    const shape = errorShape(new TRPCError({ code, message }));
    res.writeHead(shape.data.httpStatus, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: shape }));
  }

  const tooLarge = () => `Request bodies are limited to ${env.PULSE_MAX_BODY_BYTES} bytes`;

  /**
   * Reads a JSON body (bounded, with or without Content-Length) and refuses it when it nests
   * deeper than `PULSE_MAX_JSON_DEPTH`, before anything parses it; else hands it to tRPC, whose
   * node adapter takes a string `req.body` as the body instead of reading the request.
   */
  function callWithJsonBody(req: IncomingMessage & { body?: string }, res: ServerResponse) {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= env.PULSE_MAX_BODY_BYTES) return void chunks.push(chunk);
      req.off('data', onData);
      req.off('end', onEnd);
      chunks.length = 0;
      refuseCall(res, 'PAYLOAD_TOO_LARGE', tooLarge());
      discardBody(req, env.PULSE_MAX_BODY_BYTES);
    };
    const onEnd = () => {
      const body = Buffer.concat(chunks, size);
      if (jsonDeeperThan(body, env.PULSE_MAX_JSON_DEPTH)) {
        return refuseCall(res, 'BAD_REQUEST', tooDeep(env.PULSE_MAX_JSON_DEPTH).message);
      }
      req.body = body.toString('utf8');
      void trpcHttp(req, res);
    };
    req.on('data', onData);
    req.on('end', onEnd);
  }

  function metricsAllowed(req: IncomingMessage): boolean {
    const token = env.PULSE_METRICS_TOKEN;
    if (token === undefined) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    const expected = Buffer.from(`Bearer ${token}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    // DNS rebinding: a hostile page whose name resolves here must reach nothing, not even a 404.
    if (!services.hosts.hostAllowed(req.headers.host)) {
      const missing = req.headers.host === undefined;
      return plain(res, missing ? 400 : 421, missing ? 'A Host header is required' : 'Unknown host');
    }
    const target = req.url ?? '/';
    if (Buffer.byteLength(target) > env.PULSE_MAX_URL_BYTES) return plain(res, 414, 'URL too long');
    let url: URL;
    try {
      url = new URL(target, 'http://localhost');
    } catch {
      return plain(res, 400, 'Malformed URL');
    }
    const { pathname } = url;
    const decoded = wellFormed(pathname, url.search);
    if (pathname.startsWith('/trpc/')) {
      const path = decoded === null ? null : decoded.slice('/trpc/'.length);
      if (path === null || !PROCEDURE_PATHS.test(path)) {
        return refuseCall(res, 'BAD_REQUEST', 'Malformed procedure path or percent-escape in the URL');
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > env.PULSE_MAX_BODY_BYTES) {
        refuseCall(res, 'PAYLOAD_TOO_LARGE', tooLarge());
        discardBody(req, env.PULSE_MAX_BODY_BYTES);
        return;
      }
      if (sse.handle(req, res, path, url)) return;
      const input = url.searchParams.get('input');
      if (input !== null && jsonDeeperThan(Buffer.from(input), env.PULSE_MAX_JSON_DEPTH)) {
        return refuseCall(res, 'BAD_REQUEST', tooDeep(env.PULSE_MAX_JSON_DEPTH).message);
      }
      observe(req, res, req.method === 'GET' ? 'query' : 'mutation');
      // The bodies tRPC parses as JSON (it matches the same way); others it reads itself.
      if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['content-type']?.startsWith('application/json')) {
        callWithJsonBody(req, res);
        return;
      }
      void trpcHttp(req, res);
      return;
    }
    if (pathname === '/healthz') {
      void healthy().then((ok) => {
        res.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable' }));
      });
      return;
    }
    if (pathname === '/metrics') {
      if (!metricsAllowed(req)) {
        res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="metrics"' });
        res.end('Send the metrics token as a bearer token\n');
        return;
      }
      services.metrics.render().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'Content-Type': contentType });
          res.end(body);
        },
        (error: unknown) => {
          console.error('Rendering /metrics failed', error);
          plain(res, 500, 'Metrics unavailable');
        },
      );
      return;
    }
    if (decoded === null) return plain(res, 400, 'Malformed percent-escape in the URL');
    observe(req, res, 'page');
    serveStatic(req, res, () => plain(res, 404, 'Not found'));
  }

  const server = createServer((req, res) => {
    try {
      route(req, res);
    } catch (error) {
      // Nothing above should throw; if something does, this request fails alone.
      console.error(`Request ${req.method ?? '?'} ${(req.url ?? '').slice(0, 200)} failed`, error);
      if (!res.headersSent) plain(res, 500, 'Internal error');
      else res.destroy();
    }
  });
  // Slow-loris bounds: a client gets this long to send its headers, and its whole request.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // Requests Node's parser refuses (headers over 16 KiB, broken syntax, timeouts) still get an
  // answer: written, then the rest of what the client sends is read and dropped for a moment,
  // so that the answer is not lost under a connection reset.
  const refused = new WeakSet<Duplex>();
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Node reports the same broken request again for every further chunk that arrives: answer once.
    if (refused.has(socket)) return;
    refused.add(socket);
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    let drained = 0;
    socket.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > 4 * env.PULSE_MAX_BODY_BYTES) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    setTimeout(() => socket.destroy(), 10_000).unref();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_FRAME_BYTES });
  // Registered before tRPC's handler, so every send it makes is bounded.
  const wsFeeds = createWsFeeds({ router: appRouter, services });
  wss.on('connection', (socket, req) => {
    boundSendBuffer(services, socket);
    wsFeeds(socket, req);
  });
  // A socket holds its address's anonymous slot until it authenticates, or closes.
  const anonymousSlots = new WeakMap<IncomingMessage, () => void>();
  const wsHandler = applyWSSHandler({
    wss,
    router: appRouter,
    keepAlive: {
      enabled: true,
      pingMs: env.PULSE_WS_PING_S * 1000,
      pongWaitMs: Math.min(10_000, env.PULSE_WS_PING_S * 1000),
    },
    // Socket-level errors (a frame over the limit, a reset) come without a path: not bugs.
    onError: (opts) => {
      if (opts.path !== undefined) logInternalError(opts);
    },
    // Never throws: a throwing createContext makes tRPC 11.19 clients reconnect in a loop.
    // Bad credentials give a context without a user, and procedures answer UNAUTHORIZED.
    async createContext({ req, res, info }) {
      const socket = res as unknown as WebSocket;
      const { user, credential } = await authenticateSocket(services, req, info.connectionParams);
      if (user) anonymousSlots.get(req)?.();
      const unregister = services.connections.add('ws', user?.id ?? null, credential?.key ?? null, {
        close: (reason) =>
          socket.close(
            reason === 'revoked' ? 4001 : 1012,
            reason === 'revoked' ? 'Session or token ended' : 'Server restarting',
          ),
      });
      if (!unregister) {
        socket.close(1008, 'Too many open connections for this user');
        return createContextInner({ services });
      }
      socket.once('close', unregister);
      return createContextInner({ services, user, credential, ip: peerAddress(req) });
    },
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Errors on a socket nobody listens to would end the process.
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    try {
      if (!services.hosts.hostAllowed(req.headers.host)) {
        return req.headers.host === undefined ? refuse(400, 'Bad Request') : refuse(421, 'Misdirected Request');
      }
      const target = req.url ?? '/';
      if (Buffer.byteLength(target) > env.PULSE_MAX_URL_BYTES) return refuse(414, 'URI Too Long');
      let pathname: string;
      try {
        pathname = new URL(target, 'http://localhost').pathname;
      } catch {
        return refuse(400, 'Bad Request');
      }
      if (pathname !== '/trpc') return refuse(404, 'Not Found');
      if (!isOriginAllowed(services, req)) return refuse(403, 'Forbidden');
      void admit(req, socket, new URL(target, 'http://localhost').searchParams.get('connectionParams') === '1')
        .then((admitted) => {
          if (socket.destroyed) return;
          if (!admitted) return refuse(429, 'Too Many Requests');
          wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
        })
        .catch((error: unknown) => {
          console.error(`WebSocket upgrade ${(req.url ?? '').slice(0, 200)} failed`, error);
          socket.destroy();
        });
    } catch (error) {
      console.error(`WebSocket upgrade ${(req.url ?? '').slice(0, 200)} failed`, error);
      socket.destroy();
    }
  });

  /**
   * Whether a WebSocket may open: one with a valid cookie or bearer header always may (its
   * per-user cap applies later); any other takes one of its address's anonymous slots, held
   * until it authenticates through `connectionParams` or closes.
   */
  async function admit(req: IncomingMessage, socket: Duplex, expectsParams: boolean): Promise<boolean> {
    if (!expectsParams && (req.headers.cookie !== undefined || req.headers.authorization !== undefined)) {
      const { user } = await authenticateSocket(services, req, null);
      if (user) return true;
    }
    if (socket.destroyed) return false;
    const slot = services.connections.takeAnonymous(peerAddress(req));
    if (!slot) return false;
    anonymousSlots.set(req, slot);
    socket.once('close', slot);
    return true;
  }

  await new Promise<void>((resolveListen) => server.listen(env.PORT, env.HOST, resolveListen));
  const { port } = server.address() as AddressInfo;
  services.hosts.listening(port);
  const host = env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    port,
    services,
    seeded,
    close() {
      closing ??= (async () => {
        wsHandler.broadcastReconnectNotification();
        sse.close();
        services.connections.closeAll();
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 1000).unref();
        });
        for (const client of wss.clients) client.terminate();
        wss.close();
        await closeServices();
      })();
      return closing;
    },
  };
}
