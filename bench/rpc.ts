/**
 * The request/response benchmark: Pulse's queries and a mutation, over HTTP and WebSocket, next
 * to hand-written `node:http` and `ws` servers answering the same user (bench/rpc-baseline-server.ts),
 * in the same run.
 *
 *   node --import tsx bench/rpc.ts [--connections 50] [--seconds 10] [--quick] [--profile]
 *                                  [--scenarios pulse.me,pulse.health]
 *
 * Each server in its own process pinned to CPU 0, this process (the load) on CPU 1. Pulse runs on
 * a fresh SQLite database; its admin (PULSE_ADMIN_PASSWORD) makes a team and a member through
 * the API, and the member signs in with `auth.login`: every signed-in call carries that session
 * cookie, as a browser's do. Per scenario, C connections each keep one request in flight (2 s
 * unmeasured, then S s): requests/s, server CPU µs per request, latency p50/p99, failures (every
 * answer is checked). Results: bench/results/rpc-<time>.json. Exits 1 when a target fails or
 * any answer was wrong.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parse as parseCookie } from 'cookie';
import type { Team, User } from '../src/shared/schemas/auth.ts';
import { SESSION_COOKIE } from '../src/server/platform/context.ts';
import { signIn, trpcCall } from '../tests/support/trpc-http.ts';
import { numberFlag, parseKnownFlags } from './common.ts';
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
  table,
  withServer,
  type Started,
  runBenchmark,
} from './bench-proc.ts';
import {
  closedLoop,
  httpChannel,
  httpRequestBytes,
  wsChannel,
  type Channel,
  type Expected,
  type Measured,
} from './rpc-load.ts';

const flags = parseKnownFlags(
  process.argv.slice(2),
  ['connections', 'seconds', 'quick', 'profile', 'scenarios'],
  '--connections C --seconds S --quick --profile --scenarios KEY,KEY',
);
const quick = flags.get('quick') === 'true';
/** Runs the servers under `--cpu-prof`: profiles in bench/results/rpc-profile-<time>/ (the baselines' in baseline/). */
const profile = flags.get('profile') === 'true';
/** Only these scenarios (keys as in `Key`, e.g. `pulse.me`): one profile per scenario. */
const only = flags.get('scenarios')?.split(',') ?? null;
const config = {
  connections: Math.floor(numberFlag(flags, 'connections', 50)),
  seconds: numberFlag(flags, 'seconds', quick ? 2 : 10),
  warmupS: 2,
};

const SCENARIOS = 8;
setTimeout(
  () => {
    console.error('rpc: hard deadline reached, exiting');
    process.exit(2);
  },
  (120 + 1.5 * SCENARIOS * (config.warmupS + config.seconds)) * 1000,
).unref();

const ADMIN_PASSWORD = 'rpc-bench-admin-password';
const MEMBER = { username: 'bench', password: 'rpc-bench-member-password' };

type Key =
  | 'baseline.me'
  | 'baseline.health'
  | 'baseline.ws'
  | 'pulse.me'
  | 'pulse.meBatched'
  | 'pulse.markAllRead'
  | 'pulse.health'
  | 'pulse.ws';

interface Scenario {
  key: Key;
  title: string;
  /** The baseline scenario it is compared with. */
  versus?: Key;
  open: (server: URL) => Promise<Channel>;
}

/** Pulse's ratio to its baseline's requests/s that each target asks for. */
const TARGETS: { scenario: Key; name: string; min: number }[] = [
  { scenario: 'pulse.me', name: 'signed-in HTTP query (auth.me, httpLink)', min: 0.5 },
  { scenario: 'pulse.meBatched', name: 'signed-in HTTP query (auth.me, httpBatchLink)', min: 0.5 },
  { scenario: 'pulse.health', name: 'public HTTP query (system.health)', min: 0.6 },
  { scenario: 'pulse.ws', name: 'WebSocket query (auth.me)', min: 0.6 },
];

type Envelope = { result?: { type?: string; data?: unknown } } | null;
const dataOf = (json: unknown) => (json as Envelope)?.result?.data;

