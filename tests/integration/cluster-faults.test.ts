import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { nginxMissing } from '../../scripts/nginx.ts';
import { backoffMs, createPulseClient, type PulseClient } from '../../src/sdk/client.ts';
import { teamRoomId } from '../../src/shared/rooms.ts';
import type { Message, Person } from '../../src/shared/schemas/chat.ts';
import type { Notification } from '../../src/shared/schemas/notifications.ts';
import {
  describeWhen,
  runClusterScript,
  startCluster,
  type TestCluster,
} from '../support/cluster.ts';
import { createPostgresSchema, POSTGRES_URL, postgresAnswers } from '../support/database.ts';
import { eventually, record } from '../support/live.ts';
import { MEMBER_PASSWORD } from '../support/people.ts';
import { redisMissing, startRedis } from '../support/redis.ts';
import { ADMIN_PASSWORD } from '../support/server-process.ts';
import { signIn } from '../support/trpc-http.ts';
import { TrpcSocket } from '../support/trpc-socket.ts';
import { wsClient } from '../support/ws.ts';

/**
 * Faults of a real deployment, seen by clients that talk only to nginx: three server processes
 * on one PostgreSQL schema and one private Redis. An instance killed outright, and every
 * instance restarted in turn (with and without a drain window), while events flow: every
 * subscriber still gets every event once, in order, resuming on the other instances by itself.
 */

const missing = [
  nginxMissing(),
  redisMissing,
  (await postgresAnswers()) ? null : `no PostgreSQL answers at ${POSTGRES_URL}`,
];

type Tracked<T> = { id: string; data: T };

/** The number in an event id (`ntf_12`, `msg_7`): ids of one stream increase with it. */
const seqOf = (id: string): number => Number(id.slice(id.indexOf('_') + 1));

const urlOf = (input: string | URL | Request): string =>
  typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;

/** The most values of `times` (ms) within any span of `windowMs`: the peak rate over that span. */
function peak(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= windowMs) first++;
    best = Math.max(best, last - first + 1);
  }
  return best;
}

