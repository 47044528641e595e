import { randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createApp } from '../../src/server/app.ts';
import { parseEnv } from '../../src/server/env.ts';
import { countChanges, rowCounts, type RowCounts } from '../support/db-snapshot.ts';
import {
  LIMITS,
  batchPath,
  hostileCorpus,
  payloadTooLargeProblem,
  type CorpusGroup,
  type CorpusTarget,
} from '../support/hostile-corpus.ts';
import { edgeInputsOf, hostileInputsOf, type HostileInput } from '../support/hostile-inputs.ts';
import {
  NoAnswerError,
  SseStream,
  httpRequest,
  rawHead,
  rawRequest,
  sseUntil,
  uploadUntilAnswered,
  type HttpAnswer,
} from '../support/raw-http.ts';
import {
  ADMIN_PASSWORD,
  startServerProcess,
  type ServerProcess,
} from '../support/server-process.ts';
import { signIn, trpcCall, trpcRequest } from '../support/trpc-http.ts';
import { TrpcSocket, UpgradeRefusedError, forId } from '../support/trpc-socket.ts';
import {
  TYPED_REFUSALS,
  clip,
  errorCodeOf,
  parseJson,
  sseErrorProblem,
  statusProblem,
  trpcErrorProblem,
  wsErrorProblem,
  type TrpcFrame,
} from '../support/trpc-wire.ts';

/**
 * An attack suite against a real Pulse server in a child process (a crash is observed, not
 * suffered): each case sends something hostile, asserts the exact answer the contract demands,
 * and ends with the same check: the process still runs, `/healthz` answers 200 within 1 s, and
 * the database holds no row the attack should not have stored.
 */

const PASSWORD = 'correct-horse-battery';
/** The one deadline the suite asserts on: a healthy server answers /healthz well within it. */
const HEALTH_DEADLINE_MS = 1000;

/** A server with the fixture's own team and people, signed in by cookie. */
interface Site {
  srv: ServerProcess;
  /** The admin's session cookie header value. */
  admin: string;
  /** An API token of the admin's (read, write), for `connectionParams`. */
  adminToken: string;
  teamId: string;
  roomId: string;
  cookies: Record<string, string>;
}

async function setUpSite(srv: ServerProcess, usernames: string[]): Promise<Site> {
  const admin = await signIn(srv.url, 'admin', ADMIN_PASSWORD);
  const team = await trpcCall<{ id: string }>(
    srv.url,
    'mutation',
    'teams.create',
    { name: 'blue' },
    { cookie: admin },
  );
  const cookies: Record<string, string> = {};
  for (const username of usernames) {
    await trpcCall(
      srv.url,
      'mutation',
      'users.create',
      { username, password: PASSWORD, teamIds: [team.id] },
      {
        cookie: admin,
      },
    );
    cookies[username] = await signIn(srv.url, username, PASSWORD);
  }
  const { token: adminToken } = await trpcCall<{ token: string }>(
    srv.url,
    'mutation',
    'auth.createToken',
    { name: 'hostile suite', scopes: ['read', 'write'] },
    { cookie: admin },
  );
  return { srv, admin, adminToken, teamId: team.id, roomId: `room_${team.id}`, cookies };
}

const cookieOf = (site: Site, username: string): string => {
  const cookie = site.cookies[username];
  if (!cookie) throw new Error(`no fixture user ${username}`);
  return cookie;
};

/** The process runs and `/healthz` answers 200 within 1 s. */
async function expectServing(srv: ServerProcess): Promise<void> {
  const crashed = () =>
    new Error(
      `the server process ended (${srv.exitDescription()}); its output ends with:\n${srv.output().slice(-3000)}`,
    );
  if (!srv.running()) throw crashed();
  let health: HttpAnswer;
  try {
    health = await httpRequest(srv.url, { path: '/healthz', timeoutMs: HEALTH_DEADLINE_MS });
  } catch (error) {
    // A process that refuses connections is usually on its way out: say so when it is.
    if (await srv.waitForExit(2000)) throw crashed();
    throw new Error(`GET /healthz did not answer within 1 s: ${String(error)}`, { cause: error });
  }
  expect(health.status, `GET /healthz: ${health.body}`).toBe(200);
}