/** The scenarios of each server, for a member signed in with `cookie` who is `user`. */
function scenarios(cookie: string, user: User) {
  const isUser = (data: unknown) => (data as Partial<User> | undefined)?.username === user.username;
  const me: Expected = { what: `${user.username}'s user`, ok: (j) => isUser(dataOf(j)) };
  const meBatched: Expected = {
    what: `a batch of ${user.username}'s user`,
    ok: (j) => Array.isArray(j) && isUser(dataOf(j[0])),
  };
  const health: Expected = {
    what: 'status ok',
    ok: (j) => (dataOf(j) as { status?: unknown } | undefined)?.status === 'ok',
  };
  const count: Expected = {
    what: 'a count',
    ok: (j) => typeof (dataOf(j) as { count?: unknown } | undefined)?.count === 'number',
  };
  const wsMe: Expected = {
    what: `data with ${user.username}'s user`,
    ok: (j) => (j as Envelope)?.result?.type === 'data' && isUser(dataOf(j)),
  };
  const http =
    (method: 'GET' | 'POST', path: string, headers: Record<string, string>, expected: Expected) =>
    (url: URL) =>
      Promise.resolve(httpChannel(url, httpRequestBytes(url, method, path, headers), expected));
  // A browser sends its page's origin on a POST and on a WebSocket upgrade (Pulse checks both).
  const browser = (url: URL) => ({ Cookie: cookie, Origin: url.origin });
  // What wsLink sends for a query without input (`params.input` undefined drops out).
  const meFrame = (id: number) => `{"id":${id},"method":"query","params":{"path":"auth.me"}}`;
  const ws = (url: URL) =>
    wsChannel(`ws://${url.host}/trpc`, { cookie, origin: url.origin }, meFrame, wsMe);
  const signedIn = { Cookie: cookie };
  const baseline: Scenario[] = [
    { key: 'baseline.me', title: 'baseline GET /me', open: http('GET', '/me', signedIn, me) },
    {
      key: 'baseline.health',
      title: 'baseline GET /health',
      open: http('GET', '/health', {}, health),
    },
    { key: 'baseline.ws', title: 'raw ws: auth.me frame', open: ws },
  ];
  const pulse: Scenario[] = [
    {
      key: 'pulse.me',
      title: 'Pulse auth.me, httpLink',
      versus: 'baseline.me',
      open: http('GET', '/trpc/auth.me', signedIn, me),
    },
    {
      key: 'pulse.meBatched',
      title: 'Pulse auth.me, httpBatchLink',
      versus: 'baseline.me',
      open: http('GET', '/trpc/auth.me?batch=1&input=%7B%7D', signedIn, meBatched),
    },
    {
      key: 'pulse.markAllRead',
      title: 'Pulse notifications.markAllRead (POST)',
      versus: 'baseline.me',
      open: (url) => http('POST', '/trpc/notifications.markAllRead', browser(url), count)(url),
    },
    {
      key: 'pulse.health',
      title: 'Pulse system.health',
      versus: 'baseline.health',
      open: http('GET', '/trpc/system.health', {}, health),
    },
    { key: 'pulse.ws', title: 'Pulse auth.me over WebSocket', versus: 'baseline.ws', open: ws },
  ];
  return { baseline, pulse };
}

/** The order of the table: each baseline, then what is compared with it. */
const ORDER: Key[] = [
  'baseline.me',
  'pulse.me',
  'pulse.meBatched',
  'pulse.markAllRead',
  'baseline.health',
  'pulse.health',
  'baseline.ws',
  'pulse.ws',
];

interface ScenarioResult extends Measured {
  title: string;
  versus: Key | null;
}

