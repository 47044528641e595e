import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Severity } from '../../../shared/schemas/common.ts';
import type {
  Notification,
  NotificationListItem,
  NotificationPreferences,
} from '../../../shared/schemas/notifications.ts';
import type { Database, Db } from '../../platform/db.ts';
import { nowIso } from '../../platform/ids.ts';
import { lockForAppend } from '../../platform/log-lock.ts';
import { isQuietAt, quietSince } from '../../../shared/quiet-hours.ts';
import { isMuted, parsePreferences } from './preferences.ts';

const ID_PREFIX = 'ntf_';

/** Public ids are `ntf_<seq>`: the sequence orders notifications and makes replay a range scan. */
export const notificationId = (seq: number): string => `${ID_PREFIX}${seq}`;

export function notificationSeq(id: string): number | null {
  if (!id.startsWith(ID_PREFIX)) return null;
  const seq = Number(id.slice(ID_PREFIX.length));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

/**
 * Where a notification stands in a user's inbox, newest first: after notification `pos` (its own
 * seq, or the newest notification's when a snooze woke it), then by when it entered (`ms`, 0 for
 * arrival), then by seq. Woken notifications so sort above everything that existed when they
 * woke and below everything sent later.
 */
export interface InboxKey {
  pos: number;
  ms: number;
  seq: number;
}

const compareKeys = (a: InboxKey, b: InboxKey): number =>
  a.pos - b.pos || a.ms - b.ms || a.seq - b.seq;

/**
 * List cursors: the last item's id, with its inbox position when it re-entered the inbox
 * (`ntf_7@40.1735000000000`). Opaque to clients; a bare id (what earlier servers handed out)
 * still reads as a position.
 */
export function encodeCursor(key: InboxKey): string {
  const id = notificationId(key.seq);
  return key.pos === key.seq && key.ms === 0 ? id : `${id}@${key.pos}.${key.ms}`;
}

export function decodeCursor(cursor: string): InboxKey | null {
  const at = cursor.indexOf('@');
  const seq = notificationSeq(at < 0 ? cursor : cursor.slice(0, at));
  if (seq === null) return null;
  if (at < 0) return { pos: seq, ms: 0, seq };
  const [pos, ms, ...rest] = cursor
    .slice(at + 1)
    .split('.')
    .map(Number);
  if (rest.length > 0 || !Number.isSafeInteger(pos) || !Number.isSafeInteger(ms)) return null;
  return { pos: pos!, ms: ms!, seq };
}

/** What a user's own state makes of their notifications: how far they have seen, and their preferences. */
export interface InboxView {
  prefs: NotificationPreferences;
  seen: { key: InboxKey; at: string } | null;
}

export type Row = {
  seq: number;
  title: string;
  body: string;
  severity: Severity;
  link: string | null;
  created_at: string;
  team_id: string | null;
  group_key: string | null;
  read_at: string | null;
  archived_at: string | null;
  snoozed_until: string | null;
  entered_pos: number | null;
  entered_ms: number | null;
};

export const keyOf = (r: Row): InboxKey => ({
  pos: r.entered_pos ?? r.seq,
  ms: r.entered_ms ?? 0,
  seq: r.seq,
});

/** When a notification entered the inbox: when it was sent, or when its snooze woke it. */
const enteredAt = (r: Row): number => r.entered_ms ?? Date.parse(r.created_at);

/** A stored notification as one user sees it. */
export function toNotification(r: Row, view: InboxView | null): Notification {
  const base = {
    id: notificationId(r.seq),
    title: r.title,
    body: r.body,
    severity: r.severity,
    link: r.link,
    createdAt: r.created_at,
    readAt: r.read_at,
    groupKey: r.group_key,
    teamId: r.team_id,
  };
  const seen = view?.seen;
  return {
    ...base,
    seenAt: seen && compareKeys(keyOf(r), seen.key) <= 0 ? seen.at : null,
    archivedAt: r.archived_at,
    snoozedUntil: r.snoozed_until,
    quiet:
      view !== null && r.severity !== 'critical' && isQuietAt(enteredAt(r), view.prefs.quietHours),
    muted: view !== null && isMuted(base, view.prefs),
  };
}

export interface NewNotification {
  title: string;
  body: string;
  severity: Severity;
  link: string | null;
  groupKey?: string | null;
}

/**
 * Who a notification is for. Named users get a row each (their read state); a team or
 * everyone is one row on the notification itself, so a broadcast costs one insert.
 */
export type Audience =
  { kind: 'users'; userIds: string[] } | { kind: 'team'; teamId: string } | { kind: 'all' };

/** A notification as it was created (unread), with whom it is for. */
export interface CreatedNotification {
  notification: Notification;
  seq: number;
  audience: Audience;
}

type Eb = ExpressionBuilder<
  Database & { n: Database['notifications']; r: Database['notification_recipients'] },
  'n' | 'r'
>;

/** A connection or a transaction. */
type Q = Kysely<Database>;

const ROW_COLUMNS = [
  'n.seq',
  'n.title',
  'n.body',
  'n.severity',
  'n.link',
  'n.created_at',
  'n.team_id',
  'n.group_key',
  'r.read_at',
  'r.archived_at',
  'r.snoozed_until',
  'r.entered_pos',
  'r.entered_ms',
] as const;

/** The inbox position as SQL, for ordering and comparing with a key. */
const POS = sql<number>`coalesce(r.entered_pos, n.seq)`;
const MS = sql<number>`coalesce(r.entered_ms, 0)`;

function visibleTo(eb: Eb, userId: string) {
  return eb.or([
    eb.and([eb('n.audience', '=', 'users'), eb('r.user_id', 'is not', null)]),
    eb.and([
      eb('n.audience', '=', 'team'),
      eb.exists(
        eb
          .selectFrom('team_members as m')
          .select(sql`1`.as('one'))
          .whereRef('m.team_id', '=', 'n.team_id')
          .where('m.user_id', '=', userId)
          .whereRef('m.joined_at', '<=', 'n.created_at'),
      ),
    ]),
    eb.and([
      eb('n.audience', '=', 'all'),
      eb.exists(
        eb
          .selectFrom('users as u')
          .select(sql`1`.as('one'))
          .where('u.id', '=', userId)
          .whereRef('u.created_at', '<=', 'n.created_at'),
      ),
    ]),
  ]);
}

/**
 * What `userId` may see: their named notifications, their teams' (sent since they joined)
 * and everyone's (sent since they were created), with their own state from their row.
 */
export function ofUser(q: Q, userId: string) {
  return visibleRows(q, userId).select(ROW_COLUMNS);
}

/**
 * The notifications `userId` may see (`n`), each with their own recipient row (`r`) when there
 * is one: what every read of a user's notifications starts from.
 */
export function visibleRows(q: Q, userId: string) {
  return q
    .selectFrom('notifications as n')
    .leftJoin('notification_recipients as r', (join) =>
      join.onRef('r.notification_seq', '=', 'n.seq').on('r.user_id', '=', userId),
    )
    .where((eb) => visibleTo(eb as unknown as Eb, userId));
}

/** The user's seen watermark and preferences. */
export async function inboxView(q: Q, userId: string): Promise<InboxView> {
  const row = await q
    .selectFrom('notification_inbox')
    .selectAll()
    .where('user_id', '=', userId)
    .executeTakeFirst();
  const seen =
    row && row.seen_pos !== null && row.seen_seq !== null && row.seen_at !== null
      ? { key: { pos: row.seen_pos, ms: row.seen_ms ?? 0, seq: row.seen_seq }, at: row.seen_at }
      : null;
  return { prefs: parsePreferences(row?.preferences), seen };
}

/** Rows of the inbox itself: neither archived nor snoozed. */
const inInbox = (eb: Eb) =>
  eb.and([eb('r.archived_at', 'is', null), eb('r.snoozed_until', 'is', null)]);

const hasMutes = (p: NotificationPreferences): boolean =>
  p.mutedSeverities.length + p.mutedTeamIds.length + p.mutedGroupKeys.length > 0;

/** Rows the preferences do not mute (critical never is). */
function notMuted(eb: Eb, prefs: NotificationPreferences) {
  const kept = [];
  if (prefs.mutedSeverities.length > 0)
    kept.push(eb('n.severity', 'not in', prefs.mutedSeverities));
  if (prefs.mutedTeamIds.length > 0) {
    kept.push(eb.or([eb('n.team_id', 'is', null), eb('n.team_id', 'not in', prefs.mutedTeamIds)]));
  }
  if (prefs.mutedGroupKeys.length > 0) {
    kept.push(
      eb.or([eb('n.group_key', 'is', null), eb('n.group_key', 'not in', prefs.mutedGroupKeys)]),
    );
  }
  return kept.length === 0 ? null : eb.or([eb('n.severity', '=', 'critical'), eb.and(kept)]);
}

/**
 * The badge: notifications in the inbox not seen yet and not muted; during quiet hours, not the
 * non-critical ones that entered since they began.
 */
export async function countUnseen(q: Q, userId: string, view: InboxView, now = Date.now()) {
  const quietFrom = quietSince(now, view.prefs.quietHours);
  const row = await visibleRows(q, userId)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => inInbox(eb as unknown as Eb))
    .$if(view.seen !== null, (qb) => {
      const { pos, ms, seq } = view.seen!.key;
      return qb.where(sql<boolean>`(${POS}, ${MS}, n.seq) > (${pos}, ${ms}, ${seq})`);
    })
    .$if(hasMutes(view.prefs), (qb) => qb.where((eb) => notMuted(eb as unknown as Eb, view.prefs)!))
    .$if(quietFrom !== null, (qb) =>
      qb.where((eb) =>
        eb.or([
          eb('n.severity', '=', 'critical'),
          eb.and([eb('r.entered_ms', 'is not', null), eb('r.entered_ms', '<', quietFrom!)]),
          eb.and([
            eb('r.entered_ms', 'is', null),
            eb('n.created_at', '<', new Date(quietFrom!).toISOString()),
          ]),
        ]),
      ),
    )
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countUnread(q: Q, userId: string): Promise<number> {
  const row = await visibleRows(q, userId)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('r.read_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** `%`, `_` and the escape character itself, matched literally by `LIKE … ESCAPE '\\'`. */
const likePattern = (term: string): string =>
  `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export interface ListOptions {
  cursor?: string | null | undefined;
  limit: number;
  unreadOnly?: boolean | undefined;
  archived?: boolean | undefined;
  snoozed?: boolean | undefined;
  severity?: Severity[] | undefined;
  teamId?: string | undefined;
  search?: string | undefined;
  grouped?: boolean | undefined;
  groupKey?: string | undefined;
}

/** Notifications, with each user's state of them. All their SQL lives here and in inbox-store.ts. */
export function createNotificationStore(db: Db) {
  return {
    /** Stores one notification for its audience; `count` is how many people that is now. */
    async create(
      input: NewNotification,
      audience: Audience,
    ): Promise<CreatedNotification & { count: number }> {
      const createdAt = nowIso();
      const { groupKey = null, ...content } = input;
      return db.transaction().execute(async (tx) => {
        // Positions commit in order (decision 0009): held from here to the commit.
        await lockForAppend(tx, 'notifications');
        const { seq } = await tx
          .insertInto('notifications')
          .values({
            ...content,
            group_key: groupKey,
            created_at: createdAt,
            audience: audience.kind,
            team_id: audience.kind === 'team' ? audience.teamId : null,
          })
          .returning('seq')
          .executeTakeFirstOrThrow();
        let count: number;
        let unique: string[] = [];
        if (audience.kind === 'users') {
          unique = [...new Set(audience.userIds)];
          // SQLite allows 32,766 bound parameters per statement; stay well below.
          for (let i = 0; i < unique.length; i += 5000) {
            await tx
              .insertInto('notification_recipients')
              .values(
                unique
                  .slice(i, i + 5000)
                  .map((userId) => ({ notification_seq: seq, user_id: userId, read_at: null })),
              )
              .execute();
          }
          count = unique.length;
        } else {
          const row =
            audience.kind === 'team'
              ? await tx
                  .selectFrom('team_members')
                  .select((eb) => eb.fn.countAll<number>().as('n'))
                  .where('team_id', '=', audience.teamId)
                  .executeTakeFirstOrThrow()
              : await tx
                  .selectFrom('users')
                  .select((eb) => eb.fn.countAll<number>().as('n'))
                  .executeTakeFirstOrThrow();
          count = Number(row.n);
        }
        return {
          seq,
          count,
          // As `since` reads it back: named people once each.
          audience: audience.kind === 'users' ? { kind: 'users', userIds: unique } : audience,
          notification: freshNotification(
            seq,
            { ...content, group_key: groupKey, created_at: createdAt },
            audience,
          ),
        };
      });
    },

    /**
     * One page in inbox order (newest first), filtered; grouped, one entry per group. The
     * cursor encodes the last entry's inbox position, so paging is exact whatever moves.
     */
    async list(
      userId: string,
      opts: ListOptions,
    ): Promise<{ items: NotificationListItem[]; nextCursor: string | null }> {
      let after: InboxKey | null = null;
      if (opts.cursor) {
        after = decodeCursor(opts.cursor);
        if (after === null) return { items: [], nextCursor: null };
      }
      const view = await inboxView(db, userId);
      const grouped = opts.grouped === true;
      const inner = ofUser(db, userId)
        .select([POS.as('pos'), MS.as('ms')])
        .$if(grouped, (qb) =>
          qb.select([
            sql<number>`row_number() over (partition by n.group_key order by ${POS} desc, ${MS} desc, n.seq desc)`.as(
              'group_rank',
            ),
            sql<number>`count(*) over (partition by n.group_key)`.as('group_count'),
            sql<number>`sum(case when r.read_at is null then 1 else 0 end) over (partition by n.group_key)`.as(
              'group_unread',
            ),
          ]),
        )
        .where((eb) => {
          const e = eb as unknown as Eb;
          const where = [];
          if (opts.archived === true) where.push(e('r.archived_at', 'is not', null));
          if (opts.snoozed === true) where.push(e('r.snoozed_until', 'is not', null));
          if (opts.archived !== true && opts.snoozed !== true) where.push(inInbox(e));
          if (opts.unreadOnly) where.push(e('r.read_at', 'is', null));
          if (opts.severity) where.push(e('n.severity', 'in', opts.severity));
          if (opts.teamId !== undefined) where.push(e('n.team_id', '=', opts.teamId));
          if (opts.groupKey !== undefined) where.push(e('n.group_key', '=', opts.groupKey));
          if (opts.search !== undefined) {
            const pattern = likePattern(opts.search);
            where.push(
              e.or([
                sql<boolean>`lower(n.title) like ${pattern} escape '\\'`,
                sql<boolean>`lower(n.body) like ${pattern} escape '\\'`,
              ]),
            );
          }
          return e.and(where);
        });
      const rows = await db
        .selectFrom(inner.as('s'))
        .selectAll()
        .$if(grouped, (qb) =>
          qb.where((eb) => eb.or([eb('s.group_key', 'is', null), eb('s.group_rank', '=', 1)])),
        )
        .$if(after !== null, (qb) =>
          qb.where(
            sql<boolean>`(s.pos, s.ms, s.seq) < (${after!.pos}, ${after!.ms}, ${after!.seq})`,
          ),
        )
        .orderBy('s.pos', 'desc')
        .orderBy('s.ms', 'desc')
        .orderBy('s.seq', 'desc')
        .limit(opts.limit + 1)
        .execute();
      const page = rows.slice(0, opts.limit);
      const items = page.map((r): NotificationListItem => {
        const n = toNotification(r, view);
        if (!grouped) return n;
        return {
          ...n,
          group:
            r.group_key === null
              ? null
              : {
                  key: r.group_key,
                  count: Number(r.group_count ?? 1),
                  unreadCount: Number(r.group_unread ?? 0),
                },
        };
      });
      const last = page.at(-1);
      return {
        items,
        nextCursor: rows.length > opts.limit && last ? encodeCursor(keyOf(last)) : null,
      };
    },

    unreadCount: (userId: string): Promise<number> => countUnread(db, userId),

    async unseenCount(userId: string): Promise<number> {
      return countUnseen(db, userId, await inboxView(db, userId));
    },

    async get(userId: string, seq: number): Promise<Notification | null> {
      const row = await ofUser(db, userId).where('n.seq', '=', seq).executeTakeFirst();
      return row ? toNotification(row, await inboxView(db, userId)) : null;
    },

    /** The user's preferences (the defaults until they set some). */
    async preferences(userId: string): Promise<NotificationPreferences> {
      return (await inboxView(db, userId)).prefs;
    },

    /**
     * The user's notifications read at `since` or later (the latest first, at most `limit`),
     * and the latest read time among them: what other instances announced while this one could
     * not hear.
     */
    async readSince(
      userId: string,
      since: string,
      limit: number,
    ): Promise<{ ids: string[]; readAt: string | null }> {
      const rows = await db
        .selectFrom('notification_recipients')
        .select(['notification_seq', 'read_at'])
        .where('user_id', '=', userId)
        .where('read_at', '>=', since)
        .orderBy('read_at', 'desc')
        .limit(limit)
        .execute();
      return {
        ids: rows.map((r) => notificationId(r.notification_seq)),
        readAt: rows[0]?.read_at ?? null,
      };
    },

    async isRecipient(userId: string, seq: number): Promise<boolean> {
      return (await ofUser(db, userId).where('n.seq', '=', seq).executeTakeFirst()) !== undefined;
    },

    /** The user's notifications after `afterSeq`, oldest first, as they see them now (replay). */
    async after(userId: string, afterSeq: number, limit: number): Promise<Notification[]> {
      const rows = await ofUser(db, userId)
        .where('n.seq', '>', afterSeq)
        .orderBy('n.seq', 'asc')
        .limit(limit)
        .execute();
      if (rows.length === 0) return [];
      const view = await inboxView(db, userId);
      return rows.map((r) => toNotification(r, view));
    },

    async maxSeq(): Promise<number> {
      const row = await db
        .selectFrom('notifications')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      return Number(row?.seq ?? 0);
    },

    /** Everything created after `afterSeq`, oldest first, with its audience: what fan-out announces. */
    async since(afterSeq: number, limit: number): Promise<CreatedNotification[]> {
      const rows = await db
        .selectFrom('notifications')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute();
      const named = rows.filter((r) => r.audience === 'users').map((r) => r.seq);
      const recipients =
        named.length === 0
          ? []
          : await db
              .selectFrom('notification_recipients')
              .select(['notification_seq', 'user_id'])
              .where('notification_seq', 'in', named)
              .execute();
      const bySeq = new Map<number, string[]>(named.map((seq) => [seq, []]));
      for (const r of recipients) bySeq.get(r.notification_seq)?.push(r.user_id);
      return rows.map((r) => {
        const audience: Audience =
          r.audience === 'team' && r.team_id !== null
            ? { kind: 'team', teamId: r.team_id }
            : r.audience === 'all'
              ? { kind: 'all' }
              : { kind: 'users', userIds: bySeq.get(r.seq) ?? [] };
        return {
          seq: r.seq,
          audience,
          notification: freshNotification(r.seq, r, audience),
        };
      });
    },
  };
}

/**
 * A notification as its fan-out delivers it when new: unread, untriaged, in no one's inbox
 * state yet, whoever receives it.
 */
export function freshNotification(
  seq: number,
  n: Pick<Row, 'title' | 'body' | 'severity' | 'link' | 'created_at' | 'group_key'>,
  audience: Audience,
): Notification {
  return toNotification(freshRow(seq, n, audience), null);
}

/** A notification as it is created: in no one's inbox state yet. */
function freshRow(
  seq: number,
  n: Pick<Row, 'title' | 'body' | 'severity' | 'link' | 'created_at' | 'group_key'>,
  audience: Audience,
): Row {
  return {
    seq,
    title: n.title,
    body: n.body,
    severity: n.severity,
    link: n.link,
    created_at: n.created_at,
    group_key: n.group_key,
    team_id: audience.kind === 'team' ? audience.teamId : null,
    read_at: null,
    archived_at: null,
    snoozed_until: null,
    entered_pos: null,
    entered_ms: null,
  };
}

export type NotificationStore = ReturnType<typeof createNotificationStore>;
