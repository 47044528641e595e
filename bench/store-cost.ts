/**
 * What one `notifications.send` costs the database, by audience, after a history of such sends:
 * `notifications.create` then `since` (what `notify` and the notification fan-out call), on the
 * real store and schema. Evidence for where Pulse's CPU per delivery goes.
 *
 *   node --import tsx bench/store-cost.ts [--members 1000] [--history 300] [--sends 40]
 *
 * "named users" sends still write a row per recipient; the last line adds an index on
 * `notification_recipients (notification_seq)`, which the fan-out's read of those rows lacks
 * (without it every fan-out of a named notification scans the whole table).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../src/server/platform/db.ts';
import {
  createNotificationStore,
  type Audience,
} from '../src/server/features/notifications/store.ts';
import { createUserStore } from '../src/server/features/users/store.ts';
import { createTeamStore } from '../src/server/features/users/team-store.ts';
import { numberFlag, parseFlags } from './common.ts';

const flags = parseFlags(process.argv.slice(2));
const members = Math.floor(numberFlag(flags, 'members', 1000));
const history = Math.floor(numberFlag(flags, 'history', 300));
const sends = Math.floor(numberFlag(flags, 'sends', 40));

const writeBytes = () =>
  Number(/^write_bytes:\s+(\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
const content = {
  title: 'Checkout p99 over 2 s',
  body: 'Since 09:41 UTC.',
  severity: 'warning' as const,
  link: null,
};

interface Cost {
  wallMs: number;
  cpuMs: number;
  diskKiB: number;
  createMs: number;
  sinceMs: number;
}

/** A fresh database (real schema) with one team of `members` users. */
async function fresh(
  dir: string,
  name: string,
): Promise<{ db: Db; teamId: string; userIds: string[] }> {
  const db = await openDatabase(`sqlite:${join(dir, `${name}.db`)}`);
  const users = createUserStore(db);
  const teams = createTeamStore(db);
  const team = await teams.create('bench');
  if (!team) throw new Error('team exists');
  const userIds: string[] = [];
  for (let i = 0; i < members; i++) {
    const user = await users.create({
      username: `u${i}`,
      displayName: `U ${i}`,
      role: 'member',
      passwordHash: 'x',
      teamIds: [team.id],
    });
    if (user) userIds.push(user.id);
  }
  return { db, teamId: team.id, userIds };
}

/** `history` sends unmeasured, then `sends` measured: create, then the fan-out's read. */
async function measure(db: Db, audience: Audience): Promise<Cost> {
  const store = createNotificationStore(db);
  const send = async () => {
    const t0 = performance.now();
    const created = await store.create(content, audience);
    const t1 = performance.now();
    await store.since(created.seq - 1, 1000);
    return { createMs: t1 - t0, sinceMs: performance.now() - t1 };
  };
  for (let i = 0; i < history; i++) await send();
  const cpu0 = process.cpuUsage();
  const disk0 = writeBytes();
  const t0 = performance.now();
  let createMs = 0;
  let sinceMs = 0;
  for (let i = 0; i < sends; i++) {
    const r = await send();
    createMs += r.createMs;
    sinceMs += r.sinceMs;
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    wallMs: (performance.now() - t0) / sends,
    cpuMs: (cpu.user + cpu.system) / 1000 / sends,
    diskKiB: (writeBytes() - disk0) / 1024 / sends,
    createMs: createMs / sends,
    sinceMs: sinceMs / sends,
  };
}

function line(name: string, c: Cost) {
  const f = (n: number, d = 1) => n.toFixed(d).padStart(10);
  console.log(
    `${name.padEnd(44)}${f(c.cpuMs, 2)}${f(c.wallMs, 2)}${f(c.createMs, 2)}${f(c.sinceMs, 2)}${f(c.diskKiB, 0)}${f((c.cpuMs * 1000) / members, 2)}`,
  );
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-store-cost-'));
  try {
    console.log(`One send to ${members} people, after ${history} such sends (mean of ${sends}):`);
    const heads = ['CPU ms', 'wall ms', 'create', 'since', 'disk KiB', 'µs/person'];
    console.log(''.padEnd(44) + heads.map((h) => h.padStart(10)).join(''));
    const cases: {
      name: string;
      audience: (t: { teamId: string; userIds: string[] }) => Audience;
      index?: boolean;
    }[] = [
      { name: 'team (one row)', audience: ({ teamId }) => ({ kind: 'team', teamId }) },
      { name: 'everyone (one row)', audience: () => ({ kind: 'all' }) },
      { name: 'named users (a row each)', audience: ({ userIds }) => ({ kind: 'users', userIds }) },
      {
        name: 'named users + index on notification_seq',
        audience: ({ userIds }) => ({ kind: 'users', userIds }),
        index: true,
      },
    ];
    for (const c of cases) {
      const t = await fresh(dir, c.name.replace(/\W+/g, '-'));
      if (c.index) {
        await sql`CREATE INDEX bench_recipients_seq ON notification_recipients (notification_seq)`.execute(
          t.db,
        );
      }
      line(c.name, await measure(t.db, c.audience(t)));
      await t.db.destroy();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
