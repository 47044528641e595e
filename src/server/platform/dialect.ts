import { PostgresAdapter, type Kysely } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Which database `db` (or a transaction of it) talks to, for the few places where SQL differs
 * (migrations, row locks, the log lock). Read from Kysely's adapter, so a transaction or a
 * migration's handle answers too.
 */
export function dialectOf<T>(db: Kysely<T>): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
