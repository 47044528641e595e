/**
 * The connection benchmark: how fast Pulse accepts signed-in WebSockets and what closing them
 * costs, what an idle subscription costs in memory over SSE and WebSocket, and one instance
 * holding 10,000 live subscriptions; next to hand-written `ws` and `node:http` servers measured
 * in the same run.
 *
 *   node --import tsx bench/connections.ts [--connections 2000] [--in-flight 50] [--users 1000]
 *     [--subscriptions 10000] [--rate 20] [--seconds 10] [--quick]
 *
 * Each server runs in its own process pinned to CPU 0, this process (the load) on CPU 1. Pulse
 * runs on a fresh SQLite database: its admin (PULSE_ADMIN_PASSWORD) makes a team and `--users`
 * members through the API, each member signs in with `auth.login`, and every connection carries
 * a member's session cookie (and the page's `Origin` on upgrades and POSTs), as a browser's do.
 * Each measurement starts its server afresh on that database. Results:
 * bench/results/connections-<time>.json. Exits 1 when a target fails.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parse as parseCookie } from 'cookie';
import type { Team, User } from '../src/shared/schemas/auth.ts';
import type { Room } from '../src/shared/schemas/chat.ts';
import { SESSION_COOKIE } from '../src/server/platform/context.ts';
import { signIn, trpcCall } from '../tests/support/trpc-http.ts';
import {
  EVENT_BODY,
  EVENT_TITLE,
  cpuSeconds,
  numberFlag,
  parseKnownFlags,
  sleep,
  type BenchCredentials,
} from './common.ts';
import {
  benchDir,
  fmt,
  Histogram,
  machineFacts,
  makeWorkDir,
  pinning,
  pinSelf,
  pulseEnv,
  pulseServerArgs,
  stamp,
  table,
  withServer,
  type Started,
  runBenchmark,
} from './bench-proc.ts';
import { freePort } from '../scripts/nginx.ts';
import { attachCollector, inspectPortFlag } from './heap.ts';
import {
  acceptAndClose,
  bounded,
  chatSubscription,
  idleMemory,
  MEMORY_BATCHES,
  meter,
  openSse,
  openWs,
  Recorder,
  Tally,
  type AcceptResult,
  type MemoryResult,
  type Metered,
  type Stream,
} from './connections-load.ts';

const flags = parseKnownFlags(
  process.argv.slice(2),
  ['connections', 'in-flight', 'users', 'subscriptions', 'rate', 'seconds', 'quick', 'profile'],
  '--connections N --in-flight C --users U --subscriptions M --rate R --seconds S --quick --profile',
);
const quick = flags.get('quick') === 'true';
/**
 * Only scenario 1, with both servers under `--cpu-prof` (profiles in
 * bench/results/connections-profile-<time>/), to see where an accept's time goes: no targets.
 */
const profile = flags.get('profile') === 'true';
const config = {
  /** Sockets accepted (scenario 1), idle subscriptions of each kind (scenario 2). */
  connections: Math.floor(numberFlag(flags, 'connections', quick ? 300 : 2000)),
  /** Handshakes (or subscriptions being opened) in flight at once. */
  inFlight: Math.floor(numberFlag(flags, 'in-flight', 50)),
  users: Math.floor(numberFlag(flags, 'users', quick ? 200 : 1000)),
  /** Live subscriptions of scenario 3, half SSE and half WebSocket. */
  subscriptions: Math.floor(numberFlag(flags, 'subscriptions', quick ? 2000 : 10_000)),
  /** Broadcasts per second, notifications and chat messages alternately. */
  rate: numberFlag(flags, 'rate', 20),
  seconds: numberFlag(flags, 'seconds', quick ? 3 : 10),
  maxUnanswered: 64,
  chatSenders: 4,
  /** Subscriptions on one WebSocket (Pulse's PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET default). */
  perSocket: 100,
};
const TARGET = { acceptRatio: 0.5, kibPerSubscription: 12, p99Ms: 100 } as const;

setTimeout(() => {
  console.error('connections: hard deadline reached, exiting');
  process.exit(2);
}, 30 * 60_000).unref();

const ADMIN_PASSWORD = 'connections-bench-admin-password';
const MEMBER_PASSWORD = 'connections-bench-member-password';
const SSE_PATH = '/trpc/notifications.onNotification';
const CHAT_TEXT = 'Deploy of checkout v2.31 finished on eu-west-1';

// ---------------------------------------------------------------------------------------------
// Who connects, and Pulse's per-user limits for it.

interface Member {
  user: User;
  cookie: string;
  /** The session secret in the cookie, for the baselines. */
  secret: string;
}