async function runScenario(server: Started, scenario: Scenario): Promise<ScenarioResult> {
  const url = new URL(server.url);
  const opened = await Promise.allSettled(
    Array.from({ length: config.connections }, () => scenario.open(url)),
  );
  const channels = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  try {
    const refused = opened.find((o) => o.status === 'rejected');
    if (refused) throw new Error(`${scenario.title}: could not connect: ${String(refused.reason)}`);
    console.error(
      `  ${scenario.title}: ${config.connections} connections, ` +
        `${config.warmupS} s warm-up + ${config.seconds} s`,
    );
    const measured = await closedLoop(channels, { pid: server.pid, ...config });
    console.error(
      `    ${fmt(measured.requestsPerS, 0)} requests/s, ` +
        `${fmt(measured.serverCpuUsPerRequest)} µs of server CPU each, ${measured.failures} failed`,
    );
    for (const sample of measured.failureSamples) console.error(`    failed: ${sample}`);
    return { title: scenario.title, versus: scenario.versus ?? null, ...measured };
  } finally {
    for (const channel of channels) channel.close();
  }
}

/** Through the API: the admin makes a team and a member, who signs in (the browser's session). */
async function signInMember(url: string): Promise<{ cookie: string; user: User }> {
  const admin = { cookie: await signIn(url, 'admin', ADMIN_PASSWORD) };
  const team = await trpcCall<Team>(url, 'mutation', 'teams.create', { name: 'bench' }, admin);
  await trpcCall(
    url,
    'mutation',
    'users.create',
    { ...MEMBER, displayName: 'Bench Member', role: 'member', teamIds: [team.id] },
    admin,
  );
  const cookie = await signIn(url, MEMBER.username, MEMBER.password);
  const user = await trpcCall<User>(url, 'query', 'auth.me', undefined, { cookie });
  return { cookie, user };
}

