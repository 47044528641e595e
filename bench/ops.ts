/**
 * The dashboard benchmark: metric ingest throughput and `metrics.onPoints` fan-out of the real
 * Pulse server (src/server/index.ts) on a fresh SQLite database.
 *
 *   node --import tsx bench/ops.ts [--subscribers 200] [--seconds 10] [--rate 5000] [--senders 4] [--quick]
 *
 * (a) ingest: `--senders` concurrent senders POST /trpc/metrics.ingest with 1,000 points per
 *     request, each as soon as its previous one is answered, for `--seconds`: points/s and
 *     server CPU µs per point.
 * (b) fan-out: `--subscribers` SSE subscriptions to `metrics.onPoints` for two series (each with
 *     its own user and `read` token) while `--rate` points/s are ingested across those series
 *     for `--seconds`: batches and points delivered per second, batch latency (receive time −
 *     the newest point's `ts`), and the most batches any one subscriber got in one second.
 *
 * The server runs pinned to CPU 0, this process (the load) to CPU 1. Results are printed and
 * written to bench/results/ops-<time>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request, type ClientRequest } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  coreBusySeconds,
  cpuSeconds,
  numberFlag,
  parseKnownFlags,
  rssKiB,
  sleep,
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
  seedUsers,
  stamp,
  startServer,
  stopServer,
  table,
  wallNow,
  runBenchmark,
} from './bench-proc.ts';

const flags = parseKnownFlags(
  process.argv.slice(2),
  ['subscribers', 'seconds', 'rate', 'senders', 'quick'],
  '--subscribers N --seconds S --rate R --senders K --quick',
);
const quick = flags.get('quick') === 'true';
const config = {
  subscribers: Math.floor(numberFlag(flags, 'subscribers', quick ? 20 : 200)),
  seconds: numberFlag(flags, 'seconds', quick ? 3 : 10),
  /** Points per second ingested during the fan-out phase, across both series. */
  rate: numberFlag(flags, 'rate', 5000),
  senders: Math.floor(numberFlag(flags, 'senders', 4)),
  ingestBatch: 1000,
  /** Fan-out phase: ingest requests per second (the rate is split evenly over them). */
  fanoutRequestsPerS: 20,
};
const SERIES = ['bench.a', 'bench.b'];
const HARD_DEADLINE_MS = 10 * 60_000;

setTimeout(() => {
  console.error('ops: hard deadline reached, exiting');
  process.exit(2);
}, HARD_DEADLINE_MS).unref();

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(url: URL, token: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Busy seconds of CPU 0 and CPU 1 so far; with `otherShares`, what other processes took. */
const cores = () => [coreBusySeconds(0), coreBusySeconds(1)];
function otherShares(before: number[], serverCpu: number, loadCpu: number, seconds: number) {
  const other = (core: 0 | 1, own: number) =>
    pinning ? Math.max(0, (coreBusySeconds(core) - (before[core] ?? NaN) - own) / seconds) : NaN;
  return { otherShareServerCore: other(0, serverCpu), otherShareLoadCore: other(1, loadCpu) };
}

// ---------------------------------------------------------------------------------------------
// (a) ingest throughput.

interface IngestResult {
  seconds: number;
  requests: number;
  errors: number;
  points: number;
  pointsPerS: number;
  serverCpuUsPerPoint: number;
  serverCpuShare: number;
  loadCpuShare: number;
  otherShareServerCore: number;
  otherShareLoadCore: number;
}

function ingestBody(count: number, series: string[], ts: number | null): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = series[i % series.length] ?? 'bench.x';
    const value = Math.round(Math.random() * 100_000) / 100;
    parts.push(
      ts === null
        ? `{"series":"${s}","value":${value}}`
        : `{"series":"${s}","value":${value},"ts":${ts}}`,
    );
  }
  return `{"points":[${parts.join(',')}]}`;
}

