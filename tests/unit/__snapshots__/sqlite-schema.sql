-- table alert_rules
CREATE TABLE "alert_rules" ("id" text primary key, "series" text not null, "op" text not null, "threshold" double precision not null, "for_seconds" integer not null, "severity" text not null, "team_id" text not null references "teams" ("id") on delete cascade, "created_at" text not null);

-- index alert_rules_series
CREATE INDEX "alert_rules_series" on "alert_rules" ("series");

-- index alert_rules_team
CREATE INDEX "alert_rules_team" on "alert_rules" ("team_id", "created_at", "id");

-- table api_tokens
CREATE TABLE "api_tokens" ("id" text primary key, "user_id" text not null references "users" ("id") on delete cascade, "name" text not null, "token_hash" text not null unique, "scopes" text not null, "created_at" text not null, "last_used_at" text, "revoked_at" text, "parent_id" text);

-- index api_tokens_parent
CREATE INDEX "api_tokens_parent" on "api_tokens" ("parent_id");

-- index api_tokens_user
CREATE INDEX "api_tokens_user" on "api_tokens" ("user_id", "created_at", "id");

-- table chat_messages
CREATE TABLE "chat_messages" ("seq" integer primary key autoincrement, "room_id" text not null, "author_id" text not null references "users" ("id") on delete cascade, "text" text not null, "client_message_id" text not null unique, "created_at" text not null);

-- index chat_messages_room
CREATE INDEX "chat_messages_room" on "chat_messages" ("room_id", "seq");

-- table inbox_changes
CREATE TABLE "inbox_changes" ("seq" integer primary key autoincrement, "user_id" text not null, "change" text not null);

-- index inbox_changes_user
CREATE INDEX "inbox_changes_user" on "inbox_changes" ("user_id", "seq");

-- table incident_changes
CREATE TABLE "incident_changes" ("seq" integer primary key autoincrement, "incident_id" text not null, "team_id" text not null, "snapshot" text not null, "at" text not null);

-- index incident_changes_team
CREATE INDEX "incident_changes_team" on "incident_changes" ("team_id", "seq");

-- table incident_timeline
CREATE TABLE "incident_timeline" ("id" integer primary key autoincrement, "incident_id" text not null references "incidents" ("id") on delete cascade, "at" text not null, "actor_id" text, "action" text not null, "detail" text not null);

-- index incident_timeline_incident
CREATE INDEX "incident_timeline_incident" on "incident_timeline" ("incident_id", "id");

-- table incidents
CREATE TABLE "incidents" ("id" text primary key, "team_id" text not null references "teams" ("id") on delete cascade, "title" text not null, "severity" text not null, "status" text not null, "assignee_id" text references "users" ("id") on delete set null, "version" integer not null, "opened_at" text not null, "updated_at" text not null, "rule_id" text);

-- index incidents_open_per_rule
CREATE UNIQUE INDEX incidents_open_per_rule ON incidents (rule_id) WHERE rule_id IS NOT NULL AND status <> 'resolved';

-- index incidents_opened
CREATE INDEX "incidents_opened" on "incidents" ("opened_at", "id");

-- index incidents_team
CREATE INDEX "incidents_team" on "incidents" ("team_id", "status");

-- index incidents_team_opened
CREATE INDEX "incidents_team_opened" on "incidents" ("team_id", "opened_at", "id");

-- table metric_points
CREATE TABLE "metric_points" ("id" integer primary key autoincrement, "series" text not null, "ts" bigint not null, "value" double precision not null);

-- index metric_points_series_ts_id
CREATE INDEX "metric_points_series_ts_id" on "metric_points" ("series", "ts", "id");

-- index metric_points_ts
CREATE INDEX "metric_points_ts" on "metric_points" ("ts");

-- table metric_series
CREATE TABLE "metric_series" ("series" text primary key, "last_ts" bigint not null, "last_value" double precision not null);

-- table notification_inbox
CREATE TABLE "notification_inbox" ("user_id" text primary key references "users" ("id") on delete cascade, "seen_pos" integer, "seen_ms" bigint, "seen_seq" integer, "seen_at" text, "preferences" text);

