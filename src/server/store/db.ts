import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Generated, type Migration } from 'kysely';
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
  };
  notification_recipients: {
    notification_seq: number;
    user_id: string;
    read_at: string | null;
  };
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

/** Opens the database named by `DATABASE_URL` and brings its schema up to date. */
export async function openDatabase(url: string): Promise<Db> {
  if (!url.startsWith('sqlite:')) {
    throw new Error(`Unsupported DATABASE_URL '${url}': only sqlite:<path> is available so far`);
  }
  const path = url.slice('sqlite:'.length);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  reusePreparedStatements(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return db;
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

async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations },
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('Migration failed', { cause: error });
}
