import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AnyTRPCRouter } from '@trpc/server';
import { ConnectionRegistry } from '../../src/server/platform/connections.ts';
import type { ContextFactory } from '../../src/server/platform/context.ts';
import { parseTarget } from '../../src/server/platform/request-target.ts';
import type { Metrics } from '../../src/server/platform/telemetry.ts';
import { createWsTransport } from '../../src/server/platform/ws.ts';

/**
 * Pulse's WebSocket transport alone on a bare `node:http` server on an ephemeral port: `router`
 * behind it, small per-user limits, upgrades refused as the server refuses them. `url` is its
 * `ws://…/trpc`; close `transport`, then `server`.
 */
export async function serveWsTransport(opts: {
  router: AnyTRPCRouter;
  contexts: ContextFactory;
  metrics: Metrics;
  /** Anonymous sockets one address may hold until they authenticate. */
  anonymousPerAddress: number;
  pingS?: number;
}): Promise<{ server: Server; url: string; transport: ReturnType<typeof createWsTransport> }> {
  const { metrics } = opts;
  const transport = createWsTransport({
    router: opts.router,
    contexts: opts.contexts,
    connections: new ConnectionRegistry(metrics, {
      perUser: 5,
      subscriptionsPerUser: 5,
      anonymousPerAddress: opts.anonymousPerAddress,
    }),
    metrics,
    limits: {
      slowConsumerBytes: 1 << 20,
      batchCalls: 10,
      subscriptionsPerSocket: 5,
      subscriptionsPerUser: 5,
      pingS: opts.pingS ?? 30,
      maxJsonDepth: 64,
    },
    onError: () => undefined,
  });
  const server = createServer();
  server.on('upgrade', (req, socket, head) =>
    transport.upgrade(
      req,
      socket,
      head,
      (status, text) => socket.end(`HTTP/1.1 ${status} ${text}\r\n\r\n`),
      parseTarget(req.url ?? '/'),
    ),
  );
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
  return { server, url, transport };
}
