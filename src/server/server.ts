import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import sirv from 'sirv';
import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createApp, type App, type AppOptions } from './app.ts';
import { createClientAddress } from './platform/client-address.ts';
import { createContextFactory } from './platform/context.ts';
import { createDrain, interleave } from './platform/drain.ts';
import type { Env } from './env.ts';
import { jsonDeeperThan, tooDeep } from './platform/json-depth.ts';
import { createSseTransport } from './platform/sse.ts';
import { LIVE_STREAM_ID } from './platform/sse-live.ts';
import { createHttpRpc } from './platform/http-rpc.ts';
import { parseTarget } from './platform/request-target.ts';
import { routerAccess, type RequestUrl } from './platform/trpc-internals.ts';
import { createWsTransport } from './platform/ws.ts';
import { LIVE_PATH, TRPC_PATH } from '../shared/paths.ts';

/** Where procedures are called over HTTP and SSE: `/trpc/<path>`. */
const TRPC_BASE = `${TRPC_PATH}/`;

/** One procedure path, or a batch of them joined by commas. */
const PROCEDURE_PATHS =
  /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*(?:,[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)*$/;

/**
 * The path, percent-decoded, when it and the query string are well-formed: every `%` starts an
 * escape of valid UTF-8 and nothing decodes to a control character. Null otherwise.
 */
function wellFormed(pathname: string, search: string): string | null {
  // Nothing to decode: the WHATWG parser left no control character in the path.
  if (!pathname.includes('%') && !search.includes('%')) return pathname;
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

/**
 * Expected errors (bad input, auth) are answers, not incidents; anything that reaches a client
 * as INTERNAL_SERVER_ERROR is a bug, logged once here with where it happened.
 */
function logInternalError(opts: {
  error: TRPCError;
  path: string | undefined;
  type: string;
}): void {
  if (opts.error.code !== 'INTERNAL_SERVER_ERROR') return;
  console.error(
    `tRPC ${opts.type} ${opts.path ?? '(no path)'} failed`,
    opts.error.cause ?? opts.error,
  );
}

export interface RunningServer {
  url: string;
  port: number;
  /** The server's parts: stores, feeds, actions, and `jobs` (`app.jobs.alerts.evaluateNow()`). */
  app: App;
  /** What first start created (admin password, demo users), for the console. */
  seeded: string[];
  /**
   * Shuts down as a drain (SIGTERM): `/healthz` answers 503 `draining` at once, nothing new is
   * taken, open streams end spread over `windowMs`, requests in flight finish (up to 10 s),
   * then the app closes. Once; later calls answer the same promise.
   */
  drain(windowMs: number): Promise<void>;
  /** Ends a drain now (a second signal): every stream and connection still open, then the app. */
  hurry(): void;
  /** Closes at once (tests): a drain with no window, and 1 s for requests in flight. */
  close(): Promise<void>;
}

/** Where this server reaches itself: a wildcard listen address by loopback, else the address. */
function selfHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** How long a drain waits for requests still in flight once the streams have ended. */
const SETTLE_MS = 10_000;

/** Starts Pulse: one HTTP server for the app, tRPC over HTTP/SSE/WebSocket, health and metrics. */
export async function startServer(env: Env, opts: AppOptions = {}): Promise<RunningServer> {
  const app = await createApp(env, opts);
  await app.startJobs();
  const seeded = await app.seedIfEmpty();
  const contexts = createContextFactory({
    authenticator: app.authenticator,
    originAllowed: (origin) => app.hosts.originAllowed(origin),
    clientAddress: createClientAddress(env.PULSE_TRUSTED_PROXIES),
    countDeprecatedCall: (path) => app.metrics.countDeprecatedCall(path),
  });
  const { connections, metrics } = app;
  const sse = createSseTransport({
    router: app.router,
    contexts,
    connections,
    metrics,
    limits: {
      pingS: env.PULSE_SSE_PING_S,
      slowConsumerBytes: env.PULSE_SLOW_CONSUMER_BYTES,
      maxInputBytes: env.PULSE_MAX_SSE_INPUT_BYTES,
      maxJsonDepth: env.PULSE_MAX_JSON_DEPTH,
      subscriptionsPerUser: env.PULSE_MAX_SUBSCRIPTIONS_PER_USER,
      subscriptionsPerStream: env.PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET,
    },
  });
  const ws = createWsTransport({
    router: app.router,
    contexts,
    connections,
    metrics,
    limits: {
      slowConsumerBytes: env.PULSE_SLOW_CONSUMER_BYTES,
      batchCalls: env.PULSE_MAX_BATCH_CALLS,
      subscriptionsPerSocket: env.PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET,
      subscriptionsPerUser: env.PULSE_MAX_SUBSCRIPTIONS_PER_USER,
      pingS: env.PULSE_WS_PING_S,
      maxJsonDepth: env.PULSE_MAX_JSON_DEPTH,
    },
    onError: logInternalError,
  });
  const trpc = routerAccess(app.router);
  const httpRpc = createHttpRpc({
    trpc,
    contexts,
    maxBatchSize: env.PULSE_MAX_BATCH_CALLS,
    onError: logInternalError,
  });

  const trpcHttp = createHTTPHandler({
    router: app.router,
    basePath: TRPC_BASE,
    // A body without Content-Length is cut off here; one that declares too much is refused before.
    maxBodySize: env.PULSE_MAX_BODY_BYTES,
    maxBatchSize: env.PULSE_MAX_BATCH_CALLS,
    createContext: ({ req, res, info }) =>
      contexts.forRequest(req, {
        connectionParams: info.connectionParams,
        setCookie: (header) => res.appendHeader('Set-Cookie', header),
      }),
    onError: logInternalError,
  });

  const staticDir =
    env.PULSE_STATIC_DIR === undefined
      ? fileURLToPath(new URL('../../dist/client', import.meta.url))
      : resolve(env.PULSE_STATIC_DIR);
  const serveStatic = existsSync(staticDir)
    ? sirv(staticDir, { single: true, etag: true, gzip: false })
    : (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('The web app is not built: run `npm run build` (npm start does it for you).\n');
      };

  /**
   * `ok`; `degraded` naming what is down while the database answers but Redis does not (this
   * instance still serves its own clients); `unavailable` (503) without the database.
   */
  async function health(): Promise<{ status: number; body: Record<string, unknown> }> {
    try {
      await sql`select 1`.execute(app.db);
    } catch {
      return { status: 503, body: { status: 'unavailable' } };
    }
    const down = app.bus.unavailable();
    return down.length === 0
      ? { status: 200, body: { status: 'ok' } }
      : { status: 200, body: { status: 'degraded', down } };
  }

  function observe(req: IncomingMessage, res: ServerResponse, kind: string) {
    const start = performance.now();
    res.on('finish', () =>
      app.metrics.observeRequest(kind, res.statusCode, (performance.now() - start) / 1000),
    );
  }

  /** Answers a request to `/trpc/*` before tRPC sees it, in tRPC's error shape. */
  function refuseCall(res: ServerResponse, code: TRPC_ERROR_CODE_KEY, message: string) {
    const shape = trpc.errorShape(new TRPCError({ code, message }), { type: 'unknown' });
    res.writeHead(shape.data.httpStatus, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: shape }));
  }

  const tooLarge = () => `Request bodies are limited to ${env.PULSE_MAX_BODY_BYTES} bytes`;

  /**
   * Reads a JSON body (bounded, with or without Content-Length) and refuses it when it nests
   * deeper than `PULSE_MAX_JSON_DEPTH`, before anything parses it; else hands it on.
   */
  function readJsonBody(req: IncomingMessage, res: ServerResponse, then: (body: string) => void) {
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
      const body = Buffer.concat(chunks, size).toString('utf8');
      if (jsonDeeperThan(body, env.PULSE_MAX_JSON_DEPTH)) {
        return refuseCall(res, 'BAD_REQUEST', tooDeep(env.PULSE_MAX_JSON_DEPTH).message);
      }
      then(body);
    };
    req.on('data', onData);
    req.on('end', onEnd);
  }

  /** A call with a JSON body: ours (http-rpc.ts), or tRPC's, which takes a string `req.body` as the body. */
  function callWithJsonBody(
    req: IncomingMessage & { body?: string },
    res: ServerResponse,
    path: string,
    url: RequestUrl,
  ) {
    readJsonBody(req, res, (body) => {
      if (httpRpc.handle(req, res, path, url, body)) return;
      req.body = body;
      void trpcHttp(req, res);
    });
  }

  /**
   * The multiplexed live stream (decision 0021): `POST /trpc-live` opens one, `POST
   * /trpc-live/<stream>` changes it. JSON bodies only, so that a foreign page cannot send one
   * without a CORS preflight (which it does not get).
   */
  function live(req: IncomingMessage, res: ServerResponse, pathname: string) {
    const id = pathname === LIVE_PATH ? null : pathname.slice(LIVE_PATH.length + 1);
    if (id !== null && !LIVE_STREAM_ID.test(id)) {
      return refuseCall(res, 'NOT_FOUND', 'No such live stream');
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return refuseCall(
        res,
        'METHOD_NOT_SUPPORTED',
        'Live streams are opened and changed with POST',
      );
    }
    if (!req.headers['content-type']?.startsWith('application/json')) {
      return refuseCall(res, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    }
    if (Number(req.headers['content-length'] ?? 0) > env.PULSE_MAX_BODY_BYTES) {
      refuseCall(res, 'PAYLOAD_TOO_LARGE', tooLarge());
      discardBody(req, env.PULSE_MAX_BODY_BYTES);
      return;
    }
    if (id !== null) observe(req, res, 'live');
    readJsonBody(req, res, (body) =>
      id === null ? sse.openLive(req, res, body) : sse.controlLive(req, res, id, body),
    );
  }

  function metricsAllowed(req: IncomingMessage): boolean {
    const token = env.PULSE_METRICS_TOKEN;
    if (token === undefined) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    const expected = Buffer.from(`Bearer ${token}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * While draining, every request (on a connection opened before) is answered 503 and its
   * connection closed: `/healthz` says `draining`, calls get tRPC's SERVICE_UNAVAILABLE.
   */
  function refuseDraining(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    if (pathname === '/healthz') {
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'draining' }));
    } else if (pathname.startsWith(TRPC_BASE) || pathname.startsWith(LIVE_PATH)) {
      refuseCall(res, 'SERVICE_UNAVAILABLE', 'This instance is shutting down; try again');
    } else {
      plain(res, 503, 'This instance is shutting down');
    }
    // The body, if any, is not wanted; the connection closes after the answer.
    req.resume();
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    // DNS rebinding: a hostile page whose name resolves here must reach nothing, not even a 404.
    if (!app.hosts.hostAllowed(req.headers.host)) {
      const missing = req.headers.host === undefined;
      return plain(
        res,
        missing ? 400 : 421,
        missing ? 'A Host header is required' : 'Unknown host',
      );
    }
    const target = req.url ?? '/';
    if (drain.state !== 'serving') {
      let pathname = '/';
      try {
        pathname = new URL(target, 'http://localhost').pathname;
      } catch {
        // Refused all the same.
      }
      return refuseDraining(req, res, pathname);
    }
    if (Buffer.byteLength(target) > env.PULSE_MAX_URL_BYTES) return plain(res, 414, 'URL too long');
    let url: RequestUrl;
    try {
      url = parseTarget(target);
    } catch {
      return plain(res, 400, 'Malformed URL');
    }
    const { pathname } = url;
    const decoded = wellFormed(pathname, url.search);
    if (pathname === LIVE_PATH || pathname.startsWith(`${LIVE_PATH}/`)) {
      return live(req, res, pathname);
    }
    if (pathname.startsWith(TRPC_BASE)) {
      const path = decoded === null ? null : decoded.slice(TRPC_BASE.length);
      if (path === null || !PROCEDURE_PATHS.test(path)) {
        return refuseCall(
          res,
          'BAD_REQUEST',
          'Malformed procedure path or percent-escape in the URL',
        );
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > env.PULSE_MAX_BODY_BYTES) {
        refuseCall(res, 'PAYLOAD_TOO_LARGE', tooLarge());
        discardBody(req, env.PULSE_MAX_BODY_BYTES);
        return;
      }
      if (sse.handle(req, res, path, url)) return;
      const input = url.searchParams.get('input');
      if (input !== null && jsonDeeperThan(input, env.PULSE_MAX_JSON_DEPTH)) {
        return refuseCall(res, 'BAD_REQUEST', tooDeep(env.PULSE_MAX_JSON_DEPTH).message);
      }
      observe(req, res, req.method === 'GET' ? 'query' : 'mutation');
      // The bodies tRPC parses as JSON (it matches the same way); others it reads itself.
      if (
        req.method !== 'GET' &&
        req.method !== 'HEAD' &&
        req.headers['content-type']?.startsWith('application/json')
      ) {
        callWithJsonBody(req, res, path, url);
        return;
      }
      if (httpRpc.handle(req, res, path, url, undefined)) return;
      void trpcHttp(req, res);
      return;
    }
    if (pathname === '/healthz') {
      void health().then(({ status, body }) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      });
      return;
    }
    if (pathname === '/metrics') {
      if (!metricsAllowed(req)) {
        res.writeHead(401, {
          'Content-Type': 'text/plain',
          'WWW-Authenticate': 'Bearer realm="metrics"',
        });
        res.end('Send the metrics token as a bearer token\n');
        return;
      }
      app.metrics.render().then(
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

  /** Responses not yet finished, so that a drain can close their connections after them. */
  const inFlight = new Set<ServerResponse>();
  // One listener for every response ('close' comes once): an open event stream holds no
  // closure of its own for it.
  function leaveInFlight(this: ServerResponse) {
    inFlight.delete(this);
  }
  const server = createServer((req, res) => {
    if (drain.state !== 'serving') res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.on('close', leaveInFlight);
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
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
    let drained = 0;
    socket.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > 4 * env.PULSE_MAX_BODY_BYTES) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    setTimeout(() => socket.destroy(), 10_000).unref();
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Errors on a socket nobody listens to would end the process.
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    try {
      if (!app.hosts.hostAllowed(req.headers.host)) {
        return req.headers.host === undefined
          ? refuse(400, 'Bad Request')
          : refuse(421, 'Misdirected Request');
      }
      if (drain.state !== 'serving') return refuse(503, 'Service Unavailable');
      const target = req.url ?? '/';
      if (Buffer.byteLength(target) > env.PULSE_MAX_URL_BYTES) return refuse(414, 'URI Too Long');
      let url: RequestUrl;
      try {
        url = parseTarget(target);
      } catch {
        return refuse(400, 'Bad Request');
      }
      if (url.pathname !== TRPC_PATH) return refuse(404, 'Not Found');
      if (!contexts.originAllowed(req)) return refuse(403, 'Forbidden');
      ws.upgrade(req, socket, head, refuse, url);
    } catch (error) {
      console.error(`WebSocket upgrade ${(req.url ?? '').slice(0, 200)} failed`, error);
      socket.destroy();
    }
  });

  /** Resolves when the listener has closed and every connection has ended. */
  let allClosed: Promise<void> | null = null;
  let settleMs = SETTLE_MS;
  const drain = createDrain({
    refuseNew() {
      sse.refuseNew();
      ws.refuseNew();
      // Node's own http close() also closes every idle kept-alive connection at once; the
      // listener alone stops here, so a balancer's health check on a kept-alive connection
      // still reads its 503 `draining`. Those connections close after their next answer.
      allClosed = new Promise((done) => NetServer.prototype.close.call(server, () => done()));
      for (const res of inFlight) {
        if (!res.headersSent) res.shouldKeepAlive = false;
      }
    },
    streams: () => interleave(sse.streams(), ws.streams()),
    async settle() {
      server.closeIdleConnections();
      // A response that finishes now leaves its connection idle (if it was kept alive).
      for (const res of inFlight) res.once('finish', () => server.closeIdleConnections());
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        allClosed,
        new Promise<void>((done) => (timer = setTimeout(done, settleMs))),
      ]);
      clearTimeout(timer);
    },
    cut() {
      server.closeAllConnections();
      ws.close();
      sse.close();
    },
    closeApp: () => app.close(),
  });

  await new Promise<void>((resolveListen) => server.listen(env.PORT, env.HOST, resolveListen));
  const { port } = server.address() as AddressInfo;
  app.hosts.listening(port);
  const host = env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST;
  await app.startDemo(`http://${selfHost(env.HOST)}:${port}`);

  /** A shutdown stops the demo first, so that none of its calls meets a draining server. */
  const shutdown = (windowMs: number) => {
    void app.stopDemo();
    return drain.start(windowMs);
  };
  return {
    url: `http://${host}:${port}`,
    port,
    app,
    seeded,
    drain: shutdown,
    hurry: () => drain.hurry(),
    close() {
      settleMs = 1000;
      return shutdown(0);
    },
  };
}