async function runAll(dir: string, profileDir: string) {
  const results = new Map<Key, ScenarioResult>();
  const run = async (server: Started, list: Scenario[]) => {
    for (const scenario of list) {
      if (only && !only.includes(scenario.key)) continue;
      results.set(scenario.key, await runScenario(server, scenario));
    }
  };
  const pulseArgs = [
    ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...pulseServerArgs(),
  ];
  const env = pulseEnv(dir, join(dir, 'pulse.db'), {
    PULSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    // Every WebSocket is the one member's.
    PULSE_MAX_CONNECTIONS_PER_USER: String(Math.max(50, config.connections + 10)),
  });
  // Pulse first: the baselines answer its session secret with its user.
  const { cookie, user } = await withServer('pulse', pulseArgs, env, async (server) => {
    const member = await signInMember(server.url);
    await run(server, scenarios(member.cookie, member.user).pulse);
    return member;
  });
  await withServer(
    'baseline',
    [
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, 'baseline')}`] : []),
      '--import',
      'tsx',
      join(benchDir, 'rpc-baseline-server.ts'),
    ],
    {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_SESSION_SECRET: parseCookie(cookie)[SESSION_COOKIE] ?? '',
      BENCH_USER: JSON.stringify(user),
    },
    (server) => run(server, scenarios(cookie, user).baseline),
  );
  return results;
}

// ---------------------------------------------------------------------------------------------

const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? a / b : NaN);

function report(results: Map<Key, ScenarioResult>): string {
  const rows = ORDER.flatMap((key) => {
    const r = results.get(key);
    if (!r) return [];
    const base = r.versus ? results.get(r.versus) : undefined;
    const vs = (pick: (m: Measured) => number) => (base ? fmt(ratio(pick(r), pick(base)), 2) : '');
    return [
      [
        r.title,
        fmt(r.requestsPerS, 0),
        vs((m) => m.requestsPerS),
        fmt(r.serverCpuUsPerRequest, 1),
        vs((m) => m.serverCpuUsPerRequest),
        fmt(r.latencyMs.p50, 1),
        fmt(r.latencyMs.p99, 1),
        String(r.failures),
        String(r.answerBytes),
        fmt(r.loadCpuShare * 100, 0),
        pinning
          ? `${fmt(r.otherShareServerCore * 100, 0)} / ${fmt(r.otherShareLoadCore * 100, 0)}`
          : 'n/a',
      ],
    ];
  });
  return table(
    [
      '',
      'requests/s',
      '÷ baseline',
      'server CPU µs/req',
      '÷ baseline',
      'p50 ms',
      'p99 ms',
      'failed',
      'answer B',
      'load CPU %',
      'others on CPU 0 / 1 %',
    ],
    rows,
  );
}

function checks(results: Map<Key, ScenarioResult>) {
  const byRatio = TARGETS.map(({ scenario, name, min }) => {
    const r = results.get(scenario);
    const base = r?.versus ? results.get(r.versus) : undefined;
    const value = r && base ? ratio(r.requestsPerS, base.requestsPerS) : NaN;
    return {
      name,
      pass: value >= min,
      detail: `${fmt(value, 2)}× ${base?.title ?? 'its baseline'} in requests/s (target ≥ ${min}×)`,
    };
  });
  const failed = [...results.values()].filter((r) => r.failures > 0);
  const answers = {
    name: 'every answer right',
    pass: failed.length === 0,
    detail:
      failed.length === 0
        ? 'no failed call in any scenario'
        : failed.map((r) => `${r.title}: ${r.failures} failed`).join('; '),
  };
  return [...byRatio, answers];
}

async function main() {
  const startedAt = new Date();
  pinSelf(1);
  console.error(
    `rpc benchmark: ${config.connections} connections, one request in flight each, ` +
      `${config.warmupS} s warm-up + ${config.seconds} s per scenario${quick ? ' (quick)' : ''}; ` +
      (pinning ? 'servers on CPU 0, load on CPU 1' : 'not pinned'),
  );
  const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
  if (Number(loadavg.split(' ')[0]) > 0.5)
    console.error(`note: the machine is busy (loadavg ${loadavg}); figures will be noisier`);
  const resultsDir = join(benchDir, 'results');
  const profileDir = join(resultsDir, `rpc-profile-${stamp(startedAt)}`);
  const results = await runAll(makeWorkDir(), profileDir);

  const targets = checks(results);
  const machine = machineFacts(loadavg);
  console.log(
    `\nPulse calls vs plain node:http and ws — ${config.connections} connections, one request in ` +
      `flight each, ${config.seconds} s per scenario, ${cpus().length} × ${machine.cpuModel}, ` +
      `Node ${process.version}` +
      (pinning ? ', server on CPU 0 and load on CPU 1' : ', unpinned'),
  );
  console.log(report(results));
  const all = [...results.values()];
  const noise = Math.max(...all.flatMap((r) => [r.otherShareServerCore, r.otherShareLoadCore]));
  if (noise > 0.1) {
    console.log(
      `\nnote: other processes used up to ${fmt(noise * 100, 0)}% of a benchmark core in a scenario; ` +
        'requests/s and latency suffer from that, CPU per request much less.',
    );
  }
  const busiest = all
    .filter((r) => r.versus === null && r.loadCpuShare > 0.85)
    .map((r) => `${r.title} (${fmt(r.loadCpuShare * 100, 0)}%)`);
  if (busiest.length > 0) {
    console.log(
      `\nnote: the load used most of its core against ${busiest.join(', ')}: that baseline's ` +
        "requests/s may be the load's limit rather than the server's, which flatters Pulse's ratio.",
    );
  }
  if (profile) {
    console.log(
      `\nnote: Pulse ran under --cpu-prof, which slows it; judge ratios from a run without --profile.` +
        `\nCPU profile: ${profileDir}\n  summarize: node --import tsx bench/profile-summary.ts ${profileDir}`,
    );
  }
  console.log('\nTargets:');
  for (const t of targets) console.log(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.detail}`);

  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `rpc-${stamp(startedAt)}.json`);
  const ratios = Object.fromEntries(
    all.flatMap((r) => {
      const base = r.versus ? results.get(r.versus) : undefined;
      if (!base) return [];
      return [
        [
          r.title,
          {
            versus: base.title,
            requestsPerS: ratio(r.requestsPerS, base.requestsPerS),
            serverCpuPerRequest: ratio(r.serverCpuUsPerRequest, base.serverCpuUsPerRequest),
          },
        ],
      ];
    }),
  );
  const saved = {
    startedAt: startedAt.toISOString(),
    machine,
    config: { ...config, quick, profile },
    scenarios: Object.fromEntries(results),
    ratios,
    targets,
  };
  writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
  console.log(`\nResults: ${file}`);
  if (targets.some((t) => !t.pass)) process.exitCode = 1;
}

runBenchmark(main);
