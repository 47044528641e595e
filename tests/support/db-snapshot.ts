import Database from 'better-sqlite3';
import { queryPostgres } from './database.ts';

/** Rows per table. */
export type RowCounts = Record<string, number>;

/** Tables the server writes by itself every second: only rows of series not named `pulse.*` count. */
const SELF_HEALTH_TABLES = new Set(['metric_points', 'metric_series']);

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Row counts of every table of a Pulse database (its `DATABASE_URL`: SQLite or a PostgreSQL
 * schema), read through a separate connection (the server keeps writing meanwhile): migration
 * bookkeeping is left out, and so are the `pulse.*` health points the server stores every second.
 */
export async function rowCounts(databaseUrl: string): Promise<RowCounts> {
  return databaseUrl.startsWith('sqlite:')
    ? sqliteRowCounts(databaseUrl.slice('sqlite:'.length))
    : postgresRowCounts(databaseUrl);
}

async function postgresRowCounts(url: string): Promise<RowCounts> {
  const tables = await queryPostgres<{ name: string }>(
    url,
    "select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name not like 'kysely_migration%' order by table_name",
  );
  const counts: RowCounts = {};
  const parts = tables.map(({ name }) => {
    const where = SELF_HEALTH_TABLES.has(name) ? " where series not like 'pulse.%'" : '';
    return `select '${name}' as name, count(*)::int as n from ${quote(name)}${where}`;
  });
  if (parts.length === 0) return counts;
  for (const row of await queryPostgres<{ name: string; n: number }>(
    url,
    parts.join(' union all '),
  ))
    counts[row.name] = row.n;
  return counts;
}

function sqliteRowCounts(dbPath: string): RowCounts {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_migration%' order by name",
      )
      .all() as { name: string }[];
    const counts: RowCounts = {};
    for (const { name } of tables) {
      const where = SELF_HEALTH_TABLES.has(name) ? " where series not like 'pulse.%'" : '';
      const row = db.prepare(`select count(*) as n from ${quote(name)}${where}`).get() as {
        n: number;
      };
      counts[name] = row.n;
    }
    return counts;
  } finally {
    db.close();
  }
}

/** Tables whose count changed from `before` to `after`, with the change. */
export function countChanges(before: RowCounts, after: RowCounts): RowCounts {
  const changes: RowCounts = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const delta = (after[name] ?? 0) - (before[name] ?? 0);
    if (delta !== 0) changes[name] = delta;
  }
  return changes;
}
