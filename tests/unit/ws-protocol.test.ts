import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCError } from '@trpc/server';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { createClientAddress } from '../../src/server/platform/client-address.ts';
import { createContextFactory, type Context } from '../../src/server/platform/context.ts';
import type { Metrics } from '../../src/server/platform/telemetry.ts';
import { publicProcedure, router } from '../../src/server/platform/trpc.ts';
import { serveWsTransport } from '../support/ws-server.ts';

/**
 * Pulse speaks tRPC's WebSocket protocol on each socket itself (platform/ws.ts). This pins it
 * against tRPC's own adapter, message for message: the same frames sent to both servers, one
 * serving the router through tRPC's `applyWSSHandler` and one through our transport, must be
 * answered alike: results, errors and their shapes, PING, connectionParams and broken frames.
 */

const metrics = {
  counts: { delivered: 0, dropped: 0, ws: 0, sse: 0, subscriptions: 0 },
  deliveryLatency: { observe: () => undefined },
} as unknown as Metrics;

const testRouter = router({
  hello: publicProcedure
    .input(z.object({ name: z.string() }).optional())
    .query(({ input }) => `hello ${input?.name ?? 'you'}`),
  save: publicProcedure.input(z.object({ n: z.number() })).mutation(({ input }) => input.n * 2),
  nothing: publicProcedure.mutation(() => undefined),
  busy: publicProcedure.query(() => {
    throw new TRPCError({ code: 'CONFLICT', message: 'Someone else changed it' });
  }),
  broken: publicProcedure.query(() => {
    throw new Error('a bug');
  }),
});

interface Served {
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
}

