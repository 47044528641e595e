import { preparedQuery, type Db } from '../../platform/db.ts';
import { nowIso } from '../../platform/ids.ts';

/** Browser sessions, by the hash of their secret. All SQL for them lives here. */
export function createSessionStore(db: Db) {
  // Every request signed in by cookie runs it: compiled once.
  const liveSession = preparedQuery<
    [idHash: string, now: string, idleSince: string],
    { user_id: string; expires_at: string; seen_at: string }
  >(db, 3, (idHash, now, idleSince) =>
    db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select((eb) => [
        's.user_id',
        's.expires_at',
        eb.fn.coalesce('s.last_seen_at', 's.created_at').as('seen_at'),
      ])
      .where('s.id_hash', '=', idHash)
      .where('s.expires_at', '>', now)
      .where((eb) => eb(eb.fn.coalesce('s.last_seen_at', 's.created_at'), '>', idleSince))
      .where('u.disabled_at', 'is', null),
  );
  return {
    async create(idHash: string, userId: string, expiresAt: string): Promise<void> {
      const now = nowIso();
      await db
        .insertInto('sessions')
        .values({
          id_hash: idHash,
          user_id: userId,
          created_at: now,
          expires_at: expiresAt,
          last_seen_at: now,
        })
        .execute();
    },
    /**
     * The session, when it exists, has not expired, was used after `idleSince`, and its user is
     * not disabled: its user, when it expires, and when it was last recorded as used.
     */
    async live(
      idHash: string,
      idleSince: string,
    ): Promise<{ userId: string; expiresAt: string; seenAt: string } | null> {
      const [row] = await liveSession(idHash, nowIso(), idleSince);
      return row ? { userId: row.user_id, expiresAt: row.expires_at, seenAt: row.seen_at } : null;
    },
    /** Which of these sessions still work, by the rules of `userIdOf`. */
    async liveAmong(idHashes: readonly string[], idleSince: string): Promise<Set<string>> {
      if (idHashes.length === 0) return new Set();
      const rows = await db
        .selectFrom('sessions as s')
        .innerJoin('users as u', 'u.id', 's.user_id')
        .select('s.id_hash')
        .where('s.id_hash', 'in', idHashes)
        .where('s.expires_at', '>', nowIso())
        .where((eb) => eb(eb.fn.coalesce('s.last_seen_at', 's.created_at'), '>', idleSince))
        .where('u.disabled_at', 'is', null)
        .execute();
      return new Set(rows.map((r) => r.id_hash));
    },
    async touch(idHash: string): Promise<void> {
      await db
        .updateTable('sessions')
        .set({ last_seen_at: nowIso() })
        .where('id_hash', '=', idHash)
        .execute();
    },
    async delete(idHash: string): Promise<void> {
      await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
    },
    /** Deletes sessions past their absolute expiry or idle since `idleSince`; returns their hashes. */
    async deleteExpired(idleSince: string, limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom('sessions')
        .select('id_hash')
        .where((eb) =>
          eb.or([
            eb('expires_at', '<=', nowIso()),
            eb(eb.fn.coalesce('last_seen_at', 'created_at'), '<=', idleSince),
          ]),
        )
        .limit(limit)
        .execute();
      const hashes = rows.map((r) => r.id_hash);
      if (hashes.length > 0)
        await db.deleteFrom('sessions').where('id_hash', 'in', hashes).execute();
      return hashes;
    },
    /** Deletes every session of a user; returns their hashes. */
    async deleteAllOf(userId: string): Promise<string[]> {
      const rows = await db
        .deleteFrom('sessions')
        .where('user_id', '=', userId)
        .returning('id_hash')
        .execute();
      return rows.map((r) => r.id_hash);
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
