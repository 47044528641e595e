/**
 * The load generator: one process (pinned to its own core by bench/run.ts) that holds N
 * subscriptions, one per member, sends notifications, and measures the server process from
 * /proc. A subscription is SSE `notifications.onNotification` (`--transport sse`) or a plain
 * WebSocket to the same path whose every text frame is one event's JSON (`--transport ws`, for
 * bench/ws-baseline-server.ts). Each send goes to the whole team (`--address team`) or to one
 * member (`--address user`: `to: { usernames: [u] }`, the subscribers' users in turn). Parsing
 * is kept cheap (indexOf on the raw text, no EventSource, no JSON.parse per event) so that the
 * load, not the server, is rarely the limit.
 *
 *   node --import tsx bench/load.ts --url http://127.0.0.1:PORT --pid SERVER_PID \
 *     --creds credentials.json --out result.json --label pulse \
 *     --subscribers 1000 --rate 20 --seconds 10 [--warmup 2] [--transport sse|ws] [--address team|user]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request, type ClientRequest } from 'node:http';
import { WebSocket } from 'ws';
import {
  EVENT_BODY,
  EVENT_TITLE,
  coreBusySeconds,
  cpuSeconds,
  diskWriteBytes,
  numberFlag,
  parseFlags,
  rssKiB,
  sleep,
  type Address,
  type BenchCredentials,
  type PhaseResult,
  type TargetResult,
  type Transport,
} from './common.ts';
import { attachCollector, rssReading, type Collector } from './heap.ts';

const flags = parseFlags(process.argv.slice(2));
const required = (name: string): string => {
  const value = flags.get(name);
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
};
function oneOf<T extends string>(name: string, values: readonly T[]): T {
  const value = flags.get(name) ?? values[0];
  if (!values.includes(value as T))
    throw new Error(`--${name} must be one of ${values.join(', ')}`);
  return value as T;
}
const baseUrl = new URL(required('url'));
/** Where notifications are sent; the server's own URL unless it takes them elsewhere. */
const sendUrl = new URL('/trpc/notifications.send', flags.get('send-url') ?? baseUrl);
const serverPid = Number(required('pid'));
const creds = JSON.parse(readFileSync(required('creds'), 'utf8')) as BenchCredentials;
const outFile = required('out');
const label = flags.get('label') ?? 'server';
const subscriberCount = Math.floor(numberFlag(flags, 'subscribers', 1000));
const rate = numberFlag(flags, 'rate', 20);
const phaseSeconds = numberFlag(flags, 'seconds', 10);
const warmupSeconds = numberFlag(flags, 'warmup', 2);
const flatSenders = Math.floor(numberFlag(flags, 'senders', 4));
/** The core the server is pinned to, or -1. */
const serverCpu = Number(flags.get('server-cpu') ?? -1);
const transport = oneOf<Transport>('transport', ['sse', 'ws']);
const address = oneOf<Address>('address', ['team', 'user']);

if (Math.min(creds.memberTokens.length, creds.memberUsernames.length) < subscriberCount) {
  throw new Error(
    `only ${creds.memberTokens.length} member tokens for ${subscriberCount} subscribers`,
  );
}

// Never outlive the run: stop when the parent goes away (bench/run.ts holds our stdin open),
// and after a hard deadline.
if (flags.get('exit-with-stdin') === 'true') {
  process.stdin.on('end', () => process.exit(3));
  process.stdin.on('error', () => process.exit(3));
  process.stdin.resume();
}
setTimeout(() => {
  console.error(`[${label}] load: hard deadline reached, exiting`);
  process.exit(2);
}, 15 * 60_000).unref();

const log = (line: string) => console.error(`[${label}] ${line}`);

// ---------------------------------------------------------------------------------------------
// Clock: wall-clock milliseconds with sub-millisecond resolution (createdAt is wall clock).