/**
 * Runs `run` (the attack and its assertions), then the check every case ends with: the server
 * still serves, and the database gained no row but those the case itself adds (`allowed`: a
 * sign-in's session, a chat message it sends). When the attack's own assertions failed, the
 * server is still checked (a crash says more), but not the rows, which the case may not have
 * reached.
 */
async function attack(
  srv: ServerProcess,
  run: () => Promise<void>,
  allowed: RowCounts = {},
): Promise<void> {
  const before = await rowCounts(srv.databaseUrl);
  try {
    await run();
  } catch (error) {
    await expectServing(srv);
    throw error;
  }
  await expectServing(srv);
  expect(countChanges(before, await rowCounts(srv.databaseUrl)), 'rows the attack stored').toEqual(
    allowed,
  );
}

const targetOf = (site: Site): CorpusTarget => ({
  url: site.srv.url,
  adminHeaders: { cookie: site.admin },
});

/** `system.stats()` as the admin: open subscriptions and connections. */
const statsOf = (site: Site) =>
  trpcCall<{ subscriptions: number; connections: { sse: number; ws: number } }>(
    site.srv.url,
    'query',
    'system.stats',
    undefined,
    { cookie: site.admin },
  );

/** Waits (bounded) until the open subscriptions are back to `subscriptions`. */
async function expectSubscriptionsBackTo(site: Site, subscriptions: number): Promise<void> {
  const until = Date.now() + 10_000;
  let now = await statsOf(site);
  while (now.subscriptions !== subscriptions && Date.now() < until) {
    // The server releases subscriptions as it sees the sockets close; ask again on the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    now = await statsOf(site);
  }
  expect(now.subscriptions, 'open subscriptions after every client left').toBe(subscriptions);
}

let main: Site;

beforeAll(async () => {
  const srv = await startServerProcess();
  main = await setUpSite(srv, ['watcher', 'bystander', 'dup-frames', 'dup-array', 'dup-started']);
});

afterAll(async () => {
  await main?.srv[Symbol.asyncDispose]();
});

// A case that crashed the server fails; the next one gets a server again (same database).
beforeEach(async () => {
  await main.srv.ensureRunning();
});

/** The corpus's cases of one group, each as its own test on the main server. */
function corpusCases(group: CorpusGroup): void {
  for (const c of hostileCorpus.filter((k) => k.group === group)) {
    it(c.name, async () => {
      await attack(main.srv, async () => {
        const verdict = await c.run(targetOf(main));
        expect(verdict.ok, verdict.detail).toBe(true);
      });
    });
  }
}

describe('URLs and percent-escapes', () => {
  corpusCases('url');
});

describe('Host (DNS rebinding)', () => {
  corpusCases('host');
});

describe('headers and cookies', () => {
  corpusCases('headers');
  corpusCases('sign-in');
});

describe('JSON bodies', () => {
  corpusCases('json');

  for (const chunked of [false, true]) {
    it(`a body of 64 MiB ${chunked ? 'chunked, without Content-Length' : 'with Content-Length'} answers 413 before the server has read it`, async () => {
      const totalBytes = 64 << 20;
      const rssBefore = main.srv.rssBytes();
      await attack(main.srv, async () => {
        const { answer, bytesSent } = await uploadUntilAnswered(main.srv.url, {
          path: '/trpc/teams.create',
          headers: [
            ['Host', new URL(main.srv.url).host],
            ['Cookie', main.admin],
            ['Content-Type', 'application/json'],
          ],
          totalBytes,
          chunked,
        });
        expect(payloadTooLargeProblem(answer), 'the answer').toBeNull();
        // A server that reads the body before answering has taken all of it by then.
        expect(bytesSent, 'body bytes sent when the answer came').toBeLessThan(totalBytes / 2);
      });
      expect(main.srv.rssBytes() - rssBefore, 'server memory growth, bytes').toBeLessThan(32 << 20);
    });
  }
});