async function ingestPhase(url: URL, pid: number, token: string): Promise<IngestResult> {
  const series = Array.from({ length: 10 }, (_, i) => `bench.ingest.${i}`);
  // A handful of prepared bodies (values differ); timestamps default to the server's now.
  const bodies = Array.from({ length: 8 }, () => ingestBody(config.ingestBatch, series, null));
  // Warm-up, unmeasured.
  for (let i = 0; i < 5; i++) await post(url, token, bodies[i % bodies.length] ?? '');

  let requests = 0;
  let errors = 0;
  let points = 0;
  const cpu0 = cpuSeconds(pid);
  const load0 = process.cpuUsage();
  const cores0 = cores();
  const t0 = performance.now();
  const end = t0 + config.seconds * 1000;
  const maxRequests = 100_000;
  await Promise.all(
    Array.from({ length: config.senders }, async (_, k) => {
      for (let n = 0; performance.now() < end && requests + errors < maxRequests; n++) {
        try {
          const res = await post(url, token, bodies[(n + k) % bodies.length] ?? '');
          if (res.status === 200) {
            requests++;
            points += config.ingestBatch;
          } else {
            errors++;
            if (errors <= 3)
              console.error(`  ingest: HTTP ${res.status} ${res.text.slice(0, 200)}`);
          }
        } catch (error) {
          errors++;
          if (errors <= 3) console.error(`  ingest: ${String(error)}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  const load = process.cpuUsage(load0);
  return {
    seconds,
    requests,
    errors,
    points,
    pointsPerS: points / seconds,
    serverCpuUsPerPoint: (cpu * 1e6) / points,
    serverCpuShare: cpu / seconds,
    loadCpuShare: (load.user + load.system) / 1e6 / seconds,
    ...otherShares(cores0, cpu, (load.user + load.system) / 1e6, seconds),
  };
}

// ---------------------------------------------------------------------------------------------
// (b) dashboard fan-out.

interface Subscriber {
  req: ClientRequest;
  connected: boolean;
  ended: boolean;
  batches: number;
  /** Batches per whole second since the phase started. */
  perSecond: Map<number, number>;
}

interface FanoutResult {
  subscribers: number;
  connectSeconds: number;
  connectFailures: number;
  streamsLost: number;
  rssBeforeKiB: number;
  rssIdleKiB: number;
  idleKiBPerSubscriber: number;
  seconds: number;
  ingestRequests: number;
  ingestErrors: number;
  ingestSkipped: number;
  pointsIngested: number;
  /** Over the sending window (the phase's `seconds` also holds the last flush's wait). */
  pointsIngestedPerS: number;
  batches: number;
  batchesPerS: number;
  pointsDelivered: number;
  pointsDeliveredPerS: number;
  /** Points delivered ÷ (points ingested × subscribers). */
  deliveredShare: number;
  latencyMs: { p50: number; p99: number; max: number };
  maxBatchesPerSOneSubscriber: number;
  meanBatchesPerSPerSubscriber: number;
  serverCpuShare: number;
  serverCpuUsPerBatch: number;
  serverCpuUsPerPointDelivered: number;
  loadCpuShare: number;
  otherShareServerCore: number;
  otherShareLoadCore: number;
}

/** A parsed batch, cached by its exact text: every subscriber receives the same bytes. */
let lastPayload = '';
let lastParsed = { points: 0, newestTs: NaN };
function parseBatch(payload: string): { points: number; newestTs: number } {
  if (payload === lastPayload) return lastParsed;
  const value = JSON.parse(payload) as unknown;
  const batch = (Array.isArray(value) ? value : (value as { data?: unknown }).data) as
    { series: string; points: { ts: number }[] }[] | undefined;
  let points = 0;
  let newestTs = -Infinity;
  for (const entry of batch ?? []) {
    points += entry.points.length;
    for (const p of entry.points) if (p.ts > newestTs) newestTs = p.ts;
  }
  lastPayload = payload;
  lastParsed = { points, newestTs };
  return lastParsed;
}

interface PhaseCounters {
  active: boolean;
  startedAt: number;
  batches: number;
  points: number;
  hist: Histogram;
  maxLatency: number;
}

async function fanoutPhase(
  baseUrl: string,
  pid: number,
  adminToken: string,
  tokens: string[],
): Promise<FanoutResult> {
  const input = encodeURIComponent(JSON.stringify({ series: SERIES }));
  const subUrl = new URL(`/trpc/metrics.onPoints?input=${input}`, baseUrl);
  const ingestUrl = new URL('/trpc/metrics.ingest', baseUrl);
  const subAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const counters: PhaseCounters = {
    active: false,
    startedAt: 0,
    batches: 0,
    points: 0,
    hist: new Histogram(),
    maxLatency: 0,
  };
  let connectFailures = 0;
  let streamsLost = 0;
  let finished = false;

  const rssBeforeKiB = rssKiB(pid);
  const subscribers: Subscriber[] = [];
  const connectStart = performance.now();
  let connectedCount = 0;
  const allConnected = new Promise<void>((resolve) => {
    const check = () => {
      if (connectedCount + connectFailures >= tokens.length) resolve();
    };
    for (const token of tokens) {
      const sub: Subscriber = {
        req: null as unknown as ClientRequest,
        connected: false,
        ended: false,
        batches: 0,
        perSecond: new Map(),
      };
      const req = request(subUrl, {
        agent: subAgent,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      });
      sub.req = req;
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          connectFailures++;
          if (connectFailures <= 3) console.error(`  subscribe: HTTP ${res.statusCode}`);
          res.resume();
          check();
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let idx = buf.indexOf('\n\n'); idx !== -1; idx = buf.indexOf('\n\n')) {
            const frame = buf.slice(0, idx);
            buf = buf.slice(idx + 2);
            if (frame.includes('event: connected')) {
              if (!sub.connected) {
                sub.connected = true;
                connectedCount++;
                check();
              }
              continue;
            }
            if (frame.includes('event: ')) continue; // ping, errors
            const at = frame.indexOf('data: ');
            if (at === -1) continue;
            const end = frame.indexOf('\n', at);
            const payload = frame.slice(at + 6, end === -1 ? undefined : end);
            if (!counters.active) continue;
            const now = wallNow();
            const { points, newestTs } = parseBatch(payload);
            counters.batches++;
            counters.points += points;
            sub.batches++;
            const second = Math.floor((now - counters.startedAt) / 1000);
            sub.perSecond.set(second, (sub.perSecond.get(second) ?? 0) + 1);
            if (Number.isFinite(newestTs)) {
              const latency = now - newestTs;
              counters.hist.add(latency);
              if (latency > counters.maxLatency) counters.maxLatency = latency;
            }
          }
        });
        res.on('end', () => {
          if (!finished) streamsLost++;
        });
        res.on('error', () => undefined);
      });
      req.on('error', () => {
        if (!sub.connected) {
          connectFailures++;
          check();
        } else if (!finished) streamsLost++;
      });
      req.end();
      subscribers.push(sub);
    }
  });
  await Promise.race([allConnected, sleep(60_000)]);
  const connectSeconds = (performance.now() - connectStart) / 1000;
  console.error(
    `  ${connectedCount}/${tokens.length} subscribers connected in ${fmt(connectSeconds, 2)} s`,
  );
  await sleep(2000);
  const rssIdleKiB = rssKiB(pid);

  // Steady ingest: `fanoutRequestsPerS` requests a second, the rate split over them and the
  // two series, each point stamped with the send time; at most 32 unanswered.
  const perRequest = Math.max(2, Math.round(config.rate / config.fanoutRequestsPerS));
  const intervalMs = 1000 / config.fanoutRequestsPerS;
  // Warm-up (unmeasured): one second of the same load.
  const sendOnce = async (stats: { requests: number; errors: number; points: number }) => {
    try {
      const res = await post(ingestUrl, adminToken, ingestBody(perRequest, SERIES, Date.now()));
      if (res.status === 200) {
        stats.requests++;
        stats.points += perRequest;
      } else {
        stats.errors++;
        if (stats.errors <= 3)
          console.error(`  ingest: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      }
    } catch (error) {
      stats.errors++;
      if (stats.errors <= 3) console.error(`  ingest: ${String(error)}`);
    }
  };
  const warm = { requests: 0, errors: 0, points: 0 };
  for (let i = 0; i < config.fanoutRequestsPerS; i++) {
    void sendOnce(warm);
    await sleep(intervalMs);
  }
  await sleep(500);

  const stats = { requests: 0, errors: 0, points: 0 };
  let skipped = 0;
  let inFlight = 0;
  const cpu0 = cpuSeconds(pid);
  const load0 = process.cpuUsage();
  const cores0 = cores();
  counters.active = true;
  counters.startedAt = wallNow();
  const t0 = performance.now();
  const total = Math.round(config.seconds * config.fanoutRequestsPerS);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight >= 32) {
      skipped++;
      continue;
    }
    inFlight++;
    pending.push(sendOnce(stats).finally(() => inFlight--));
  }
  await Promise.race([Promise.all(pending), sleep(30_000)]);
  const sendSeconds = (performance.now() - t0) / 1000;
  // Let the last flush windows arrive.
  await sleep(500);
  counters.active = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  const load = process.cpuUsage(load0);
  finished = true;
  for (const sub of subscribers) sub.req.destroy();
  subAgent.destroy();

  let maxPerS = 0;
  let perSubSum = 0;
  // Whole seconds only: the last partial second would understate, never overstate.
  const wholeSeconds = Math.max(1, Math.floor(seconds));
  for (const sub of subscribers) {
    for (const [second, n] of sub.perSecond) if (second < wholeSeconds && n > maxPerS) maxPerS = n;
    perSubSum += sub.batches;
  }
  const n = tokens.length;
  return {
    subscribers: n,
    connectSeconds,
    connectFailures,
    streamsLost,
    rssBeforeKiB,
    rssIdleKiB,
    idleKiBPerSubscriber: (rssIdleKiB - rssBeforeKiB) / n,
    seconds,
    ingestRequests: stats.requests,
    ingestErrors: stats.errors,
    ingestSkipped: skipped,
    pointsIngested: stats.points,
    pointsIngestedPerS: stats.points / sendSeconds,
    batches: counters.batches,
    batchesPerS: counters.batches / seconds,
    pointsDelivered: counters.points,
    pointsDeliveredPerS: counters.points / seconds,
    deliveredShare: counters.points / Math.max(1, stats.points * n),
    latencyMs: {
      p50: counters.hist.percentile(0.5),
      p99: counters.hist.percentile(0.99),
      max: counters.maxLatency,
    },
    maxBatchesPerSOneSubscriber: maxPerS,
    meanBatchesPerSPerSubscriber: perSubSum / n / seconds,
    serverCpuShare: cpu / seconds,
    serverCpuUsPerBatch: (cpu * 1e6) / Math.max(1, counters.batches),
    serverCpuUsPerPointDelivered: (cpu * 1e6) / Math.max(1, counters.points),
    loadCpuShare: (load.user + load.system) / 1e6 / seconds,
    ...otherShares(cores0, cpu, (load.user + load.system) / 1e6, seconds),
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = new Date();
  pinSelf(1);
  console.error(
    `ops benchmark: ingest ${config.senders} senders × ${config.ingestBatch} points; fan-out ${config.subscribers} ` +
      `subscribers at ${config.rate} points/s; ${config.seconds} s per phase${quick ? ' (quick)' : ''}; ` +
      (pinning ? 'server on CPU 0, load on CPU 1' : 'not pinned'),
  );
  const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
  if (Number(loadavg.split(' ')[0]) > 0.5)
    console.error(`note: the machine is busy (loadavg ${loadavg}); figures will be noisier`);
  const dir = makeWorkDir();
  const dbPath = join(dir, 'pulse.db');
  const seeded = await seedUsers(dbPath, config.subscribers, ['ingest'], ['read']);
  const server = await startServer('pulse', 0, pulseServerArgs(), pulseEnv(dir, dbPath));
  let ingest: IngestResult;
  let fanout: FanoutResult;
  try {
    console.error(`pulse: ${server.url} (pid ${server.pid})`);
    console.error('(a) ingest');
    ingest = await ingestPhase(
      new URL('/trpc/metrics.ingest', server.url),
      server.pid,
      seeded.adminToken,
    );
    console.error('(b) fan-out');
    fanout = await fanoutPhase(server.url, server.pid, seeded.adminToken, seeded.memberTokens);
  } finally {
    await stopServer(server.child);
  }

  const results = {
    startedAt: startedAt.toISOString(),
    machine: machineFacts(loadavg),
    config: { ...config, quick, series: SERIES },
    ingest,
    fanout,
  };

  console.log(
    `\nPulse dashboard benchmark — ${cpus().length} × ${results.machine.cpuModel}, Node ${process.version}` +
      (pinning ? ', server on CPU 0, load on CPU 1' : ', unpinned'),
  );
  console.log(
    `\n(a) metrics.ingest, ${config.senders} senders × ${config.ingestBatch} points/request, ${config.seconds} s`,
  );
  console.log(
    table(
      ['', 'value'],
      [
        ['points/s', fmt(ingest.pointsPerS, 0)],
        ['requests/s', fmt(ingest.requests / ingest.seconds, 1)],
        ['server CPU µs/point', fmt(ingest.serverCpuUsPerPoint, 2)],
        ['server CPU % of a core', fmt(ingest.serverCpuShare * 100, 0)],
        ['load CPU % of a core', fmt(ingest.loadCpuShare * 100, 0)],
        [
          'other processes on CPU 0 / CPU 1 %',
          `${fmt(ingest.otherShareServerCore * 100, 0)} / ${fmt(ingest.otherShareLoadCore * 100, 0)}`,
        ],
        ['requests ok / failed', `${ingest.requests} / ${ingest.errors}`],
      ],
    ),
  );
  const f = fanout;
  console.log(
    `\n(b) metrics.onPoints fan-out: ${f.subscribers} SSE subscribers × ${SERIES.join(' + ')}, ` +
      `${config.rate} points/s ingested, ${config.seconds} s`,
  );
  console.log(
    table(
      ['', 'value'],
      [
        ['points ingested/s', fmt(f.pointsIngestedPerS, 0)],
        ['batches delivered/s (all subscribers)', fmt(f.batchesPerS, 0)],
        ['points delivered/s (all subscribers)', fmt(f.pointsDeliveredPerS, 0)],
        ['points delivered ÷ (ingested × subscribers)', fmt(f.deliveredShare, 3)],
        ['batch latency p50 ms', fmt(f.latencyMs.p50, 1)],
        ['batch latency p99 ms', fmt(f.latencyMs.p99, 1)],
        ['batch latency max ms', fmt(f.latencyMs.max, 1)],
        ['batches/s per subscriber, mean', fmt(f.meanBatchesPerSPerSubscriber, 2)],
        ['batches in one second, max any subscriber', String(f.maxBatchesPerSOneSubscriber)],
        ['server CPU % of a core', fmt(f.serverCpuShare * 100, 0)],
        ['server CPU µs/batch delivered', fmt(f.serverCpuUsPerBatch, 1)],
        ['load CPU % of a core', fmt(f.loadCpuShare * 100, 0)],
        [
          'other processes on CPU 0 / CPU 1 %',
          `${fmt(f.otherShareServerCore * 100, 0)} / ${fmt(f.otherShareLoadCore * 100, 0)}`,
        ],
        ['idle KiB per subscriber (after the ingest phase: rough)', fmt(f.idleKiBPerSubscriber, 1)],
        ['connect all, s', fmt(f.connectSeconds, 2)],
        [
          'ingest requests ok / failed / skipped',
          `${f.ingestRequests} / ${f.ingestErrors} / ${f.ingestSkipped}`,
        ],
        ['subscriptions failed / lost', `${f.connectFailures} / ${f.streamsLost}`],
      ],
    ),
  );
  const coalesced = f.maxBatchesPerSOneSubscriber <= 11;
  console.log(`\nCoalescing (≤ ~10 batches/s per subscriber): ${coalesced ? 'PASS' : 'FAIL'}`);

  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `ops-${stamp(startedAt)}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`Results: ${file}`);
  if (!coalesced || f.connectFailures > 0 || ingest.errors > 0) process.exitCode = 1;
}

runBenchmark(main, () => agent.destroy());
