/**
 * The chat benchmark: one room with N members subscribed over WebSocket to `chat.onMessage`
 * on the real Pulse server, next to a plain `ws` broadcast server (bench/chat-baseline-server.ts)
 * under the same load, in the same run.
 *
 *   node --import tsx bench/chat.ts [--members 1000] [--rate 20] [--seconds 10] [--senders 4] [--quick]
 *
 * For each server (pinned to CPU 0; this process, the load, on CPU 1): N WebSockets to
 * `/trpc?connectionParams=1` (token as connection params, then a `chat.onMessage` subscription
 * to the team room, waiting for `started`) → KiB per idle connection; then `--rate` messages/s
 * for `--seconds` (POST /trpc/chat.send by `--senders` members, at most 64 unanswered), then the
 * senders flat out for `--seconds`. Per phase: deliveries/s, latency (receive − the message's
 * `createdAt`), server CPU µs per delivery. Results: bench/results/chat-<time>.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
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
  ['members', 'rate', 'seconds', 'senders', 'quick', 'profile'],
  '--members N --rate R --seconds S --senders K --quick --profile',
);
const quick = flags.get('quick') === 'true';
/** Runs both servers under `--cpu-prof`: profiles in bench/results/chat-profile-<time>/<server>/. */
const profile = flags.get('profile') === 'true';
const config = {
  members: Math.floor(numberFlag(flags, 'members', quick ? 100 : 1000)),
  rate: numberFlag(flags, 'rate', 20),
  seconds: numberFlag(flags, 'seconds', quick ? 3 : 10),
  senders: Math.floor(numberFlag(flags, 'senders', 4)),
  maxUnanswered: 64,
  drainTimeoutS: 15,
};
if (config.senders > config.members) throw new Error('--senders must not exceed --members');
const TEXT = 'Deploy of checkout v2.31 finished on eu-west-1';

setTimeout(() => {
  console.error('chat: hard deadline reached, exiting');
  process.exit(2);
}, 10 * 60_000).unref();

const agent = new Agent({ keepAlive: true, maxSockets: 128 });

