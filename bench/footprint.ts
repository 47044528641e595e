/**
 * A fresh production server's memory: the server compiled as `npm start` runs it (plain node on
 * dist/server, no TypeScript compiler in the process, the same node flags), on a fresh SQLite
 * database, with no client; its RSS once it has settled: the median over 10 s, after 45 s.
 *
 *   node --import tsx bench/footprint.ts [--runs 3] [--quick]
 *
 * Target (issue 10): ≤ 80 MiB.
 */
import { join } from 'node:path';
import { makeWorkDir, pulseEnv, pulseServerArgs, startServer, stopServer } from './bench-proc.ts';
import { numberFlag, parseKnownFlags, rssKiB, sleep } from './common.ts';

const TARGET_MIB = 80;
/**
 * Startup's garbage (migrations, building the router, the first health samples) is returned to
 * the system by V8's memory reducer once the process goes quiet, which on this machine happens
 * 10–40 s after the start (RSS ~92–96 MiB before it, ~77 after): measured after that.
 */
const SETTLE_S = 45;
const SAMPLE_S = 10;

/** The median RSS over SAMPLE_S seconds, after SETTLE_S. */
async function steadyRssMiB(pid: number): Promise<number> {
  await sleep(SETTLE_S * 1000);
  const samples: number[] = [];
  for (let i = 0; i < SAMPLE_S * 2; i++) {
    samples.push(rssKiB(pid) / 1024);
    await sleep(500);
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? NaN;
}
// `--quick` and `--seconds` come from `npm run bench` for every benchmark: --quick starts once.
const flags = parseKnownFlags(
  process.argv.slice(2),
  ['runs', 'quick', 'seconds'],
  '--runs N --quick',
);
const runs = numberFlag(flags, 'runs', flags.has('quick') ? 1 : 3);

const work = makeWorkDir();

const readings: number[] = [];
for (let i = 0; i < runs; i++) {
  const env = pulseEnv(work, join(work, `footprint-${i}.db`));
  const server = await startServer(`pulse ${i + 1}`, 0, pulseServerArgs(), env);
  try {
    readings.push(await steadyRssMiB(server.pid));
  } finally {
    await stopServer(server.child);
  }
}
const worst = Math.max(...readings);
console.log(
  `Fresh compiled server, no clients: RSS ${readings.map((r) => r.toFixed(1)).join(' / ')} MiB ` +
    `(${runs} starts)\n${worst <= TARGET_MIB ? 'PASS' : 'FAIL'}  RSS ≤ ${TARGET_MIB} MiB: ${worst.toFixed(1)} MiB at most`,
);
process.exit(worst <= TARGET_MIB ? 0 : 1);