const clockOffset = (() => {
  const start = Date.now();
  let now = start;
  // Spin to a millisecond edge (bounded) so the offset is exact to a few microseconds.
  for (let i = 0; i < 1e7 && now === start; i++) now = Date.now();
  return now - performance.now();
})();
const wallNow = () => clockOffset + performance.now();

// ---------------------------------------------------------------------------------------------
// Latency histogram: 0.1 ms buckets up to 120 s.

const BUCKETS_PER_MS = 10;
const MAX_BUCKET = 120_000 * BUCKETS_PER_MS;

interface PhaseState {
  received: number;
  hist: Uint32Array;
  /** Distinct event ids seen by anyone during the phase. */
  ids: Set<number>;
  lastDeliveryAt: number;
}

function newPhaseState(): PhaseState {
  return { received: 0, hist: new Uint32Array(MAX_BUCKET + 1), ids: new Set(), lastDeliveryAt: 0 };
}

let phase = newPhaseState();
let eventJsonBytes = 0;

function percentile(hist: Uint32Array, total: number, p: number): number {
  if (total === 0) return NaN;
  const rank = Math.max(1, Math.ceil(total * p));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i] ?? 0;
    if (seen >= rank) return i / BUCKETS_PER_MS;
  }
  return MAX_BUCKET / BUCKETS_PER_MS;
}

function maxOf(hist: Uint32Array): number {
  for (let i = hist.length - 1; i >= 0; i--) if ((hist[i] ?? 0) > 0) return i / BUCKETS_PER_MS;
  return NaN;
}

// ---------------------------------------------------------------------------------------------
// Subscribers.

const CREATED_AT = '"createdAt":"';
const ISO_LENGTH = 24; // 2025-01-01T00:00:00.000Z

/** The `createdAt` of the event JSON in `text` at or after `from`, ms since the epoch. */
function createdAtIn(text: string, from: number): number {
  const at = text.indexOf(CREATED_AT, from) + CREATED_AT.length;
  return Date.parse(text.slice(at, at + ISO_LENGTH));
}

/** One member's subscription, whatever carries it: opening, ids counted, latency recorded. */
abstract class Subscriber {
  lastSeq = 0;
  /** Distinct events received in the current phase. */
  got = 0;
  /** Events the server accepted for this subscriber in the current phase. */
  expected = 0;
  duplicates = 0;
  connected = false;
  closed = false;
  failure: string | null = null;
  private onConnected: (() => void) | null = null;
  private onFailed: ((error: Error) => void) | null = null;

  constructor(
    readonly token: string,
    readonly username: string,
  ) {}

  /** Resolves once the server holds the subscription. */
  open(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`not connected within ${timeoutMs} ms`), timeoutMs);
      this.onConnected = () => {
        clearTimeout(timer);
        resolve();
      };
      this.onFailed = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      this.connect();
    });
  }

  protected abstract connect(): void;
  abstract close(): void;

  protected markConnected() {
    this.connected = true;
    const onConnected = this.onConnected;
    this.onConnected = this.onFailed = null;
    onConnected?.();
  }

  protected fail(reason: string) {
    if (this.failure === null) this.failure = reason;
    const onFailed = this.onFailed;
    this.onFailed = this.onConnected = null;
    this.close();
    onFailed?.(new Error(reason));
  }

  protected onClose() {
    this.closed = true;
    if (!this.connected) this.fail('closed before it was connected');
  }

  protected onEvent(seq: number, latencyMs: number, now: number) {
    if (seq > this.lastSeq) {
      this.lastSeq = seq;
      this.got++;
    } else {
      this.duplicates++;
    }
    const p = phase;
    p.received++;
    p.ids.add(seq);
    p.lastDeliveryAt = now;
    const bucket = Math.round(latencyMs * BUCKETS_PER_MS);
    const i = bucket < 0 ? 0 : bucket > MAX_BUCKET ? MAX_BUCKET : bucket;
    p.hist[i] = (p.hist[i] ?? 0) + 1;
  }
}

const subscribeUrl = new URL('/trpc/notifications.onNotification', baseUrl);