/** The router behind tRPC's own WebSocket adapter, every socket nobody's. */
async function theirs(): Promise<Served> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  const contexts = contextFactory();
  const handler = applyWSSHandler({
    router: testRouter,
    wss,
    createContext: ({ req }): Context =>
      contexts.fromAuthentication(req, { user: null, credential: null, bearer: false }),
  });
  const url = await listen(server);
  return {
    url,
    async close() {
      handler.broadcastReconnectNotification();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

function contextFactory() {
  return createContextFactory({
    authenticator: { authenticate: async () => ({ user: null, credential: null }) },
    originAllowed: () => true,
    clientAddress: createClientAddress([]),
  });
}

/** The same router behind Pulse's WebSocket transport. */
async function ours(pingS = 30): Promise<Served> {
  const { server, url, transport } = await serveWsTransport({
    router: testRouter,
    contexts: contextFactory(),
    metrics,
    anonymousPerAddress: 100,
    pingS,
  });
  return {
    url,
    async close() {
      transport.close();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

type Frame = string | Buffer;

/** What one server answered: the frames (parsed JSON, or text), and whether it closed the socket. */
interface Answers {
  frames: unknown[];
  closed: boolean;
}

/** The last message of every exchange: once its answer arrives, everything before it has too. */
const SENTINEL = { id: 'sentinel', method: 'query', params: { path: 'hello' } };

/**
 * Opens a socket, sends `frames` (binary when given as a Buffer) and then the sentinel, and
 * collects every answer until the sentinel's or the socket's close. Answers are sorted, so that
 * calls answered in either order compare equal; stacks (which name files) are dropped.
 */
async function exchange(url: string, frames: Frame[], query = ''): Promise<Answers> {
  const socket = new WebSocket(url + query);
  const received: unknown[] = [];
  const done = new Promise<boolean>((resolve) => {
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      let frame: unknown = text;
      try {
        frame = JSON.parse(text) as unknown;
      } catch {
        // PONG, say: kept as text.
      }
      if ((frame as { id?: unknown }).id === SENTINEL.id) return resolve(false);
      received.push(frame);
    });
    socket.on('close', () => resolve(true));
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  for (const frame of frames) socket.send(frame, { binary: typeof frame !== 'string' });
  socket.send(JSON.stringify(SENTINEL));
  const closed = await done;
  socket.terminate();
  const normal = received.map((frame): unknown =>
    JSON.parse(
      JSON.stringify(frame, (key, value: unknown) => (key === 'stack' ? undefined : value)),
    ),
  );
  return {
    frames: normal.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
    closed,
  };
}

const json = (value: unknown) => JSON.stringify(value);

/** Frames each server must answer alike (named for the failure message). */
const CASES: [string, Frame[]][] = [
  ['a query', [json({ id: 1, method: 'query', params: { path: 'hello', input: { name: 'a' } } })]],
  [
    'a query with jsonrpc',
    [json({ id: 'q', jsonrpc: '2.0', method: 'query', params: { path: 'hello' } })],
  ],
  ['a mutation', [json({ id: 2, method: 'mutation', params: { path: 'save', input: { n: 4 } } })]],
  ['a mutation without output', [json({ id: 2, method: 'mutation', params: { path: 'nothing' } })]],
  ['bad input', [json({ id: 3, method: 'mutation', params: { path: 'save', input: { n: 'x' } } })]],
  ['a thrown TRPCError', [json({ id: 4, method: 'query', params: { path: 'busy' } })]],
  ['a bug', [json({ id: 4, method: 'query', params: { path: 'broken' } })]],
  ['an unknown path', [json({ id: 5, method: 'query', params: { path: 'nope' } })]],
  ['a query as a mutation', [json({ id: 6, method: 'mutation', params: { path: 'hello' } })]],
  [
    'a query as a subscription',
    [json({ id: 7, method: 'subscription', params: { path: 'hello' } })],
  ],
  [
    'a lastEventId merged into the input',
    [
      json({
        id: 8,
        method: 'query',
        params: { path: 'hello', input: { name: 'b' }, lastEventId: 'e1' },
      }),
    ],
  ],
  [
    'a batch',
    [
      json([
        { id: 9, method: 'query', params: { path: 'hello' } },
        { id: 10, method: 'mutation', params: { path: 'save', input: { n: 1 } } },
      ]),
    ],
  ],
  [
    'a batch with one broken message',
    [
      json([
        { id: 9, method: 'query', params: { path: 'hello' } },
        { id: 10, method: 'what' },
      ]),
    ],
  ],
  ['no id', [json({ method: 'query', params: { path: 'hello' } })]],
  ['a null id', [json({ id: null, jsonrpc: '2.0', method: 'query', params: { path: 'hello' } })]],
  ['an unknown method', [json({ id: 11, method: 'nope', params: { path: 'hello' } })]],
  ['no params', [json({ id: 12, method: 'query' })]],
  ['a path that is not a string', [json({ id: 13, method: 'query', params: { path: 5 } })]],
  [
    'a lastEventId that is not a string',
    [json({ id: 14, method: 'query', params: { path: 'hello', lastEventId: 1 } })],
  ],
  [
    'another JSON-RPC version',
    [json({ id: 15, jsonrpc: '1.0', method: 'query', params: { path: 'hello' } })],
  ],
  ['stopping a subscription that is not open', [json({ id: 16, method: 'subscription.stop' })]],
  ['text that is not JSON', ['hello {']],
  ['JSON that is not an object', ['42']],
  ['a binary frame', [Buffer.from(json({ id: 17, method: 'query', params: { path: 'hello' } }))]],
  ['PING', ['PING']],
  ['PONG', ['PONG']],
];

/** With `?connectionParams=1`: the first message carries them, or ends the socket. */
const PARAMS_CASES: [string, Frame[]][] = [
  [
    'connectionParams, then a query',
    [
      json({ method: 'connectionParams', data: { token: 't' } }),
      json({ id: 1, method: 'query', params: { path: 'hello' } }),
    ],
  ],
  ['null connectionParams', [json({ method: 'connectionParams', data: null })]],
  ['connectionParams that are not strings', [json({ method: 'connectionParams', data: { n: 1 } })]],
  ['connectionParams without data', [json({ method: 'connectionParams' })]],
  ['a first message that is not JSON', ['nope']],
  [
    'a first message that is binary',
    [Buffer.from(json({ method: 'connectionParams', data: null }))],
  ],
  ['PING before the connectionParams', ['PING', json({ method: 'connectionParams', data: null })]],
];

let servers: { tRPC: Served; pulse: Served };
beforeAll(async () => {
  servers = { tRPC: await theirs(), pulse: await ours() };
});
afterAll(async () => {
  await servers.tRPC.close();
  await servers.pulse.close();
});

describe("Pulse's WebSocket protocol against tRPC's adapter", () => {
  it.each(CASES)('answers %s as tRPC does', async (_name, frames) => {
    const expected = await exchange(servers.tRPC.url, frames);
    expect(await exchange(servers.pulse.url, frames)).toEqual(expected);
  });

  it.each(PARAMS_CASES)('answers %s as tRPC does', async (_name, frames) => {
    const expected = await exchange(servers.tRPC.url, frames, '?connectionParams=1');
    expect(await exchange(servers.pulse.url, frames, '?connectionParams=1')).toEqual(expected);
  });
});

describe('keep-alive', () => {
  it('pings a quiet socket, keeps it while it answers PONG, and ends it once it stops', async () => {
    const served = await ours(0.05);
    try {
      const socket = new WebSocket(served.url);
      let pings = 0;
      let answering = true;
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      const pinged = (count: number) =>
        new Promise<void>((resolve) =>
          socket.on('message', (data: Buffer) => {
            if (data.toString() !== 'PING') return;
            pings += 1;
            if (answering) socket.send('PONG');
            if (pings === count) resolve();
          }),
        );
      const fivePings = pinged(5);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      // Five pings answered: the socket is still open, whatever the time between them.
      await fivePings;
      expect(socket.readyState).toBe(WebSocket.OPEN);
      answering = false;
      await closed;
      expect(pings).toBeGreaterThanOrEqual(6);
    } finally {
      await served.close();
    }
  });
});
