/**
 * `npm run bench`: the notification (SSE broadcasts, then per-user events, each against a
 * plain SSE and a raw `ws` server), dashboard (ingest + onPoints), chat (WebSocket), scale-out
 * (two instances on PostgreSQL + Redis against one), request/response (queries and a mutation
 * over HTTP and WebSocket), connection (WebSocket accepts, idle memory per subscription, 10,000
 * live subscriptions), presence churn and footprint benchmarks one after the other.
 * `--quick` and `--seconds S` go to all of them; anything else means different things to each
 * (`--rate` is broadcasts, sends, points or messages per second), so it needs `--only
 * notifications|per-user|ops|chat|scale|rpc|connections|presence|footprint`. Exits non-zero when
 * any of them did.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseFlags } from './common.ts';

/** Each suite's script and its own arguments. */
const SUITES = {
  notifications: ['run.ts'],
  'per-user': ['run.ts', '--per-user'],
  ops: ['ops.ts'],
  chat: ['chat.ts'],
  scale: ['scale.ts'],
  rpc: ['rpc.ts'],
  connections: ['connections.ts'],
  presence: ['presence.ts'],
  footprint: ['footprint.ts'],
} as const;
type Suite = keyof typeof SUITES;
const SHARED = ['quick', 'seconds'];

const flags = parseFlags(process.argv.slice(2));
const only = flags.get('only')?.split(',');
flags.delete('only');
for (const name of only ?? []) {
  if (!(name in SUITES))
    throw new Error(`--only ${name}: one of ${Object.keys(SUITES).join(', ')}`);
}
const suites = (Object.keys(SUITES) as Suite[]).filter((s) => !only || only.includes(s));
if (suites.length > 1) {
  for (const name of flags.keys()) {
    if (!SHARED.includes(name))
      throw new Error(`--${name} applies to one benchmark: add --only <${suites.join('|')}>`);
  }
}
const args = [...flags].flatMap(([name, value]) =>
  value === 'true' ? [`--${name}`] : [`--${name}`, value],
);

let failed = 0;
for (const suite of suites) {
  const [file, ...own] = SUITES[suite];
  const script = fileURLToPath(new URL(file, import.meta.url));
  process.stdout.write(`\n=== ${suite} (bench/${[file, ...own].join(' ')}) ===\n`);
  const { status } = spawnSync(process.execPath, ['--import', 'tsx', script, ...own, ...args], {
    stdio: 'inherit',
  });
  if (status !== 0) failed = status ?? 1;
}
process.exit(failed);