/** An SSE subscription, connected at its `connected` event (the server has it by then). */
class SseSubscriber extends Subscriber {
  private pending = '';
  private req: ClientRequest | null = null;

  protected connect() {
    const req = request(
      subscribeUrl,
      {
        agent: false,
        headers: { Accept: 'text/event-stream', Authorization: `Bearer ${this.token}` },
      },
      (res) => {
        if (res.statusCode !== 200) {
          this.fail(`HTTP ${res.statusCode}`);
          res.resume();
          return;
        }
        res.on('data', (chunk: Buffer) => this.onChunk(chunk.toString('latin1')));
        res.on('close', () => this.onClose());
      },
    );
    this.req = req;
    req.on('error', (error) => this.fail(error.message));
    req.end();
  }

  private onChunk(text: string) {
    const now = wallNow();
    const buf = this.pending === '' ? text : this.pending + text;
    let start = 0;
    for (;;) {
      const end = buf.indexOf('\n\n', start);
      if (end === -1) break;
      if (buf.startsWith('id: ntf_', start)) {
        const newline = buf.indexOf('\n', start);
        const seq = Number(buf.slice(start + 8, newline));
        if (eventJsonBytes === 0) eventJsonBytes = end - (newline + 1 + 'data: '.length);
        this.onEvent(seq, now - createdAtIn(buf, newline), now);
      } else {
        const named = buf.indexOf('event: ', start);
        if (named !== -1 && named < end) {
          const name = buf.slice(named + 7, buf.indexOf('\n', named));
          if (name === 'connected') this.markConnected();
          else if (name === 'serialized-error') {
            this.failure ??= `serialized-error: ${buf.slice(named, end)}`;
          }
        }
      }
      start = end + 2;
    }
    this.pending = start === buf.length ? '' : buf.slice(start);
  }

  close() {
    this.req?.destroy();
  }
}

const ID_FIELD = '"id":"ntf_';

/**
 * A WebSocket whose every text frame is one event's JSON, connected once the upgrade is
 * answered (the server holds the socket by then). Frames are not checked for UTF-8, as the SSE
 * text is not: the load reads only ASCII fields.
 */
class WsSubscriber extends Subscriber {
  private ws: WebSocket | null = null;

  protected connect() {
    const ws = new WebSocket(subscribeUrl.href.replace(/^http/, 'ws'), {
      headers: { Authorization: `Bearer ${this.token}` },
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    this.ws = ws;
    ws.on('open', () => this.markConnected());
    ws.on('message', (data: Buffer) => this.onFrame(data));
    ws.on('error', (error) => this.fail(error.message));
    ws.on('close', () => this.onClose());
  }

  private onFrame(data: Buffer) {
    const now = wallNow();
    const text = data.toString('latin1');
    const at = text.indexOf(ID_FIELD) + ID_FIELD.length;
    const seq = Number(text.slice(at, text.indexOf('"', at)));
    if (eventJsonBytes === 0) eventJsonBytes = data.length;
    this.onEvent(seq, now - createdAtIn(text, at), now);
  }

  close() {
    this.ws?.terminate();
  }
}

const newSubscriber = (i: number): Subscriber => {
  const token = creds.memberTokens[i] ?? '';
  const username = creds.memberUsernames[i] ?? '';
  return transport === 'ws'
    ? new WsSubscriber(token, username)
    : new SseSubscriber(token, username);
};

/** Opens subscriptions with a bounded number of handshakes in flight. */
async function openAll(subs: Subscriber[], concurrency: number): Promise<number> {
  let next = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, subs.length) }, async () => {
      while (next < subs.length) {
        const sub = subs[next++]!;
        try {
          await sub.open(30_000);
        } catch (error) {
          failures++;
          if (failures <= 5) log(`subscription failed: ${(error as Error).message}`);
        }
      }
    }),
  );
  return failures;
}

// ---------------------------------------------------------------------------------------------
// Sending.

const sendAgent = new Agent({ keepAlive: true, maxSockets: 16 });
const sendBody = (to: object): string =>
  JSON.stringify({ to, title: EVENT_TITLE, body: EVENT_BODY, severity: 'warning' });

