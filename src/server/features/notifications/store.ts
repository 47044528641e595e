import { sql, type ExpressionBuilder } from 'kysely';
import type { Severity } from '../../../shared/schemas/common.ts';
import type { Notification } from '../../../shared/schemas/notifications.ts';
import type { Database, Db } from '../../platform/db.ts';
import { nowIso } from '../../platform/ids.ts';
import { lockForAppend } from '../../platform/log-lock.ts';

const ID_PREFIX = 'ntf_';

/** Public ids are `ntf_<seq>`: the sequence orders notifications and makes replay a range scan. */
export const notificationId = (seq: number): string => `${ID_PREFIX}${seq}`;

export function notificationSeq(id: string): number | null {
  if (!id.startsWith(ID_PREFIX)) return null;
  const seq = Number(id.slice(ID_PREFIX.length));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

type Row = {
  seq: number;
  title: string;
  body: string;
  severity: Severity;
  link: string | null;
  created_at: string;
  read_at: string | null;
};

const toNotification = (r: Row): Notification => ({
  id: notificationId(r.seq),
  title: r.title,
  body: r.body,
  severity: r.severity,
  link: r.link,
  createdAt: r.created_at,
  readAt: r.read_at,
});

export interface NewNotification {
  title: string;
  body: string;
  severity: Severity;
  link: string | null;
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

/** Notifications, with read state per user. All their SQL lives here. */
export function createNotificationStore(db: Db) {
  const columns = [
    'n.seq',
    'n.title',
    'n.body',
    'n.severity',
    'n.link',
    'n.created_at',
    'r.read_at',
  ] as const;

  /**
   * What `userId` may see: their named notifications, their teams' (sent since they joined)
   * and everyone's (sent since they were created). Read state comes from their own row.
   */
  function ofUser(userId: string) {
    return db
      .selectFrom('notifications as n')
      .leftJoin('notification_recipients as r', (join) =>
        join.onRef('r.notification_seq', '=', 'n.seq').on('r.user_id', '=', userId),
      )
      .select(columns)
      .where((eb) => visibleTo(eb as unknown as Eb, userId));
  }

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

  return {
    /** Stores one notification for its audience; `count` is how many people that is now. */
    async create(
      input: NewNotification,
      audience: Audience,
    ): Promise<CreatedNotification & { count: number }> {
      const createdAt = nowIso();
      return db.transaction().execute(async (tx) => {
        // Positions commit in order (decision 0009): held from here to the commit.
        await lockForAppend(tx, 'notifications');
        const { seq } = await tx
          .insertInto('notifications')
          .values({
            ...input,
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
          notification: toNotification({ seq, ...input, created_at: createdAt, read_at: null }),
        };
      });
    },

    /** One page, newest first; the cursor is the id of the last item of the previous page. */
    async list(
      userId: string,
      opts: { cursor?: string | null | undefined; limit: number; unreadOnly?: boolean | undefined },
    ): Promise<{ items: Notification[]; nextCursor: string | null }> {
      let q = ofUser(userId);
      if (opts.cursor) {
        const seq = notificationSeq(opts.cursor);
        if (seq === null) return { items: [], nextCursor: null };
        q = q.where('n.seq', '<', seq);
      }
      if (opts.unreadOnly) q = q.where('r.read_at', 'is', null);
      const rows = await q
        .orderBy('n.seq', 'desc')
        .limit(opts.limit + 1)
        .execute();
      const items = rows.slice(0, opts.limit).map(toNotification);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > opts.limit && last ? last.id : null };
    },

    async unreadCount(userId: string): Promise<number> {
      const row = await db
        .selectFrom('notifications as n')
        .leftJoin('notification_recipients as r', (join) =>
          join.onRef('r.notification_seq', '=', 'n.seq').on('r.user_id', '=', userId),
        )
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where((eb) => visibleTo(eb as unknown as Eb, userId))
        .where('r.read_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async get(userId: string, seq: number): Promise<Notification | null> {
      const row = await ofUser(userId).where('n.seq', '=', seq).executeTakeFirst();
      return row ? toNotification(row) : null;
    },

    /** Marks one of the user's notifications read (idempotent); `null` when it is not theirs. */
    async markRead(
      userId: string,
      id: string,
    ): Promise<{ notification: Notification; changed: boolean } | null> {
      const seq = notificationSeq(id);
      if (seq === null) return null;
      const current = await ofUser(userId).where('n.seq', '=', seq).executeTakeFirst();
      if (!current) return null;
      if (current.read_at !== null)
        return { notification: toNotification(current), changed: false };
      const readAt = nowIso();
      await db
        .insertInto('notification_recipients')
        .values({ notification_seq: seq, user_id: userId, read_at: readAt })
        .onConflict((oc) =>
          oc
            .columns(['user_id', 'notification_seq'])
            .doUpdateSet({ read_at: readAt })
            .where('notification_recipients.read_at', 'is', null),
        )
        .execute();
      return { notification: toNotification({ ...current, read_at: readAt }), changed: true };
    },

    async markAllRead(userId: string): Promise<{ ids: string[]; readAt: string }> {
      const readAt = nowIso();
      return db.transaction().execute(async (tx) => {
        const named = await tx
          .updateTable('notification_recipients')
          .set({ read_at: readAt })
          .where('user_id', '=', userId)
          .where('read_at', 'is', null)
          .returning('notification_seq')
          .execute();
        // Team and everyone notifications get a row of their own once read.
        const shared = await tx
          .selectFrom('notifications as n')
          .leftJoin('notification_recipients as r', (join) =>
            join.onRef('r.notification_seq', '=', 'n.seq').on('r.user_id', '=', userId),
          )
          .select('n.seq')
          .where('n.audience', '!=', 'users')
          .where('r.user_id', 'is', null)
          .where((eb) => visibleTo(eb as unknown as Eb, userId))
          .execute();
        for (let i = 0; i < shared.length; i += 5000) {
          await tx
            .insertInto('notification_recipients')
            .values(
              shared
                .slice(i, i + 5000)
                .map((n) => ({ notification_seq: n.seq, user_id: userId, read_at: readAt })),
            )
            // A markRead of one of them may have committed since the read above (PostgreSQL
            // runs writers side by side): it is read either way.
            .onConflict((oc) => oc.columns(['user_id', 'notification_seq']).doNothing())
            .execute();
        }
        const seqs = [...named.map((r) => r.notification_seq), ...shared.map((n) => n.seq)].sort(
          (a, b) => a - b,
        );
        return { ids: seqs.map(notificationId), readAt };
      });
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
      return (await ofUser(userId).where('n.seq', '=', seq).executeTakeFirst()) !== undefined;
    },

    /** The user's notifications after `afterSeq`, oldest first (replay). */
    async after(userId: string, afterSeq: number, limit: number): Promise<Notification[]> {
      const rows = await ofUser(userId)
        .where('n.seq', '>', afterSeq)
        .orderBy('n.seq', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toNotification);
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
      return rows.map((r) => ({
        seq: r.seq,
        audience:
          r.audience === 'team' && r.team_id !== null
            ? { kind: 'team', teamId: r.team_id }
            : r.audience === 'all'
              ? { kind: 'all' }
              : { kind: 'users', userIds: bySeq.get(r.seq) ?? [] },
        notification: toNotification({ ...r, read_at: null }),
      }));
    },
  };
}

export type NotificationStore = ReturnType<typeof createNotificationStore>;