interface People {
  adminCookie: string;
  teamId: string;
  roomId: string;
  members: Member[];
}

const perUser = (total: number) => Math.ceil(total / config.users);
const sseCount = Math.floor(config.subscriptions / 2);
const wsCount = config.subscriptions - sseCount;
/** Scenario 3's WebSockets: each user's share of the chat subscriptions, `perSocket` at most each. */
const wsSockets: { member: number; subscriptions: number }[] = [];
for (let u = 0; u < config.users; u++) {
  let share = Math.floor(wsCount / config.users) + (u < wsCount % config.users ? 1 : 0);
  while (share > 0) {
    wsSockets.push({ member: u, subscriptions: Math.min(share, config.perSocket) });
    share -= config.perSocket;
  }
}

/**
 * Pulse's environment beyond `pulseEnv`: its per-user limits raised only where a run needs more
 * than they allow, and what it says about each.
 */
function pulseLimits(): { env: Record<string, string>; said: string[] } {
  const connectionsNeeded = Math.max(
    // The idle-memory scenario opens MEMORY_BATCHES batches.
    perUser(MEMORY_BATCHES * config.connections),
    perUser(sseCount),
    perUser(wsSockets.length),
  );
  const subscriptionsNeeded = Math.max(
    perUser(MEMORY_BATCHES * config.connections),
    perUser(config.subscriptions),
  );
  const env: Record<string, string> = {
    PULSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    // 10 messages/s from 4 members, against a default of 20 per user per 10 s.
    PULSE_CHAT_SENDS_PER_10S: '100000',
  };
  const said = [
    'PULSE_CHAT_SENDS_PER_10S=100000 (raised from 20: chat.send by 4 members at half the rate)',
  ];
  const limit = (name: string, current: number, needed: number, what: string) => {
    if (needed > current) {
      env[name] = String(needed);
      said.push(`${name}=${needed} (raised from ${current}: ${what})`);
    } else said.push(`${name}=${current} (unchanged; at most ${needed} needed: ${what})`);
  };
  limit(
    'PULSE_MAX_CONNECTIONS_PER_USER',
    50,
    connectionsNeeded,
    'connections a user holds per transport',
  );
  limit(
    'PULSE_MAX_SUBSCRIPTIONS_PER_USER',
    1000,
    subscriptionsNeeded,
    'subscriptions a user holds',
  );
  said.push(
    `PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET=100 (unchanged; at most ${Math.min(config.perSocket, perUser(wsCount))} needed)`,
    'PULSE_MAX_ANON_CONNECTIONS_PER_ADDRESS=100000 (as every bench sets it; unused here: every ' +
      'socket shows its cookie at the upgrade)',
  );
  return { env, said };
}

/** Through the API: the admin makes a team and the members, and each member signs in. */
async function setUp(url: string): Promise<People> {
  const admin = { cookie: await signIn(url, 'admin', ADMIN_PASSWORD) };
  const team = await trpcCall<Team>(url, 'mutation', 'teams.create', { name: 'bench' }, admin);
  const members: Member[] = [];
  const t0 = performance.now();
  // Password hashing runs PULSE_KDF_CONCURRENCY (2) at a time with a short queue.
  const failures = await bounded(config.users, 8, async (i) => {
    const username = `member${i}`;
    const input = { username, password: MEMBER_PASSWORD, role: 'member', teamIds: [team.id] };
    const user = await trpcCall<User>(url, 'mutation', 'users.create', input, admin);
    const cookie = await signIn(url, username, MEMBER_PASSWORD);
    members[i] = { user, cookie, secret: parseCookie(cookie)[SESSION_COOKIE] ?? '' };
  });
  if (failures.length > 0) throw new Error(`setting up members: ${failures[0]}`);
  console.error(
    `  ${members.length} members created and signed in in ${fmt((performance.now() - t0) / 1000)} s`,
  );
  const first = { cookie: members[0]?.cookie ?? '' };
  const rooms = await trpcCall<Room[]>(url, 'query', 'chat.rooms', undefined, first);
  const room = rooms.find((r) => r.kind === 'team' && r.teamId === team.id);
  if (!room) throw new Error(`no room for team ${team.id} in ${JSON.stringify(rooms)}`);
  return { adminCookie: admin.cookie, teamId: team.id, roomId: room.id, members };
}

/** What the servers of a run are started with. */
interface Servers {
  pulse: { args: string[]; env: NodeJS.ProcessEnv };
  wsBaseline: { args: string[]; env: NodeJS.ProcessEnv };
  sseBaseline: { args: string[]; env: NodeJS.ProcessEnv };
}

