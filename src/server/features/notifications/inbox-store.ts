import { sql, type Kysely } from 'kysely';
import type {
  InboxChange,
  InboxChangeKind,
  Notification,
  NotificationPreferences,
} from '../../../shared/schemas/notifications.ts';
import type { Database, Db } from '../../platform/db.ts';
import { dialectOf } from '../../platform/dialect.ts';
import { nowIso } from '../../platform/ids.ts';
import { lockForAppend } from '../../platform/log-lock.ts';
import {
  countUnread,
  countUnseen,
  inboxView,
  keyOf,
  notificationId,
  notificationSeq,
  ofUser,
  toNotification,
  visibleRows,
  type InboxKey,
  type Row,
} from './store.ts';

const CHANGE_PREFIX = 'inb_';
/** Inbox changes are tracked as `inb_<seq>`: their position in the change log. */
export const inboxChangeId = (seq: number): string => `${CHANGE_PREFIX}${seq}`;
export function inboxChangeSeq(id: string): number | null {
  if (!id.startsWith(CHANGE_PREFIX)) return null;
  const seq = Number(id.slice(CHANGE_PREFIX.length));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

/** One change of one user's inbox, at its position in the log. */
export interface StoredChange {
  seq: number;
  userId: string;
  change: InboxChange;
}

/** A triage call's outcome: `missing` names an id that is none of the caller's. */
export type Triaged<T> =
  { ok: true; value: T; change: StoredChange | null } | { ok: false; missing: string };

/** Ids a `seen` or `readAll` change lists: the newest of what it changed. */
const CHANGE_IDS_MAX = 100;
/** Rows written per statement (SQLite allows 32,766 bound parameters). */
const CHUNK = 1000;

type Q = Kysely<Database>;
interface RecipientState {
  read_at?: string | null;
  archived_at?: string | null;
  snoozed_until?: string | null;
  entered_pos?: number | null;
  entered_ms?: number | null;
}

const compareKeys = (a: InboxKey, b: InboxKey): number =>
  a.pos - b.pos || a.ms - b.ms || a.seq - b.seq;

const POS = sql<number>`coalesce(r.entered_pos, n.seq)`;
const MS = sql<number>`coalesce(r.entered_ms, 0)`;

/**
 * Each user's triage of their notifications (seen, read, archived, snoozed, preferences) and the
 * per-user change log that `notifications.onInboxChange` streams. Every change is one
 * transaction: the user's lock (one writer per user at a time on PostgreSQL, so the counts a
 * change carries are exact in log order), the new state, then the append under the log's lock,
 * then the commit (decision 0009). Each user's log keeps their newest `keptPerUser` changes
 * (`PULSE_INBOX_CHANGES_KEPT`): an append forgets older ones, and a client resuming from a
 * forgotten one is told to start afresh (PRECONDITION_FAILED).
 */
export function createInboxStore(db: Db, opts: { keptPerUser: number }) {
  async function lockUser(tx: Q, userId: string): Promise<void> {
    if (dialectOf(tx) !== 'postgres') return;
    // NO KEY UPDATE: one triage of a user at a time, without blocking the foreign-key checks of
    // notifications being sent to them.
    await tx.selectFrom('users').select('id').where('id', '=', userId).forNoKeyUpdate().execute();
  }

  /** Sets the user's state of these notifications, making their row where there was none (team, everyone). */
  async function setState(tx: Q, userId: string, seqs: number[], set: RecipientState) {
    for (let i = 0; i < seqs.length; i += CHUNK) {
      await tx
        .insertInto('notification_recipients')
        .values(
          seqs
            .slice(i, i + CHUNK)
            .map((seq) => ({ notification_seq: seq, user_id: userId, read_at: null, ...set })),
        )
        .onConflict((oc) => oc.columns(['user_id', 'notification_seq']).doUpdateSet(set))
        .execute();
    }
  }

  /** Appends a change with the changed notifications as they are now and the counts; last in its transaction. */
  async function append(
    tx: Q,
    userId: string,
    kind: InboxChangeKind,
    at: string,
    seqs: number[],
    extra: { upTo?: string; preferences?: NotificationPreferences } = {},
  ): Promise<StoredChange> {
    const view = await inboxView(tx, userId);
    const rows =
      seqs.length === 0
        ? []
        : await ofUser(tx, userId).where('n.seq', 'in', seqs).orderBy('n.seq', 'desc').execute();
    const notifications = rows.map((r) => toNotification(r, view));
    const change: InboxChange = {
      kind,
      ids: notifications.map((n) => n.id),
      at,
      notifications,
      upTo: extra.upTo ?? null,
      preferences: extra.preferences ?? null,
      unseenCount: await countUnseen(tx, userId, view),
      unreadCount: await countUnread(tx, userId),
    };
    await lockForAppend(tx, 'inbox_changes');
    const { seq } = await tx
      .insertInto('inbox_changes')
      .values({ user_id: userId, change: JSON.stringify(change) })
      .returning('seq')
      .executeTakeFirstOrThrow();
    // A user's log is bounded: what lies past their newest `keptPerUser` changes goes.
    const oldest = await tx
      .selectFrom('inbox_changes')
      .select('seq')
      .where('user_id', '=', userId)
      .orderBy('seq', 'desc')
      .limit(1)
      .offset(opts.keptPerUser)
      .executeTakeFirst();
    if (oldest) {
      await tx
        .deleteFrom('inbox_changes')
        .where('user_id', '=', userId)
        .where('seq', '<=', oldest.seq)
        .execute();
    }
    return { seq, userId, change };
  }

  /**
   * Applies a triage to the user's notifications `ids` that `pick` says it changes; all of
   * `ids` must be theirs, or nothing changes.
   */
  async function triage(
    userId: string,
    ids: string[],
    kind: InboxChangeKind,
    pick: (r: Row) => boolean,
    set: (at: string) => RecipientState,
  ): Promise<Triaged<Notification[]>> {
    const seqs = ids.map(notificationSeq);
    const malformed = ids.find((_, i) => seqs[i] === null);
    if (malformed !== undefined) return { ok: false, missing: malformed };
    const unique = [...new Set(seqs as number[])];
    return db.transaction().execute(async (tx): Promise<Triaged<Notification[]>> => {
      await lockUser(tx, userId);
      const rows = await ofUser(tx, userId).where('n.seq', 'in', unique).execute();
      const found = new Set(rows.map((r) => r.seq));
      const missing = ids.find((_, i) => !found.has(seqs[i] as number));
      if (missing !== undefined) return { ok: false, missing };
      const changed = rows.filter(pick).map((r) => r.seq);
      if (changed.length === 0) return { ok: true, value: [], change: null };
      const at = nowIso();
      await setState(tx, userId, changed, set(at));
      const change = await append(tx, userId, kind, at, changed);
      return { ok: true, value: change.change.notifications, change };
    });
  }

  function changesQuery(q: Q) {
    return q.selectFrom('inbox_changes').select(['seq', 'user_id', 'change']);
  }
  const toStored = (r: { seq: number; user_id: string; change: string }): StoredChange => ({
    seq: r.seq,
    userId: r.user_id,
    change: JSON.parse(r.change) as InboxChange,
  });

  return {
    archive: (userId: string, ids: string[]) =>
      triage(
        userId,
        ids,
        'archived',
        (r) => r.archived_at === null,
        (at) => ({ archived_at: at, snoozed_until: null }),
      ),

    unarchive: (userId: string, ids: string[]) =>
      triage(
        userId,
        ids,
        'unarchived',
        (r) => r.archived_at !== null,
        () => ({ archived_at: null }),
      ),

    snooze: (userId: string, ids: string[], until: string) =>
      triage(
        userId,
        ids,
        'snoozed',
        (r) => r.snoozed_until !== until,
        () => ({ snoozed_until: until, archived_at: null }),
      ),

    unsnooze: (userId: string, ids: string[]) =>
      triage(
        userId,
        ids,
        'unsnoozed',
        (r) => r.snoozed_until !== null,
        () => ({ snoozed_until: null }),
      ),

    /** Marks one notification read (idempotent): it as it is now, and whether that changed it. */
    async markRead(
      userId: string,
      id: string,
    ): Promise<Triaged<{ notification: Notification; changed: boolean }>> {
      const seq = notificationSeq(id);
      if (seq === null) return { ok: false, missing: id };
      return db.transaction().execute(async (tx) => {
        await lockUser(tx, userId);
        const row = await ofUser(tx, userId).where('n.seq', '=', seq).executeTakeFirst();
        if (!row) return { ok: false, missing: id };
        if (row.read_at !== null) {
          const notification = toNotification(row, await inboxView(tx, userId));
          return { ok: true, value: { notification, changed: false }, change: null };
        }
        const at = nowIso();
        await setState(tx, userId, [seq], { read_at: at });
        const change = await append(tx, userId, 'read', at, [seq]);
        const notification = change.change.notifications[0] as Notification;
        return { ok: true, value: { notification, changed: true }, change };
      });
    },

    /** Marks every notification of the user read: the ids it changed, oldest first. */
    async markAllRead(
      userId: string,
    ): Promise<{ ids: string[]; readAt: string; change: StoredChange | null }> {
      const readAt = nowIso();
      return db.transaction().execute(async (tx) => {
        await lockUser(tx, userId);
        const named = await tx
          .updateTable('notification_recipients')
          .set({ read_at: readAt })
          .where('user_id', '=', userId)
          .where('read_at', 'is', null)
          .returning('notification_seq')
          .execute();
        // Team and everyone notifications get a row of their own once read.
        const shared = await visibleRows(tx, userId)
          .select('n.seq')
          .where('n.audience', '!=', 'users')
          .where('r.user_id', 'is', null)
          .execute();
        for (let i = 0; i < shared.length; i += CHUNK) {
          await tx
            .insertInto('notification_recipients')
            .values(
              shared
                .slice(i, i + CHUNK)
                .map((n) => ({ notification_seq: n.seq, user_id: userId, read_at: readAt })),
            )
            .onConflict((oc) => oc.columns(['user_id', 'notification_seq']).doNothing())
            .execute();
        }
        const seqs = [...named.map((r) => r.notification_seq), ...shared.map((n) => n.seq)].sort(
          (a, b) => a - b,
        );
        const change =
          seqs.length === 0
            ? null
            : await append(tx, userId, 'readAll', readAt, seqs.slice(-CHANGE_IDS_MAX));
        return { ids: seqs.map(notificationId), readAt, change };
      });
    },

    /**
     * Marks `upTo` and every notification below it in inbox order seen: the user's seen
     * watermark moves up to it (never down). `count`: how many that newly made seen.
     */
    async markSeen(userId: string, upTo: string): Promise<Triaged<number>> {
      const seq = notificationSeq(upTo);
      if (seq === null) return { ok: false, missing: upTo };
      return db.transaction().execute(async (tx): Promise<Triaged<number>> => {
        await lockUser(tx, userId);
        const row = await ofUser(tx, userId).where('n.seq', '=', seq).executeTakeFirst();
        if (!row) return { ok: false, missing: upTo };
        const key = keyOf(row);
        const { seen } = await inboxView(tx, userId);
        if (seen && compareKeys(key, seen.key) <= 0) return { ok: true, value: 0, change: null };
        const between = ofUser(tx, userId)
          .where(sql<boolean>`(${POS}, ${MS}, n.seq) <= (${key.pos}, ${key.ms}, ${key.seq})`)
          .$if(seen !== null, (qb) =>
            qb.where(
              sql<boolean>`(${POS}, ${MS}, n.seq) > (${seen!.key.pos}, ${seen!.key.ms}, ${seen!.key.seq})`,
            ),
          );
        const { n } = await tx
          .selectFrom(between.as('b'))
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        const newest = await between
          .orderBy(POS, 'desc')
          .orderBy(MS, 'desc')
          .orderBy('n.seq', 'desc')
          .limit(CHANGE_IDS_MAX)
          .execute();
        const at = nowIso();
        const state = { seen_pos: key.pos, seen_ms: key.ms, seen_seq: key.seq, seen_at: at };
        await tx
          .insertInto('notification_inbox')
          .values({ user_id: userId, preferences: null, ...state })
          .onConflict((oc) => oc.column('user_id').doUpdateSet(state))
          .execute();
        const change = await append(
          tx,
          userId,
          'seen',
          at,
          newest.map((r) => r.seq),
          { upTo },
        );
        return { ok: true, value: Number(n), change };
      });
    },

    async setPreferences(
      userId: string,
      preferences: NotificationPreferences,
    ): Promise<StoredChange> {
      return db.transaction().execute(async (tx) => {
        await lockUser(tx, userId);
        const json = JSON.stringify(preferences);
        await tx
          .insertInto('notification_inbox')
          .values({
            user_id: userId,
            seen_pos: null,
            seen_ms: null,
            seen_seq: null,
            seen_at: null,
            preferences: json,
          })
          .onConflict((oc) => oc.column('user_id').doUpdateSet({ preferences: json }))
          .execute();
        return append(tx, userId, 'preferences', nowIso(), [], { preferences });
      });
    },

    /** When the soonest snooze is due (ISO), or null when nothing is snoozed. */
    async nextWake(): Promise<string | null> {
      const row = await db
        .selectFrom('notification_recipients')
        .select((eb) => eb.fn.min('snoozed_until').as('at'))
        .where('snoozed_until', 'is not', null)
        .executeTakeFirst();
      return row?.at ?? null;
    },

    /** Users with a snooze due at `now`, at most `limit`. */
    async dueUsers(now: string, limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom('notification_recipients')
        .select('user_id')
        .distinct()
        .where('snoozed_until', '<=', now)
        .limit(limit)
        .execute();
      return rows.map((r) => r.user_id);
    },

    /**
     * Wakes the user's snoozes due at `now`: they come back as new (unread, unseen, in the inbox,
     * at its top). The UPDATE's condition decides which instance wakes them, once; null when
     * another did (or none was due).
     */
    async wake(userId: string, now: string): Promise<StoredChange | null> {
      return db.transaction().execute(async (tx) => {
        await lockUser(tx, userId);
        const { pos } = await tx
          .selectFrom('notifications')
          .select((eb) => eb.fn.max('seq').as('pos'))
          .executeTakeFirstOrThrow();
        const top = Number(pos ?? 0);
        const { seen } = await inboxView(tx, userId);
        // Above what is seen, even where another instance's clock ran ahead.
        let ms = Date.now();
        if (seen && seen.key.pos === top && seen.key.ms >= ms) ms = seen.key.ms + 1;
        const woken = await tx
          .updateTable('notification_recipients')
          .set({
            snoozed_until: null,
            read_at: null,
            archived_at: null,
            entered_pos: top,
            entered_ms: ms,
          })
          .where('user_id', '=', userId)
          .where('snoozed_until', '<=', now)
          .returning('notification_seq')
          .execute();
        if (woken.length === 0) return null;
        return append(
          tx,
          userId,
          'woken',
          new Date(ms).toISOString(),
          woken.map((r) => r.notification_seq),
        );
      });
    },

    async maxChangeSeq(): Promise<number> {
      const row = await db
        .selectFrom('inbox_changes')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      return Number(row?.seq ?? 0);
    },

    /** Every user's changes after `seq`, oldest first (fan-out). */
    async changesAfter(seq: number, limit: number): Promise<StoredChange[]> {
      const rows = await changesQuery(db)
        .where('seq', '>', seq)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toStored);
    },

    /** One user's changes after `seq`, oldest first (replay). */
    async userChangesAfter(userId: string, seq: number, limit: number): Promise<StoredChange[]> {
      const rows = await changesQuery(db)
        .where('user_id', '=', userId)
        .where('seq', '>', seq)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toStored);
    },

    /** Whose change `seq` is; null when there is none. */
    async changeUser(seq: number): Promise<string | null> {
      const row = await db
        .selectFrom('inbox_changes')
        .select('user_id')
        .where('seq', '=', seq)
        .executeTakeFirst();
      return row?.user_id ?? null;
    },
  };
}

export type InboxStore = ReturnType<typeof createInboxStore>;