function post(url: URL, token: string, body: string): Promise<number> {
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
        res.on('end', () => {
          if (res.statusCode !== 200)
            console.error(`  send: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
          resolve(res.statusCode ?? 0);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

interface PhaseResult {
  sent: number;
  sendErrors: number;
  sendsSkipped: number;
  seconds: number;
  messagesPerS: number;
  deliveries: number;
  expectedDeliveries: number;
  deliveriesPerS: number;
  latencyMs: { p50: number; p99: number; max: number };
  serverCpuUsPerDelivery: number;
  serverCpuShare: number;
  loadCpuShare: number;
  /** Share of CPU 0 (the server's) and CPU 1 (the load's) other processes used; NaN unpinned. */
  otherShareServerCore: number;
  otherShareLoadCore: number;
  drained: boolean;
}

interface TargetResult {
  label: string;
  members: number;
  connectSeconds: number;
  connectFailures: number;
  socketsLost: number;
  rssBeforeKiB: number;
  rssIdleKiB: number;
  idleKiBPerConnection: number;
  frameBytes: number;
  fixed: PhaseResult;
  flat: PhaseResult;
}

const CREATED_AT = '"createdAt":"';

async function measure(
  label: 'pulse' | 'baseline',
  serverArgs: string[],
  env: NodeJS.ProcessEnv,
  roomId: string,
  tokens: string[],
  sendPath: string,
): Promise<TargetResult> {
  console.error(`\n${label}: starting the server${pinning ? ' on CPU 0' : ''}`);
  const server = await startServer(label, 0, serverArgs, env);
  const sockets: WebSocket[] = [];
  let finished = false;
  try {
    const { pid, url } = server;
    const wsUrl = `${url.replace(/^http/, 'ws')}/trpc?connectionParams=1`;
    const sendUrl = new URL(sendPath, url);
    console.error(`${label}: ${url} (pid ${pid})`);

    let deliveries = 0;
    let hist = new Histogram();
    let maxLatency = 0;
    let frameBytes = 0;
    let connectFailures = 0;
    let socketsLost = 0;

    // Each message's text ends with its phase's tag; a frame counts only in its own phase, so
    // late deliveries of an earlier phase never count in a later one.
    let tag = '#warmup';
    const send = (i: number): Promise<number> =>
      post(
        sendUrl,
        tokens[i % config.senders] ?? '',
        JSON.stringify({ roomId, text: `${TEXT} ${tag}`, clientMessageId: randomUUID() }),
      ).catch((error: unknown) => {
        console.error(`  send: ${String(error)}`);
        return 0;
      });

    // Warm-up before the baseline memory reading: a few sends with nobody listening.
    for (let i = 0; i < 5; i++) await send(i);
    await sleep(500);
    const rssBeforeKiB = rssKiB(pid);

    const subscribe = `{"id":1,"method":"subscription","params":{"path":"chat.onMessage","input":{"roomId":"${roomId}"}}}`;
    const open = (token: string) =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
        let started = false;
        const timer = setTimeout(() => {
          if (!started) {
            connectFailures++;
            ws.terminate();
            resolve();
          }
        }, 30_000);
        ws.on('open', () => {
          ws.send(JSON.stringify({ method: 'connectionParams', data: { token } }));
          ws.send(subscribe);
        });
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (isBinary) return;
          const text = data.toString();
          if (!started) {
            if (text.includes('"started"')) {
              started = true;
              clearTimeout(timer);
              resolve();
            } else if (text.includes('"error"')) {
              clearTimeout(timer);
              connectFailures++;
              if (connectFailures <= 3) console.error(`  subscribe: ${text.slice(0, 300)}`);
              ws.close();
              resolve();
            }
            return;
          }
          if (text === 'PING') return ws.send('PONG');
          const at = text.indexOf(CREATED_AT);
          if (at === -1 || !text.includes(tag)) return;
          deliveries++;
          if (frameBytes === 0) frameBytes = data.length;
          const latency =
            wallNow() - Date.parse(text.slice(at + CREATED_AT.length, at + CREATED_AT.length + 24));
          hist.add(latency);
          if (latency > maxLatency) maxLatency = latency;
        });
        ws.on('close', () => {
          if (started && !finished) socketsLost++;
        });
        ws.on('error', (error) => {
          if (!started) {
            clearTimeout(timer);
            connectFailures++;
            if (connectFailures <= 3) console.error(`  connect: ${error.message}`);
            resolve();
          }
        });
        sockets.push(ws);
      });

    // Open the sockets, at most 50 handshakes at a time.
    const connectStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < tokens.length) await open(tokens[next++] ?? '');
      }),
    );
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const connected = tokens.length - connectFailures;
    console.error(`  ${connected}/${tokens.length} subscribed in ${fmt(connectSeconds, 2)} s`);
    await sleep(2000);
    const rssIdleKiB = rssKiB(pid);

    // Unmeasured warm-up: one second at the fixed rate, every send answered.
    const warmups: Promise<number>[] = [];
    for (let i = 0; i < config.rate; i++) {
      warmups.push(send(i));
      await sleep(1000 / config.rate);
    }
    await Promise.race([Promise.all(warmups), sleep(30_000)]);
    await sleep(1000);

    const runPhase = async (name: 'fixed' | 'flat'): Promise<PhaseResult> => {
      tag = `#${name}`;
      deliveries = 0;
      hist = new Histogram();
      maxLatency = 0;
      let sent = 0;
      let sendErrors = 0;
      let skipped = 0;
      const count = (status: number) => (status === 200 ? sent++ : sendErrors++);
      const cpu0 = cpuSeconds(pid);
      const load0 = process.cpuUsage();
      const core0 = [coreBusySeconds(0), coreBusySeconds(1)];
      const t0 = performance.now();
      const end = t0 + config.seconds * 1000;
      if (name === 'fixed') {
        let inFlight = 0;
        const pending: Promise<void>[] = [];
        const total = Math.round(config.rate * config.seconds);
        for (let i = 0; i < total; i++) {
          const wait = t0 + (i * 1000) / config.rate - performance.now();
          if (wait > 0) await sleep(wait);
          if (inFlight >= config.maxUnanswered) {
            skipped++;
            continue;
          }
          inFlight++;
          pending.push(
            send(i)
              .then(count)
              .then(() => void inFlight--),
          );
        }
        await Promise.race([Promise.all(pending), sleep(30_000)]);
      } else {
        await Promise.all(
          Array.from({ length: config.senders }, async (_, k) => {
            for (let n = 0; performance.now() < end && n < 1_000_000; n++) count(await send(k));
          }),
        );
      }
      // Drain: until every accepted message reached every connected member, or the timeout.
      const expected = sent * connected;
      const drainEnd = performance.now() + config.drainTimeoutS * 1000;
      while (deliveries < expected && performance.now() < drainEnd) await sleep(20);
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(pid) - cpu0;
      const load = process.cpuUsage(load0);
      const loadS = (load.user + load.system) / 1e6;
      const other = (core: 0 | 1, own: number) =>
        pinning ? Math.max(0, (coreBusySeconds(core) - (core0[core] ?? NaN) - own) / seconds) : NaN;
      const otherShareServerCore = other(0, cpu);
      const otherShareLoadCore = other(1, loadS);
      return {
        sent,
        sendErrors,
        sendsSkipped: skipped,
        seconds,
        messagesPerS: sent / seconds,
        deliveries,
        expectedDeliveries: expected,
        deliveriesPerS: deliveries / seconds,
        latencyMs: { p50: hist.percentile(0.5), p99: hist.percentile(0.99), max: maxLatency },
        serverCpuUsPerDelivery: (cpu * 1e6) / Math.max(1, deliveries),
        serverCpuShare: cpu / seconds,
        loadCpuShare: loadS / seconds,
        otherShareServerCore,
        otherShareLoadCore,
        drained: deliveries >= expected,
      };
    };
    console.error(`  fixed ${config.rate}/s for ${config.seconds} s`);
    const fixed = await runPhase('fixed');
    console.error(`  flat out, ${config.senders} senders, for ${config.seconds} s`);
    const flat = await runPhase('flat');
    return {
      label,
      members: tokens.length,
      connectSeconds,
      connectFailures,
      socketsLost,
      rssBeforeKiB,
      rssIdleKiB,
      idleKiBPerConnection: (rssIdleKiB - rssBeforeKiB) / Math.max(1, connected),
      frameBytes,
      fixed,
      flat,
    };
  } finally {
    finished = true;
    for (const ws of sockets) ws.terminate();
    await stopServer(server.child);
  }
}

// ---------------------------------------------------------------------------------------------

const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? a / b : NaN);

