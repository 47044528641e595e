import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Which database test servers run on: SQLite files by default, PostgreSQL with
 * `PULSE_TEST_DB=postgres` (npm test's second pass runs the integration suite that way).
 */
export const testDatabaseKind: 'sqlite' | 'postgres' =
  process.env['PULSE_TEST_DB'] === 'postgres' ? 'postgres' : 'sqlite';

/** The PostgreSQL the tests use: the machine's own, database `test` (`PULSE_TEST_PG_URL` overrides). */
export const POSTGRES_URL =
  process.env['PULSE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Prefix of every schema the tests create (`pulse_t_<pid>_<random>`). */
export const SCHEMA_PREFIX = 'pulse_t_';

export interface TestDatabase extends AsyncDisposable {
  /** A `DATABASE_URL` for it; pass the same one to several apps to let them share it. */
  url: string;
  kind: 'sqlite' | 'postgres';
  /** The SQLite file, or the PostgreSQL schema. */
  name: string;
  /** Removes it (PostgreSQL: drops the schema and all in it); the SQLite file goes with its directory. */
  drop(): Promise<void>;
}

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `url` with its connections' search_path set to `schema` (and nothing else on it). */
export function urlWithSchema(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

/**
 * A fresh, empty PostgreSQL schema and a URL whose connections use it (Kysely's migration
 * tables live in it too), whatever `PULSE_TEST_DB` says: for tests that need PostgreSQL itself.
 */
export async function createPostgresSchema(): Promise<TestDatabase> {
  const schema = `${SCHEMA_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(async (client) => {
    await client.query(`create schema ${schema}`);
    // When it was made: `dropStaleSchemas` leaves young ones alone.
    await client.query(`comment on schema ${schema} is '${new Date().toISOString()}'`);
  });
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await withClient((client) => client.query(`drop schema if exists ${schema} cascade`));
  };
  return {
    url: urlWithSchema(POSTGRES_URL, schema),
    kind: 'postgres',
    name: schema,
    drop,
    [Symbol.asyncDispose]: drop,
  };
}

/**
 * The database of one test server (or of several sharing it): a SQLite file in `dir`, or under
 * `PULSE_TEST_DB=postgres` a fresh schema, dropped by `drop()` once its servers have closed.
 */
export async function testDatabase(dir: string): Promise<TestDatabase> {
  if (testDatabaseKind === 'postgres') return createPostgresSchema();
  const path = join(dir, 'pulse.db');
  const drop = async () => {};
  return { url: `sqlite:${path}`, kind: 'sqlite', name: path, drop, [Symbol.asyncDispose]: drop };
}

/** Whether a process with this id runs on this machine. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A test schema younger than this is never taken for stale (its process may run elsewhere). */
const STALE_AFTER_MS = 3_600_000;

/**
 * Drops the test schemas left by test processes that no longer run (a run killed before its
 * servers were disposed) and that are over an hour old: a process in another container (its pid
 * unknown here) is not running tests for that long. Returns how many went.
 */
export async function dropStaleSchemas(): Promise<number> {
  return withClient(async (client) => {
    const { rows } = await client.query<{ name: string; made: string | null }>(
      "select nspname as name, obj_description(oid, 'pg_namespace') as made from pg_namespace where nspname like 'pulse\\_t\\_%'",
    );
    let dropped = 0;
    for (const { name, made } of rows) {
      const pid = Number(/^pulse_t_(\d+)_/.exec(name)?.[1]);
      const age = Date.now() - Date.parse(made ?? '');
      if (!Number.isSafeInteger(pid) || alive(pid) || !(age > STALE_AFTER_MS)) continue;
      await client.query(`drop schema if exists ${name} cascade`);
      dropped++;
    }
    return dropped;
  });
}

/** Whether the tests' PostgreSQL answers within a few seconds. */
export async function postgresAnswers(): Promise<boolean> {
  try {
    await withClient((client) => client.query('select 1'));
    return true;
  } catch {
    return false;
  }
}

/** Runs one query on the tests' PostgreSQL in `schema` (for tests that look at what was stored). */
export async function queryPostgres<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
