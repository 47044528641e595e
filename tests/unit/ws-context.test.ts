import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createClientAddress } from '../../src/server/platform/client-address.ts';
import {
  createContextFactory,
  type Authenticator,
  type PresentedSecrets,
} from '../../src/server/platform/context.ts';
import { Hub, liveEvent, valueFeed } from '../../src/server/platform/hub.ts';
import type { Metrics } from '../../src/server/platform/telemetry.ts';
import { publicProcedure, router } from '../../src/server/platform/trpc.ts';
import { serveWsTransport } from '../support/ws-server.ts';

/**
 * One context per socket: whether the upgrade's cookie or the first message's connectionParams
 * says who it is, the socket is authenticated once, and its queries and subscriptions see the
 * same user.
 */

const metrics = {
  counts: { delivered: 0, dropped: 0, ws: 0, sse: 0, subscriptions: 0 },
  deliveryLatency: { observe: () => undefined },
} as unknown as Metrics;
const hub = new Hub(metrics);
const testRouter = router({
  who: publicProcedure.query(({ ctx }) => ctx.user?.id ?? null),
  numbers: publicProcedure.subscription(() => valueFeed<number>({ hub, channel: 'numbers' })),
});

const alice = {
  id: 'usr_alice',
  username: 'alice',
  displayName: 'Alice',
  role: 'member',
  teamIds: [],
} as const;

let server: Server | null = null;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = null;
});

/** A server with the WebSocket transport alone; `asked` lists every authentication it made. */
async function serve() {
  const asked: PresentedSecrets[] = [];
  const authenticator: Authenticator = {
    async authenticate(secrets) {
      asked.push(secrets);
      const known = secrets.sessionSecret === 'alice' || secrets.token === 'alice-token';
      return known
        ? {
            user: { ...alice, teamIds: [] },
            credential: { kind: 'session', key: 'k', scopes: null },
          }
        : { user: null, credential: null };
    },
  };
  const served = await serveWsTransport({
    router: testRouter,
    contexts: createContextFactory({
      authenticator,
      originAllowed: () => true,
      clientAddress: createClientAddress([]),
    }),
    metrics,
    anonymousPerAddress: 5,
  });
  server = served.server;
  return { asked, url: served.url };
}

/** A client socket whose answers are awaited by request id. */
async function connect(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(url, { headers });
  sockets.push(socket);
  const frames: { id: unknown; result?: { type: string; data?: unknown } }[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data: Buffer) => {
    frames.push(JSON.parse(data.toString('utf8')) as (typeof frames)[number]);
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return {
    send: (message: unknown) => socket.send(JSON.stringify(message)),
    /** Resolves with the first frame for `id` that matches `type`. */
    async answer(id: number, type: string) {
      for (;;) {
        const found = frames.find((f) => f.id === id && f.result?.type === type);
        if (found) return found.result;
        await new Promise<void>((wake) => waiters.push(wake));
      }
    },
  };
}

async function whoAndFeed(client: Awaited<ReturnType<typeof connect>>) {
  client.send([
    { id: 1, method: 'subscription', params: { path: 'numbers' } },
    { id: 2, method: 'query', params: { path: 'who' } },
  ]);
  await client.answer(1, 'started');
  const who = await client.answer(2, 'data');
  hub.dispatch('numbers', liveEvent(7));
  const event = await client.answer(1, 'data');
  return { who: who?.data, event: event?.data };
}

describe('the WebSocket context', () => {
  it('authenticates a socket with a cookie once, at its upgrade', async () => {
    const { asked, url } = await serve();
    const client = await connect(url, { cookie: 'pulse_session=alice' });
    expect(await whoAndFeed(client)).toEqual({ who: 'usr_alice', event: 7 });
    expect(asked).toEqual([{ token: null, sessionSecret: 'alice' }]);
  });

  it('authenticates a socket by its connectionParams once, for queries and subscriptions alike', async () => {
    const { asked, url } = await serve();
    const client = await connect(`${url}?connectionParams=1`);
    client.send({ method: 'connectionParams', data: { token: 'alice-token' } });
    expect(await whoAndFeed(client)).toEqual({ who: 'usr_alice', event: 7 });
    expect(asked).toEqual([{ token: 'alice-token', sessionSecret: null }]);
  });

  it('takes a socket without credentials for nobody, without a lookup', async () => {
    const { asked, url } = await serve();
    const client = await connect(url);
    expect(await whoAndFeed(client)).toEqual({ who: null, event: 7 });
    expect(asked).toEqual([]);
  });
});
