import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { AppRouter } from '../../src/server/router.ts';
import { createClientAddress } from '../../src/server/platform/client-address.ts';
import { createContextFactory } from '../../src/server/platform/context.ts';
import type { User } from '../../src/shared/schemas/auth.ts';
import { httpRequest, type HttpAnswer, type HttpRequestOptions } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Queries and mutations over HTTP go through Pulse's own framing (platform/http-rpc.ts) when
 * they are what the official links send, and through tRPC's handler otherwise. Each request
 * below goes to Pulse and to tRPC's own standalone handler mounted on the same app (same
 * router, database and authentication): the status, the headers clients read and the body must
 * be the same, byte for byte. Pulse's framing sends a Content-Length (tRPC's node adapter
 * streams its answers chunked), which tells which of the two answered.
 */

let t: TestServer;
let reference: Server;
let referenceUrl: string;
let cookie: string;

beforeAll(async () => {
  t = await startTestServer({}, { teams: [{ name: 'ops', members: ['ana'] }] });
  cookie = await t.login('ana');
  const { app } = t.server;
  const contexts = createContextFactory({
    authenticator: app.authenticator,
    originAllowed: (origin) => app.hosts.originAllowed(origin),
    clientAddress: createClientAddress([]),
  });
  reference = createServer(
    createHTTPHandler({
      router: app.router,
      basePath: '/trpc/',
      maxBodySize: app.env.PULSE_MAX_BODY_BYTES,
      maxBatchSize: app.env.PULSE_MAX_BATCH_CALLS,
      createContext: ({ req, res, info }) =>
        contexts.forRequest(req, {
          connectionParams: info.connectionParams,
          setCookie: (header) => res.appendHeader('Set-Cookie', header),
        }),
    }),
  );
  await new Promise<void>((resolve) => reference.listen(0, '127.0.0.1', resolve));
  referenceUrl = `http://127.0.0.1:${(reference.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => reference.close(resolve));
  await t[Symbol.asyncDispose]();
});

/** What a client reads of an answer; the server's uptime may tick between the two. */
const readable = (a: HttpAnswer) => ({
  status: a.status,
  contentType: a.headers['content-type'],
  vary: a.headers['vary'],
  body: a.body.replace(/"uptimeS":\d+/, '"uptimeS":0'),
});

/** Sends `request` to both servers; Pulse's answer, checked against tRPC's. */
async function both(request: HttpRequestOptions): Promise<HttpAnswer> {
  const pulse = await httpRequest(t.url, request);
  const trpc = await httpRequest(referenceUrl, {
    ...request,
    // The reference answers any Host; Pulse's Origin policy is the same on both.
    headers: { ...request.headers },
  });
  expect(readable(pulse), `${request.method ?? 'GET'} ${request.path}`).toEqual(readable(trpc));
  return pulse;
}

const fast = (a: HttpAnswer) => a.headers['content-length'] !== undefined;
const json = { 'content-type': 'application/json' };
const q = (input: unknown) => encodeURIComponent(JSON.stringify(input));

describe('queries and mutations over HTTP', () => {
  it('answers the calls the official links send as tRPC does, itself', async () => {
    const calls: HttpRequestOptions[] = [
      { path: '/trpc/auth.me', headers: { cookie } },
      { path: '/trpc/auth.me' },
      { path: '/trpc/system.health' },
      { path: `/trpc/auth.me,system.health?batch=1&input=${q({})}`, headers: { cookie } },
      { path: `/trpc/auth.me,system.health?batch=1&input=${q({})}` },
      { path: '/trpc/system.health?batch=1' },
      { path: `/trpc/notifications.list?input=${q({ limit: 5 })}`, headers: { cookie } },
      // Zod's issues, BAD_REQUEST.
      { path: `/trpc/notifications.list?input=${q({ limit: 0 })}`, headers: { cookie } },
      {
        path: `/trpc/notifications.list,notifications.list?batch=1&input=${q({ 0: { limit: 1 }, 1: { limit: -1 } })}`,
        headers: { cookie },
      },
      {
        method: 'POST',
        path: '/trpc/notifications.markAllRead',
        headers: { cookie, ...json },
        body: '{}',
      },
      {
        method: 'POST',
        path: '/trpc/notifications.markAllRead,notifications.markRead?batch=1',
        headers: { cookie, ...json },
        body: JSON.stringify({ 0: {}, 1: { id: 5 } }),
      },
      {
        method: 'POST',
        path: '/trpc/auth.login',
        headers: json,
        body: JSON.stringify({ username: 'ana', password: 'not her password' }),
      },
      // Input that is not JSON fails the calls that read it, and only those (tRPC reads lazily).
      { path: '/trpc/notifications.list?input=%7Bnot-json', headers: { cookie } },
      { path: '/trpc/auth.me?input=%7Bnot-json', headers: { cookie } },
      {
        method: 'POST',
        path: '/trpc/notifications.markRead',
        headers: { cookie, ...json },
        body: '',
      },
      {
        method: 'POST',
        path: '/trpc/notifications.markAllRead',
        headers: { cookie, ...json },
        body: '',
      },
      {
        method: 'POST',
        path: '/trpc/notifications.markAllRead',
        headers: { cookie, ...json },
        body: '{nope',
      },
      // A foreign page's mutation with the cookie: the CSRF guard.
      {
        method: 'POST',
        path: '/trpc/notifications.markAllRead',
        headers: { cookie, origin: 'http://evil.example', ...json },
        body: '{}',
      },
    ];
    for (const call of calls) expect(fast(await both(call)), call.path).toBe(true);
  });

  it('leaves everything else to tRPC, which answers it with its own errors', async () => {
    const calls: HttpRequestOptions[] = [
      { path: '/trpc/nothing.here' },
      { path: '/trpc/auth.me,nothing.here?batch=1', headers: { cookie } },
      { method: 'POST', path: '/trpc/auth.me', headers: { cookie, ...json }, body: '{}' },
      { path: `/trpc/auth.login?input=${q({ username: 'ana', password: 'x' })}` },
      { path: `/trpc/auth.me?batch=1&input=${q([1])}`, headers: { cookie } },
      { path: '/trpc/auth.me,auth.me?batch=1&input=%7Bnot-json', headers: { cookie } },
      {
        method: 'POST',
        path: '/trpc/notifications.markAllRead',
        headers: { cookie, 'content-type': 'text/plain' },
        body: '{}',
      },
      {
        path: `/trpc/auth.me?batch=1&input=${q({})}`,
        headers: { cookie, 'trpc-accept': 'application/jsonl' },
      },
      {
        path: `/trpc/${Array.from({ length: 101 }, () => 'auth.me').join(',')}?batch=1`,
        headers: { cookie },
      },
    ];
    for (const call of calls) {
      const answer = await both(call);
      expect(fast(answer), call.path).toBe(false);
    }
  });

  it('serves the official links, batched and not, GET and POST, with typed errors', async () => {
    for (const link of [httpLink, httpBatchLink]) {
      const client = createTRPCClient<AppRouter>({
        links: [link({ url: `${t.url}/trpc`, headers: { cookie } })],
      });
      const [me, page, marked] = await Promise.all([
        client.auth.me.query(),
        client.notifications.list.query({ limit: 5 }),
        client.notifications.markAllRead.mutate(),
      ]);
      expectTypeOf(me).toEqualTypeOf<User>();
      expect(me.username).toBe('ana');
      expect(page.items).toEqual([]);
      expect(marked).toEqual({ count: 0 });
      const refused = await client.notifications.list.query({ limit: 0 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TRPCClientError);
      expect((refused as TRPCClientError<AppRouter>).data?.code).toBe('BAD_REQUEST');
      expect((refused as TRPCClientError<AppRouter>).data?.httpStatus).toBe(400);
    }
    const anonymous = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${t.url}/trpc` })],
    });
    const outcomes = await Promise.allSettled([
      anonymous.auth.me.query(),
      anonymous.system.health.query(),
    ]);
    expect(outcomes[0].status).toBe('rejected');
    expect(outcomes[1]).toMatchObject({ status: 'fulfilled', value: { status: 'ok' } });
  });
});
