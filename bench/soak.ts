/**
 * The soak: the real Pulse server under ordinary and hostile traffic at once for a bounded time,
 * watched from outside through `/metrics`.
 *
 *   npm run soak [-- --minutes N | --quick] [--exclude 'name,…' | --no-hostile] [--sse N] [--ws N]
 *
 * One server (`src/server/index.ts`, fresh SQLite) pinned to CPU 0; this process, the load, on
 * CPU 1. Before the load, ~100 users of one team are created through the API by the admin, and
 * each makes an API token; afterwards everything uses those tokens (bearer on HTTP and SSE,
 * connectionParams on WebSocket), so the hostile traffic's failed sign-ins from 127.0.0.1 cannot
 * lock the load out. The load:
 *   - 1,000 SSE subscribers of `notifications.onNotification` (10 per user) and 200 WebSockets
 *     with a `chat.onMessage` subscription to the team room (2 per user); every second ~5% of
 *     each disconnect and reconnect, resuming from the last event id;
 *   - ordinary traffic every second: a team notification, 3 chat messages, a `metrics.ingest`
 *     batch, and `auth.me` / `incidents.list` queries;
 *   - the hostile corpus (tests/support/hostile-corpus.ts) in a loop, one case at a time.
 * Every request has a deadline; one that gets no answer (a timeout, or a reset without a
 * response) counts as unanswered. `/metrics` is read every 5 s. At the end every client leaves
 * and the server must come back to zero subscriptions and connections within 10 s.
 *
 * Event-loop delay is read two ways, both counting a 10 ms timer's whole interval (an idle loop
 * reads 10–11 ms): the whole run's p99 from the server's cumulative histogram
 * `pulse_event_loop_delay_seconds` (one observation per tick, never reset: the difference of
 * the scrape before the warm-up ended and the one at the end of the load), and per 5 s window
 * prom-client's `pulse_process_nodejs_eventloop_lag_p99_seconds` (reset at every scrape), whose
 * largest value is printed beside it.
 *
 * Targets (the exit code is 1 when one fails): RSS flat within ±15% after the warm-up (10% of
 * the run, at least 10 s; medians of 30 s windows at the start, middle and end, since RSS rises
 * and falls with V8's collections), event-loop delay p99 < 50 ms over the whole run after the
 * warm-up (at most 1% of its ticks over 50 ms), no unanswered request, no subscription or
 * connection left after the clients leave. Results: bench/results/soak-<time>.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import {
  hostileCorpus,
  type CorpusTarget,
  type HostileCase,
} from '../tests/support/hostile-corpus.ts';
import { NoAnswerError, httpRequest } from '../tests/support/raw-http.ts';
import { signIn, trpcCall, trpcRequest } from '../tests/support/trpc-http.ts';
import { coreBusySeconds, cpuSeconds, numberFlag, parseKnownFlags } from './common.ts';
import {
  benchDir,
  fmt,
  machineFacts,
  makeWorkDir,
  pinning,
  pinSelf,
  pulseEnv,
  pulseServerArgs,
  stamp,
  type Started,
  startServer,
  stopServer,
  table,
} from './bench-proc.ts';

const flags = parseKnownFlags(
  process.argv.slice(2),
  ['minutes', 'quick', 'exclude', 'no-hostile', 'sse', 'ws', 'users'],
  "--minutes N | --quick, --exclude 'case name,…' | --no-hostile, --sse N --ws N --users N",
);
const quick = flags.get('quick') === 'true';
const config = {
  minutes: quick ? 1 : numberFlag(flags, 'minutes', 10),
  users: Math.floor(numberFlag(flags, 'users', 100)),
  sse: Math.floor(numberFlag(flags, 'sse', 1000)),
  ws: Math.floor(numberFlag(flags, 'ws', 200)),
  /** Share of each kind of client that leaves and comes back every second. */
  churnPerSecond: 0.05,
  sampleEveryS: 5,
  requestTimeoutMs: 10_000,
  /** Pause between two hostile cases. */
  hostilePauseMs: 100,
  chatPerSecond: 3,
  ingestPoints: 100,
  drainTimeoutMs: 10_000,
  targets: { rssDrift: 0.15, eventLoopP99Ms: 50 },
};
const excluded = (flags.get('exclude') ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
/** The corpus cases this run loops over: all, but those `--exclude` names; none with `--no-hostile`. */
const corpus: HostileCase[] =
  flags.get('no-hostile') === 'true'
    ? []
    : hostileCorpus.filter((c) => !excluded.some((name) => c.name.includes(name)));
if (config.sse > config.users * 50)
  throw new Error('--sse: at most 50 per user (the per-user cap)');
if (config.ws > config.users * 50) throw new Error('--ws: at most 50 per user (the per-user cap)');

const runMs = config.minutes * 60_000;
const warmupMs = Math.max(10_000, runMs * 0.1);
const ADMIN_PASSWORD = 'soak-admin-password';
const USER_PASSWORD = 'soak-user-password';

// Never outlive the run: seeding, the run, the drain and a margin.
setTimeout(
  () => {
    console.error('soak: hard deadline reached, exiting');
    process.exit(2);
  },
  runMs + 5 * 60_000,
).unref();

const log = (line: string) => console.error(line);

// ---------------------------------------------------------------------------------------------
// Tallies.

interface Tally {
  sent: number;
  ok: number;
  /** Answered, but not as expected (an error status, a refusal). */
  failed: number;
  unanswered: number;
  firstProblems: string[];
}
const tally = (): Tally => ({ sent: 0, ok: 0, failed: 0, unanswered: 0, firstProblems: [] });
const note = (t: Tally, problem: string) => {
  if (t.firstProblems.length < 5) t.firstProblems.push(problem);
};

const tallies = {
  notify: tally(),
  chat: tally(),
  ingest: tally(),
  queries: tally(),
  sseConnects: tally(),
  wsConnects: tally(),
  metricsScrapes: tally(),
};
const hostile = new Map<string, Tally>();

let stopping = false;
let serverExit: string | null = null;

// ---------------------------------------------------------------------------------------------
// Ordinary requests.

async function call(
  t: Tally,
  url: string,
  kind: 'query' | 'mutation',
  path: string,
  input: unknown,
  token: string,
): Promise<void> {
  t.sent++;
  try {
    const answer = await httpRequest(url, {
      ...trpcRequest(kind, path, input, { authorization: `Bearer ${token}` }),
      timeoutMs: config.requestTimeoutMs,
    });
    if (answer.status === 200) t.ok++;
    else {
      t.failed++;
      note(t, `${path}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
    }
  } catch (error) {
    if (error instanceof NoAnswerError) {
      t.unanswered++;
      note(t, `${path}: ${error.message}`);
    } else throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Subscribers that resume: a slot is one logical subscriber across its connections.

/** Delivery order within a slot: ids carry a sequence that must only grow by one. */
interface Order {
  lastSeq: number;
  received: number;
  duplicates: number;
  /** Events skipped between two received ones. */
  gaps: number;
}
const newOrder = (): Order => ({ lastSeq: 0, received: 0, duplicates: 0, gaps: 0 });

function track(order: Order, seq: number): void {
  order.received++;
  if (order.lastSeq !== 0 && seq <= order.lastSeq) {
    order.duplicates++;
    return;
  }
  if (order.lastSeq !== 0 && seq > order.lastSeq + 1) order.gaps += seq - order.lastSeq - 1;
  order.lastSeq = seq;
}

type SlotState = 'closed' | 'opening' | 'open';

/** Subscriptions the server ended by itself after they had started (an error frame, a drop). */
const ended = { sse: 0, ws: 0, firstProblems: [] as string[] };
const noteEnded = (kind: 'sse' | 'ws', problem: string) => {
  ended[kind]++;
  if (ended.firstProblems.length < 5) ended.firstProblems.push(`${kind}: ${problem}`);
};

/**
 * One connection attempt's outcome, counted once in `t`: `ok`, `failed` (closing the slot), or
 * `unanswered` when `awaited` has not arrived within the request deadline.
 */
function attempt(
  t: Tally,
  awaited: string,
  close: () => void,
  done: () => void,
): (outcome: 'ok' | 'failed' | 'unanswered', problem?: string) => void {
  let settled = false;
  const settle = (outcome: 'ok' | 'failed' | 'unanswered', problem?: string) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    t[outcome]++;
    if (problem) note(t, problem);
    if (outcome !== 'ok') close();
    done();
  };
  const timer = setTimeout(
    () => settle('unanswered', `no '${awaited}' within ${config.requestTimeoutMs} ms`),
    config.requestTimeoutMs,
  );
  return settle;
}

class SseSlot {
  readonly order = newOrder();
  lastId: string | null = null;
  state: SlotState = 'closed';
  private req: ClientRequest | null = null;
  private pending = '';

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  /** Opens the stream (resuming); resolves once `connected` arrived or the attempt failed. */
  open(): Promise<void> {
    const t = tallies.sseConnects;
    t.sent++;
    this.pending = '';
    this.state = 'opening';
    return new Promise((resolve) => {
      const settle = attempt(t, 'connected', () => this.close(), resolve);
      this.settle = settle;
      const headers: Record<string, string> = {
        accept: 'text/event-stream',
        authorization: `Bearer ${this.token}`,
      };
      if (this.lastId) headers['last-event-id'] = this.lastId;
      const req = request(
        new URL('/trpc/notifications.onNotification', this.url),
        { agent: false, headers },
        (res) => {
          if (res.statusCode !== 200) {
            settle('failed', `HTTP ${res.statusCode}`);
            res.resume();
            return;
          }
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => this.onChunk(chunk));
          res.on('close', () => {
            if (this.req !== req) return;
            if (this.state === 'open') noteEnded('sse', 'the server ended the stream');
            settle('unanswered', 'the stream closed before connecting');
            this.close();
          });
        },
      );
      this.req = req;
      req.on('error', (error) => {
        if (this.req !== req) return;
        settle('unanswered', error.message);
        this.close();
      });
      req.end();
    });
  }

  private settle: (outcome: 'ok' | 'failed' | 'unanswered', problem?: string) => void = () =>
    undefined;

  private onChunk(chunk: string): void {
    const buf = this.pending + chunk;
    let start = 0;
    for (;;) {
      const end = buf.indexOf('\n\n', start);
      if (end === -1) break;
      const frame = buf.slice(start, end);
      start = end + 2;
      const idAt = frame.indexOf('id: ntf_');
      if (idAt !== -1) {
        const line = frame.slice(idAt + 4, frame.indexOf('\n', idAt));
        this.lastId = line;
        track(this.order, Number(line.slice(4)));
      } else if (frame.includes('event: connected')) {
        this.state = 'open';
        this.settle('ok');
      } else if (frame.includes('event: serialized-error')) {
        if (this.state === 'open') noteEnded('sse', frame.slice(0, 200));
        this.settle('failed', `serialized-error: ${frame.slice(0, 200)}`);
        this.close();
        return;
      }
    }
    this.pending = buf.slice(start);
  }

  close(): void {
    this.state = 'closed';
    const req = this.req;
    this.req = null;
    req?.destroy();
  }
}

class WsSlot {
  readonly order = newOrder();
  lastId: string | null = null;
  state: SlotState = 'closed';
  private ws: WebSocket | null = null;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly roomId: string,
  ) {}

  open(): Promise<void> {
    const t = tallies.wsConnects;
    t.sent++;
    this.state = 'opening';
    return new Promise((resolve) => {
      const settle = attempt(t, 'started', () => this.close(), resolve);
      const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/trpc?connectionParams=1`, {
        perMessageDeflate: false,
      });
      this.ws = ws;
      ws.on('open', () => {
        ws.send(JSON.stringify({ method: 'connectionParams', data: { token: this.token } }));
        ws.send(
          JSON.stringify({
            id: 1,
            method: 'subscription',
            params: {
              path: 'chat.onMessage',
              input: { roomId: this.roomId },
              ...(this.lastId ? { lastEventId: this.lastId } : {}),
            },
          }),
        );
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        const text = data.toString('utf8');
        if (text === 'PING') {
          ws.send('PONG');
          return;
        }
        let frame: { result?: { type: string; id?: string }; error?: unknown };
        try {
          frame = JSON.parse(text) as typeof frame;
        } catch {
          note(tallies.wsConnects, `a frame that is not JSON: ${text.slice(0, 100)}`);
          return;
        }
        if (frame.result?.type === 'started') {
          this.state = 'open';
          settle('ok');
        } else if (frame.result?.type === 'data' && frame.result.id) {
          this.lastId = frame.result.id;
          track(this.order, Number(frame.result.id.slice(4)));
        } else if (frame.error) {
          if (this.state === 'open') noteEnded('ws', text.slice(0, 200));
          settle('failed', `error: ${text.slice(0, 200)}`);
          this.close();
        }
      });
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        settle('failed', `upgrade answered HTTP ${res.statusCode}`);
      });
      ws.on('close', (code: number) => {
        if (this.ws !== ws) return;
        if (this.state === 'open') noteEnded('ws', `the server closed the socket (${code})`);
        settle('unanswered', `closed (${code}) before started`);
        this.close();
      });
      ws.on('error', (error) => {
        if (this.ws === ws) settle('unanswered', error.message);
      });
    });
  }

  close(): void {
    this.state = 'closed';
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
  }

  /** Closed as a leaving client does, resolved once the close is done (bounded). */
  leave(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) {
      this.close();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 5000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.close();
    });
  }
}

