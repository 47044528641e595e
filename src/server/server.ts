import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { sql } from 'kysely';
import sirv from 'sirv';
import { WebSocket, WebSocketServer } from 'ws';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { authenticate, createContextInner, createRequestContext, isOriginAllowed } from './context.ts';
import type { Env } from './env.ts';
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
    createContext: ({ req, res, info }) =>
      createRequestContext(services, req, {
        connectionParams: info.connectionParams,
        setCookie: (header) => res.appendHeader('Set-Cookie', header),
      }),
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

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { pathname } = url;
    if (pathname.startsWith('/trpc/')) {
      if (sse.handle(req, res, decodeURIComponent(pathname.slice('/trpc/'.length)), url)) return;
      observe(req, res, req.method === 'GET' ? 'query' : 'mutation');
      trpcHttp(req, res);
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
      void services.metrics.render().then(({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType });
        res.end(body);
      });
      return;
    }
    observe(req, res, 'page');
    serveStatic(req, res, () => {
      res.writeHead(404);
      res.end();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_FRAME_BYTES });
  // Registered before tRPC's handler, so every send it makes is bounded.
  const wsFeeds = createWsFeeds({ router: appRouter, services });
  wss.on('connection', (socket, req) => {
    boundSendBuffer(services, socket);
    wsFeeds(socket, req);
  });
  const wsHandler = applyWSSHandler({
    wss,
    router: appRouter,
    keepAlive: {
      enabled: true,
      pingMs: env.PULSE_WS_PING_S * 1000,
      pongWaitMs: Math.min(10_000, env.PULSE_WS_PING_S * 1000),
    },
    // Never throws: a throwing createContext makes tRPC 11.19 clients reconnect in a loop.
    // Bad credentials give a context without a user, and procedures answer UNAUTHORIZED.
    async createContext({ req, res, info }) {
      const socket = res as unknown as WebSocket;
      const { user, credential } = await authenticate(services, req, info.connectionParams);
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
      return createContextInner({ services, user, credential, ip: req.socket.remoteAddress ?? 'unknown' });
    },
  });

  server.on('upgrade', (req, socket, head) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (pathname !== '/trpc') return refuse(404, 'Not Found');
    if (!isOriginAllowed(services, req)) return refuse(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  await new Promise<void>((resolveListen) => server.listen(env.PORT, env.HOST, resolveListen));
  const { port } = server.address() as AddressInfo;
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
