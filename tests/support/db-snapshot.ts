import Database from 'better-sqlite3';

/** Rows per table. */
export type RowCounts = Record<string, number>;

/** Tables the server writes by itself every second: only rows of series not named `pulse.*` count. */
const SELF_HEALTH_TABLES = new Set(['metric_points', 'metric_series']);

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Row counts of every table of a Pulse SQLite database, read through a separate read-only
 * connection (the server keeps writing meanwhile): migration bookkeeping is left out, and so
 * are the `pulse.*` health points the server stores every second.
 */
export function rowCounts(dbPath: string): RowCounts {
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
