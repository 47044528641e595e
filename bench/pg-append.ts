/**
 * What the log lock of decision 0009 costs: appends per second to one log (the notifications
 * table, one row per transaction, as a broadcast `notifications.send` writes it) by 1, 4 and 16
 * concurrent writers on PostgreSQL, each over its own pooled connection, with and without
 * `lockForAppend` before the insert. Runs in a fresh schema of its own, dropped at the end.
 *
 *   node --import tsx bench/pg-append.ts [--seconds 5] [--url postgres://postgres@127.0.0.1:5432/test]
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Db } from '../src/server/platform/db.ts';
import { lockForAppend } from '../src/server/platform/log-lock.ts';
import { numberFlag, parseFlags } from './common.ts';

const flags = parseFlags(process.argv.slice(2));
const seconds = numberFlag(flags, 'seconds', 5);
const base = flags.get('url') ?? 'postgres://postgres@127.0.0.1:5432/test';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** One append, as `notifications.create` makes it for a broadcast. */
async function append(db: Db, locked: boolean): Promise<void> {
  await db.transaction().execute(async (tx) => {
    if (locked) await lockForAppend(tx, 'notifications');
    await tx
      .insertInto('notifications')
      .values({
        title: 'bench',
        body: '',
        severity: 'info',
        link: null,
        created_at: new Date().toISOString(),
        audience: 'all',
        team_id: null,
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
  });
}

async function run(db: Db, writers: number, locked: boolean) {
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (Date.now() < end) {
        const start = performance.now();
        await append(db, locked);
        latencies.push(performance.now() - start);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

const schema = `pulse_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`create schema ${schema}`);
const url = new URL(base);
url.searchParams.set('options', `-c search_path=${schema}`);
const db = await openDatabase(url.toString(), { poolSize: 16 });
try {
  const { rows } = await admin.query<{ sc: string; v: string }>(
    "select current_setting('synchronous_commit') as sc, version() as v",
  );
  console.log(
    `${rows[0]?.v.split(' on ')[0]}, synchronous_commit=${rows[0]?.sc}, ${seconds} s each`,
  );
  await run(db, 4, false); // warm-up: connections, plans, the table's first pages
  console.log('writers  lock  appends/s  p50 ms  p99 ms');
  for (const writers of [1, 4, 16]) {
    for (const locked of [false, true]) {
      const r = await run(db, writers, locked);
      console.log(
        `${String(writers).padStart(7)}  ${locked ? 'yes ' : 'no  '}  ${r.perSecond.toFixed(0).padStart(9)}  ${r.p50.toFixed(2).padStart(6)}  ${r.p99.toFixed(2).padStart(6)}`,
      );
    }
  }
} finally {
  await db.destroy();
  await admin.query(`drop schema ${schema} cascade`);
  await admin.end();
}