function report(pulse: TargetResult, baseline: TargetResult): string {
  const rows: string[][] = [];
  const num = (name: string, pick: (r: TargetResult) => number, digits = 1, withRatio = true) =>
    rows.push([
      name,
      fmt(pick(pulse), digits),
      fmt(pick(baseline), digits),
      withRatio ? fmt(ratio(pick(pulse), pick(baseline)), 2) : '',
    ]);
  const text = (name: string, pick: (r: TargetResult) => string) =>
    rows.push([name, pick(pulse), pick(baseline), '']);
  num('idle KiB per connection', (r) => r.idleKiBPerConnection);
  text(
    'idle RSS before → after, MiB',
    (r) => `${fmt(r.rssBeforeKiB / 1024)} → ${fmt(r.rssIdleKiB / 1024)}`,
  );
  num('connect + subscribe all, s', (r) => r.connectSeconds, 2, false);
  for (const key of ['fixed', 'flat'] as const) {
    const title =
      key === 'fixed' ? `fixed ${config.rate}/s` : `flat out (${config.senders} senders)`;
    num(`${title}: messages/s`, (r) => r[key].messagesPerS, 1);
    num(`${title}: deliveries/s`, (r) => r[key].deliveriesPerS, 0);
    num(`${title}: latency p50 ms`, (r) => r[key].latencyMs.p50, 1, false);
    num(`${title}: latency p99 ms`, (r) => r[key].latencyMs.p99, 1, false);
    num(`${title}: latency max ms`, (r) => r[key].latencyMs.max, 1, false);
    num(`${title}: server CPU µs/delivery`, (r) => r[key].serverCpuUsPerDelivery, 2);
    num(`${title}: server CPU % of a core`, (r) => r[key].serverCpuShare * 100, 0, false);
    num(`${title}: load CPU % of a core`, (r) => r[key].loadCpuShare * 100, 0, false);
    if (pinning) {
      num(
        `${title}: other processes on CPU 0 %`,
        (r) => r[key].otherShareServerCore * 100,
        0,
        false,
      );
      num(`${title}: other processes on CPU 1 %`, (r) => r[key].otherShareLoadCore * 100, 0, false);
    }
    text(
      `${title}: delivered / expected`,
      (r) => `${r[key].deliveries} / ${r[key].expectedDeliveries}`,
    );
    text(
      `${title}: sends skipped / failed`,
      (r) => `${r[key].sendsSkipped} / ${r[key].sendErrors}`,
    );
  }
  text('connections failed / lost', (r) => `${r.connectFailures} / ${r.socketsLost}`);
  text('data frame bytes', (r) => String(r.frameBytes));
  return table(['', 'Pulse', 'ws baseline', 'Pulse ÷ baseline'], rows);
}