describe('batches', () => {
  corpusCases('batch');

  it(`a GET batch of ${LIMITS.maxBatchCalls} auth.me is answered in full`, async () => {
    await attack(main.srv, async () => {
      const answer = await httpRequest(main.srv.url, {
        path: `/trpc/${batchPath('auth.me', LIMITS.maxBatchCalls)}?batch=1`,
        headers: { cookie: main.admin },
      });
      expect(answer.status, clip(answer.body)).toBe(200);
      const items = parseJson(answer.body) as { result?: { data?: { username?: string } } }[];
      expect(items).toHaveLength(LIMITS.maxBatchCalls);
      expect(items.every((item) => item.result?.data?.username === 'admin')).toBe(true);
    });
  });

  it(`a POST batch of ${LIMITS.maxBatchCalls} mutations is answered in full`, async () => {
    await attack(main.srv, async () => {
      const n = LIMITS.maxBatchCalls;
      const answer = await httpRequest(main.srv.url, {
        method: 'POST',
        path: `/trpc/${batchPath('notifications.markAllRead', n)}?batch=1`,
        headers: { cookie: main.admin, 'content-type': 'application/json' },
        body: JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, {}]))),
      });
      expect(answer.status, clip(answer.body)).toBe(200);
      const items = parseJson(answer.body) as { result?: { data?: { count?: number } } }[];
      expect(items).toHaveLength(n);
      expect(items.every((item) => item.result?.data?.count === 0)).toBe(true);
    });
  });
});

describe('subscriptions over SSE, and the wrong methods', () => {
  corpusCases('sse');
});