/** Opens `slots` with at most `concurrency` handshakes in flight. */
async function openAll(slots: { open(): Promise<void> }[], concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, slots.length) }, async () => {
      while (next < slots.length) await slots[next++]?.open();
    }),
  );
}

function pick<T>(items: readonly T[], n: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, n);
}

// ---------------------------------------------------------------------------------------------
// Seeding through the API, as the admin.

interface Seeded {
  teamId: string;
  roomId: string;
  adminToken: string;
  userTokens: string[];
}

async function seed(url: string): Promise<Seeded> {
  const admin = { cookie: await signIn(url, 'admin', ADMIN_PASSWORD) };
  const team = await trpcCall<{ id: string }>(
    url,
    'mutation',
    'teams.create',
    { name: 'soak' },
    admin,
  );
  const userTokens: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < config.users) {
        const username = `soak${next++}`;
        await trpcCall(
          url,
          'mutation',
          'users.create',
          { username, password: USER_PASSWORD, teamIds: [team.id] },
          admin,
        );
        const session = { cookie: await signIn(url, username, USER_PASSWORD) };
        const { token } = await trpcCall<{ token: string }>(
          url,
          'mutation',
          'auth.createToken',
          { name: 'soak', scopes: ['read', 'write'] },
          session,
        );
        await trpcCall(url, 'mutation', 'auth.logout', {}, session);
        userTokens.push(token);
      }
    }),
  );
  const { token: adminToken } = await trpcCall<{ token: string }>(
    url,
    'mutation',
    'auth.createToken',
    { name: 'soak admin', scopes: ['read', 'write', 'ingest', 'notify'] },
    admin,
  );
  await trpcCall(url, 'mutation', 'auth.logout', {}, admin);
  return { teamId: team.id, roomId: `room_${team.id}`, adminToken, userTokens };
}