/** One send: its request body, and the subscribers who should each get it once it is accepted. */
interface Addressed {
  body: string;
  to: readonly Subscriber[];
}

/**
 * Each next send, by `--address`: a broadcast to the team, or an event for one member only
 * (`to: { usernames: [u] }`), the members of `subs` in turn.
 */
function addressing(subs: Subscriber[]): () => Addressed {
  if (address === 'team') {
    const all: Addressed = { body: sendBody({ teamId: creds.teamId }), to: subs };
    return () => all;
  }
  const each = subs.map((sub) => ({ body: sendBody({ usernames: [sub.username] }), to: [sub] }));
  let next = 0;
  return () => each[next++ % each.length]!;
}

/** One `notifications.send`; true when the server accepted it. */
function send(body: string, retry = true): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let answered = false;
    const req = request(
      sendUrl,
      {
        method: 'POST',
        agent: sendAgent,
        timeout: 30_000,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          Authorization: `Bearer ${creds.adminToken}`,
        },
      },
      (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const ok = res.statusCode === 200;
          if (!ok && sendErrorsLogged++ < 3)
            log(`send answered ${res.statusCode}: ${body.slice(0, 300)}`);
          resolve(ok);
        });
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy(new Error('send timed out')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed as we reused it: the request never got there.
      if (retry && !answered && req.reusedSocket && error.code === 'ECONNRESET') {
        resolve(send(body, false));
        return;
      }
      if (sendErrorsLogged++ < 3) log(`send failed: ${error.message}`);
      resolve(false);
    });
    req.end(body);
  });
}
let sendErrorsLogged = 0;

interface SendTally {
  sent: number;
  errors: number;
  skipped: number;
}

/** Makes the next send; once it is accepted, each of its subscribers expects one more event. */
async function sendNext(next: () => Addressed, tally: SendTally): Promise<boolean> {
  const { body, to } = next();
  const ok = await send(body);
  if (!ok) tally.errors++;
  else {
    tally.sent++;
    for (const sub of to) sub.expected++;
  }
  return ok;
}