-- table notification_recipients
CREATE TABLE "notification_recipients" ("notification_seq" integer not null references "notifications" ("seq") on delete cascade, "user_id" text not null references "users" ("id") on delete cascade, "read_at" text, "archived_at" text, "snoozed_until" text, "entered_pos" integer, "entered_ms" bigint, constraint "notification_recipients_pk" primary key ("user_id", "notification_seq"));

-- index notification_recipients_notification
CREATE INDEX "notification_recipients_notification" on "notification_recipients" ("notification_seq");

-- index notification_recipients_snoozed
CREATE INDEX notification_recipients_snoozed ON notification_recipients (snoozed_until) WHERE snoozed_until IS NOT NULL;

-- index notification_recipients_unread
CREATE INDEX notification_recipients_unread ON notification_recipients (user_id, notification_seq) WHERE read_at IS NULL;

-- table notifications
CREATE TABLE "notifications" ("seq" integer primary key autoincrement, "title" text not null, "body" text not null, "severity" text not null, "link" text, "created_at" text not null, "audience" text default 'users' not null, "team_id" text, "group_key" text);

-- index notifications_everyone
CREATE INDEX notifications_everyone ON notifications (seq) WHERE audience = 'all';

-- index notifications_group
CREATE INDEX notifications_group ON notifications (group_key, seq) WHERE group_key IS NOT NULL;

-- index notifications_team
CREATE INDEX notifications_team ON notifications (team_id, seq) WHERE team_id IS NOT NULL;

-- table sessions
CREATE TABLE "sessions" ("id_hash" text primary key, "user_id" text not null references "users" ("id") on delete cascade, "created_at" text not null, "expires_at" text not null, "last_seen_at" text);

-- index sessions_expiry
CREATE INDEX "sessions_expiry" on "sessions" ("expires_at");

-- index sessions_user
CREATE INDEX "sessions_user" on "sessions" ("user_id");

-- index sqlite_autoindex_alert_rules_1
(automatic);

-- index sqlite_autoindex_api_tokens_1
(automatic);

-- index sqlite_autoindex_api_tokens_2
(automatic);

-- index sqlite_autoindex_chat_messages_1
(automatic);

-- index sqlite_autoindex_incidents_1
(automatic);

-- index sqlite_autoindex_kysely_migration_1
(automatic);

-- index sqlite_autoindex_kysely_migration_lock_1
(automatic);

-- index sqlite_autoindex_metric_series_1
(automatic);

-- index sqlite_autoindex_notification_inbox_1
(automatic);

-- index sqlite_autoindex_notification_recipients_1
(automatic);

-- index sqlite_autoindex_sessions_1
(automatic);

-- index sqlite_autoindex_team_members_1
(automatic);

-- index sqlite_autoindex_teams_1
(automatic);

-- index sqlite_autoindex_teams_2
(automatic);

-- index sqlite_autoindex_user_settings_1
(automatic);

-- index sqlite_autoindex_users_1
(automatic);

-- index sqlite_autoindex_users_2
(automatic);

-- table sqlite_sequence
CREATE TABLE sqlite_sequence(name,seq);

-- table team_members
CREATE TABLE "team_members" ("team_id" text not null references "teams" ("id") on delete cascade, "user_id" text not null references "users" ("id") on delete cascade, "joined_at" text default '' not null, constraint "team_members_pk" primary key ("team_id", "user_id"));

-- index team_members_user
CREATE INDEX "team_members_user" on "team_members" ("user_id");

-- table teams
CREATE TABLE "teams" ("id" text primary key, "name" text not null unique, "created_at" text not null);

-- table user_settings
CREATE TABLE "user_settings" ("user_id" text not null references "users" ("id") on delete cascade, "key" text not null, "value" text not null, constraint "user_settings_pk" primary key ("user_id", "key"));

-- table users
CREATE TABLE "users" ("id" text primary key, "username" text not null unique, "display_name" text not null, "role" text not null, "password_hash" text not null, "created_at" text not null, "disabled_at" text);
