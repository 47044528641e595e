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

/**
 * Whether `error` is PostgreSQL refusing a string it cannot store or compare: text there holds
 * no NUL character (U+0000), which SQLite and JSON allow ("invalid byte sequence for encoding
 * UTF8: 0x00", SQLSTATE 22021; 22P05 for a character the encoding lacks).
 */
export function isUnstorableText(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code } = error as { code?: unknown };
  return code === '22021' || code === '22P05';
}
