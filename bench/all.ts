/**
 * `npm run bench`: the notification (SSE), dashboard (ingest + onPoints) and chat (WebSocket)
 * benchmarks one after the other, each with the same flags (each reads the ones it knows).
 * `--only notifications,ops,chat` picks some. Exits non-zero when any of them did.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SUITES = { notifications: 'run.ts', ops: 'ops.ts', chat: 'chat.ts' } as const;
type Suite = keyof typeof SUITES;

const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt === -1 ? null : (args[onlyAt + 1] ?? '').split(',');
const passed = onlyAt === -1 ? args : args.filter((_, i) => i !== onlyAt && i !== onlyAt + 1);

let failed = 0;
for (const suite of Object.keys(SUITES) as Suite[]) {
  if (only && !only.includes(suite)) continue;
  const script = fileURLToPath(new URL(SUITES[suite], import.meta.url));
  process.stdout.write(`\n=== ${suite} (bench/${SUITES[suite]}) ===\n`);
  const { status } = spawnSync(process.execPath, ['--import', 'tsx', script, ...passed], { stdio: 'inherit' });
  if (status !== 0) failed = status ?? 1;
}
process.exit(failed);
