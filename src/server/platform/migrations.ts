import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Schema history, oldest first. Written with Kysely's schema builder so that the PostgreSQL
 * store can run the same steps; never edit a migration that has shipped, add a new one.
 */
export const migrations: Record<string, Migration> = {
  '0001_foundation': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('teams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('team_members')
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
        .execute();
      await db.schema
        .createIndex('team_members_user')
        .on('team_members')
        .columns(['user_id'])
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('notifications')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('link', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('notification_recipients')
        .addColumn('notification_seq', 'integer', (c) =>
          c.notNull().references('notifications.seq').onDelete('cascade'),
        )
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('read_at', 'text')
        .addPrimaryKeyConstraint('notification_recipients_pk', ['user_id', 'notification_seq'])
        .execute();
      // Unread counts and "unread only" pages read this one.
      await sql`CREATE INDEX notification_recipients_unread ON notification_recipients (user_id, notification_seq) WHERE read_at IS NULL`.execute(
        db,
      );
    },
  },
  '0002_metrics_incidents': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('metric_points')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('series', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('value', 'double precision', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('metric_points_series_ts')
        .on('metric_points')
        .columns(['series', 'ts'])
        .execute();
      await db.schema.createIndex('metric_points_ts').on('metric_points').columns(['ts']).execute();
      await db.schema
        .createTable('metric_series')
        .addColumn('series', 'text', (c) => c.primaryKey())
        .addColumn('last_ts', 'bigint', (c) => c.notNull())
        .addColumn('last_value', 'double precision', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('alert_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('series', 'text', (c) => c.notNull())
        .addColumn('op', 'text', (c) => c.notNull())
        .addColumn('threshold', 'double precision', (c) => c.notNull())
        .addColumn('for_seconds', 'integer', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('alert_rules_series')
        .on('alert_rules')
        .columns(['series'])
        .execute();
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('assignee_id', 'text', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('opened_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text')
        .execute();
      await db.schema
        .createIndex('incidents_team')
        .on('incidents')
        .columns(['team_id', 'status'])
        .execute();
      // One unresolved incident per rule, enforced by the database itself.
      await sql`CREATE UNIQUE INDEX incidents_open_per_rule ON incidents (rule_id) WHERE rule_id IS NOT NULL AND status <> 'resolved'`.execute(
        db,
      );
      await db.schema
        .createTable('incident_timeline')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('incident_id', 'text', (c) =>
          c.notNull().references('incidents.id').onDelete('cascade'),
        )
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('incident_timeline_incident')
        .on('incident_timeline')
        .columns(['incident_id', 'id'])
        .execute();
      // Every change, in commit order: what incidents.onChange streams and replays.
      await db.schema
        .createTable('incident_changes')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('team_id', 'text', (c) => c.notNull())
        .addColumn('snapshot', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('incident_changes_team')
        .on('incident_changes')
        .columns(['team_id', 'seq'])
        .execute();
      await db.schema
        .createTable('user_settings')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_settings_pk', ['user_id', 'key'])
        .execute();
    },
  },
  '0003_chat': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('chat_messages')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('room_id', 'text', (c) => c.notNull())
        .addColumn('author_id', 'text', (c) =>
          c.notNull().references('users.id').onDelete('cascade'),
        )
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('client_message_id', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('chat_messages_room')
        .on('chat_messages')
        .columns(['room_id', 'seq'])
        .execute();
    },
  },
  '0004_notification_audiences': {
    // A broadcast to a team or to everyone is one row, not one per recipient: per-user rows
    // scatter writes over every user's index range (~50 ms of CPU and megabytes of WAL for a
    // team of 1,000). Per-user rows remain for named users, and for read state.
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('notifications')
        .addColumn('audience', 'text', (c) => c.notNull().defaultTo('users'))
        .execute();
      await db.schema.alterTable('notifications').addColumn('team_id', 'text').execute();
      await sql`CREATE INDEX notifications_team ON notifications (team_id, seq) WHERE team_id IS NOT NULL`.execute(
        db,
      );
      await sql`CREATE INDEX notifications_everyone ON notifications (seq) WHERE audience = 'all'`.execute(
        db,
      );
      // Team notifications are for those who were members when they were sent ('' = always were).
      await db.schema
        .alterTable('team_members')
        .addColumn('joined_at', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
    },
  },
  '0005_recipients_by_notification': {
    // The fan-out reads a new notification's named recipients by notification.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('notification_recipients_notification')
        .on('notification_recipients')
        .columns(['notification_seq'])
        .execute();
    },
  },
  '0006_rules_by_team': {
    // createRule counts the team's rules before it inserts (PULSE_MAX_RULES_PER_TEAM); a
    // member's rules page reads their teams' rules in (created_at, id) order.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('alert_rules_team')
        .on('alert_rules')
        .columns(['team_id', 'created_at', 'id'])
        .execute();
    },
  },
  '0007_metric_points_keyset': {
    // metrics.range reads a series in (ts, id) pages: `(ts, id) > (lastTs, lastId)`. SQLite
    // keeps the rowid in every index, but PostgreSQL needs id in the index itself. It serves
    // every query the (series, ts) index did, which goes (one index less to write per point).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('metric_points_series_ts_id')
        .on('metric_points')
        .columns(['series', 'ts', 'id'])
        .execute();
      await db.schema.dropIndex('metric_points_series_ts').execute();
    },
  },
  '0008_list_pages': {
    // Lists are read in keyset pages: incidents newest first (all, or a member's teams; the
    // chat rooms page too), a user's tokens newest first.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('incidents_opened')
        .on('incidents')
        .columns(['opened_at', 'id'])
        .execute();
      await db.schema
        .createIndex('incidents_team_opened')
        .on('incidents')
        .columns(['team_id', 'opened_at', 'id'])
        .execute();
      await db.schema
        .createIndex('api_tokens_user')
        .on('api_tokens')
        .columns(['user_id', 'created_at', 'id'])
        .execute();
    },
  },
  '0009_credentials': {
    // Credentials that end cleanly: disabled users, idle sessions, tokens made by tokens.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('disabled_at', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('last_seen_at', 'text').execute();
      await db.schema.alterTable('api_tokens').addColumn('parent_id', 'text').execute();
      await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id']).execute();
      await db.schema
        .createIndex('sessions_expiry')
        .on('sessions')
        .columns(['expires_at'])
        .execute();
      await db.schema
        .createIndex('api_tokens_parent')
        .on('api_tokens')
        .columns(['parent_id'])
        .execute();
    },
  },
};