/** `rate` sends per second for `seconds`, on schedule, with a bound on sends in flight. */
async function sendAtRate(seconds: number, next: () => Addressed, tally: SendTally): Promise<void> {
  const total = Math.max(1, Math.round(rate * seconds));
  const start = performance.now();
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight >= 64) {
      tally.skipped++; // the server is not keeping up: skip rather than pile up
      continue;
    }
    inFlight++;
    const p: Promise<void> = sendNext(next, tally).then(() => {
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
}

/** `flatSenders` loops, each sending as soon as its previous send was answered, for `seconds`. */
async function sendFlatOut(
  seconds: number,
  next: () => Addressed,
  tally: SendTally,
): Promise<void> {
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: flatSenders }, async () => {
      while (performance.now() < until) {
        if (!(await sendNext(next, tally))) await sleep(10);
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Phases.

async function runPhase(
  name: PhaseResult['name'],
  subs: Subscriber[],
  sendFor: (tally: SendTally) => Promise<void>,
): Promise<PhaseResult> {
  for (const sub of subs) sub.got = sub.duplicates = sub.expected = 0;
  phase = newPhaseState();
  const tally: SendTally = { sent: 0, errors: 0, skipped: 0 };
  const open = () => subs.filter((s) => s.connected && !s.closed);

  const cpu0 = cpuSeconds(serverPid);
  const disk0 = diskWriteBytes(serverPid);
  const core0 = serverCpu >= 0 ? coreBusySeconds(serverCpu) : NaN;
  const load0 = process.cpuUsage();
  const t0 = wallNow();
  await sendFor(tally);
  const sendEnd = wallNow();

  // Drain: until every open subscriber has every accepted event for it, or progress stops.
  const expected = () => open().reduce((sum, s) => sum + s.expected, 0);
  let lastProgress = wallNow();
  let lastReceived = phase.received;
  const drainDeadline = wallNow() + 60_000;
  while (phase.received < expected() && wallNow() < drainDeadline) {
    await sleep(10);
    if (phase.received !== lastReceived) {
      lastReceived = phase.received;
      lastProgress = wallNow();
    } else if (wallNow() - lastProgress > 5_000) break;
  }
  const drained = phase.received >= expected();
  const t1 = drained ? Math.max(phase.lastDeliveryAt, sendEnd) : wallNow();
  const cpu1 = cpuSeconds(serverPid);
  const disk1 = diskWriteBytes(serverPid);
  const core1 = serverCpu >= 0 ? coreBusySeconds(serverCpu) : NaN;
  const load = process.cpuUsage(load0);

  const seconds = (t1 - t0) / 1000;
  const deliveries = phase.received;
  let missing = 0;
  let duplicates = 0;
  let subscribersMissing = 0;
  for (const sub of subs) {
    if (!sub.connected) continue;
    duplicates += sub.duplicates;
    const short = sub.expected - sub.got;
    if (short > 0) {
      missing += short;
      subscribersMissing++;
    }
  }
  if (phase.ids.size !== tally.sent) {
    log(`${name}: ${tally.sent} sends accepted but ${phase.ids.size} distinct ids delivered`);
  }
  const serverCpuS = cpu1 - cpu0;
  return {
    name,
    sent: tally.sent,
    sendErrors: tally.errors,
    sendsSkipped: tally.skipped,
    seconds,
    sendsPerS: tally.sent / seconds,
    deliveries,
    deliveriesPerS: deliveries / seconds,
    expectedDeliveries: subs.reduce((sum, s) => sum + (s.connected ? s.expected : 0), 0),
    missing,
    duplicates,
    subscribersMissing,
    latencyMs: {
      p50: percentile(phase.hist, deliveries, 0.5),
      p90: percentile(phase.hist, deliveries, 0.9),
      p99: percentile(phase.hist, deliveries, 0.99),
      max: maxOf(phase.hist),
    },
    serverCpuS,
    serverCpuUsPerDelivery: deliveries > 0 ? (serverCpuS * 1e6) / deliveries : NaN,
    serverCpuShare: serverCpuS / seconds,
    loadCpuShare: (load.user + load.system) / 1e6 / seconds,
    serverDiskWriteKiBPerSend: tally.sent > 0 ? (disk1 - disk0) / 1024 / tally.sent : NaN,
    otherCpuShareOnServerCore: Math.max(0, core1 - core0 - serverCpuS) / seconds,
    drained,
  };
}

/** Median of a few RSS samples, so one GC in flight does not decide the figure. */
async function medianRss(): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKiB(serverPid));
    await sleep(200);
  }
  samples.sort((a, b) => a - b);
  return samples[2]!;
}

/** RSS read, then after a full collection when the server's inspector port was given. */
const settledRss = (collector: Collector | null) => rssReading(medianRss, collector);

function describe(r: PhaseResult): string {
  const f = (n: number, d = 1) => n.toFixed(d);
  return (
    `${r.name}: ${r.sent} sends (${f(r.sendsPerS)}/s), ${r.deliveries} deliveries ` +
    `(${f(r.deliveriesPerS, 0)}/s), p50 ${f(r.latencyMs.p50)} ms, p99 ${f(r.latencyMs.p99)} ms, ` +
    `${f(r.serverCpuUsPerDelivery, 2)} µs CPU/delivery, missing ${r.missing}, duplicates ${r.duplicates}` +
    `, server CPU ${f(r.serverCpuShare * 100, 0)}%, load CPU ${f(r.loadCpuShare * 100, 0)}%` +
    `, other processes on the server's core ${f(r.otherCpuShareOnServerCore * 100, 0)}%` +
    (r.sendsSkipped > 0 ? `, ${r.sendsSkipped} sends skipped (server behind)` : '')
  );
}

