import type { Notification } from '../../shared/schemas/notifications.ts';
import type { Severity } from '../../shared/schemas/common.ts';
import type { Db } from './db.ts';
import { nowIso } from './ids.ts';

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

/** A notification as it was created (unread), with everyone it went to. */
export interface CreatedNotification {
  notification: Notification;
  seq: number;
  recipientIds: string[];
}

/** Notifications, written once per send, with one recipient row per user (their read state). */
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

  function ofUser(userId: string) {
    return db
      .selectFrom('notifications as n')
      .innerJoin('notification_recipients as r', 'r.notification_seq', 'n.seq')
      .select(columns)
      .where('r.user_id', '=', userId);
  }

  return {
    async create(input: NewNotification, recipientIds: string[]): Promise<CreatedNotification> {
      const createdAt = nowIso();
      const unique = [...new Set(recipientIds)];
      return db.transaction().execute(async (tx) => {
        const { seq } = await tx
          .insertInto('notifications')
          .values({ ...input, created_at: createdAt })
          .returning('seq')
          .executeTakeFirstOrThrow();
        // SQLite allows 32,766 bound parameters per statement; stay well below.
        for (let i = 0; i < unique.length; i += 5000) {
          await tx
            .insertInto('notification_recipients')
            .values(
              unique.slice(i, i + 5000).map((userId) => ({
                notification_seq: seq,
                user_id: userId,
                read_at: null,
              })),
            )
            .execute();
        }
        return {
          seq,
          recipientIds: unique,
          notification: { id: notificationId(seq), ...input, createdAt, readAt: null },
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
        .selectFrom('notification_recipients')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('read_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Marks one of the user's notifications read (idempotent); `null` when it is not theirs. */
    async markRead(
      userId: string,
      id: string,
    ): Promise<{ notification: Notification; changed: boolean } | null> {
      const seq = notificationSeq(id);
      if (seq === null) return null;
      const res = await db
        .updateTable('notification_recipients')
        .set({ read_at: nowIso() })
        .where('user_id', '=', userId)
        .where('notification_seq', '=', seq)
        .where('read_at', 'is', null)
        .executeTakeFirst();
      const row = await ofUser(userId).where('n.seq', '=', seq).executeTakeFirst();
      return row
        ? { notification: toNotification(row), changed: Number(res.numUpdatedRows) > 0 }
        : null;
    },

    async markAllRead(userId: string): Promise<{ ids: string[]; readAt: string }> {
      const readAt = nowIso();
      const rows = await db
        .updateTable('notification_recipients')
        .set({ read_at: readAt })
        .where('user_id', '=', userId)
        .where('read_at', 'is', null)
        .returning('notification_seq')
        .execute();
      return { ids: rows.map((r) => notificationId(r.notification_seq)), readAt };
    },

    async isRecipient(userId: string, seq: number): Promise<boolean> {
      const row = await db
        .selectFrom('notification_recipients')
        .select('notification_seq')
        .where('user_id', '=', userId)
        .where('notification_seq', '=', seq)
        .executeTakeFirst();
      return row !== undefined;
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

    /** Everything created after `afterSeq`, oldest first, with recipients: what fan-out announces. */
    async since(afterSeq: number, limit: number): Promise<CreatedNotification[]> {
      const rows = await db
        .selectFrom('notifications')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute();
      if (rows.length === 0) return [];
      const recipients = await db
        .selectFrom('notification_recipients')
        .select(['notification_seq', 'user_id'])
        .where('notification_seq', 'in', rows.map((r) => r.seq))
        .execute();
      const bySeq = new Map<number, string[]>(rows.map((r) => [r.seq, []]));
      for (const r of recipients) bySeq.get(r.notification_seq)?.push(r.user_id);
      return rows.map((r) => ({
        seq: r.seq,
        recipientIds: bySeq.get(r.seq) ?? [],
        notification: toNotification({ ...r, read_at: null }),
      }));
    },
  };
}

export type NotificationStore = ReturnType<typeof createNotificationStore>;
