import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  DEFAULT_MIGRATION_LOCK_TABLE,
  DEFAULT_MIGRATION_TABLE,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
  type Compilable,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type DatabaseMetadataOptions,
  type Generated,
  type Migration,
  type SchemaMetadata,
  type TableMetadata,
} from 'kysely';
import type { CustomTypesConfig } from 'pg';
import { dialectOf } from './dialect.ts';
import { migrations } from './migrations.ts';

/** Table shapes as Kysely sees them. Times are ISO-8601 strings; booleans are 0/1. */
export interface Database {
  users: {
    id: string;
    username: string;
    display_name: string;
    role: 'admin' | 'member';
    password_hash: string;
    created_at: string;
    disabled_at: string | null;
  };
  teams: { id: string; name: string; created_at: string };
  team_members: { team_id: string; user_id: string; joined_at: Generated<string> };
  sessions: {
    id_hash: string;
    user_id: string;
    created_at: string;
    expires_at: string;
    last_seen_at: string | null;
  };
  api_tokens: {
    id: string;
    user_id: string;
    name: string;
    token_hash: string;
    scopes: string;
    created_at: string;
    last_used_at: string | null;
    revoked_at: string | null;
    parent_id: string | null;
  };
  notifications: {
    seq: Generated<number>;
    title: string;
    body: string;
    severity: 'info' | 'warning' | 'critical';
    link: string | null;
    created_at: string;
    audience: Generated<'users' | 'team' | 'all'>;
    team_id: string | null;
    group_key: Generated<string | null>;
  };
  notification_recipients: {
    notification_seq: number;
    user_id: string;
    read_at: string | null;
    archived_at: Generated<string | null>;
    snoozed_until: Generated<string | null>;
    entered_pos: Generated<number | null>;
    entered_ms: Generated<number | null>;
  };
  /** Per user: how far their inbox is seen (a position), and their notification preferences. */
  notification_inbox: {
    user_id: string;
    seen_pos: number | null;
    seen_ms: number | null;
    seen_seq: number | null;
    seen_at: string | null;
    preferences: string | null;
  };
  inbox_changes: { seq: Generated<number>; user_id: string; change: string };
  metric_points: { id: Generated<number>; series: string; ts: number; value: number };
  metric_series: { series: string; last_ts: number; last_value: number };
  alert_rules: {
    id: string;
    series: string;
    op: '>' | '<';
    threshold: number;
    for_seconds: number;
    severity: 'info' | 'warning' | 'critical';
    team_id: string;
    created_at: string;
  };
  incidents: {
    id: string;
    team_id: string;
    title: string;
    severity: 'info' | 'warning' | 'critical';
    status: 'open' | 'acknowledged' | 'resolved';
    assignee_id: string | null;
    version: number;
    opened_at: string;
    updated_at: string;
    rule_id: string | null;
  };
  incident_timeline: {
    id: Generated<number>;
    incident_id: string;
    at: string;
    actor_id: string | null;
    action: string;
    detail: string;
  };
  incident_changes: {
    seq: Generated<number>;
    incident_id: string;
    team_id: string;
    snapshot: string;
    at: string;
  };
  user_settings: { user_id: string; key: string; value: string };
  chat_messages: {
    seq: Generated<number>;
    room_id: string;
    author_id: string;
    text: string;
    client_message_id: string;
    created_at: string;
  };
}

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  /** PostgreSQL: connections in the pool (`PULSE_PG_POOL`). */
  poolSize?: number;
}

/**
 * Opens the database named by `DATABASE_URL` (`sqlite:<path>` or `postgres://…`) and brings
 * its schema up to date.
 */
