/**
 * What each hostile case costs the server's main thread: the real server (pinned to CPU 0, idle
 * otherwise) runs every case of the corpus (tests/support/hostile-corpus.ts), and a few extra
 * deep-JSON probes, `--repeat` times; for each run it reads the main thread's CPU time
 * (`/proc/<pid>/task/<pid>/schedstat`, ns) and the longest event-loop stall
 * (`pulse_process_nodejs_eventloop_lag_max_seconds`, which prom-client resets at every scrape;
 * it includes the 10 ms sampling interval) before and after. The cost of the two scrapes alone
 * is measured the same way and reported as the baseline.
 *
 *   node --import tsx bench/hostile-cost.ts [--repeat 5] [--only 'name,…'] [--top 15]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  hostileCorpus,
  type CorpusTarget,
  type HostileCase,
} from '../tests/support/hostile-corpus.ts';
import { httpRequest } from '../tests/support/raw-http.ts';
import { TrpcSocket } from '../tests/support/trpc-socket.ts';
import { signIn, trpcCall } from '../tests/support/trpc-http.ts';
import { numberFlag, parseKnownFlags } from './common.ts';
import {
  fmt,
  makeWorkDir,
  pinSelf,
  pulseEnv,
  pulseServerArgs,
  startServer,
  stopServer,
  table,
} from './bench-proc.ts';

const flags = parseKnownFlags(
  process.argv.slice(2),
  ['repeat', 'only', 'top'],
  "--repeat N, --only 'case name,…', --top N",
);
const repeat = Math.max(1, Math.floor(numberFlag(flags, 'repeat', 5)));
const top = Math.floor(numberFlag(flags, 'top', 15));
const only = (flags.get('only') ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const ADMIN_PASSWORD = 'hostile-cost-admin-password';

/** Probes beyond the corpus: deep JSON where the corpus has none (a query's input, a frame). */
const probes: HostileCase[] = [
  {
    name: 'probe: GET auth.me with a 4,000-level-deep input',
    group: 'json',
    run: async (t) => {
      const input = encodeURIComponent('['.repeat(4000) + ']'.repeat(4000));
      await httpRequest(t.url, { path: `/trpc/auth.me?input=${input}`, headers: t.adminHeaders });
      return { ok: true, unanswered: false, detail: '' };
    },
  },
  {
    name: 'probe: ws frame with a 400,000-level-deep input',
    group: 'ws',
    run: async (t) => {
      const socket = await TrpcSocket.open(t.url, { headers: t.adminHeaders });
      try {
        const deep = '['.repeat(400_000) + ']'.repeat(400_000);
        socket.sendRaw(
          `{"id":1,"method":"mutation","params":{"path":"teams.create","input":{"name":${deep}}}}`,
        );
        await socket.frameOrClose(() => true, 'an answer');
      } finally {
        await socket.close();
      }
      return { ok: true, unanswered: false, detail: '' };
    },
  },
  {
    name: 'probe: a body of ~1 MiB of empty arrays side by side (depth 2)',
    group: 'json',
    run: async (t) => {
      const body = `{"name":[${'[],'.repeat(349_000)}[]]}`;
      await httpRequest(t.url, {
        method: 'POST',
        path: '/trpc/teams.create',
        headers: { ...t.adminHeaders, 'content-type': 'application/json' },
        body,
      });
      return { ok: true, unanswered: false, detail: '' };
    },
  },
  {
    name: 'probe: an ordinary notifications.send',
    group: 'json',
    run: async (t) => {
      await trpcCall(
        t.url,
        'mutation',
        'notifications.send',
        { to: { all: true }, title: 'probe', severity: 'info' },
        t.adminHeaders,
      );
      return { ok: true, unanswered: false, detail: '' };
    },
  },
];
const baseline: HostileCase = {
  name: '(baseline: the two scrapes alone)',
  group: 'json',
  run: () => Promise.resolve({ ok: true, unanswered: false, detail: '' }),
};

const mainThreadNs = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);

async function lagMaxMs(url: string): Promise<number> {
  const { body } = await httpRequest(url, { path: '/metrics' });
  const line = body
    .split('\n')
    .find((l) => l.startsWith('pulse_process_nodejs_eventloop_lag_max_seconds '));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000 : NaN;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
};

async function main(): Promise<void> {
  pinSelf(1);
  const dir = makeWorkDir();
  const server = await startServer(
    'pulse',
    0,
    pulseServerArgs(),
    pulseEnv(dir, join(dir, 'pulse.db'), { PULSE_ADMIN_PASSWORD: ADMIN_PASSWORD }),
  );
  try {
    const cookie = await signIn(server.url, 'admin', ADMIN_PASSWORD);
    const { token } = await trpcCall<{ token: string }>(
      server.url,
      'mutation',
      'auth.createToken',
      { name: 'hostile-cost', scopes: ['read', 'write', 'notify'] },
      { cookie },
    );
    const target: CorpusTarget = {
      url: server.url,
      adminHeaders: { authorization: `Bearer ${token}` },
    };
    const cases = [baseline, ...hostileCorpus, ...probes].filter(
      (c) => only.length === 0 || c === baseline || only.some((name) => c.name.includes(name)),
    );
    // One unmeasured round warms the JIT and the caches.
    for (const c of cases) await c.run(target);

    const rows: {
      name: string;
      cpuMs: number;
      cpuMaxMs: number;
      lagMs: number;
      lagMaxMs: number;
      ok: boolean;
    }[] = [];
    for (const c of cases) {
      const cpu: number[] = [];
      const lag: number[] = [];
      let ok = true;
      for (let i = 0; i < repeat; i++) {
        await lagMaxMs(server.url);
        const before = mainThreadNs(server.pid);
        const verdict = await c.run(target);
        // Answers go out before the request's last work (a close, a log line) is done.
        await new Promise((resolve) => setTimeout(resolve, 50));
        lag.push(await lagMaxMs(server.url));
        cpu.push((mainThreadNs(server.pid) - before) / 1e6);
        ok &&= verdict.ok;
      }
      rows.push({
        name: c.name,
        cpuMs: median(cpu),
        cpuMaxMs: Math.max(...cpu),
        lagMs: median(lag),
        lagMaxMs: Math.max(...lag),
        ok,
      });
    }
    const sorted = [...rows].sort((a, b) => b.lagMs - a.lagMs);
    console.log(
      `\nHostile cases by the longest event-loop stall (${repeat} runs; idle reads ~10–11 ms), top ${top}:`,
    );
    console.log(
      table(
        ['case', 'stall median / max, ms', 'main-thread CPU median / max, ms', 'as expected'],
        sorted
          .slice(0, top)
          .map((r) => [
            r.name.slice(0, 90),
            `${fmt(r.lagMs)} / ${fmt(r.lagMaxMs)}`,
            `${fmt(r.cpuMs)} / ${fmt(r.cpuMaxMs)}`,
            r.ok ? 'yes' : 'NO',
          ]),
      ),
    );
    const base = rows.find((r) => r.name === baseline.name);
    if (base)
      console.log(
        `\nbaseline (two /metrics scrapes): stall ${fmt(base.lagMs)} ms, CPU ${fmt(base.cpuMs)} ms`,
      );
  } finally {
    await stopServer(server.child);
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 200).unref(),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
