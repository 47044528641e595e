/**
 * `npm run bench`: Pulse's real-time fan-out next to a plain `node:http` SSE server and a raw
 * `ws` server, measured in the same run on the same machine.
 *
 *   npm run bench -- --only notifications [--subscribers 1000] [--rate 20] [--seconds 10] [--quick]
 *   npm run bench -- --only per-user [--subscribers 1000] [--rate 1000] [--seconds 10] [--quick]
 *
 * Broadcasts (the default): every send goes to the whole team. `--per-user`: every send names
 * one user (`to: { usernames: [u] }`), each subscriber's user in turn, so each delivery pays for
 * its own send. For each server: a fresh process (pinned to CPU 0 with taskset when available)
 * and a load process (CPU 1, bench/load.ts) that opens N subscriptions (SSE; WebSockets for the
 * raw `ws` server), measures idle memory per subscription, sends at a fixed rate and then flat
 * out, and reads the server's CPU from /proc. Prints a table with ratios and PASS/FAIL for
 * Pulse's targets (exit 1 when one fails), and writes the results to
 * bench/results/[per-user-]<timestamp>.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { numberFlag, parseKnownFlags, type PhaseResult, type TargetResult } from './common.ts';
import {
  fmt,
  machineFacts,
  PULSE_NODE_FLAGS,
  pulseEnv as pulseServerEnv,
  pulseServerArgs,
  stamp,
  table,
} from './bench-proc.ts';
import { seedDatabase } from './seed.ts';
import { freePort } from '../scripts/nginx.ts';
import { inspectPortFlag } from './heap.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const rootDir = dirname(benchDir);

const TARGET = { subscribers: 1000, rate: 20, p99Ms: 100, idleKiB: 30 } as const;

const flags = parseKnownFlags(
  process.argv.slice(2),
  ['subscribers', 'rate', 'seconds', 'quick', 'senders', 'profile', 'per-user'],
  '--subscribers N --rate R --seconds S --senders K --quick --profile --per-user',
);
const quick = flags.get('quick') === 'true';
/** Per-user events (each send to one user, in turn) instead of team broadcasts. */
const perUser = flags.get('per-user') === 'true';
/** Runs each server under `--cpu-prof`; the profiles land in bench/results/profile-<time>/<server>/. */
const profile = flags.get('profile') === 'true';
const config = {
  subscribers: Math.floor(numberFlag(flags, 'subscribers', quick ? 200 : 1000)),
  // Per user, one delivery per send: each user gets one event a second at 1,000 users.
  rate: numberFlag(flags, 'rate', perUser ? 1000 : 20),
  seconds: numberFlag(flags, 'seconds', quick ? 2 : 10),
  warmupSeconds: quick ? 1 : 2,
  flatSenders: Math.floor(numberFlag(flags, 'senders', 4)),
};

// ---------------------------------------------------------------------------------------------
// Child processes: every one we start is tracked by pid and ended on the way out.

const children = new Set<ChildProcess>();
const pinning = (() => {
  const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
  return hasTaskset && availableParallelism() >= 2;
})();

function start(name: string, cpu: number, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const command = pinning ? 'taskset' : process.execPath;
  const argv = pinning ? ['-c', String(cpu), process.execPath, ...args] : args;
  const child = spawn(command, argv, { cwd: rootDir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  // The load generator labels its own lines.
  const prefix = (line: string) =>
    console.error(name.endsWith(' load') ? `  ${line}` : `  [${name}] ${line}`);
  if (child.stderr) createInterface({ input: child.stderr }).on('line', prefix);
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

function killAllNow() {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

let workDir: string | null = null;
process.on('exit', () => {
  killAllNow();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the benchmark`);
    process.exit(130);
  });
}

/** Resolves with the URL the server prints when it listens (and where it takes sends, if elsewhere). */
function listeningUrl(
  child: ChildProcess,
  name: string,
  timeoutMs = 60_000,
): Promise<{ url: string; sendUrl: string | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening`));
    });
    if (!child.stdout) return reject(new Error(`${name} has no stdout`));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /listening on (http:\/\/[^\s)]+)(?: \(sends: (http:\/\/[^\s)]+)\))?/i.exec(
        line,
      );
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ url: match[1], sendUrl: match[2] ?? null });
      }
    });
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