export async function openDatabase(url: string, opts: DatabaseOptions = {}): Promise<Db> {
  const db = /^postgres(ql)?:\/\//.test(url)
    ? await openPostgres(url, opts.poolSize ?? 10)
    : url.startsWith('sqlite:')
      ? openSqlite(url.slice('sqlite:'.length))
      : null;
  if (!db) throw new Error(`Unsupported DATABASE_URL '${url}': sqlite:<path> or postgres://…`);
  try {
    await migrate(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  reusePreparedStatements(sqlite);
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
}

/** PostgreSQL's int8 (bigint columns, count(*), max(bigint)). */
const INT8_OID = 20;

/**
 * pg returns int8 as a string, since it may exceed 2^53. Pulse's int8 values are ids, counts and
 * millisecond timestamps, all far below it, so they come back as numbers, as on SQLite; one that
 * is not a safe integer fails loudly rather than losing precision.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value ${text} is past 2^53`);
  return n;
}

/** The pool's type parsers: pg's own, but int8 as a number. */
const pgTypes = (types: CustomTypesConfig): CustomTypesConfig => ({
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8_OID && format !== 'binary') return parseInt8;
    return types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
});

/**
 * Kysely's PostgreSQL introspector lists every table and column of every schema in the database
 * (its Migrator asks it whether its own tables exist, at every start). That read grows with the
 * database, and fails outright ("schema … does not exist") when another schema is dropped while
 * it runs, as tests and other tenants of a shared database do. Pulse lives in one schema, the
 * current one: this lists that schema's tables alone.
 */
class CurrentSchemaIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<unknown>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } =
      await sql<SchemaMetadata>`select nspname as name from pg_catalog.pg_namespace`.execute(
        this.db,
      );
    return rows;
  }

  async getTables(
    options: DatabaseMetadataOptions = { withInternalKyselyTables: false },
  ): Promise<TableMetadata[]> {
    const { rows } = await sql<{
      table: string;
      schema: string;
      kind: string;
      column: string;
      type: string;
      not_null: boolean;
      has_default: boolean;
      identity: string;
    }>`select c.relname as table, ns.nspname as schema, c.relkind as kind, a.attname as column,
         format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
         a.atthasdef as has_default, a.attidentity as identity
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
       join pg_catalog.pg_attribute a on a.attrelid = c.oid
       where ns.nspname = current_schema() and c.relkind in ('r', 'v', 'p')
         and a.attnum > 0 and not a.attisdropped
       order by c.relname, a.attnum`.execute(this.db);
    const internal = new Set<string>([DEFAULT_MIGRATION_TABLE, DEFAULT_MIGRATION_LOCK_TABLE]);
    const tables = new Map<string, TableMetadata>();
    for (const row of rows) {
      if (!options.withInternalKyselyTables && internal.has(row.table)) continue;
      let table = tables.get(row.table);
      if (!table) {
        table = { name: row.table, schema: row.schema, isView: row.kind === 'v', columns: [] };
        tables.set(row.table, table);
      }
      table.columns.push({
        name: row.column,
        dataType: row.type,
        isNullable: !row.not_null,
        hasDefaultValue: row.has_default || row.identity !== '',
        isAutoIncrementing: row.identity !== '',
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

class PulsePostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}

async function openPostgres(url: string, poolSize: number): Promise<Db> {
  // Loaded only when used: an instance on SQLite does not carry PostgreSQL's driver.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: pgTypes(pg.types),
    // A database that does not answer fails the query (and /healthz) instead of queueing it forever.
    connectionTimeoutMillis: 5000,
    // A transaction left open by a stalled instance would hold its rows and, past its append,
    // its log's lock (decision 0009): the server ends it, and its locks with it.
    idle_in_transaction_session_timeout: 60_000,
    keepAlive: true,
  });
  // An idle connection the server drops (restart, failover) is reported here; without a
  // listener pg would throw it as an uncaught error. The pool replaces it on the next query.
  pool.on('error', (error) => console.warn('PostgreSQL: an idle connection failed', error.message));
  return new Kysely<Database>({ dialect: new PulsePostgresDialect({ pool }) });
}

/** Distinct statements kept prepared; the queries are built from a fixed set of shapes. */
const STATEMENT_CACHE = 500;

/**
 * Kysely prepares every query anew, and SQLite's prepare was the costliest step of Pulse's small
 * queries: under the soak, ~9% of the server's main thread. Statements are kept by their SQL and
 * reused (oldest dropped past the cap); one still iterating is never handed out twice.
 */
function reusePreparedStatements(sqlite: SQLite.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const statements = new Map<string, SQLite.Statement>();
  sqlite.prepare = ((source: string) => {
    const cached = statements.get(source);
    if (cached && !cached.busy) return cached;
    const statement = prepare(source);
    if (!cached && statements.size >= STATEMENT_CACHE) {
      const oldest = statements.keys().next();
      if (!oldest.done) statements.delete(oldest.value);
    }
    statements.set(source, statement);
    return statement;
  }) as SQLite.Database['prepare'];
}

/**
 * Brings the schema up to date. On PostgreSQL, Kysely's Migrator takes a session-level
 * `pg_advisory_lock` (one fixed key per database) on one connection, reads which migrations ran
 * and runs the rest in one transaction under it, then unlocks: instances starting at once run
 * them one after another, and the later ones find nothing left to do. Its bookkeeping tables are
 * created with `if not exists` and a re-check on error, so their creation races safely too.
 * Their schema is named explicitly (the current one), so that the Migrator's check that they
 * exist cannot be answered by another schema's tables (several Pulses, or tests, in one
 * database), whatever the introspector lists.
 */
async function migrate(db: Db): Promise<void> {
  let schema: string | undefined;
  if (dialectOf(db) === 'postgres') {
    const { rows } = await sql<{
      schema: string | null;
    }>`select current_schema() as schema`.execute(db);
    schema = rows[0]?.schema ?? undefined;
    if (!schema) throw new Error('PostgreSQL: no schema of the search_path exists');
  }
  const migrator = new Migrator({
    db,
    ...(schema ? { migrationTableSchema: schema } : {}),
    provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations },
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('Migration failed', { cause: error });
}

/**
 * A query built and compiled by Kysely once, then run with new values: for the queries every
 * request runs (who is calling), where building and compiling the query each time cost more
 * than running it. `build` receives one marker per parameter and must use each as a value; the
 * compiled statement's parameters are the markers, replaced by the values at each run.
 */
export function preparedQuery<Args extends readonly unknown[], Row>(
  db: Db,
  arity: Args['length'],
  build: (...markers: string[]) => Compilable<Row>,
): (...args: Args) => Promise<Row[]> {
  const markers = Array.from({ length: arity }, (_, i) => `\u0000pulse-param-${i}\u0000`);
  const compiled = build(...markers).compile();
  const slots = compiled.parameters.map((value) => markers.indexOf(value as string));
  if (markers.some((_, i) => !slots.includes(i))) {
    throw new Error(`preparedQuery: a parameter is not used as a value in ${compiled.sql}`);
  }
  return async (...args) => {
    const parameters = compiled.parameters.map((value, i) => {
      const slot = slots[i] ?? -1;
      return slot >= 0 ? args[slot] : value;
    });
    const result = await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters));
    return result.rows;
  };
}