const wsUrlOf = (server: Started) => `${server.url.replace(/^http/, 'ws')}/trpc`;

// ---------------------------------------------------------------------------------------------
// 1. WebSockets accepted per second, and closed.

/** Measured rounds of accepts after the warm-up; the last is the one judged. */
const ACCEPT_ROUNDS = 3;
/** The last round, and the server CPU per accept of every round. */
type AcceptRounds = AcceptResult & { rounds: number[] };

async function accepting(people: People, servers: Servers) {
  const member = (i: number) => people.members[i % people.members.length];
  const run = (name: string, { args, env }: Servers['pulse']) =>
    withServer(name, args, env, async (server): Promise<AcceptRounds> => {
      const url = new URL(server.url);
      const headersOf = (i: number) => ({ Cookie: member(i)?.cookie ?? '', Origin: url.origin });
      const open = (count: number, inFlight: number) =>
        acceptAndClose(server.pid, url, '/trpc', headersOf, count, inFlight);
      // Unmeasured: as many sockets as are measured load code, warm the JIT and grow the heap,
      // on every server alike. Then ACCEPT_ROUNDS measured rounds: a server's cost per accept
      // keeps falling for several thousand sockets (its JIT and heap settle), so the last round
      // is what a running server costs, and every round is kept to show the settling.
      await open(config.connections, 50);
      const rounds: AcceptResult[] = [];
      for (let i = 0; i < ACCEPT_ROUNDS; i++) {
        await sleep(500);
        const r = await open(config.connections, config.inFlight);
        console.error(
          `  round ${i + 1}: ${r.accepted}/${r.sockets} accepted, ${fmt(r.acceptedPerS, 0)}/s, ` +
            `${fmt(r.serverCpuMsPerAccept, 3)} ms of server CPU each; ` +
            `closed in ${fmt(r.closeSeconds, 2)} s, ${fmt(r.serverCpuMsPerClose, 3)} ms each`,
        );
        for (const sample of r.failureSamples) console.error(`  failed: ${sample}`);
        rounds.push(r);
      }
      const last = rounds.at(-1) as AcceptResult;
      return { ...last, rounds: rounds.map((r) => r.serverCpuMsPerAccept) };
    });
  return {
    pulse: await run('pulse', servers.pulse),
    baseline: await run('ws baseline', servers.wsBaseline),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Idle memory per subscription.

async function memory(people: People, servers: Servers) {
  const cookie = (i: number) => people.members[i % people.members.length]?.cookie ?? '';
  const sse = (server: Started) => (i: number) =>
    openSse(
      new URL(server.url),
      SSE_PATH,
      { Accept: 'text/event-stream', Cookie: cookie(i) },
      null,
    );
  const ws = (server: Started, subscribe: boolean) => (i: number) =>
    openWs(
      wsUrlOf(server),
      { cookie: cookie(i), origin: new URL(server.url).origin },
      subscribe ? [chatSubscription(1, people.roomId)] : [],
    );
  const run = (
    name: string,
    { args, env }: Servers['pulse'],
    open: (server: Started) => (i: number) => Promise<Stream>,
  ) =>
    freePort().then((port) =>
      withServer(name, [inspectPortFlag(port), ...args], env, async (server) => {
        // Every reading after a full collection: what the server holds, not its garbage.
        const collector = await attachCollector(server.pid, port);
        try {
          const r = await idleMemory(
            server.pid,
            open(server),
            config.connections,
            config.inFlight,
            collector,
          );
          console.error(
            `  ${r.opened}/${r.subscriptions} open (first ${config.connections} in ` +
              `${fmt(r.openSeconds, 2)} s); RSS after collecting ${r.rssBeforeKiB} → ` +
              `${r.rssFirstKiB} → ${r.rssAfterKiB} KiB: ${fmt(r.firstKiBPerSubscription)} KiB ` +
              `each for the first batch, ${fmt(r.kibPerSubscription)} KiB each for the next ` +
              `(${fmt(r.uncollectedKiBPerSubscription)} before collecting)`,
          );
          for (const sample of r.failureSamples) console.error(`  failed: ${sample}`);
          return r;
        } finally {
          collector.close();
        }
      }),
    );
  return {
    sse: {
      pulse: await run('pulse', servers.pulse, sse),
      baseline: await run('plain SSE', servers.sseBaseline, sse),
    },
    ws: {
      pulse: await run('pulse', servers.pulse, (s) => ws(s, true)),
      baseline: await run('ws baseline', servers.wsBaseline, (s) => ws(s, false)),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Many live subscriptions on one instance.

interface LiveResult {
  sse: { subscriptions: number };
  ws: { subscriptions: number; sockets: number };
  openSeconds: number;
  openFailures: number;
  failureSamples: string[];
  sent: { notifications: number; chat: number };
  sendFailures: number;
  sendsSkipped: number;
  deliveries: number;
  expected: number;
  deliveriesPerS: number;
  missing: number;
  extra: number;
  duplicates: number;
  /** Subscriptions that got fewer events than were sent to them. */
  subscriptionsShort: number;
  /** Streams the server ended (or that failed) during the run. */
  streamsLost: number;
  /** Whether every expected delivery arrived before the drain stopped. */
  drained: boolean;
  latencyMs: Record<'all' | 'sse' | 'ws', { p50: number; p99: number; max: number }>;
  serverCpuUsPerDelivery: number;
  serverCpuShare: number;
  metered: Metered;
}

/** The `atRate` send loop's counts. */
interface Sends {
  notifications: number;
  chat: number;
  failed: number;
  skipped: number;
}

async function live(people: People, servers: Servers): Promise<LiveResult> {
  const { args, env } = servers.pulse;
  return withServer('pulse', args, env, async (server) => {
    const base = new URL(server.url);
    const origin = base.origin;
    const member = (i: number) => people.members[i % people.members.length] ?? people.members[0]!;
    const sseRecorder = new Recorder();
    const wsRecorder = new Recorder();
    const sseTallies: Tally[] = [];
    const wsTallies: Tally[] = [];
    const streams: Stream[] = [];
    const opens: (() => Promise<void>)[] = [];
    for (let i = 0; i < sseCount; i++) {
      const headers = { Accept: 'text/event-stream', Cookie: member(i).cookie };
      opens.push(async () => {
        const tally = new Tally(sseRecorder);
        streams.push(await openSse(base, SSE_PATH, headers, tally));
        sseTallies.push(tally);
      });
    }
    for (const { member: m, subscriptions } of wsSockets) {
      const headers = { cookie: member(m).cookie, origin };
      const frames = Array.from({ length: subscriptions }, (_, k) =>
        chatSubscription(k + 1, people.roomId),
      );
      opens.push(async () => {
        const tallies = frames.map(() => new Tally(wsRecorder));
        streams.push(await openWs(wsUrlOf(server), headers, frames, tallies));
        wsTallies.push(...tallies);
      });
    }
    console.error(
      `  opening ${sseCount} SSE subscriptions and ${wsCount} chat subscriptions on ` +
        `${wsSockets.length} WebSockets (${config.users} users, ${config.inFlight} at a time)`,
    );
    const t0 = performance.now();
    const failures = await bounded(opens.length, config.inFlight, (i) => opens[i]!());
    const openSeconds = (performance.now() - t0) / 1000;
    console.error(
      `  ${sseTallies.length + wsTallies.length}/${config.subscriptions} subscriptions open in ` +
        `${fmt(openSeconds, 1)} s (${failures.length} connections failed)`,
    );
    for (const sample of failures.slice(0, 5)) console.error(`  failed: ${sample}`);

    // Opening leaves work behind: wait (up to 20 s) until the server idles (< 5% of a core).
    for (let i = 0; i < 20; i++) {
      const before = cpuSeconds(server.pid);
      await sleep(1000);
      if (cpuSeconds(server.pid) - before < 0.05) break;
    }

    const agent = new Agent({ keepAlive: true, maxSockets: config.maxUnanswered });
    const extra = { agent, timeoutMs: 60_000 };
    const send = (i: number, tag: string) =>
      i % 2 === 0
        ? trpcCall(
            server.url,
            'mutation',
            'notifications.send',
            {
              to: { teamId: people.teamId },
              title: EVENT_TITLE,
              body: `${EVENT_BODY} ${tag}`,
              severity: 'warning',
            },
            { cookie: people.adminCookie, origin },
            extra,
          )
        : trpcCall(
            server.url,
            'mutation',
            'chat.send',
            { roomId: people.roomId, text: `${CHAT_TEXT} ${tag}`, clientMessageId: randomUUID() },
            { cookie: member(i % config.chatSenders).cookie, origin },
            extra,
          );
    const received = () => sseRecorder.deliveries + wsRecorder.deliveries;
    const expectedOf = (s: Sends) =>
      s.notifications * sseTallies.length + s.chat * wsTallies.length;
    /** `rate` sends a second, notification and chat message alternately, at most 64 unanswered. */
    const atRate = async (seconds: number, tag: string): Promise<Sends> => {
      const sends: Sends = { notifications: 0, chat: 0, failed: 0, skipped: 0 };
      const total = Math.max(2, Math.round(config.rate * seconds));
      const start = performance.now();
      const pending = new Set<Promise<void>>();
      for (let i = 0; i < total; i++) {
        const wait = start + (i * 1000) / config.rate - performance.now();
        if (wait > 0) await sleep(wait);
        if (pending.size >= config.maxUnanswered) {
          sends.skipped++;
          continue;
        }
        const p: Promise<void> = send(i, tag).then(
          () => void (i % 2 === 0 ? sends.notifications++ : sends.chat++),
          (error: unknown) => {
            if (sends.failed++ < 3) console.error(`  send failed: ${String(error)}`);
          },
        );
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
      await Promise.all(pending);
      return sends;
    };
    /** Until every expected delivery arrived, or none for 10 s, or 120 s. */
    const drain = async (expected: number) => {
      const deadline = performance.now() + 120_000;
      let last = received();
      let lastProgress = performance.now();
      while (received() < expected && performance.now() < deadline) {
        await sleep(20);
        if (received() !== last) {
          last = received();
          lastProgress = performance.now();
        } else if (performance.now() - lastProgress > 10_000) break;
      }
      return received() >= expected;
    };

    try {
      // Unmeasured: one notification and one message, delivered before the run.
      const warmTag = `#warmup-${randomUUID()}`;
      sseRecorder.begin(warmTag);
      wsRecorder.begin(warmTag);
      await drain(expectedOf(await atRate(2 / config.rate, warmTag)));

      const tag = `#run-${randomUUID()}`;
      for (const tally of [...sseTallies, ...wsTallies]) tally.reset();
      sseRecorder.begin(tag);
      wsRecorder.begin(tag);
      console.error(`  ${config.rate} broadcasts/s for ${config.seconds} s`);
      const stop = meter(server.pid);
      const sends = await atRate(config.seconds, tag);
      const expected = expectedOf(sends);
      const drained = await drain(expected);
      const metered = stop();
      const deliveries = received();

      let missing = 0;
      let extraEvents = 0;
      let duplicates = 0;
      let subscriptionsShort = 0;
      const judge = (tallies: Tally[], sent: number) => {
        for (const t of tallies) {
          if (t.got < sent) subscriptionsShort++;
          missing += Math.max(0, sent - t.got);
          extraEvents += Math.max(0, t.got - sent);
          duplicates += t.duplicates;
        }
      };
      judge(sseTallies, sends.notifications);
      judge(wsTallies, sends.chat);
      const quantiles = (h: Histogram) => ({
        p50: h.percentile(0.5),
        p99: h.percentile(0.99),
        max: h.percentile(1),
      });
      const result: LiveResult = {
        sse: { subscriptions: sseTallies.length },
        ws: { subscriptions: wsTallies.length, sockets: wsSockets.length },
        openSeconds,
        openFailures: failures.length,
        failureSamples: failures.slice(0, 5),
        sent: { notifications: sends.notifications, chat: sends.chat },
        sendFailures: sends.failed,
        sendsSkipped: sends.skipped,
        deliveries,
        expected,
        deliveriesPerS: deliveries / metered.seconds,
        missing,
        extra: extraEvents,
        duplicates,
        subscriptionsShort,
        streamsLost: streams.filter((s) => s.lost).length,
        drained,
        latencyMs: {
          all: quantiles(new Histogram().merge(sseRecorder.hist).merge(wsRecorder.hist)),
          sse: quantiles(sseRecorder.hist),
          ws: quantiles(wsRecorder.hist),
        },
        serverCpuUsPerDelivery: (metered.serverCpuS * 1e6) / Math.max(1, deliveries),
        serverCpuShare: metered.serverCpuS / metered.seconds,
        metered,
      };
      console.error(
        `  ${deliveries}/${expected} deliveries in ${fmt(metered.seconds, 1)} s, ` +
          `p50 ${fmt(result.latencyMs.all.p50)} ms, p99 ${fmt(result.latencyMs.all.p99)} ms, ` +
          `${fmt(result.serverCpuUsPerDelivery)} µs of server CPU each`,
      );
      return result;
    } finally {
      agent.destroy();
      for (const s of streams) s.close();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Report.

const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? a / b : NaN);

interface Results {
  accept: { pulse: AcceptRounds; baseline: AcceptRounds };
  memory: Awaited<ReturnType<typeof memory>>;
  live: LiveResult;
}

function report({ accept, memory: mem, live: l }: Results): string {
  const rows: string[][] = [];
  const versus = <T>(name: string, p: T, b: T, pick: (r: T) => number, digits = 1) =>
    rows.push([name, fmt(pick(p), digits), fmt(pick(b), digits), fmt(ratio(pick(p), pick(b)), 2)]);
  const text = (name: string, pulse: string, baseline = '') =>
    rows.push([name, pulse, baseline, '']);
  const share = (m: Metered, pick: (m: Metered) => number) => fmt(pick(m) * 100, 0);
  const a = accept;
  versus('1. WebSockets accepted/s', a.pulse, a.baseline, (r) => r.acceptedPerS, 0);
  versus(
    '1. server CPU ms per accepted socket',
    a.pulse,
    a.baseline,
    (r) => r.serverCpuMsPerAccept,
    3,
  );
  const byRound = (r: AcceptRounds) => r.rounds.map((ms) => fmt(ms, 3)).join(' → ');
  text(
    `1. server CPU ms per accept, rounds 1–${ACCEPT_ROUNDS}`,
    byRound(a.pulse),
    byRound(a.baseline),
  );
  versus('1. server CPU ms per close', a.pulse, a.baseline, (r) => r.serverCpuMsPerClose, 3);
  const hs = (r: AcceptResult) => `${fmt(r.handshakeMs.p50)} / ${fmt(r.handshakeMs.p99)}`;
  text('1. handshake p50 / p99 ms', hs(a.pulse), hs(a.baseline));
  const closing = (r: AcceptResult) => fmt(r.closeSeconds, 2);
  text('1. close all, s', closing(a.pulse), closing(a.baseline));
  const ok = (r: AcceptResult) => `${r.accepted} / ${r.failures}`;
  text('1. accepted / failed', ok(a.pulse), ok(a.baseline));
  const cpu = (r: AcceptResult) =>
    `${share(r.accepting, (m) => m.serverCpuS / m.seconds)} / ${share(r.accepting, (m) => m.loadCpuShare)}`;
  text('1. server / load CPU % while accepting', cpu(a.pulse), cpu(a.baseline));
  for (const [key, title] of [
    ['sse', '2a. SSE onNotification'],
    ['ws', '2b. WebSocket, one chat.onMessage'],
  ] as const) {
    const { pulse, baseline } = mem[key];
    versus(`${title}: idle KiB/subscription`, pulse, baseline, (r) => r.kibPerSubscription);
    versus(
      `${title}: idle KiB/subscription, before collecting`,
      pulse,
      baseline,
      (r) => r.uncollectedKiBPerSubscription,
    );
    versus(`${title}: first batch, KiB each`, pulse, baseline, (r) => r.firstKiBPerSubscription);
    const rss = (r: MemoryResult) =>
      [r.rssBeforeKiB, r.rssFirstKiB, r.rssAfterKiB].map((k) => fmt(k / 1024)).join(' → ');
    text(`${title}: RSS collected, before → first → last batch, MiB`, rss(pulse), rss(baseline));
    const opened = (r: MemoryResult) => `${r.opened} / ${r.failures}`;
    text(`${title}: open / failed`, opened(pulse), opened(baseline));
  }
  const n = l.sse.subscriptions + l.ws.subscriptions;
  text(
    `3. subscriptions open (SSE + WS on ${l.ws.sockets} sockets)`,
    `${l.sse.subscriptions} + ${l.ws.subscriptions} = ${n}`,
  );
  text('3. open all, s / connections failed', `${fmt(l.openSeconds, 1)} / ${l.openFailures}`);
  text(
    '3. sent: notifications + chat (skipped/failed)',
    `${l.sent.notifications} + ${l.sent.chat} (${l.sendsSkipped}/${l.sendFailures})`,
  );
  text('3. delivered / expected', `${l.deliveries} / ${l.expected}`);
  text('3. deliveries/s', fmt(l.deliveriesPerS, 0));
  const q = (k: 'all' | 'sse' | 'ws') =>
    `${fmt(l.latencyMs[k].p50)} / ${fmt(l.latencyMs[k].p99)} / ${fmt(l.latencyMs[k].max)}`;
  text('3. latency p50 / p99 / max ms, all', q('all'));
  text('3. latency p50 / p99 / max ms, SSE', q('sse'));
  text('3. latency p50 / p99 / max ms, WS', q('ws'));
  text('3. server CPU µs per delivery', fmt(l.serverCpuUsPerDelivery, 1));
  text(
    '3. server / load CPU % of a core',
    `${fmt(l.serverCpuShare * 100, 0)} / ${share(l.metered, (m) => m.loadCpuShare)}`,
  );
  text(
    '3. missing / extra / duplicate / subs short / lost',
    `${l.missing} / ${l.extra} / ${l.duplicates} / ${l.subscriptionsShort} / ${l.streamsLost}`,
  );
  if (pinning) {
    const others = (m: Metered) =>
      `${share(m, (x) => x.otherShareServerCore)} / ${share(m, (x) => x.otherShareLoadCore)}`;
    text(
      'others on CPU 0 / 1 %: accepting',
      others(a.pulse.accepting),
      others(a.baseline.accepting),
    );
    text('others on CPU 0 / 1 %: 3. live', others(l.metered));
  }
  return table(['', 'Pulse', 'baseline', 'Pulse ÷ baseline'], rows);
}

function checks({ accept, memory: mem, live: l }: Results) {
  const acceptRatio = ratio(accept.pulse.acceptedPerS, accept.baseline.acceptedPerS);
  const kib = (key: 'sse' | 'ws', what: string, baseline: string) => {
    const { pulse, baseline: base } = mem[key];
    return {
      name: `idle ${what} subscription`,
      pass: pulse.kibPerSubscription <= TARGET.kibPerSubscription,
      detail:
        `${fmt(pulse.kibPerSubscription)} KiB (target ≤ ${TARGET.kibPerSubscription} KiB); ` +
        `${baseline} ${fmt(base.kibPerSubscription)} KiB, ` +
        `${fmt(ratio(pulse.kibPerSubscription, base.kibPerSubscription), 2)}×; read after a full ` +
        `collection (before it: ${fmt(pulse.uncollectedKiBPerSubscription)} and ` +
        `${fmt(base.uncollectedKiBPerSubscription)} KiB)`,
    };
  };
  const n = l.sse.subscriptions + l.ws.subscriptions;
  const failedToOpen =
    accept.pulse.failures +
    mem.sse.pulse.failures +
    mem.ws.pulse.failures +
    l.openFailures +
    (config.subscriptions - n);
  const lossless =
    l.drained && l.missing === 0 && l.duplicates === 0 && l.streamsLost === 0 && failedToOpen === 0;
  return [
    {
      name: 'WebSocket accepts',
      pass: acceptRatio >= TARGET.acceptRatio,
      detail:
        `${fmt(accept.pulse.acceptedPerS, 0)}/s, ${fmt(acceptRatio, 2)}× the raw ws server's ` +
        `${fmt(accept.baseline.acceptedPerS, 0)}/s (target ≥ ${TARGET.acceptRatio}×)`,
    },
    kib('sse', 'SSE', 'plain SSE'),
    kib('ws', 'WebSocket', 'raw ws socket'),
    {
      name: `${n} subscriptions: latency`,
      pass: l.latencyMs.all.p99 < TARGET.p99Ms,
      detail: `p99 ${fmt(l.latencyMs.all.p99)} ms (target < ${TARGET.p99Ms} ms)`,
    },
    {
      name: `${n} subscriptions: no loss`,
      pass: lossless,
      detail:
        `${l.deliveries} of ${l.expected} delivered, ${l.missing} missing, ${l.duplicates} ` +
        `duplicates, ${l.streamsLost} streams lost, ${failedToOpen} connections or ` +
        'subscriptions of Pulse failed to open',
    },
  ];
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = new Date();
  pinSelf(1);
  console.error(
    `connections benchmark: ${config.connections} sockets (${config.inFlight} handshakes in flight), ` +
      `${config.connections} idle subscriptions of each kind, ${config.subscriptions} live ` +
      `subscriptions of ${config.users} users at ${config.rate} broadcasts/s for ${config.seconds} s` +
      `${quick ? ' (quick)' : ''}; ` +
      (pinning ? 'servers on CPU 0, load on CPU 1' : 'not pinned'),
  );
  const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
  if (Number(loadavg.split(' ')[0]) > 0.5)
    console.error(`note: the machine is busy (loadavg ${loadavg}); figures will be noisier`);
  const limits = pulseLimits();
  console.error(`Pulse's limits:\n  ${limits.said.join('\n  ')}`);

  const dir = makeWorkDir();
  const pulse = {
    args: pulseServerArgs(),
    env: pulseEnv(dir, join(dir, 'pulse.db'), limits.env),
  };
  const people = await withServer('pulse (setup)', pulse.args, pulse.env, (server) =>
    setUp(server.url),
  );
  const sessionsFile = join(dir, 'sessions.json');
  writeFileSync(sessionsFile, JSON.stringify(people.members.map((m) => [m.secret, m.user])));
  const credsFile = join(dir, 'credentials.json');
  const creds: BenchCredentials = {
    teamId: people.teamId,
    teamName: 'bench',
    adminToken: randomUUID(),
    memberTokens: people.members.map((m) => m.secret),
    memberUsernames: people.members.map((m) => m.user.username),
  };
  writeFileSync(credsFile, JSON.stringify(creds));
  const node = (script: string) => ['--import', 'tsx', join(benchDir, script)];
  const production = { ...process.env, NODE_ENV: 'production' };
  const servers: Servers = {
    pulse,
    wsBaseline: {
      args: node('rpc-baseline-server.ts'),
      env: { ...production, BENCH_SESSIONS_FILE: sessionsFile },
    },
    sseBaseline: { args: [...node('baseline-server.ts'), credsFile], env: production },
  };

  if (profile) {
    const profileDir = join(benchDir, 'results', `connections-profile-${stamp(startedAt)}`);
    const cpuProf = (label: string) => ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, label)}`];
    servers.pulse.args = [...cpuProf('pulse'), ...servers.pulse.args];
    servers.wsBaseline.args = [...cpuProf('baseline'), ...servers.wsBaseline.args];
    console.error('\n1. WebSockets accepted per second, then closed (under --cpu-prof)');
    await accepting(people, servers);
    console.log(
      `\nCPU profiles: ${profileDir}\n  summarize: node --import tsx bench/profile-summary.ts ${profileDir}/pulse`,
    );
    return;
  }
  console.error('\n1. WebSockets accepted per second, then closed');
  const accept = await accepting(people, servers);
  console.error('\n2. idle memory per subscription');
  const mem = await memory(people, servers);
  console.error(`\n3. ${config.subscriptions} subscriptions on one instance`);
  const results: Results = { accept, memory: mem, live: await live(people, servers) };

  const targets = checks(results);
  const machine = machineFacts(loadavg);
  console.log(
    `\nPulse connections vs raw ws and plain node:http SSE — ${config.connections} sockets ` +
      `(${config.inFlight} handshakes in flight) and idle subscriptions, ${config.subscriptions} ` +
      `live subscriptions of ${config.users} users at ${config.rate} broadcasts/s for ` +
      `${config.seconds} s; ${cpus().length} × ${machine.cpuModel}, Node ${process.version}` +
      (pinning ? ', server on CPU 0 and load on CPU 1' : ', unpinned'),
  );
  console.log(
    'Baselines: 1 and 2b the raw ws server of bench/rpc-baseline-server.ts (cookie checked at ' +
      'the upgrade; 2b idle sockets), 2a the plain SSE server of bench/baseline-server.ts; ' +
      '3 has none.',
  );
  console.log(report(results));
  console.log(`\nPulse's limits in this run:\n  ${limits.said.join('\n  ')}`);
  const noise = Math.max(
    accept.pulse.accepting.otherShareServerCore,
    accept.baseline.accepting.otherShareServerCore,
    results.live.metered.otherShareServerCore,
  );
  if (noise > 0.1) {
    console.log(
      `\nnote: other processes used up to ${fmt(noise * 100, 0)}% of the server's core in a ` +
        'measured phase; rates and latency suffer from that, CPU per connection much less.',
    );
  }
  const busiest = Math.max(
    accept.baseline.accepting.loadCpuShare,
    results.live.metered.loadCpuShare,
  );
  if (busiest > 0.85) {
    console.log(
      `\nnote: the load used up to ${fmt(busiest * 100, 0)}% of its core (baseline accepts or ` +
        'the live run): there the load, not the server, may have been the limit.',
    );
  }
  console.log('\nTargets:');
  for (const t of targets) console.log(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.detail}`);

  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `connections-${stamp(startedAt)}.json`);
  const saved = {
    startedAt: startedAt.toISOString(),
    machine,
    config: { ...config, quick },
    pulseLimits: limits.env,
    ...results,
    ratios: {
      acceptedPerS: ratio(accept.pulse.acceptedPerS, accept.baseline.acceptedPerS),
      serverCpuPerAccept: ratio(
        accept.pulse.serverCpuMsPerAccept,
        accept.baseline.serverCpuMsPerAccept,
      ),
      serverCpuPerClose: ratio(
        accept.pulse.serverCpuMsPerClose,
        accept.baseline.serverCpuMsPerClose,
      ),
      sseKiBPerSubscription: ratio(
        mem.sse.pulse.kibPerSubscription,
        mem.sse.baseline.kibPerSubscription,
      ),
      wsKiBPerSubscription: ratio(
        mem.ws.pulse.kibPerSubscription,
        mem.ws.baseline.kibPerSubscription,
      ),
    },
    targets,
  };
  writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
  console.log(`\nResults: ${file}`);
  if (targets.some((t) => !t.pass)) process.exitCode = 1;
}

runBenchmark(main);