// ---------------------------------------------------------------------------------------------

type Label = 'pulse' | 'pulse-live' | 'baseline' | 'ws';
const TITLES: Record<Label, string> = {
  pulse: 'Pulse',
  'pulse-live': 'Pulse, no store',
  baseline: 'plain SSE',
  ws: 'raw ws',
};
/** The servers Pulse is compared with, and the shorter names of the ratio columns. */
const REFERENCES: readonly Label[] = ['baseline', 'ws'];
const SHORT: Record<Label, string> = { ...TITLES, 'pulse-live': 'no store' };

interface Measured {
  label: Label;
  result: TargetResult;
}

async function measure(
  label: Label,
  serverArgs: string[],
  serverEnv: NodeJS.ProcessEnv,
  credsFile: string,
  dir: string,
): Promise<TargetResult> {
  console.error(`\n${label}: starting the server${pinning ? ' on CPU 0' : ''}`);
  // Its inspector's port, for the load's full collections before memory readings.
  const inspectPort = await freePort();
  const server = start(label, 0, [inspectPortFlag(inspectPort), ...serverArgs], serverEnv);
  try {
    const { url, sendUrl } = await listeningUrl(server, label);
    if (server.pid === undefined) throw new Error(`${label} has no pid`);
    console.error(
      `${label}: ${url} (pid ${server.pid}); load generator${pinning ? ' on CPU 1' : ''}`,
    );
    const out = join(dir, `${label}-result.json`);
    const load = start(
      `${label} load`,
      1,
      [
        '--import',
        'tsx',
        join(benchDir, 'load.ts'),
        '--url',
        url,
        '--pid',
        String(server.pid),
        '--inspect-port',
        String(inspectPort),
        '--creds',
        credsFile,
        '--out',
        out,
        '--label',
        label,
        '--subscribers',
        String(config.subscribers),
        '--rate',
        String(config.rate),
        '--seconds',
        String(config.seconds),
        '--warmup',
        String(config.warmupSeconds),
        '--senders',
        String(config.flatSenders),
        '--transport',
        label === 'ws' ? 'ws' : 'sse',
        '--address',
        perUser ? 'user' : 'team',
        '--server-cpu',
        pinning ? '0' : '-1',
        ...(sendUrl ? ['--send-url', sendUrl] : []),
        '--exit-with-stdin',
      ],
      process.env,
    );
    load.stdout?.resume();
    const code = await exitCode(load);
    if (code !== 0) throw new Error(`${label} load generator exited with code ${code}`);
    return JSON.parse(readFileSync(out, 'utf8')) as TargetResult;
  } finally {
    await stop(server);
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? a / b : NaN);

/** Each Pulse column against each baseline measured, in the order of the ratio columns. */
function pairs(measured: Measured[]): { of: Measured; to: Measured }[] {
  const refs = measured.filter((m) => REFERENCES.includes(m.label));
  return measured
    .filter((m) => !REFERENCES.includes(m.label))
    .flatMap((of) => refs.map((to) => ({ of, to })));
}

function report(measured: Measured[]): string {
  const compared = pairs(measured);
  const header = [
    '',
    ...measured.map((m) => TITLES[m.label]),
    ...compared.map(({ of, to }) => `${SHORT[of.label]} ÷ ${SHORT[to.label]}`),
  ];
  const rows: string[][] = [];
  /** A row of one figure per server; with `ratios`, also each Pulse ÷ each baseline. */
  const num = (name: string, pick: (r: TargetResult) => number, digits = 1, ratios = true) =>
    rows.push([
      name,
      ...measured.map((m) => fmt(pick(m.result), digits)),
      ...compared.map(({ of, to }) =>
        ratios ? fmt(ratio(pick(of.result), pick(to.result)), 2) : '',
      ),
    ]);
  const text = (name: string, pick: (r: TargetResult) => string) =>
    rows.push([name, ...measured.map((m) => pick(m.result)), ...compared.map(() => '')]);

  num('idle KiB per subscription (next N)', (r) => r.idleKiBPerSubscription);
  num('idle KiB per subscription (next N), uncollected', (r) => r.uncollectedKiBPerSubscription);
  num('idle KiB per subscription (first N)', (r) => r.firstKiBPerSubscription);
  text(
    'idle RSS collected, before → N → 2N, MiB',
    (r) =>
      `${fmt(r.rssBeforeKiB / 1024)} → ${fmt(r.rssIdleKiB / 1024)} → ${fmt(r.rssMoreKiB / 1024)}`,
  );
  num('connect all, s', (r) => r.connectSeconds, 2, false);
  const sends = perUser ? 'sends' : 'broadcasts';
  for (const key of ['fixed', 'flat'] as const) {
    const title =
      key === 'fixed' ? `fixed ${config.rate}/s` : `flat out (${config.flatSenders} senders)`;
    const phase =
      (pick: (p: PhaseResult) => number) =>
      (r: TargetResult): number =>
        pick(r[key]);
    num(
      `${title}: ${sends}/s`,
      phase((p) => p.sendsPerS),
    );
    num(
      `${title}: deliveries/s`,
      phase((p) => p.deliveriesPerS),
      0,
    );
    for (const p of ['p50', 'p99', 'max'] as const) {
      num(
        `${title}: latency ${p} ms`,
        phase((x) => x.latencyMs[p]),
        1,
        false,
      );
    }
    num(
      `${title}: server CPU µs/delivery`,
      phase((p) => p.serverCpuUsPerDelivery),
      2,
    );
    num(
      `${title}: server CPU % of a core`,
      phase((p) => p.serverCpuShare * 100),
      0,
      false,
    );
    num(
      `${title}: load CPU % of a core`,
      phase((p) => p.loadCpuShare * 100),
      0,
      false,
    );
    if (pinning)
      num(
        `${title}: other processes on CPU 0 %`,
        phase((p) => p.otherCpuShareOnServerCore * 100),
        0,
        false,
      );
    num(
      `${title}: server disk writes KiB/${sends.slice(0, -1)}`,
      phase((p) => p.serverDiskWriteKiBPerSend),
      0,
      false,
    );
    text(
      `${title}: sends skipped / failed`,
      (r) => `${r[key].sendsSkipped} / ${r[key].sendErrors}`,
    );
    text(`${title}: missing / duplicates`, (r) => `${r[key].missing} / ${r[key].duplicates}`);
  }
  text('subscriptions failed / lost', (r) => `${r.connectFailures} / ${r.streamsLost}`);
  text('event JSON bytes', (r) => String(r.eventJsonBytes));
  return table(header, rows);
}

/** The ratios the targets are about, of one Pulse column to one baseline. */
const ratiosOf = (r: TargetResult, base: TargetResult) => ({
  cpuPerDeliveryFixed: ratio(r.fixed.serverCpuUsPerDelivery, base.fixed.serverCpuUsPerDelivery),
  cpuPerDeliveryFlat: ratio(r.flat.serverCpuUsPerDelivery, base.flat.serverCpuUsPerDelivery),
  deliveriesPerSFlat: ratio(r.flat.deliveriesPerS, base.flat.deliveriesPerS),
  idleKiBPerSubscription: ratio(r.idleKiBPerSubscription, base.idleKiBPerSubscription),
});
type Ratios = ReturnType<typeof ratiosOf>;
const RATIO_NAMES: Record<keyof Ratios, string> = {
  cpuPerDeliveryFixed: 'server CPU per delivery, fixed rate',
  cpuPerDeliveryFlat: 'server CPU per delivery, flat out',
  deliveriesPerSFlat: 'deliveries/s, flat out',
  idleKiBPerSubscription: 'KiB per idle subscription (next N)',
};

function ratioTable(measured: Measured[]): string {
  const compared = pairs(measured).map(({ of, to }) => ({
    name: `${SHORT[of.label]} ÷ ${SHORT[to.label]}`,
    ratios: ratiosOf(of.result, to.result),
  }));
  return table(
    ['Ratios', ...compared.map((c) => c.name)],
    (Object.keys(RATIO_NAMES) as (keyof Ratios)[]).map((key) => [
      RATIO_NAMES[key],
      ...compared.map((c) => fmt(c.ratios[key], 2)),
    ]),
  );
}

interface TargetCheck {
  name: string;
  pass: boolean;
  detail: string;
}

/**
 * Issue 10's fan-out targets, Pulse's SSE against the raw `ws` server: at least 0.9× its
 * deliveries/s flat out (broadcasts), and server CPU per delivery at most 1.3× (broadcasts) or
 * 1.5× (per-user events) at the fixed rate and flat out. Judged only at 1,000 subscribers.
 */
const RAW_WS_TARGET = { deliveriesPerSFlat: 0.9, cpuPerDelivery: perUser ? 1.5 : 1.3 } as const;

function rawWsChecks(pulse: TargetResult, ws: TargetResult): TargetCheck[] {
  const atScale = config.subscribers >= TARGET.subscribers;
  const scale = atScale ? '' : ` (run at ${config.subscribers} subscribers, below the target's)`;
  const r = ratiosOf(pulse, ws);
  const per = perUser ? 'per-user event' : 'broadcast';
  const cpu = (phase: 'fixed' | 'flat', value: number): TargetCheck => ({
    name: `${per}s: server CPU per delivery ≤ ${RAW_WS_TARGET.cpuPerDelivery}× raw ws, ${phase === 'fixed' ? 'fixed rate' : 'flat out'}`,
    pass: atScale && value <= RAW_WS_TARGET.cpuPerDelivery,
    detail: `${fmt(value, 2)}× (${fmt(pulse[phase].serverCpuUsPerDelivery, 2)} vs ${fmt(ws[phase].serverCpuUsPerDelivery, 2)} µs)${scale}`,
  });
  const checks = [cpu('fixed', r.cpuPerDeliveryFixed), cpu('flat', r.cpuPerDeliveryFlat)];
  if (perUser) return checks;
  return [
    {
      name: `broadcasts flat out: deliveries/s ≥ ${RAW_WS_TARGET.deliveriesPerSFlat}× raw ws`,
      pass: atScale && r.deliveriesPerSFlat >= RAW_WS_TARGET.deliveriesPerSFlat,
      detail: `${fmt(r.deliveriesPerSFlat, 2)}× (${fmt(pulse.flat.deliveriesPerS, 0)} vs ${fmt(ws.flat.deliveriesPerS, 0)}/s)${scale}`,
    },
    ...checks,
  ];
}

function broadcastChecks(pulse: TargetResult): TargetCheck[] {
  const f = pulse.fixed;
  const atScale = config.subscribers >= TARGET.subscribers && config.rate >= TARGET.rate;
  const scale = atScale
    ? ''
    : ` (run at ${config.subscribers} × ${config.rate}/s, below the target's scale)`;
  const scheduled = Math.max(1, Math.round(config.rate * config.seconds));
  const kept = f.sendErrors === 0 && f.sendsSkipped === 0 && f.sent >= scheduled && f.drained;
  const lossless =
    f.missing === 0 && f.duplicates === 0 && pulse.connectFailures === 0 && pulse.streamsLost === 0;
  const at = `${TARGET.subscribers} subscribers × ${TARGET.rate} broadcasts/s`;
  return [
    {
      name: `${at}: every broadcast accepted on schedule`,
      pass: atScale && kept,
      detail:
        `${f.sent}/${scheduled} accepted, ${f.sendsSkipped} skipped (64 unanswered), ${f.sendErrors} failed, ` +
        `${fmt(f.sendsPerS)}/s${f.drained ? '' : ', deliveries never caught up'}${scale}`,
    },
    {
      name: `${at}: delivery latency p99 < ${TARGET.p99Ms} ms`,
      pass: atScale && kept && f.latencyMs.p99 < TARGET.p99Ms,
      detail: `p50 ${fmt(f.latencyMs.p50)} ms, p99 ${fmt(f.latencyMs.p99)} ms${kept ? '' : ' (of the broadcasts it did accept)'}${scale}`,
    },
    {
      name: `${at}: no loss`,
      pass: atScale && lossless,
      detail:
        `${f.deliveries}/${f.expectedDeliveries} delivered: ${f.missing} missing, ${f.duplicates} duplicates, ` +
        `${pulse.connectFailures} streams failed to open, ${pulse.streamsLost} lost${scale}`,
    },
    {
      name: `idle memory < ${TARGET.idleKiB} KiB per subscription`,
      pass: pulse.idleKiBPerSubscription < TARGET.idleKiB,
      detail: `${fmt(pulse.idleKiBPerSubscription)} KiB each for a second ${pulse.subscribers} (the first ${pulse.subscribers}: ${fmt(pulse.firstKiBPerSubscription)} KiB each, one-off growth included)`,
    },
  ];
}

/** Per user: every event reached its one subscriber, once, in both phases. */
function perUserChecks(pulse: TargetResult): TargetCheck[] {
  const { fixed: f, flat: l } = pulse;
  const missing = f.missing + l.missing;
  const duplicates = f.duplicates + l.duplicates;
  return [
    {
      name: 'per-user events: no loss',
      pass:
        missing === 0 &&
        duplicates === 0 &&
        f.drained &&
        l.drained &&
        pulse.connectFailures === 0 &&
        pulse.streamsLost === 0,
      detail:
        `${f.deliveries + l.deliveries}/${f.expectedDeliveries + l.expectedDeliveries} delivered: ` +
        `${missing} missing, ${duplicates} duplicates, ${pulse.connectFailures} streams failed to open, ` +
        `${pulse.streamsLost} lost`,
    },
  ];
}

/** Warns when other processes took a noticeable share of the server's core during a phase. */
function disturbance(measured: Measured[]): string | null {
  const worst = Math.max(
    ...measured.flatMap(({ result }) => [
      result.fixed.otherCpuShareOnServerCore,
      result.flat.otherCpuShareOnServerCore,
    ]),
  );
  if (!pinning || !(worst > 0.1)) return null;
  return (
    `note: other processes used up to ${fmt(worst * 100, 0)}% of CPU 0 during a phase; throughput and latency ` +
    'suffer from that, CPU per delivery much less (compare ratios within one run).'
  );
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = new Date();
  const scenario = perUser
    ? `${config.subscribers} users with an SSE subscription each, ${config.rate} sends/s each to one user in turn`
    : `${config.subscribers} SSE subscribers, ${config.rate} broadcasts/s`;
  console.error(
    `Pulse benchmark: ${scenario}, ${config.seconds} s per phase${quick ? ' (quick)' : ''}; ` +
      (pinning
        ? 'server on CPU 0, load on CPU 1'
        : 'taskset or a second CPU missing: processes not pinned'),
  );
  const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
  if (Number(loadavg.split(' ')[0]) > 0.5) {
    console.error(`note: the machine is busy (loadavg ${loadavg}); figures will be noisier`);
  }

  const dir = (workDir = mkdtempSync(join(tmpdir(), 'pulse-bench-')));
  const dbPath = join(dir, 'pulse.db');
  const seedStart = performance.now();
  const creds = await seedDatabase(dbPath, config.subscribers);
  const credsFile = join(dir, 'credentials.json');
  writeFileSync(credsFile, JSON.stringify(creds));
  console.error(
    `seeded ${config.subscribers} members in ${fmt((performance.now() - seedStart) / 1000)} s`,
  );

  const pulseEnv = pulseServerEnv(dir, dbPath);
  const production = { ...process.env, NODE_ENV: 'production' };
  const profileDir = join(benchDir, 'results', `profile-${stamp(startedAt)}`);
  const profiling = (label: Label) =>
    profile ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, label)] : [];
  /** A bench/ server: Pulse's own with Pulse's node flags, the baselines with node's defaults. */
  const script = (label: Label, file: string) => [
    ...profiling(label),
    ...(REFERENCES.includes(label) ? [] : PULSE_NODE_FLAGS),
    '--import',
    'tsx',
    join(benchDir, file),
    credsFile,
  ];
  /** Each server's node arguments and environment, in the order they are measured. */
  const servers: Record<Label, [string[], NodeJS.ProcessEnv]> = {
    pulse: [[...profiling('pulse'), ...pulseServerArgs()], pulseEnv],
    'pulse-live': [script('pulse-live', 'pulse-live-server.ts'), pulseEnv],
    baseline: [script('baseline', 'baseline-server.ts'), production],
    ws: [script('ws', 'ws-baseline-server.ts'), production],
  };
  const measured: Measured[] = [];
  for (const label of Object.keys(servers) as Label[]) {
    const [args, env] = servers[label];
    measured.push({ label, result: await measure(label, args, env, credsFile, dir) });
  }
  if (profile) {
    console.error(
      `\nCPU profiles: ${profileDir}/<server>\n  summarize: node --import tsx bench/profile-summary.ts ${profileDir}/pulse`,
    );
  }

  const resultOf = (label: Label) => measured.find((m) => m.label === label)?.result;
  const pulse = resultOf('pulse');
  const ws = resultOf('ws');
  if (!pulse || !ws) throw new Error('Pulse and raw ws are always measured');
  const results = {
    startedAt: startedAt.toISOString(),
    machine: machineFacts(loadavg),
    config: { ...config, quick, perUser },
    servers: Object.fromEntries(measured.map((m) => [m.label, m.result])),
    ratios: Object.fromEntries(
      pairs(measured).map(({ of, to }) => [
        `${of.label}/${to.label}`,
        ratiosOf(of.result, to.result),
      ]),
    ),
    targets: [
      ...(perUser ? perUserChecks(pulse) : broadcastChecks(pulse)),
      ...rawWsChecks(pulse, ws),
    ],
  };

  const machine = `${results.machine.cpus} × ${results.machine.cpuModel}, Node ${process.version}${pinning ? ', server on CPU 0 and load on CPU 1' : ', unpinned'}`;
  console.log(
    perUser
      ? `\nPer-user events: Pulse vs plain node:http SSE and raw ws — ${config.subscribers} users, ` +
          `${config.rate} sends/s, each to one user in turn (to: { usernames: [u] }), ${config.seconds} s per phase, ${machine}` +
          `\n"Pulse, no store": the same server and SSE path, each event dispatched to its user's channel without the database.` +
          `\nThe baselines send each event to the subscription of the user it names: one delivery per send.`
      : `\nPulse vs plain node:http SSE and raw ws — ${config.subscribers} subscribers, ${config.rate} broadcasts/s, ` +
          `${config.seconds} s per phase, ${machine}` +
          `\n"Pulse, no store": the same server and SSE path, broadcasts dispatched to the hub without the database.` +
          `\n"raw ws": a ws server sending each event's JSON, encoded once into one Buffer, to every socket.`,
  );
  console.log(report(measured));
  console.log(`\n${ratioTable(measured)}`);
  const noise = disturbance(measured);
  if (noise) console.log(`\n${noise}`);
  console.log('\nTargets:');
  for (const c of results.targets)
    console.log(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);

  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${perUser ? 'per-user-' : ''}${stamp(startedAt)}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nResults: ${file}`);
  if (results.targets.some((c) => !c.pass)) process.exitCode = 1;
}

void main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  })
  .finally(killAllNow);