describe('WebSocket', () => {
  corpusCases('ws');

  it('a 2 MiB frame closes that socket only (1009); another socket keeps answering', async () => {
    await attack(main.srv, async () => {
      const bystander = await TrpcSocket.open(main.srv.url, {
        headers: { cookie: cookieOf(main, 'bystander') },
      });
      const attacker = await TrpcSocket.open(main.srv.url, { headers: { cookie: main.admin } });
      try {
        attacker.sendRaw('x'.repeat(2 << 20));
        expect((await attacker.closed()).code).toBe(1009);
        const me = await bystander.call(1, 'query', 'auth.me');
        expect((me.result?.data as { username?: string } | undefined)?.username).toBe('bystander');
      } finally {
        await bystander.close();
        await attacker.close();
      }
    });
  });

  const duplicates = {
    'in two frames sent back to back': 'frames',
    'in one frame, as an array': 'array',
    'after the first has started': 'started',
  } as const;
  for (const [title, how] of Object.entries(duplicates)) {
    it(`a subscription reusing the id of an open one (${title}) is refused; the first keeps its events and nothing is left after the close`, async () => {
      const before = (await statsOf(main)).subscriptions;
      await attack(
        main.srv,
        async () => {
          const { url } = main.srv;
          const { roomId } = main;
          // One user per variant: a subscription one variant leaks cannot keep the next one present.
          const user = `dup-${how}`;
          const presence = await TrpcSocket.open(url, {
            headers: { cookie: cookieOf(main, 'watcher') },
          });
          const dup = await TrpcSocket.open(url, { headers: { cookie: cookieOf(main, user) } });
          try {
            const watched = await presence.subscribe('presence', 'chat.onPresence', { roomId });
            expect(watched.result?.type).toBe('started');
            const present = () => {
              const last = presence.frames
                .filter((f) => f.id === 'presence' && f.result?.type === 'data')
                .at(-1);
              return ((last?.result?.data ?? []) as { username: string }[])
                .map((p) => p.username)
                .sort();
            };
            await presence.waitFor(
              (f) => f.id === 'presence' && f.result?.type === 'data',
              'who is here',
            );
            const presentBefore = present();

            const subscribe = {
              id: 'dup',
              method: 'subscription',
              params: { path: 'chat.onMessage', input: { roomId } },
            };
            if (how === 'array') {
              dup.send([subscribe, subscribe]);
            } else {
              dup.send(subscribe);
              if (how === 'started')
                await dup.waitFor(
                  (f) => f.id === 'dup' && f.result?.type === 'started',
                  'the start',
                );
              dup.send(subscribe);
            }
            const refusal = await dup.waitFor(
              (f) => f.id === 'dup' && f.error !== undefined,
              'the refusal of the second',
            );
            expect(wsErrorProblem(refusal, ['dup'], ['BAD_REQUEST'])).toBeNull();
            await dup.waitFor(
              (f) => f.id === 'dup' && f.result?.type === 'started',
              'the start of the first',
            );
            await presence.waitUntil(() => present().includes(user), `${user} present`);

            await trpcCall(
              url,
              'mutation',
              'chat.send',
              { roomId, text: 'still there?', clientMessageId: randomUUID() },
              { cookie: cookieOf(main, 'watcher') },
            );
            await dup.waitFor((f) => f.id === 'dup' && f.result?.type === 'data', 'the message');
            // A round trip on the same socket: any second delivery of the message came before it.
            await dup.call('after', 'query', 'auth.me');
            const starts = dup.framesFor('dup').filter((f) => f.result?.type === 'started');
            const deliveries = dup.framesFor('dup').filter((f) => f.result?.type === 'data');
            expect({ starts: starts.length, deliveries: deliveries.length }).toEqual({
              starts: 1,
              deliveries: 1,
            });

            await dup.close();
            await presence.waitUntil(() => !present().includes(user), `${user} gone from presence`);
            expect(present()).toEqual(presentBefore);
          } finally {
            await dup.close();
            await presence.close();
          }
          await expectSubscriptionsBackTo(main, before);
        },
        { chat_messages: 1 },
      );
    });
  }

  it(`one socket (a token in connectionParams) holds ${LIMITS.maxSubscriptionsPerSocket} subscriptions; the next is refused with TOO_MANY_REQUESTS`, async () => {
    const before = (await statsOf(main)).subscriptions;
    await attack(main.srv, async () => {
      const socket = await TrpcSocket.open(main.srv.url, {
        connectionParams: { token: main.adminToken },
      });
      try {
        const max = LIMITS.maxSubscriptionsPerSocket;
        for (let id = 1; id <= max; id++) {
          socket.send({
            id,
            method: 'subscription',
            params: { path: 'notifications.onReadState' },
          });
        }
        await socket.waitUntil(
          () =>
            socket.frames.filter((f) => f.result?.type === 'started' || f.error !== undefined)
              .length >= max,
          `${max} answers`,
        );
        const refused = socket.frames.filter((f) => f.error !== undefined);
        expect(
          refused.map((f) => clip(JSON.stringify(f), 200)),
          'refusals among the first 100',
        ).toEqual([]);
        const extra = await socket.subscribe(max + 1, 'notifications.onReadState');
        expect(wsErrorProblem(extra, [max + 1], ['TOO_MANY_REQUESTS'])).toBeNull();
        expect(socket.open, 'the socket stays open').toBe(true);
      } finally {
        await socket.close();
      }
      await expectSubscriptionsBackTo(main, before);
    });
  });

  it(`${LIMITS.maxAnonSocketsPerAddress} anonymous sockets per address are accepted, the next upgrade answers 429; signed-in sockets do not count`, async () => {
    await attack(main.srv, async () => {
      const anonymous: TrpcSocket[] = [];
      const signedIn: TrpcSocket[] = [];
      try {
        for (let i = 0; i < LIMITS.maxAnonSocketsPerAddress; i++)
          anonymous.push(await TrpcSocket.open(main.srv.url));
        const refused = await TrpcSocket.open(main.srv.url).then(
          (socket) => {
            anonymous.push(socket);
            return 101;
          },
          (error: unknown) => {
            if (error instanceof UpgradeRefusedError) return error.status;
            throw error;
          },
        );
        expect(refused, 'the upgrade past the cap').toBe(429);
        signedIn.push(
          await TrpcSocket.open(main.srv.url, { headers: { cookie: cookieOf(main, 'bystander') } }),
        );
        signedIn.push(await TrpcSocket.open(main.srv.url, { headers: { cookie: main.admin } }));
        const me = await signedIn[0]?.call(1, 'query', 'auth.me');
        expect(me?.result?.type).toBe('data');
      } finally {
        await Promise.all([...anonymous, ...signedIn].map((s) => s.close()));
      }
    });
  });
});