async function main() {
  // Warm-up: a few subscriptions and sends, so one-off allocations (JIT, lazy modules,
  // prepared statements) are not counted as per-subscription memory.
  const warm = Array.from({ length: Math.min(10, subscriberCount) }, (_, i) => newSubscriber(i));
  await openAll(warm, 10);
  const warmNext = addressing(warm);
  for (let i = 0; i < 3; i++) await sendNext(warmNext, { sent: 0, errors: 0, skipped: 0 });
  await sleep(300);
  for (const sub of warm) sub.close();
  await sleep(1000);

  const inspectPort = flags.get('inspect-port');
  const collector =
    inspectPort === undefined ? null : await attachCollector(serverPid, Number(inspectPort));
  const { held: rssBeforeKiB } = await settledRss(collector);
  const subs = Array.from({ length: subscriberCount }, (_, i) => newSubscriber(i));
  const connectStart = performance.now();
  const connectFailures = await openAll(subs, 64);
  const connectSeconds = (performance.now() - connectStart) / 1000;
  log(
    `${subs.length - connectFailures}/${subs.length} subscriptions connected in ${connectSeconds.toFixed(1)} s`,
  );
  await sleep(2000);
  const { held: rssIdleKiB } = await settledRss(collector);
  const connected = subs.filter((s) => s.connected).length;
  const firstKiBPerSubscription = connected > 0 ? (rssIdleKiB - rssBeforeKiB) / connected : NaN;
  // A second batch as large (the same members again), closed before the phases: its growth is
  // what one more idle subscription costs. The first batch's also holds one-off growth that
  // does not scale with subscriptions (the young generation growing to its maximum, which
  // Pulse's --max-semi-space-size=32 doubles; code compiled on first use).
  const more = Array.from({ length: subscriberCount }, (_, i) => newSubscriber(i));
  await openAll(more, 64);
  await sleep(2000);
  const rssMore = await settledRss(collector);
  const rssMoreKiB = rssMore.held;
  const moreConnected = more.filter((s) => s.connected).length;
  const idleKiBPerSubscription =
    moreConnected > 0 ? (rssMoreKiB - rssIdleKiB) / moreConnected : NaN;
  const uncollectedKiBPerSubscription =
    moreConnected > 0 ? (rssMore.read - rssIdleKiB) / moreConnected : NaN;
  // Nothing of the inspector stays attached while CPU is measured.
  collector?.close();
  for (const sub of more) sub.close();
  log(
    `idle RSS${collector ? ' after collecting' : ''} ${rssBeforeKiB} → ${rssIdleKiB} → ` +
      `${rssMoreKiB} KiB: ${firstKiBPerSubscription.toFixed(1)} KiB per subscription for the ` +
      `first ${connected}, ${idleKiBPerSubscription.toFixed(1)} KiB for the next ${moreConnected} ` +
      `(${uncollectedKiBPerSubscription.toFixed(1)} before collecting)`,
  );
  // The server lets go of the second batch before anything is measured on the first.
  await sleep(2000);

  const next = addressing(subs);
  if (warmupSeconds > 0) {
    await runPhase('fixed', subs, (tally) => sendAtRate(warmupSeconds, next, tally));
  }
  const fixed = await runPhase('fixed', subs, (tally) => sendAtRate(phaseSeconds, next, tally));
  log(describe(fixed));
  const flat = await runPhase('flat', subs, (tally) => sendFlatOut(phaseSeconds, next, tally));
  log(describe(flat));

  const result: TargetResult = {
    label,
    transport,
    address,
    subscribers: subs.length,
    eventJsonBytes,
    connectSeconds,
    rssBeforeKiB,
    rssIdleKiB,
    rssMoreKiB,
    firstKiBPerSubscription,
    idleKiBPerSubscription,
    uncollectedKiBPerSubscription,
    connectFailures,
    streamsLost: subs.filter((s) => s.connected && s.closed).length,
    fixed,
    flat,
  };
  writeFileSync(outFile, JSON.stringify(result, null, 2));
  for (const sub of subs) sub.close();
  sendAgent.destroy();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