// ---------------------------------------------------------------------------------------------
// /metrics.

interface Sample {
  /** Seconds since the load started. */
  t: number;
  rssBytes: number;
  /** p99 of the event-loop delay since the previous scrape (prom-client resets it per scrape). */
  eventLoopP99Ms: number;
  subscriptions: number;
  sse: number;
  ws: number;
}

/** A cumulative histogram as scraped: count of observations ≤ each upper bound (s), `+Inf` last. */
type Buckets = [le: number, count: number][];

/** The `_bucket` lines of histogram `name` (without labels), in order. */
function bucketsOf(text: string, name: string): Buckets {
  const prefix = `${name}_bucket{le="`;
  const buckets: Buckets = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const le = line.slice(prefix.length, line.indexOf('"', prefix.length));
    buckets.push([
      le === '+Inf' ? Infinity : Number(le),
      Number(line.slice(line.lastIndexOf(' ') + 1)),
    ]);
  }
  return buckets;
}

/** What `later` counted since `earlier` (two scrapes of one histogram). */
const bucketsSince = (later: Buckets, earlier: Buckets): Buckets =>
  later.map(([le, count], i) => [le, count - (earlier[i]?.[1] ?? 0)]);

/**
 * The `q` quantile of a histogram as Prometheus' `histogram_quantile` estimates it (linear within
 * the bucket it falls in), with that bucket's bounds.
 */
