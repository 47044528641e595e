import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createContextFactory } from '../../src/server/platform/context.ts';
import { createHttpRpc } from '../../src/server/platform/http-rpc.ts';
import { createMetrics } from '../../src/server/platform/telemetry.ts';
import { routerAccess } from '../../src/server/platform/trpc-internals.ts';
import { adminProcedure, publicProcedure, router } from '../../src/server/platform/trpc.ts';

/**
 * Calls of deprecated procedures are counted in `/metrics`, by the one middleware every call
 * passes. Nothing of Pulse's own is deprecated yet, so a router made for this test is served as
 * Pulse serves its own over HTTP (its context factory, its HTTP path, its telemetry) and called
 * by tRPC's own client.
 */

const deprecated = { reason: 'It counts the old way.', replacement: 'fresh' };
const testRouter = router({
  old: publicProcedure
    .meta({ deprecated })
    .output(z.number())
    .query(() => 1),
  fresh: publicProcedure.output(z.number()).query(() => 2),
  admin: {
    old: adminProcedure
      .meta({ deprecated })
      .output(z.number())
      .query(() => 3),
  },
});

let server: Server | null = null;
afterEach(async () => {
  await new Promise((done) => server?.close(done));
  server = null;
});

/** The test router over HTTP on a free port, with `/metrics`; nobody is signed in. */
async function serve(): Promise<string> {
  const metrics = createMetrics();
  const contexts = createContextFactory({
    authenticator: { authenticate: async () => ({ user: null, credential: null }) },
    originAllowed: () => true,
    clientAddress: () => '127.0.0.1',
    countDeprecatedCall: (path) => metrics.countDeprecatedCall(path),
  });
  const rpc = createHttpRpc({
    trpc: routerAccess(testRouter),
    contexts,
    maxBatchSize: 10,
    onError: () => undefined,
  });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/metrics') {
      void metrics.render().then(({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType });
        res.end(body);
      });
    } else if (!rpc.handle(req, res, url.pathname.slice('/trpc/'.length), url, undefined)) {
      res.writeHead(404).end();
    }
  });
  server.once('close', () => metrics.stop());
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('calls of deprecated procedures', () => {
  it('are counted in /metrics by procedure, answered or refused; other calls are not', async () => {
    const url = await serve();
    const single = createTRPCClient<typeof testRouter>({
      links: [httpLink({ url: `${url}/trpc` })],
    });
    const batched = createTRPCClient<typeof testRouter>({
      links: [httpBatchLink({ url: `${url}/trpc` })],
    });
    expect(await single.old.query()).toBe(1);
    expect(await Promise.all([batched.old.query(), batched.fresh.query()])).toEqual([1, 2]);
    const refused = await single.admin.old.query().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<typeof testRouter>).data?.code).toBe('UNAUTHORIZED');

    const text = await (await fetch(`${url}/metrics`)).text();
    const counted = text.split('\n').filter((l) => l.startsWith('pulse_deprecated_calls_total'));
    expect(counted.sort()).toEqual([
      'pulse_deprecated_calls_total{procedure="admin.old"} 1',
      'pulse_deprecated_calls_total{procedure="old"} 2',
    ]);
  });
});