/** Things to stop at the end, last added first, whatever happened (declared after the cluster). */
function closers() {
  const fns: (() => unknown)[] = [];
  return {
    add(fn: () => unknown) {
      fns.push(fn);
    },
    async [Symbol.asyncDispose]() {
      for (const fn of fns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    },
  };
}

/**
 * One `notifications.onNotification` stream through the SDK (SSE, resumed by last event id),
 * with the times it (re)opened its stream: the SDK's own `fetch` calls for it.
 */
function sseSubscriber(url: string, cookie: string) {
  const openedAt: number[] = [];
  const client = createPulseClient({
    url,
    headers: { cookie },
    fetch: (input, init) => {
      if (urlOf(input).includes('notifications.onNotification')) openedAt.push(performance.now());
      return fetch(input, init);
    },
  });
  const events = record<Tracked<Notification>>((o) =>
    client.notifications.onNotification.subscribe(undefined, o),
  );
  return { kind: 'sse' as const, events, openedAt, close: () => events.stop() };
}

/**
 * A chat client on one WebSocket (the SDK's backoff when it reconnects) following a room's
 * messages (resumed by last event id) and, if asked, its presence; with the times its socket
 * (re)opened.
 */
function wsSubscriber(url: string, cookie: string, roomId: string, presence: boolean) {
  const ws = wsClient(url, { headers: { cookie }, retryDelayMs: backoffMs });
  const events = record<Tracked<Message>>((o) => ws.trpc.chat.onMessage.subscribe({ roomId }, o));
  const present = presence
    ? record<Person[]>((o) => ws.trpc.chat.onPresence.subscribe({ roomId }, o))
    : null;
  return {
    kind: 'ws' as const,
    events,
    present,
    openedAt: ws.openedAt,
    async close() {
      events.stop();
      present?.stop();
      await ws.close();
    },
  };
}

type Subscriber = ReturnType<typeof sseSubscriber> | ReturnType<typeof wsSubscriber>;

/**
 * A steady flow of events through nginx: a notification to the team (from the admin) and a
 * chat message in its room (from the members in turn), every `paceMs`. A send that fails
 * (its instance died under it) is sent again: the same chat message (`clientMessageId`) is
 * stored once; a notification may be stored twice, as two events every subscriber must get.
 */
function startFlow(opts: {
  admin: PulseClient;
  chatters: readonly PulseClient[];
  teamName: string;
  roomId: string;
  paceMs: number;
  /** Starts every label, so that flows of one test tell their events apart. */
  prefix: string;
}) {
  const acked: string[] = [];
  let failures = 0;
  let running = true;
  const waiters = new Set<() => void>();

  async function retried(what: string, fn: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await fn();
        return;
      } catch (error) {
        failures++;
        if (attempt >= 5) {
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(`${what} failed ${attempt} times, the last: ${message}`, {
            cause: error,
          });
        }
        // Not a synchronisation: a pause before trying again, as any client would.
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  async function send(label: string): Promise<void> {
    await retried(`notification ${label}`, () =>
      opts.admin.notifications.send.mutate({
        to: { teamName: opts.teamName },
        title: label,
        severity: 'info',
      }),
    );
    const clientMessageId = randomUUID();
    const chatter = opts.chatters[acked.length % opts.chatters.length]!;
    await retried(`message ${label}`, () =>
      chatter.chat.send.mutate({ roomId: opts.roomId, text: label, clientMessageId }),
    );
    acked.push(label);
    for (const waiter of [...waiters]) waiter();
  }

  const loop = (async () => {
    while (running) {
      await send(`${opts.prefix}${acked.length + 1}`);
      await new Promise((resolve) => setTimeout(resolve, opts.paceMs));
    }
  })();
  // Awaited in `stop`; a failure there fails the test, not the process.
  loop.catch(() => undefined);

  return {
    /** Labels of the events whose sends were answered (notification and message both). */
    acked,
    get failures() {
      return failures;
    },
    send,
    /** Resolves once `n` events were sent since the flow started (fails when the flow does). */
    sent(n: number, ms: number) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the flow sent ${acked.length} events, not ${n}, in ${ms} ms`));
        }, ms);
        const check = () => {
          if (acked.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        loop.catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
        check();
      });
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Every notification `client`'s user has, as ids oldest first. */
async function notificationIds(client: PulseClient): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await client.notifications.list.query({ cursor, limit: 100 });
    ids.push(...page.items.map((n) => n.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids.sort((a, b) => seqOf(a) - seqOf(b));
}

/** Every message of the room, oldest first. */
async function roomMessages(client: PulseClient, roomId: string): Promise<Message[]> {
  const messages: Message[] = [];
  let cursor: string | null = null;
  do {
    const page = await client.chat.history.query({ roomId, cursor, limit: 100 });
    messages.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return messages.sort((a, b) => seqOf(a.id) - seqOf(b.id));
}

/**
 * What was stored (read back through nginx), checked against what the flow was told was
 * stored; then every subscriber must have exactly that, once each, in id order.
 */
async function expectEveryoneHasEverything(
  reader: PulseClient,
  roomId: string,
  acked: readonly string[],
  subscribers: readonly Subscriber[],
) {
  const notifications = await notificationIds(reader);
  const messages = await roomMessages(reader, roomId);
  // Every answered send was stored; chat retries were stored once.
  const texts = messages.map((m) => m.text);
  expect(texts.filter((t) => acked.includes(t))).toEqual(acked);
  const messageIds = messages.map((m) => m.id);
  await Promise.all(
    subscribers.map((s) =>
      s.events.waitFor(s.kind === 'sse' ? notifications.length : messageIds.length, 30_000),
    ),
  );
  for (const s of subscribers) {
    expect(s.events.items.map((e) => e.id)).toEqual(s.kind === 'sse' ? notifications : messageIds);
  }
  return { notifications: notifications.length, messages: messageIds.length };
}

/** The people a test needs, made by the admin through nginx; their sign-in cookies. */
async function people(
  url: string,
  admin: PulseClient,
  specs: { prefix: string; count: number; role: 'admin' | 'member' }[],
) {
  const team = await admin.teams.create.mutate({ name: 'ops' });
  const cookies = new Map<string, string>();
  for (const spec of specs) {
    for (let i = 1; i <= spec.count; i++) {
      const username = `${spec.prefix}${i}`;
      await admin.users.create.mutate({
        username,
        password: MEMBER_PASSWORD,
        role: spec.role,
        teamIds: [team.id],
      });
      cookies.set(username, await signIn(url, username, MEMBER_PASSWORD));
    }
  }
  const cookie = (username: string) => {
    const found = cookies.get(username);
    if (!found) throw new Error(`no ${username}`);
    return found;
  };
  return { team, roomId: teamRoomId(team.id), cookie };
}

const usernamesOf = (persons: readonly Person[] | undefined) =>
  (persons ?? []).map((p) => p.username).sort();

/** The pid an instance name (`<pid>-<hex>`) starts with. */
const pidOf = (instance: string) => Number(instance.split('-')[0]);

/** Which of the cluster's instances serves this WebSocket (asked over it: `system.stats`). */
async function instanceOf(cluster: TestCluster, socket: TrpcSocket, id: number): Promise<number> {
  const answer = await socket.call(id, 'query', 'system.stats');
  const stats = answer.result?.data as { instance: string } | undefined;
  const index = cluster.instances.findIndex((p) => p.pid === pidOf(stats?.instance ?? ''));
  if (index === -1) throw new Error(`no instance answered: ${JSON.stringify(answer)}`);
  return index;
}

/** The last presence list a raw socket's subscription `id` received. */
function lastPresence(socket: TrpcSocket, id: number): string[] {
  const frames = socket.framesFor(id).filter((f) => f.result?.type === 'data');
  return usernamesOf(frames.at(-1)?.result?.data as Person[] | undefined);
}

const USERS = 8;
/** SSE streams and chat WebSockets each user holds in the rolling restart test. */
const EACH = 5;
const SUBSCRIBERS = USERS * EACH * 2;
/**
 * The drain window compared with none. Longer than the restart of the next instance takes, so
 * drains overlap a little, as in production (10 s by default).
 */
const DRAIN_S = 5;

interface RestartFigures {
  drainS: number;
  /** Reconnect attempts of all subscribers during the restart (SSE streams, WebSockets). */
  reconnects: number;
  sse: number;
  ws: number;
  /** The most reconnects within any 250 ms, 500 ms and 1 s. */
  per250ms: number;
  per500ms: number;
  perSecond: number;
  events: number;
  retried: number;
  seconds: number;
}

/**
 * Three instances (`PULSE_DRAIN_S=drainS`) behind nginx, `SUBSCRIBERS` subscribers (SSE and
 * WebSocket, through nginx), a steady flow of events, and a rolling restart of every instance:
 * afterwards every subscriber has every event once, in order, and has reconnected at least
 * once. Answers how many reconnects there were, and how close together.
 */
/**
 * What nginx logged of its upstreams failing (refused, reset, timed out; "no live upstreams"
 * lines only counted): why a send through it failed.
 */
function nginxFailures(log: string): string {
  const lines = log.split('\n').filter((l) => l.includes('[error]') || l.includes('[warn]'));
  const noneLive = lines.filter((l) => l.includes('no live upstreams'));
  const others = lines.filter((l) => !l.includes('no live upstreams'));
  return (
    `nginx logged ${noneLive.length} "no live upstreams" (first at ${noneLive[0]?.slice(0, 19) ?? '-'}), ` +
    `and these failures (the last 40):\n${others.slice(-40).join('\n')}`
  );
}

async function rollingRestartUnderLoad(drainS: number): Promise<RestartFigures> {
  await using schema = await createPostgresSchema();
  await using redis = await startRedis();
  await using cluster = await startCluster({
    instances: 3,
    env: {
      DATABASE_URL: schema.url,
      REDIS_URL: redis.url,
      PULSE_DRAIN_S: String(drainS),
      PULSE_CHAT_SENDS_PER_10S: '1000',
    },
  });
  await using stop = closers();
  const url = cluster.url;
  const admin = createPulseClient({
    url,
    headers: { cookie: await signIn(url, 'admin', ADMIN_PASSWORD) },
  });
  const { roomId, cookie } = await people(url, admin, [
    { prefix: 'user-', count: USERS, role: 'member' },
  ]);
  const users = Array.from({ length: USERS }, (_, i) => `user-${i + 1}`);
  const subscribers: Subscriber[] = [];
  for (const user of users) {
    for (let i = 0; i < EACH; i++) {
      subscribers.push(sseSubscriber(url, cookie(user)));
      subscribers.push(wsSubscriber(url, cookie(user), roomId, false));
    }
  }
  for (const s of subscribers) stop.add(() => s.close());
  await eventually(() => subscribers.every((s) => s.events.starts > 0), 30_000, 'every stream');
  const chatters = users.map((u) => createPulseClient({ url, headers: { cookie: cookie(u) } }));

  const flow = startFlow({ admin, chatters, teamName: 'ops', roomId, paceMs: 100, prefix: 'e' });
  stop.add(() => flow.stop());
  await flow.sent(3, 20_000);
  const from = performance.now();
  try {
    await cluster.rollingRestart();
    await cluster.drained(30_000);
    await flow.stop();
  } catch (error) {
    throw new Error(`${String(error)}\n${nginxFailures(cluster.nginx.output())}`, { cause: error });
  }
  await flow.send('last');
  await expectEveryoneHasEverything(chatters[0]!, roomId, flow.acked, subscribers);
  const to = performance.now();

  const during = subscribers.map((s) => s.openedAt.filter((t) => t >= from && t <= to));
  // Every stream was on an instance that restarted: each reconnected at least once.
  expect(during.filter((times) => times.length === 0)).toEqual([]);
  const all = during.flat();
  const count = (kind: Subscriber['kind']) =>
    subscribers.reduce((n, s, i) => n + (s.kind === kind ? during[i]!.length : 0), 0);
  return {
    drainS,
    reconnects: all.length,
    sse: count('sse'),
    ws: count('ws'),
    per250ms: peak(all, 250),
    per500ms: peak(all, 500),
    perSecond: peak(all, 1000),
    events: flow.acked.length,
    retried: flow.failures,
    seconds: (to - from) / 1000,
  };
}

describeWhen('Faults behind nginx on PostgreSQL and Redis', missing, () => {
  it('an instance killed with SIGKILL: subscribers resume on the others with every event once, in order; its users leave presence within 60 s', async () => {
    const began = performance.now();
    await using schema = await createPostgresSchema();
    await using redis = await startRedis();
    await using cluster = await startCluster({
      instances: 3,
      env: {
        DATABASE_URL: schema.url,
        REDIS_URL: redis.url,
        // An instance silent for three heartbeats (6 s) is dead: the test need not wait 45 s.
        PULSE_HEARTBEAT_S: '2',
        PULSE_CHAT_SENDS_PER_10S: '1000',
      },
    });
    await using stop = closers();
    const url = cluster.url;
    const admin = createPulseClient({
      url,
      headers: { cookie: await signIn(url, 'admin', ADMIN_PASSWORD) },
    });
    // Members who subscribe; admins (they may ask which instance serves them) who are present.
    const MEMBERS = 9;
    const HOLDERS = 6;
    const { roomId, cookie } = await people(url, admin, [
      { prefix: 'member-', count: MEMBERS, role: 'member' },
      { prefix: 'holder-', count: HOLDERS, role: 'admin' },
      { prefix: 'watcher-', count: 1, role: 'admin' },
    ]);
    const members = Array.from({ length: MEMBERS }, (_, i) => `member-${i + 1}`);

    // The watcher and the holders are present in the room on raw sockets through nginx (they do
    // not reconnect: their people leave presence when their instance dies).
    const watcher = await TrpcSocket.open(url, { headers: { cookie: cookie('watcher-1') } });
    stop.add(() => watcher.close());
    const watcherOn = await instanceOf(cluster, watcher, 1);
    expect((await watcher.subscribe(2, 'chat.onPresence', { roomId })).result?.type).toBe(
      'started',
    );
    const holders: { username: string; on: number }[] = [];
    for (let i = 1; i <= HOLDERS; i++) {
      const username = `holder-${i}`;
      const socket = await TrpcSocket.open(url, { headers: { cookie: cookie(username) } });
      stop.add(() => socket.close());
      const on = await instanceOf(cluster, socket, 1);
      expect((await socket.subscribe(2, 'chat.onPresence', { roomId })).result?.type).toBe(
        'started',
      );
      holders.push({ username, on });
    }
    // The victim: the instance (not the watcher's) that serves the most holders.
    const victim = [0, 1, 2]
      .filter((i) => i !== watcherOn)
      .sort(
        (a, b) =>
          holders.filter((h) => h.on === b).length - holders.filter((h) => h.on === a).length,
      )[0]!;
    const leaving = holders.filter((h) => h.on === victim).map((h) => h.username);
    expect(leaving.length, `holders by instance: ${JSON.stringify(holders)}`).toBeGreaterThan(0);

    // One chat WebSocket (messages and presence) and two SSE streams per member, through nginx:
    // the sockets first, then the streams, so that nginx's round robin gives each instance its
    // share of both kinds (the victim's are the ones that must resume elsewhere).
    const subscribers: Subscriber[] = [];
    const open = async (make: () => Subscriber) => {
      const added = members.map(make);
      for (const s of added) stop.add(() => s.close());
      subscribers.push(...added);
      await eventually(() => added.every((s) => s.events.starts > 0), 30_000, 'every stream');
    };
    let next = 0;
    const member = () => members[next++ % MEMBERS]!;
    await open(() => wsSubscriber(url, cookie(member()), roomId, true));
    await open(() => sseSubscriber(url, cookie(member())));
    await open(() => sseSubscriber(url, cookie(member())));
    const everyone = [...members, ...holders.map((h) => h.username), 'watcher-1'].sort();
    await watcher.waitUntil(
      () => lastPresence(watcher, 2).join() === everyone.join(),
      'everyone present',
      30_000,
    );

    const chatters = members.map((m) => createPulseClient({ url, headers: { cookie: cookie(m) } }));
    const flow = startFlow({ admin, chatters, teamName: 'ops', roomId, paceMs: 100, prefix: 'e' });
    stop.add(() => flow.stop());
    // Before the kill: a few events everyone has (so every stream resumes from an id).
    await flow.sent(3, 20_000);
    await Promise.all(subscribers.map((s) => s.events.waitFor(3, 20_000)));

    await cluster.kill(victim);
    const killedAt = performance.now();
    const sentAtKill = flow.acked.length;

    // Its holders leave presence, as the watcher (on another instance) sees it...
    const stayed = everyone.filter((u) => !leaving.includes(u));
    await watcher.waitUntil(
      () => !lastPresence(watcher, 2).some((u) => leaving.includes(u)),
      `${leaving.join()} leaving presence`,
      60_000,
    );
    const leftAfterMs = performance.now() - killedAt;
    expect(leftAfterMs).toBeLessThan(60_000);
    // ...with everyone else still there (a bound left of the 60 s)...
    const left = () => Math.max(1000, 60_000 - (performance.now() - killedAt));
    await watcher.waitUntil(
      () => lastPresence(watcher, 2).join() === stayed.join(),
      `presence ${stayed.join()}`,
      left(),
    );
    // ...and as every member's chat client sees it, on whichever instance it is now.
    for (const s of subscribers) {
      if (s.kind !== 'ws' || !s.present) continue;
      await s.present.waitUntil(
        (lists) => usernamesOf(lists.at(-1)).join() === stayed.join(),
        `presence ${stayed.join()}`,
        left(),
      );
    }

    // During and after: the flow went on; a few more, then the last one.
    await flow.sent(flow.acked.length + 5, 20_000);
    await flow.stop();
    await flow.send('last');
    const sentDuring = flow.acked.length - sentAtKill;
    const stored = await expectEveryoneHasEverything(
      createPulseClient({ url, headers: { cookie: cookie('member-1') } }),
      roomId,
      flow.acked,
      subscribers,
    );

    // The kill cut streams of both kinds, and they came back by themselves.
    const resumed = (kind: Subscriber['kind']) =>
      subscribers.filter((s) => s.kind === kind && s.openedAt.length > 1).length;
    expect(resumed('sse')).toBeGreaterThan(0);
    expect(resumed('ws')).toBeGreaterThan(0);
    console.log(
      `[cluster-faults] SIGKILL: ${leaving.length} user(s) left presence ${(leftAfterMs / 1000).toFixed(1)} s after the kill (PULSE_HEARTBEAT_S=2; bound 60 s); ` +
        `resumed ${resumed('sse')}/${MEMBERS * 2} SSE and ${resumed('ws')}/${MEMBERS} WebSocket subscribers; ` +
        `${stored.notifications} notifications and ${stored.messages} messages each received once in order ` +
        `(${sentDuring} sent from the kill on, ${flow.failures} send(s) retried); ${((performance.now() - began) / 1000).toFixed(1)} s`,
    );
  }, 120_000);

  it('a rolling restart while events flow: no loss, no duplicate, order kept; draining spreads the reconnects', async () => {
    const began = performance.now();
    const sudden = await rollingRestartUnderLoad(0);
    const drained = await rollingRestartUnderLoad(DRAIN_S);
    const line = (r: RestartFigures) =>
      `PULSE_DRAIN_S=${r.drainS}: peak ${r.per250ms}/250 ms, ${r.per500ms}/500 ms, ${r.perSecond}/s ` +
      `of ${r.reconnects} reconnects (${r.sse} SSE, ${r.ws} WS) in ${r.seconds.toFixed(1)} s, ${r.events} events, ${r.retried} send(s) retried`;
    console.log(
      `[cluster-faults] rolling restart of 3 instances, ${SUBSCRIBERS} subscribers through nginx: ` +
        `${line(sudden)}; ${line(drained)}; ${((performance.now() - began) / 1000).toFixed(1)} s`,
    );
    // Draining spreads the reconnects: the busiest half second sees far fewer of them.
    expect(drained.per500ms * 2).toBeLessThanOrEqual(sudden.per500ms);
  }, 180_000);

  it('npm run cluster -- --instances 3 on PostgreSQL and Redis: serves from every instance, restarts them in turn on SIGHUP, drains and stops on SIGTERM', async () => {
    await using schema = await createPostgresSchema();
    await using redis = await startRedis();
    const cluster = await runClusterScript(3, {
      DATABASE_URL: schema.url,
      REDIS_URL: redis.url,
      PULSE_CHAT_SENDS_PER_10S: '1000',
    });
    const { child, url, exited } = cluster;
    try {
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      // Redis configured and answering: ok, not degraded.
      expect(await health.json()).toEqual({ status: 'ok' });
      const admin = createPulseClient({
        url,
        headers: { cookie: await signIn(url, 'admin', ADMIN_PASSWORD) },
      });
      /** The instances nginx spreads requests over (round robin: a few requests see them all). */
      const instances = async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 30 && seen.size < 3; i++) {
          seen.add((await admin.system.stats.query()).instance);
        }
        return seen;
      };
      const before = await instances();
      expect(before.size).toBe(3);

      // Subscribers of both kinds and a flow of events through the restart.
      const { roomId, cookie } = await people(url, admin, [
        { prefix: 'member-', count: 3, role: 'member' },
      ]);
      const members = ['member-1', 'member-2', 'member-3'];
      const subscribers: Subscriber[] = members.flatMap((m) => [
        sseSubscriber(url, cookie(m)),
        wsSubscriber(url, cookie(m), roomId, false),
      ]);
      try {
        await eventually(() => subscribers.every((s) => s.events.starts > 0), 30_000, 'streams');
        const chatters = members.map((m) =>
          createPulseClient({ url, headers: { cookie: cookie(m) } }),
        );
        const flow = startFlow({
          admin,
          chatters,
          teamName: 'ops',
          roomId,
          paceMs: 100,
          prefix: 'e',
        });
        try {
          await flow.sent(3, 20_000);
          child.kill('SIGHUP');
          await eventually(
            () => /Rolling restart done/.test(cluster.output()),
            90_000,
            'the rolling restart',
          );
        } finally {
          await flow.stop();
        }
        const after = await instances();
        expect(after.size).toBe(3);
        expect([...after].filter((name) => before.has(name))).toEqual([]);
        // Nothing the flow sent failed for long (it gives up after 5 tries), and every stream
        // moved with the restarts and resumed: every event, once, in order.
        await flow.send('last');
        await expectEveryoneHasEverything(chatters[0]!, roomId, flow.acked, subscribers);
        expect(subscribers.every((s) => s.openedAt.length > 1)).toBe(true);
      } finally {
        for (const s of subscribers) await s.close();
      }

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(cluster.output()).toMatch(/draining the instances/);
      expect(cluster.output()).toMatch(/Stopped/);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      // The script drains and stops its instances and nginx on SIGTERM; SIGKILL only if it hangs.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    }
  }, 150_000);
});