function quantileOf(
  buckets: Buckets,
  q: number,
): { estimate: number; low: number; high: number; total: number } {
  const total = buckets.at(-1)?.[1] ?? 0;
  const rank = q * total;
  let low = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= rank && total > 0) {
      if (le === Infinity) return { estimate: low, low, high: Infinity, total };
      const estimate = count === below ? le : low + ((le - low) * (rank - below)) / (count - below);
      return { estimate, low, high: le, total };
    }
    low = le;
    below = count;
  }
  return { estimate: NaN, low: NaN, high: NaN, total };
}

/** Share of a histogram's observations above `bound` (one of its bucket bounds). */
function shareAbove(buckets: Buckets, bound: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  const within = buckets.find(([le]) => le === bound)?.[1];
  return within === undefined || total === 0 ? NaN : (total - within) / total;
}

function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

const firstFinite = (...values: number[]): number => values.find((v) => Number.isFinite(v)) ?? NaN;

async function scrape(
  url: string,
  timeoutMs = config.requestTimeoutMs,
): Promise<(Omit<Sample, 't'> & { loopDelay: Buckets }) | null> {
  const t = tallies.metricsScrapes;
  t.sent++;
  try {
    const answer = await httpRequest(url, { path: '/metrics', timeoutMs });
    if (answer.status !== 200) {
      t.failed++;
      note(t, `HTTP ${answer.status}`);
      return null;
    }
    t.ok++;
    return {
      // prom-client's default metric under Pulse's prefix (the name repeats `process_`).
      rssBytes: firstFinite(
        metricValue(answer.body, 'pulse_process_resident_memory_bytes'),
        metricValue(answer.body, 'pulse_process_process_resident_memory_bytes'),
      ),
      eventLoopP99Ms:
        metricValue(answer.body, 'pulse_process_nodejs_eventloop_lag_p99_seconds') * 1000,
      subscriptions: metricValue(answer.body, 'pulse_subscriptions_active'),
      sse: metricValue(answer.body, 'pulse_connections_open', '{transport="sse"}'),
      ws: metricValue(answer.body, 'pulse_connections_open', '{transport="ws"}'),
      // The server's own cumulative histogram, never reset: whole-run percentiles.
      loopDelay: bucketsOf(answer.body, 'pulse_event_loop_delay_seconds'),
    };
  } catch (error) {
    if (error instanceof NoAnswerError) {
      t.unanswered++;
      note(t, error.message);
      return null;
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------

/** Resolves after `ms`, or at once when the run stops. */
function pause(ms: number): Promise<void> {
  if (stopping) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    stopWaiters.add(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
const stopWaiters = new Set<() => void>();
function stopRun(): void {
  stopping = true;
  for (const wake of stopWaiters) wake();
  stopWaiters.clear();
}

/** Every second until the run stops: `tick(second)`, never two at once. */
async function everySecond(tick: (second: number) => Promise<void>): Promise<void> {
  const start = performance.now();
  for (let second = 0; !stopping; second++) {
    await tick(second);
    const wait = start + (second + 1) * 1000 - performance.now();
    if (wait > 0) await pause(wait);
  }
}

async function hostileLoop(target: CorpusTarget): Promise<void> {
  while (!stopping && corpus.length > 0) {
    for (const c of corpus) {
      if (stopping) return;
      let t = hostile.get(c.name);
      if (!t) hostile.set(c.name, (t = tally()));
      t.sent++;
      const verdict = await c.run(target);
      if (verdict.ok) t.ok++;
      else if (verdict.unanswered) t.unanswered++;
      else t.failed++;
      if (!verdict.ok) note(t, verdict.detail);
      await pause(config.hostilePauseMs);
    }
  }
}

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))] ?? NaN;
};
const mib = (bytes: number) => bytes / 2 ** 20;

async function main(): Promise<number> {
  const startedAt = new Date();
  pinSelf(1);
  const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
  log(
    `soak: ${config.minutes} min, ${config.sse} SSE + ${config.ws} WebSocket subscribers of ${config.users} users, ` +
      `${Math.round(config.churnPerSecond * 100)}% churn/s, ${corpus.length} hostile cases in a loop` +
      (excluded.length > 0 ? ` (excluded: ${excluded.join(', ')})` : '') +
      `; ${pinning ? 'server on CPU 0, load on CPU 1' : 'not pinned'}; loadavg ${loadavg}`,
  );
  const dir = makeWorkDir();
  const server: Started = await startServer(
    'pulse',
    0,
    pulseServerArgs(),
    pulseEnv(dir, join(dir, 'pulse.db'), { PULSE_ADMIN_PASSWORD: ADMIN_PASSWORD }),
  );
  let shuttingDown = false;
  server.child.once('exit', (code, signal) => {
    if (shuttingDown) return;
    serverExit = signal ?? `exit ${code}`;
    log(`soak: the server process ended (${serverExit}) during the run`);
    stopRun();
  });
  const { url } = server;
  log(`soak: server ${url} (pid ${server.pid})`);

  const seedStart = performance.now();
  const seeded = await seed(url);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  log(`soak: ${config.users} users with tokens in ${fmt(seedSeconds)} s`);

  const sseSlots = Array.from(
    { length: config.sse },
    (_, i) => new SseSlot(url, seeded.userTokens[i % seeded.userTokens.length] ?? ''),
  );
  const wsSlots = Array.from(
    { length: config.ws },
    (_, i) => new WsSlot(url, seeded.userTokens[i % seeded.userTokens.length] ?? '', seeded.roomId),
  );
  const connectStart = performance.now();
  await openAll(sseSlots, 50);
  await openAll(wsSlots, 50);
  log(
    `soak: ${sseSlots.filter((s) => s.state === 'open').length} SSE and ${wsSlots.filter((s) => s.state === 'open').length} WebSocket ` +
      `subscribers in ${fmt((performance.now() - connectStart) / 1000)} s`,
  );

  // The first scrape resets prom-client's event-loop histogram that has run since the server
  // started; the cumulative one is read at every scrape, and the run's share is a difference.
  const atLoadStart = await scrape(url);
  const loadStart = performance.now();
  const elapsed = () => (performance.now() - loadStart) / 1000;
  const cpuAtStart = {
    server: cpuSeconds(server.pid),
    core0: coreBusySeconds(0),
    load: process.cpuUsage(),
  };
  const samples: Sample[] = [];
  /** `pulse_event_loop_delay_seconds` at each scrape of the run (t: seconds since the load started). */
  const loopDelays: { t: number; buckets: Buckets }[] = atLoadStart
    ? [{ t: 0, buckets: atLoadStart.loopDelay }]
    : [];
  const stopTimer = setTimeout(stopRun, runMs);

  const sampler = (async () => {
    while (!stopping) {
      await pause(config.sampleEveryS * 1000);
      if (stopping) break;
      const scraped = await scrape(url);
      const t = elapsed();
      if (!scraped) continue;
      const { loopDelay, ...sample } = scraped;
      samples.push({ t, ...sample });
      loopDelays.push({ t, buckets: loopDelay });
      if (Math.round(elapsed()) % 60 < config.sampleEveryS) {
        log(
          `soak: ${fmt(elapsed(), 0)} s, RSS ${fmt(mib(sample.rssBytes))} MiB, loop p99 ${fmt(sample.eventLoopP99Ms)} ms, ` +
            `${sample.subscriptions} subscriptions, ${sample.sse} SSE / ${sample.ws} ws connections`,
        );
      }
    }
  })();

  let chatCount = 0;
  const traffic = everySecond(async (second) => {
    const token = (i: number) => seeded.userTokens[i % seeded.userTokens.length] ?? '';
    const work: Promise<void>[] = [
      call(
        tallies.notify,
        url,
        'mutation',
        'notifications.send',
        {
          to: { teamId: seeded.teamId },
          title: `Soak ${second}`,
          body: 'A team notification',
          severity: 'info',
        },
        seeded.adminToken,
      ),
      call(
        tallies.ingest,
        url,
        'mutation',
        'metrics.ingest',
        {
          points: Array.from({ length: config.ingestPoints }, (_, i) => ({
            series: i % 2 === 0 ? 'soak.a' : 'soak.b',
            value: Math.sin(second + i),
          })),
        },
        seeded.adminToken,
      ),
    ];
    for (let i = 0; i < config.chatPerSecond; i++) {
      work.push(
        call(
          tallies.chat,
          url,
          'mutation',
          'chat.send',
          {
            roomId: seeded.roomId,
            text: `soak message ${chatCount}`,
            clientMessageId: randomUUID(),
          },
          token(chatCount++),
        ),
      );
    }
    for (let i = 0; i < 3; i++) {
      work.push(call(tallies.queries, url, 'query', 'auth.me', undefined, token(second * 7 + i)));
    }
    for (let i = 0; i < 2; i++) {
      work.push(call(tallies.queries, url, 'query', 'incidents.list', {}, token(second * 11 + i)));
    }
    // Churn: some leave and come back, resuming from their last event id; those the server
    // ended by itself (a slow reader dropped, an error) come back too.
    const churnSse = pick(
      sseSlots.filter((slot) => slot.state === 'open'),
      Math.round(config.sse * config.churnPerSecond),
    );
    const churnWs = pick(
      wsSlots.filter((slot) => slot.state === 'open'),
      Math.round(config.ws * config.churnPerSecond),
    );
    for (const slot of [...churnSse, ...churnWs]) slot.close();
    for (const slot of [...sseSlots, ...wsSlots])
      if (slot.state === 'closed') work.push(slot.open());
    await Promise.all(work);
  });

  const attacks = hostileLoop({
    url,
    adminHeaders: { authorization: `Bearer ${seeded.adminToken}` },
  });
  await Promise.all([sampler, traffic, attacks]);
  clearTimeout(stopTimer);
  const ranSeconds = elapsed();
  // The cumulative histogram once more, so that the whole run reaches its last second.
  const atLoadEnd = serverExit === null ? await scrape(url) : null;
  if (atLoadEnd) loopDelays.push({ t: ranSeconds, buckets: atLoadEnd.loopDelay });
  // Where the CPU went during the load: the server, this process, and others on the server's core.
  const cpu = { serverShare: NaN, loadShare: NaN, otherShareOnServerCore: NaN };
  if (serverExit === null) {
    const serverS = cpuSeconds(server.pid) - cpuAtStart.server;
    const load = process.cpuUsage(cpuAtStart.load);
    cpu.serverShare = serverS / ranSeconds;
    cpu.loadShare = (load.user + load.system) / 1e6 / ranSeconds;
    if (pinning)
      cpu.otherShareOnServerCore =
        Math.max(0, coreBusySeconds(0) - cpuAtStart.core0 - serverS) / ranSeconds;
  }

  // Every client leaves; the server must come back to zero.
  const afterClose = { subscriptions: NaN, sse: NaN, ws: NaN, seconds: NaN };
  if (serverExit === null) {
    const leaveStart = performance.now();
    for (const slot of sseSlots) slot.close();
    await Promise.all(wsSlots.map((slot) => slot.leave()));
    const deadline = performance.now() + config.drainTimeoutMs;
    for (;;) {
      const sample = await scrape(url, 2000);
      if (sample)
        Object.assign(afterClose, {
          subscriptions: sample.subscriptions,
          sse: sample.sse,
          ws: sample.ws,
        });
      if (
        (sample && sample.subscriptions === 0 && sample.sse === 0 && sample.ws === 0) ||
        performance.now() > deadline
      ) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    afterClose.seconds = (performance.now() - leaveStart) / 1000;
  }
  shuttingDown = true;
  await stopServer(server.child);

  // ---------------------------------------------------------------------------------------------
  // Figures and targets.

  const measured = samples.filter((s) => s.t >= warmupMs / 1000);
  // RSS follows V8's collection cycles up and down; flatness compares the median of a window at
  // the start, the middle and the end of the run, and the largest single reading is reported too.
  const first = measured[0];
  const last = measured.at(-1);
  const windowS = first && last ? Math.min(30, (last.t - first.t) / 6) : 0;
  const medianRssNear = (t: number): number | null => {
    const near = measured.filter((s) => Math.abs(s.t - t) <= windowS / 2).map((s) => s.rssBytes);
    return near.length > 0 ? percentile(near, 0.5) : null;
  };
  const startRss = first ? medianRssNear(first.t + windowS / 2) : null;
  const middleRss = first && last ? medianRssNear((first.t + last.t) / 2) : null;
  const endRss = last ? medianRssNear(last.t - windowS / 2) : null;
  const driftOf = (value: number | null) =>
    value !== null && startRss !== null ? Math.abs(value - startRss) / startRss : NaN;
  const rssDrift = Math.max(driftOf(middleRss), driftOf(endRss));
  const rssPeakDrift = Math.max(...measured.map((s) => driftOf(s.rssBytes)));
  // Event-loop delay, whole run: the server's cumulative histogram from the last scrape before
  // the warm-up ended to the end of the load (the span the windows below cover), every tick of
  // the 10 ms sampler one observation. Per window: prom-client's p99 of each 5 s.
  const loopTarget = config.targets.eventLoopP99Ms / 1000;
  const loopFrom = loopDelays.filter((d) => d.t < warmupMs / 1000).at(-1);
  const loopTo = loopDelays.at(-1);
  const loopRun =
    loopFrom && loopTo && loopTo.t > loopFrom.t && loopTo.buckets.length > 0
      ? bucketsSince(loopTo.buckets, loopFrom.buckets)
      : [];
  const loopRunP99 = quantileOf(loopRun, 0.99);
  const loopRunShareOver = shareAbove(loopRun, loopTarget);
  const loopP99s = measured.map((s) => s.eventLoopP99Ms);
  const loopMax = loopP99s.length > 0 ? Math.max(...loopP99s) : NaN;
  const loopP99 = percentile(loopP99s, 0.99);
  const loopMedian = percentile(loopP99s, 0.5);
  const loopWindowsOver = loopP99s.filter((v) => v >= config.targets.eventLoopP99Ms).length;
  const sum = (f: (o: Order) => number) =>
    [...sseSlots, ...wsSlots].reduce((total, slot) => total + f(slot.order), 0);
  const deliveries = {
    sse: sseSlots.reduce((n, s) => n + s.order.received, 0),
    ws: wsSlots.reduce((n, s) => n + s.order.received, 0),
    duplicates: sum((o) => o.duplicates),
    gaps: sum((o) => o.gaps),
  };
  const hostileTotals = [...hostile.values()].reduce(
    (acc, t) => ({
      sent: acc.sent + t.sent,
      ok: acc.ok + t.ok,
      failed: acc.failed + t.failed,
      unanswered: acc.unanswered + t.unanswered,
    }),
    { sent: 0, ok: 0, failed: 0, unanswered: 0 },
  );
  const unanswered =
    Object.values(tallies).reduce((n, t) => n + t.unanswered, 0) + hostileTotals.unanswered;
  const leftover = afterClose.subscriptions + afterClose.sse + afterClose.ws;

  const targets = {
    server: serverExit === null ? 'PASS' : 'FAIL',
    rssFlat: Number.isFinite(rssDrift) && rssDrift <= config.targets.rssDrift ? 'PASS' : 'FAIL',
    // p99 within the target: at most 1% of the run's ticks took longer.
    eventLoopP99: Number.isFinite(loopRunShareOver) && loopRunShareOver <= 0.01 ? 'PASS' : 'FAIL',
    noUnanswered: unanswered === 0 ? 'PASS' : 'FAIL',
    noLeaks: leftover === 0 ? 'PASS' : 'FAIL',
  } as const;
  const pass = Object.values(targets).every((v) => v === 'PASS');

  const rows: string[][] = [
    [
      'run',
      `${fmt(ranSeconds, 0)} s of load (warm-up ${fmt(warmupMs / 1000, 0)} s), ${samples.length} samples`,
    ],
    ['server', serverExit === null ? 'ran throughout' : `ended during the run (${serverExit})`],
    [
      `RSS start / middle / end (medians of ${fmt(windowS, 0)} s)`,
      [startRss, middleRss, endRss]
        .map((v) => (v !== null ? `${fmt(mib(v))} MiB` : 'n/a'))
        .join(' / ') +
        `  (drift ${fmt(rssDrift * 100)}%; largest single reading ${fmt(rssPeakDrift * 100)}% off)`,
    ],
    [
      'event-loop delay p99, whole run (cumulative histogram)',
      `${fmt(loopRunP99.estimate * 1000)} ms (in the ${fmt(loopRunP99.low * 1000)}–${fmt(loopRunP99.high * 1000)} ms bucket; ` +
        `${fmt(loopRunShareOver * 100, 2)}% of ${loopRunP99.total} ticks over ${config.targets.eventLoopP99Ms} ms)`,
    ],
    [
      'event-loop delay p99 per 5 s window: max / p99 / median',
      `${fmt(loopMax)} / ${fmt(loopP99)} / ${fmt(loopMedian)} ms (${loopWindowsOver} of ${loopP99s.length} windows ≥ ${config.targets.eventLoopP99Ms} ms)`,
    ],
    [
      "CPU: server / load / other processes on the server's core",
      `${fmt(cpu.serverShare * 100, 0)}% / ${fmt(cpu.loadShare * 100, 0)}% / ${fmt(cpu.otherShareOnServerCore * 100, 0)}% of a core`,
    ],
    [
      'deliveries SSE / WebSocket',
      `${deliveries.sse} / ${deliveries.ws} (duplicates ${deliveries.duplicates}, gaps ${deliveries.gaps})`,
    ],
    ...Object.entries(tallies).map(([name, t]) => [
      `${name}: sent / ok / failed / unanswered`,
      `${t.sent} / ${t.ok} / ${t.failed} / ${t.unanswered}`,
    ]),
    [
      'hostile cases run / as expected / wrong / unanswered',
      `${hostileTotals.sent} / ${hostileTotals.ok} / ${hostileTotals.failed} / ${hostileTotals.unanswered}`,
    ],
    ['subscriptions the server ended, SSE / WebSocket', `${ended.sse} / ${ended.ws}`],
    ['unanswered requests', String(unanswered)],
    [
      'after all clients left: subscriptions / SSE / ws',
      `${afterClose.subscriptions} / ${afterClose.sse} / ${afterClose.ws} (after ${fmt(afterClose.seconds)} s)`,
    ],
  ];
  console.log(
    `\nPulse soak — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
  );
  console.log(table(['', 'value'], rows));
  const wrong = [...hostile.entries()].filter(([, t]) => t.failed + t.unanswered > 0);
  if (wrong.length > 0) {
    console.log('\nHostile cases not answered as the contract demands:');
    for (const [name, t] of wrong) {
      console.log(
        `  ${name}: ${t.failed} wrong, ${t.unanswered} unanswered of ${t.sent}; ${t.firstProblems[0] ?? ''}`,
      );
    }
  }
  for (const [name, t] of Object.entries(tallies)) {
    if (t.firstProblems.length > 0) console.log(`\n${name}: ${t.firstProblems.join('\n  ')}`);
  }
  if (cpu.otherShareOnServerCore > 0.1) {
    console.log(
      `\nnote: other processes took ${fmt(cpu.otherShareOnServerCore * 100, 0)}% of the server's core; ` +
        `event-loop delay suffers from that directly (loadavg at start: ${loadavg}).`,
    );
  }
  console.log('\nTargets');
  console.log(`  server up throughout                         ${targets.server}`);
  console.log(
    `  RSS within ±${config.targets.rssDrift * 100}% after warm-up               ${targets.rssFlat}`,
  );
  console.log(
    `  ${`event-loop delay p99 < ${config.targets.eventLoopP99Ms} ms (whole run)`.padEnd(45)}${targets.eventLoopP99}` +
      `  (${fmt(loopRunP99.estimate * 1000)} ms; max 5 s window ${fmt(loopMax)} ms)`,
  );
  console.log(`  no unanswered request                        ${targets.noUnanswered}`);
  console.log(`  no subscription or connection left           ${targets.noLeaks}`);
  console.log(`\n${pass ? 'PASS' : 'FAIL'}`);

  const results = {
    startedAt: startedAt.toISOString(),
    machine: machineFacts(loadavg),
    config: { ...config, quick, excluded, hostileCases: corpus.map((c) => c.name) },
    seedSeconds,
    ranSeconds,
    serverExit,
    samples,
    rss: {
      windowS,
      startMiB: startRss !== null ? mib(startRss) : null,
      middleMiB: middleRss !== null ? mib(middleRss) : null,
      endMiB: endRss !== null ? mib(endRss) : null,
      drift: rssDrift,
      peakDrift: rssPeakDrift,
    },
    eventLoopDelay: {
      note: 'ms, the 10 ms sampling interval included',
      wholeRun: {
        fromS: loopFrom?.t ?? null,
        toS: loopTo?.t ?? null,
        ticks: loopRunP99.total,
        p99Ms: loopRunP99.estimate * 1000,
        p99BucketMs: [loopRunP99.low * 1000, loopRunP99.high * 1000],
        shareOverTarget: loopRunShareOver,
        buckets: loopRun.map(([le, count]) => [Number.isFinite(le) ? le : '+Inf', count]),
      },
      windowP99Ms: {
        max: loopMax,
        p99: loopP99,
        median: loopMedian,
        windowsOverTarget: loopWindowsOver,
      },
    },
    cpu,
    deliveries,
    endedByServer: ended,
    requests: tallies,
    hostile: { totals: hostileTotals, byCase: Object.fromEntries(hostile) },
    unanswered,
    afterClose,
    targets,
    pass,
  };
  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `soak-${stamp(startedAt)}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`Results: ${file}`);
  return pass ? 0 : 1;
}

main().then(
  (code) => {
    // Sockets or timers left behind must not keep the run alive.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
