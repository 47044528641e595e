import { PostgresAdapter, type DialectAdapter } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Which database `db` (or a transaction of it) talks to, for the few places where SQL differs
 * (migrations, row locks, the log lock). Read from Kysely's adapter, so a transaction or a
 * migration's handle answers too.
 */
export function dialectOf(db: { getExecutor(): { readonly adapter: DialectAdapter } }): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * Whether `error` is a unique constraint's refusal (PostgreSQL 23505, SQLite's
 * SQLITE_CONSTRAINT_UNIQUE); with `name`, of that index (PostgreSQL names it; SQLite names the
 * columns, so any unique refusal matches there).
 */
export function isUniqueViolation(error: unknown, name?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  if (code === 'SQLITE_CONSTRAINT_UNIQUE') return true;
  return code === '23505' && (name === undefined || constraint === name);
}
