/**
 * `npm run bench`: Pulse's real-time fan-out next to a plain `node:http` SSE broadcast server,
 * measured in the same run on the same machine.
 *
 *   npm run bench -- [--subscribers 1000] [--rate 20] [--seconds 10] [--quick]
 *
 * For each server: a fresh process (pinned to CPU 0 with taskset when available) and a load
 * process (CPU 1) that opens N SSE subscriptions, measures idle memory per subscription,
 * sends broadcasts at a fixed rate and then flat out, and reads the server's CPU from /proc.
 * Prints a table with ratios and PASS/FAIL for Pulse's targets, and writes the results to
 * bench/results/<timestamp>.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { numberFlag, parseKnownFlags, type PhaseResult, type TargetResult } from './common.ts';
import {
  machineFacts,
  PULSE_NODE_FLAGS,
  pulseEnv as pulseServerEnv,
  pulseServerArgs,
} from './bench-proc.ts';
import { seedDatabase } from './seed.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const rootDir = dirname(benchDir);

const TARGET = { subscribers: 1000, rate: 20, p99Ms: 100, idleKiB: 30 } as const;

const flags = parseKnownFlags(
  process.argv.slice(2),
  ['subscribers', 'rate', 'seconds', 'quick', 'senders', 'profile'],
  '--subscribers N --rate R --seconds S --quick --profile',
);
const quick = flags.get('quick') === 'true';
/** Runs each server under `--cpu-prof`; the profiles land in bench/results/profile-<time>/<server>/. */
const profile = flags.get('profile') === 'true';
const config = {
  subscribers: Math.floor(numberFlag(flags, 'subscribers', quick ? 200 : 1000)),
  rate: numberFlag(flags, 'rate', 20),
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

type Label = 'pulse' | 'pulse-live' | 'baseline';
const TITLES: Record<Label, string> = {
  pulse: 'Pulse',
  'pulse-live': 'Pulse, no store',
  baseline: 'baseline',
};

async function measure(
  label: Label,
  serverArgs: string[],
  serverEnv: NodeJS.ProcessEnv,
  credsFile: string,
  dir: string,
): Promise<TargetResult> {
  console.error(`\n${label}: starting the server${pinning ? ' on CPU 0' : ''}`);
  const server = start(label, 0, serverArgs, serverEnv);
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

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? a / b : NaN);

function table(results: { label: Label; result: TargetResult }[]) {
  const base = results.find((r) => r.label === 'baseline')?.result;
  const compared = results.filter((r) => r.label !== 'baseline');
  const header = [
    '',
    ...results.map((r) => TITLES[r.label]),
    ...(base ? compared.map((r) => `${TITLES[r.label]} ÷ baseline`) : []),
  ];
  const rows: string[][] = [];
  /** A row of one figure per server; with `digits` and `ratios`, also each ÷ the baseline. */
  const num = (name: string, pick: (r: TargetResult) => number, digits = 1, ratios = true) =>
    rows.push([
      name,
      ...results.map((r) => fmt(pick(r.result), digits)),
      ...(base
        ? compared.map((r) => (ratios ? fmt(ratio(pick(r.result), pick(base)), 2) : ''))
        : []),
    ]);
  const text = (name: string, pick: (r: TargetResult) => string) =>
    rows.push([
      name,
      ...results.map((r) => pick(r.result)),
      ...(base ? compared.map(() => '') : []),
    ]);

  num('idle KiB per subscription', (r) => r.idleKiBPerSubscription);
  text(
    'idle RSS before → after, MiB',
    (r) => `${fmt(r.rssBeforeKiB / 1024)} → ${fmt(r.rssIdleKiB / 1024)}`,
  );
  num('connect all, s', (r) => r.connectSeconds, 2, false);
  for (const key of ['fixed', 'flat'] as const) {
    const title =
      key === 'fixed' ? `fixed ${config.rate}/s` : `flat out (${config.flatSenders} senders)`;
    const phase = (pick: (p: PhaseResult) => number) => (r: TargetResult) => pick(r[key]);
    num(
      `${title}: broadcasts/s`,
      phase((p) => p.broadcastsPerS),
    );
    num(
      `${title}: deliveries/s`,
      phase((p) => p.deliveriesPerS),
      0,
    );
    num(
      `${title}: latency p50 ms`,
      phase((p) => p.latencyMs.p50),
      1,
      false,
    );
    num(
      `${title}: latency p99 ms`,
      phase((p) => p.latencyMs.p99),
      1,
      false,
    );
    num(
      `${title}: latency max ms`,
      phase((p) => p.latencyMs.max),
      1,
      false,
    );
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
      `${title}: server disk writes KiB/broadcast`,
      phase((p) => p.serverDiskWriteKiBPerBroadcast),
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

  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

interface TargetCheck {
  name: string;
  pass: boolean;
  detail: string;
}

function checks(pulse: TargetResult): TargetCheck[] {
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
        `${fmt(f.broadcastsPerS)}/s${f.drained ? '' : ', deliveries never caught up'}${scale}`,
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
      detail: `${fmt(pulse.idleKiBPerSubscription)} KiB`,
    },
  ];
}

/** Warns when other processes took a noticeable share of the server's core during a phase. */
function disturbance(results: { label: Label; result: TargetResult }[]): string | null {
  const worst = Math.max(
    ...results.flatMap(({ result }) => [
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
  console.error(
    `Pulse benchmark: ${config.subscribers} SSE subscribers, ${config.rate} broadcasts/s, ` +
      `${config.seconds} s per phase${quick ? ' (quick)' : ''}; ` +
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

  const profileDir = join(
    benchDir,
    'results',
    `profile-${startedAt.toISOString().replace(/[:.]/g, '-')}`,
  );
  const profiling = (label: Label) =>
    profile ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, label)] : [];
  const nodeArgs = (label: Label) => [
    ...profiling(label),
    ...(label === 'baseline' ? [] : PULSE_NODE_FLAGS),
    '--import',
    'tsx',
  ];
  const pulse = await measure(
    'pulse',
    [...profiling('pulse'), ...pulseServerArgs()],
    pulseEnv,
    credsFile,
    dir,
  );
  const pulseLive = await measure(
    'pulse-live',
    [...nodeArgs('pulse-live'), join(benchDir, 'pulse-live-server.ts'), credsFile],
    pulseEnv,
    credsFile,
    dir,
  );
  const baseline = await measure(
    'baseline',
    [...nodeArgs('baseline'), join(benchDir, 'baseline-server.ts'), credsFile],
    { ...process.env, NODE_ENV: 'production' },
    credsFile,
    dir,
  );
  if (profile) {
    console.error(
      `\nCPU profiles: ${profileDir}/<server>\n  summarize: node --import tsx bench/profile-summary.ts ${profileDir}/pulse`,
    );
  }

  const ratiosOf = (r: TargetResult) => ({
    cpuPerDeliveryFixed: ratio(
      r.fixed.serverCpuUsPerDelivery,
      baseline.fixed.serverCpuUsPerDelivery,
    ),
    cpuPerDeliveryFlat: ratio(r.flat.serverCpuUsPerDelivery, baseline.flat.serverCpuUsPerDelivery),
    deliveriesPerSFlat: ratio(r.flat.deliveriesPerS, baseline.flat.deliveriesPerS),
    idleKiBPerSubscription: ratio(r.idleKiBPerSubscription, baseline.idleKiBPerSubscription),
  });
  const results = {
    startedAt: startedAt.toISOString(),
    machine: machineFacts(loadavg),
    config: { ...config, quick },
    pulse,
    pulseLive,
    baseline,
    ratios: { pulse: ratiosOf(pulse), pulseLive: ratiosOf(pulseLive) },
    targets: checks(pulse),
  };

  console.log(
    `\nPulse vs plain node:http SSE — ${config.subscribers} subscribers, ${config.rate} broadcasts/s, ` +
      `${config.seconds} s per phase, ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${process.version}` +
      (pinning ? ', server on CPU 0 and load on CPU 1' : ', unpinned') +
      `\n"Pulse, no store": the same server and SSE path, broadcasts dispatched to the hub without the database.`,
  );
  console.log(
    table([
      { label: 'pulse', result: pulse },
      { label: 'pulse-live', result: pulseLive },
      { label: 'baseline', result: baseline },
    ]),
  );
  const r = results.ratios;
  console.log('\nRatios (÷ baseline)                       Pulse   Pulse, no store');
  const ratioLine = (name: string, key: keyof typeof r.pulse) =>
    console.log(
      `  ${name.padEnd(38)} ${fmt(r.pulse[key], 2).padStart(6)}   ${fmt(r.pulseLive[key], 2).padStart(6)}`,
    );
  ratioLine('server CPU per delivery, fixed rate', 'cpuPerDeliveryFixed');
  ratioLine('server CPU per delivery, flat out', 'cpuPerDeliveryFlat');
  ratioLine('deliveries/s, flat out', 'deliveriesPerSFlat');
  ratioLine('KiB per idle subscription', 'idleKiBPerSubscription');
  const noise = disturbance([
    { label: 'pulse', result: pulse },
    { label: 'pulse-live', result: pulseLive },
    { label: 'baseline', result: baseline },
  ]);
  if (noise) console.log(`\n${noise}`);
  console.log('\nTargets:');
  for (const c of results.targets)
    console.log(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);

  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
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