async function main() {
  const startedAt = new Date();
  pinSelf(1);
  console.error(
    `chat benchmark: ${config.members} members over WebSocket, ${config.rate} messages/s then flat out ` +
      `(${config.senders} senders), ${config.seconds} s per phase${quick ? ' (quick)' : ''}; ` +
      (pinning ? 'servers on CPU 0, load on CPU 1' : 'not pinned'),
  );
  const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
  if (Number(loadavg.split(' ')[0]) > 0.5)
    console.error(`note: the machine is busy (loadavg ${loadavg}); figures will be noisier`);
  const dir = makeWorkDir();
  const dbPath = join(dir, 'pulse.db');
  const seedStart = performance.now();
  const seeded = await seedUsers(dbPath, config.members, ['read'], ['read', 'write']);
  console.error(
    `seeded ${config.members} members in ${fmt((performance.now() - seedStart) / 1000)} s`,
  );
  const roomId = `room_${seeded.teamId}`;

  const profileDir = join(benchDir, 'results', `chat-profile-${stamp(startedAt)}`);
  const profiling = (server: string) =>
    profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, server)}`] : [];
  const pulse = await measure(
    'pulse',
    [...profiling('pulse'), ...pulseServerArgs()],
    pulseEnv(dir, dbPath, { PULSE_CHAT_SENDS_PER_10S: '100000' }),
    roomId,
    seeded.memberTokens,
    '/trpc/chat.send',
  );
  const baseline = await measure(
    'baseline',
    [...profiling('baseline'), '--import', 'tsx', join(benchDir, 'chat-baseline-server.ts')],
    { ...process.env, NODE_ENV: 'production' },
    roomId,
    seeded.memberTokens,
    '/send',
  );

  const ratios = {
    deliveriesPerSFlat: ratio(pulse.flat.deliveriesPerS, baseline.flat.deliveriesPerS),
    cpuPerDeliveryFixed: ratio(
      pulse.fixed.serverCpuUsPerDelivery,
      baseline.fixed.serverCpuUsPerDelivery,
    ),
    cpuPerDeliveryFlat: ratio(
      pulse.flat.serverCpuUsPerDelivery,
      baseline.flat.serverCpuUsPerDelivery,
    ),
    kibPerConnection: ratio(pulse.idleKiBPerConnection, baseline.idleKiBPerConnection),
  };
  const results = {
    startedAt: startedAt.toISOString(),
    machine: machineFacts(loadavg),
    config: { ...config, quick },
    pulse,
    baseline,
    ratios,
  };

  console.log(
    `\nPulse chat vs plain ws broadcast — ${config.members} members, ${config.rate} messages/s then flat out, ` +
      `${config.seconds} s per phase, ${cpus().length} × ${results.machine.cpuModel}, Node ${process.version}` +
      (pinning ? ', server on CPU 0 and load on CPU 1' : ', unpinned'),
  );
  console.log(report(pulse, baseline));
  console.log('\nRatios (Pulse ÷ baseline)');
  console.log(`  deliveries/s, flat out               ${fmt(ratios.deliveriesPerSFlat, 2)}`);
  console.log(`  server CPU per delivery, fixed rate  ${fmt(ratios.cpuPerDeliveryFixed, 2)}`);
  console.log(`  server CPU per delivery, flat out    ${fmt(ratios.cpuPerDeliveryFlat, 2)}`);
  console.log(`  KiB per idle connection              ${fmt(ratios.kibPerConnection, 2)}`);
  const noise = Math.max(
    ...[pulse, baseline].flatMap((r) => [
      r.fixed.otherShareServerCore,
      r.flat.otherShareServerCore,
      r.fixed.otherShareLoadCore,
      r.flat.otherShareLoadCore,
    ]),
  );
  if (noise > 0.1) {
    console.log(
      `\nnote: other processes used up to ${fmt(noise * 100, 0)}% of a benchmark core during a phase; ` +
        'throughput and latency suffer from that, CPU per delivery much less (compare ratios within one run).',
    );
  }
  const busiestLoad = Math.max(pulse.flat.loadCpuShare, baseline.flat.loadCpuShare);
  if (busiestLoad > 0.85) {
    console.log(
      `\nnote: the load generator used ${fmt(busiestLoad * 100, 0)}% of its core flat out; that server's ` +
        'deliveries/s may be limited by the load, not the server (CPU per delivery still holds).',
    );
  }

  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `chat-${stamp(startedAt)}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nResults: ${file}`);
  const lossless = (r: TargetResult) =>
    r.connectFailures === 0 && r.fixed.drained && r.flat.drained;
  if (!lossless(pulse) || !lossless(baseline)) process.exitCode = 1;
}

runBenchmark(main, () => agent.destroy());