describe('with public hosts, a 250-call batch limit, 20 subscriptions per user and scrypt at 2^14', () => {
  let tuned: Site;
  const SCRYPT_LOG_N = 14;

  beforeAll(async () => {
    const srv = await startServerProcess({
      PULSE_PUBLIC_HOSTS: 'pulse.example',
      PULSE_MAX_BATCH_CALLS: '250',
      PULSE_MAX_SUBSCRIPTIONS_PER_USER: '20',
      PULSE_SCRYPT_LOG_N: String(SCRYPT_LOG_N),
      // The per-username limit is under test; a generous per-address one keeps it apart.
      PULSE_LOGIN_FAILURES_PER_ADDRESS: '1000',
    });
    tuned = await setUpSite(srv, ['victim', 'victim2', 'other', 'subber']);
  });

  afterAll(async () => {
    await tuned?.srv[Symbol.asyncDispose]();
  });

  beforeEach(async () => {
    await tuned.srv.ensureRunning();
  });

  describe('public hosts', () => {
    it('answers Host: pulse.example', async () => {
      await attack(tuned.srv, async () => {
        const answer = await httpRequest(tuned.srv.url, {
          path: '/trpc/system.health',
          headers: { host: 'pulse.example' },
        });
        expect(answer.status, clip(answer.body)).toBe(200);
      });
    });

    it('still refuses Host: evil.example with 421', async () => {
      await attack(tuned.srv, async () => {
        const answer = await httpRequest(tuned.srv.url, {
          path: '/healthz',
          headers: { host: 'evil.example' },
        });
        expect(statusProblem(answer, [421])).toBeNull();
      });
    });

    it('accepts a cookie mutation from Origin https://pulse.example and refuses one from http://localhost:9999', async () => {
      await attack(tuned.srv, async () => {
        const markAllRead = (host: string, origin: string) =>
          httpRequest(
            tuned.srv.url,
            trpcRequest(
              'mutation',
              'notifications.markAllRead',
              {},
              { cookie: tuned.admin, host, origin },
            ),
          );
        const own = await markAllRead('pulse.example', 'https://pulse.example');
        expect(own.status, clip(own.body)).toBe(200);
        const local = await markAllRead('pulse.example', 'http://localhost:9999');
        expect(trpcErrorProblem(local, ['FORBIDDEN'])).toBeNull();
        const direct = await markAllRead(new URL(tuned.srv.url).host, 'http://localhost:9999');
        expect(trpcErrorProblem(direct, ['FORBIDDEN'])).toBeNull();
      });
    });

    it('opens a WebSocket for Origin https://pulse.example and refuses http://localhost:9999 with 403', async () => {
      await attack(tuned.srv, async () => {
        const headers = { host: 'pulse.example', cookie: tuned.admin };
        expect(
          await TrpcSocket.upgradeStatus(tuned.srv.url, {
            ...headers,
            origin: 'https://pulse.example',
          }),
        ).toBe(101);
        expect(
          await TrpcSocket.upgradeStatus(tuned.srv.url, {
            ...headers,
            origin: 'http://localhost:9999',
          }),
        ).toBe(403);
      });
    });
  });

  describe('sign-in', () => {
    /** CPU seconds of one scrypt hash as the server computes it (the fastest of three, in this process). */
    function hashSeconds(): number {
      const N = 2 ** SCRYPT_LOG_N;
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const start = process.cpuUsage();
        scryptSync('a-wrong-password', randomBytes(16), 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 });
        const used = process.cpuUsage(start);
        best = Math.min(best, (used.user + used.system) / 1e6);
      }
      return best;
    }

    it('30 parallel wrong sign-ins for one user: at most 10 UNAUTHORIZED, the rest TOO_MANY_REQUESTS', async () => {
      await attack(tuned.srv, async () => {
        const answers = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            httpRequest(
              tuned.srv.url,
              trpcRequest(
                'mutation',
                'auth.login',
                { username: 'victim2', password: `wrong-password-${i}` },
                {},
              ),
            ),
          ),
        );
        const problems = answers
          .map((a) => trpcErrorProblem(a, ['UNAUTHORIZED', 'TOO_MANY_REQUESTS']))
          .filter((p) => p !== null);
        expect(problems).toEqual([]);
        const unauthorized = answers.filter((a) => a.status === 401).length;
        expect(unauthorized, 'UNAUTHORIZED answers').toBeLessThanOrEqual(10);
        expect(unauthorized, 'UNAUTHORIZED answers (some guesses were checked)').toBeGreaterThan(0);
      });
    }, 60_000);

    it('a batch of 200 wrong passwords: 10 UNAUTHORIZED, 190 TOO_MANY_REQUESTS, the right one refused, others unaffected, CPU spared', async () => {
      const oneHash = hashSeconds();
      await attack(
        tuned.srv,
        async () => {
          const n = 200;
          const input = Object.fromEntries(
            Array.from({ length: n }, (_, i) => [
              i,
              { username: 'victim', password: `wrong-password-${i}` },
            ]),
          );
          const cpuBefore = tuned.srv.cpuSeconds();
          const batch = httpRequest(tuned.srv.url, {
            method: 'POST',
            path: `/trpc/${batchPath('auth.login', n)}?batch=1`,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(input),
            timeoutMs: 120_000,
          });
          // While the batch is in flight the server still answers at once.
          const health = await httpRequest(tuned.srv.url, {
            path: '/healthz',
            timeoutMs: HEALTH_DEADLINE_MS,
          }).catch((error: unknown) => error);
          const answer = await batch;
          const cpu = tuned.srv.cpuSeconds() - cpuBefore;
          expect(
            health instanceof NoAnswerError
              ? 'no answer within 1 s'
              : (health as HttpAnswer).status,
          ).toBe(200);

          const items = parseJson(answer.body) as { error?: unknown }[];
          const codes: Record<string, number> = {};
          for (const item of items) {
            const code = errorCodeOf(item.error) ?? 'not an error';
            codes[code] = (codes[code] ?? 0) + 1;
          }
          expect.soft(codes).toEqual({ UNAUTHORIZED: 10, TOO_MANY_REQUESTS: 190 });
          // Hashing every guess costs 200 hashes; the 10 counted failures need 10.
          expect
            .soft(cpu, `server CPU s for the batch (one hash ≈ ${oneHash.toFixed(3)} s)`)
            .toBeLessThan(60 * oneHash);

          const right = await httpRequest(
            tuned.srv.url,
            trpcRequest('mutation', 'auth.login', { username: 'victim', password: PASSWORD }, {}),
          );
          expect(trpcErrorProblem(right, ['TOO_MANY_REQUESTS'])).toBeNull();
          await signIn(tuned.srv.url, 'other', PASSWORD);
        },
        { sessions: 1 },
      );
    }, 180_000);
  });

  describe('subscriptions per user across transports', () => {
    it('20 open (SSE and WebSocket mixed) are accepted; the 21st is refused with TOO_MANY_REQUESTS on either', async () => {
      const before = (await statsOf(tuned)).subscriptions;
      await attack(tuned.srv, async () => {
        const cookie = cookieOf(tuned, 'subber');
        const input = encodeURIComponent(JSON.stringify({ roomId: tuned.roomId }));
        const path = `/trpc/chat.onTyping?input=${input}`;
        const streams: SseStream[] = [];
        const socket = await TrpcSocket.open(tuned.srv.url, { headers: { cookie } });
        try {
          // chat.onTyping sends who is typing at once: a data frame proves a subscription was accepted.
          for (let i = 0; i < 10; i++) streams.push(new SseStream(tuned.srv.url, path, { cookie }));
          for (const stream of streams) {
            const first = await stream.firstDeciding();
            expect(first.event, `an SSE subscription: ${clip(first.data)}`).toBe('message');
          }
          for (let id = 1; id <= 10; id++) {
            const started = await socket.subscribe(id, 'chat.onTyping', { roomId: tuned.roomId });
            expect(started.result?.type, clip(JSON.stringify(started))).toBe('started');
          }

          const extraSse = new SseStream(tuned.srv.url, path, { cookie });
          streams.push(extraSse);
          const refusal = await extraSse.firstDeciding();
          expect(
            sseErrorProblem({ status: extraSse.status, headers: {}, body: '', frames: [refusal] }, [
              'TOO_MANY_REQUESTS',
            ]),
          ).toBeNull();
          const extraWs = await socket.subscribe(11, 'chat.onTyping', { roomId: tuned.roomId });
          expect(wsErrorProblem(extraWs, [11], ['TOO_MANY_REQUESTS'])).toBeNull();
        } finally {
          for (const stream of streams) stream.close();
          await socket.close();
        }
        await expectSubscriptionsBackTo(tuned, before);
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Every procedure of the router, with inputs derived from its own schema.

type ProcedureType = 'query' | 'mutation' | 'subscription';
interface SweptProcedure {
  path: string;
  type: ProcedureType;
  /** Inputs the schema refuses: a typed 4xx, always. */
  hostile: HostileInput[];
  /** Inputs the schema accepts at its edges (queries and subscriptions only): served or a typed 4xx. */
  edges: HostileInput[];
}

// Every procedure and its input schemas, from a router over an in-memory database.
const schemaApp = await createApp(parseEnv({ DATABASE_URL: 'sqlite::memory:' }));
afterAll(() => schemaApp.close());
const procedures = Object.entries(
  schemaApp.router._def.procedures as unknown as Record<
    string,
    { _def: { type: ProcedureType; inputs: z.ZodType[] } }
  >,
).map(([path, procedure]) => ({ path, type: procedure._def.type, inputs: procedure._def.inputs }));

const swept: SweptProcedure[] = procedures
  .filter((p) => p.inputs.length > 0)
  .map((p) => ({
    path: p.path,
    type: p.type,
    hostile: p.inputs.flatMap((schema) => hostileInputsOf(schema)),
    edges: p.type === 'mutation' ? [] : p.inputs.flatMap((schema) => edgeInputsOf(schema)),
  }));

/** HTTP statuses Node or Pulse may answer for a URL past the limits, before tRPC sees it. */
const URL_REFUSALS = [414, 431];
const SWEEP_TIMEOUT_MS = 15_000;

/** A success, or one of the typed refusals. */
function servedOrRefusedProblem(answer: HttpAnswer): string | null {
  if (answer.status === 200) {
    const body = parseJson(answer.body) as { result?: unknown } | undefined;
    return body?.result === undefined ? `HTTP 200 without a result: ${clip(answer.body)}` : null;
  }
  return trpcErrorProblem(answer, TYPED_REFUSALS);
}

/** What went wrong with one input over HTTP (queries GET, mutations POST, subscriptions SSE), or null. */
async function sweepOverHttp(
  site: Site,
  p: SweptProcedure,
  c: HostileInput,
  valid: boolean,
): Promise<string | null> {
  const { url } = site.srv;
  const cookie = site.admin;
  if (p.type === 'mutation') {
    const answer = await httpRequest(url, {
      ...trpcRequest('mutation', p.path, c.input, { cookie }),
      timeoutMs: SWEEP_TIMEOUT_MS,
    });
    return trpcErrorProblem(answer, TYPED_REFUSALS);
  }
  const path = `/trpc/${p.path}?input=${encodeURIComponent(JSON.stringify(c.input))}`;
  const tooLong = path.length > LIMITS.maxUrlBytes;
  if (p.type === 'query') {
    // Raw bytes, paced: a URL past Node's header limit still gets its answer (431).
    const head = rawHead('GET', path, [
      ['Host', new URL(url).host],
      ['Cookie', cookie],
    ]);
    const answer = await rawRequest(url, head, SWEEP_TIMEOUT_MS);
    if (tooLong && URL_REFUSALS.includes(answer.status)) return null;
    return valid ? servedOrRefusedProblem(answer) : trpcErrorProblem(answer, TYPED_REFUSALS);
  }
  const outcome = await sseUntil(url, path, { Cookie: cookie }, { timeoutMs: SWEEP_TIMEOUT_MS });
  if (tooLong && URL_REFUSALS.includes(outcome.status)) return null;
  return sseErrorProblem(outcome, TYPED_REFUSALS);
}

/** Runs `work` over `items` with at most `limit` at once; collects the non-null results. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<string | null>,
): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        const problem = await work(item);
        if (problem !== null) problems.push(problem);
      }
    }),
  );
  return problems;
}

const describeCase = (p: SweptProcedure, c: HostileInput, transport: string, problem: string) =>
  `${p.path} over ${transport}, ${c.name}: ${problem}\n    input ${clip(JSON.stringify(c.input), 160)}`;

describe('every procedure refuses hostile inputs with a typed 4xx (never 500, never a hang)', () => {
  it('derives hostile inputs for every procedure that takes input', () => {
    expect(swept.length).toBeGreaterThan(30);
    const thin = swept
      .filter((p) => p.hostile.length < 5)
      .map((p) => `${p.path}: ${p.hostile.length}`);
    expect(thin, 'procedures with fewer than 5 hostile inputs').toEqual([]);
  });

  for (const p of swept) {
    const transport = p.type === 'query' ? 'GET' : p.type === 'mutation' ? 'POST' : 'SSE';
    // Valid edge inputs of subscriptions go over WebSocket, where an accepted one says so.
    const cases = [
      ...p.hostile.map((c) => ({ c, valid: false })),
      ...(p.type === 'query' ? p.edges.map((c) => ({ c, valid: true })) : []),
    ];
    it(`${p.path} (${p.type}, ${cases.length} inputs over ${transport})`, async () => {
      await attack(main.srv, async () => {
        const problems = await inParallel(cases, 4, async ({ c, valid }) => {
          try {
            const problem = await sweepOverHttp(main, p, c, valid);
            return problem === null ? null : describeCase(p, c, transport, problem);
          } catch (error) {
            return describeCase(
              p,
              c,
              transport,
              error instanceof Error ? error.message : String(error),
            );
          }
        });
        expect(problems, problems.join('\n')).toEqual([]);
      });
    }, 120_000);
  }

  it('subscriptions over WebSocket: hostile inputs get an error for their id, valid edge inputs start or get a typed error', async () => {
    await attack(main.srv, async () => {
      const socket = await TrpcSocket.open(main.srv.url, { headers: { cookie: main.admin } });
      const problems: string[] = [];
      try {
        let id = 0;
        const subscriptions = swept.filter((s) => s.type === 'subscription');
        const cases = subscriptions.flatMap((p) => [
          ...p.hostile.map((c) => ({ p, c, valid: false })),
          ...p.edges.map((c) => ({ p, c, valid: true })),
        ]);
        for (const { p, c, valid } of cases) {
          id++;
          socket.send({ id, method: 'subscription', params: { path: p.path, input: c.input } });
          let frame: TrpcFrame;
          try {
            frame = await socket.waitFor(forId(id), `the answer for id ${id}`, SWEEP_TIMEOUT_MS);
          } catch (error) {
            problems.push(describeCase(p, c, 'WebSocket', String(error)));
            if (!socket.open) break;
            continue;
          }
          if (valid && frame.result?.type === 'started') {
            // Stopped on request, or ended by the server with an error (an unknown lastEventId).
            socket.send({ id, method: 'subscription.stop' });
            frame = await socket.waitFor(
              (f) => f.id === id && (f.result?.type === 'stopped' || f.error !== undefined),
              `the end of id ${id}`,
            );
            if (frame.result?.type === 'stopped') continue;
          }
          const problem = wsErrorProblem(frame, [id], TYPED_REFUSALS);
          if (problem) problems.push(describeCase(p, c, 'WebSocket', problem));
        }
      } finally {
        await socket.close();
      }
      expect(problems, problems.join('\n')).toEqual([]);
    });
  }, 120_000);
});
