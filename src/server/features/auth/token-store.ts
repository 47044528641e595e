import { sql } from 'kysely';
import type { TokenInfo, TokenScope } from '../../../shared/schemas/auth.ts';
import { preparedQuery, type Db } from '../../platform/db.ts';
import { newId, nowIso } from '../../platform/ids.ts';

export interface StoredToken {
  id: string;
  userId: string;
  scopes: TokenScope[];
}

/** API tokens, by the hash of their secret. All SQL for them lives here. */
export function createTokenStore(db: Db) {
  // Every request signed in by token runs it: compiled once.
  const liveToken = preparedQuery<
    [tokenHash: string],
    { id: string; user_id: string; scopes: string }
  >(db, 1, (tokenHash) =>
    db
      .selectFrom('api_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id', 't.user_id', 't.scopes'])
      .where('t.token_hash', '=', tokenHash)
      .where('t.revoked_at', 'is', null)
      .where('u.disabled_at', 'is', null),
  );
  return {
    async create(input: {
      userId: string;
      name: string;
      tokenHash: string;
      scopes: TokenScope[];
      /** The token that made this one: revoking it revokes this one too. */
      parentId?: string | null;
    }): Promise<string> {
      const id = newId('tok');
      await db
        .insertInto('api_tokens')
        .values({
          id,
          user_id: input.userId,
          name: input.name,
          token_hash: input.tokenHash,
          scopes: JSON.stringify(input.scopes),
          created_at: nowIso(),
          last_used_at: null,
          revoked_at: null,
          parent_id: input.parentId ?? null,
        })
        .execute();
      return id;
    },
    async byHash(tokenHash: string): Promise<StoredToken | null> {
      const [row] = await liveToken(tokenHash);
      return row
        ? { id: row.id, userId: row.user_id, scopes: JSON.parse(row.scopes) as TokenScope[] }
        : null;
    },
    /** Which of these token ids still work: not revoked, and their user not disabled. */
    async liveAmong(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await db
        .selectFrom('api_tokens as t')
        .innerJoin('users as u', 'u.id', 't.user_id')
        .select('t.id')
        .where('t.id', 'in', ids)
        .where('t.revoked_at', 'is', null)
        .where('u.disabled_at', 'is', null)
        .execute();
      return new Set(rows.map((r) => r.id));
    },
    async touch(id: string): Promise<void> {
      await db
        .updateTable('api_tokens')
        .set({ last_used_at: nowIso() })
        .where('id', '=', id)
        .execute();
    },
    /**
     * A page of the user's live tokens, newest first (created_at, then id, both descending),
     * after the token `cursor`; `null` when the cursor is none of the user's tokens. A token
     * revoked since it ended the previous page still marks the place.
     */
    async list(
      userId: string,
      page: { cursor: string | null; limit: number },
    ): Promise<TokenInfo[] | null> {
      let after: { created_at: string; id: string } | null = null;
      if (page.cursor !== null) {
        const row = await db
          .selectFrom('api_tokens')
          .select(['created_at', 'id'])
          .where('id', '=', page.cursor)
          .where('user_id', '=', userId)
          .executeTakeFirst();
        if (!row) return null;
        after = row;
      }
      let query = db
        .selectFrom('api_tokens')
        .select(['id', 'name', 'scopes', 'created_at', 'last_used_at'])
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null);
      if (after !== null) {
        const { created_at, id } = after;
        query = query.where((eb) =>
          eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(created_at, id)),
        );
      }
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(page.limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        scopes: JSON.parse(r.scopes) as TokenScope[],
        createdAt: r.created_at,
        lastUsedAt: r.last_used_at,
      }));
    },
    /**
     * Revokes one of the user's live tokens and every live token made from it, at any depth;
     * returns the ids revoked (empty when there is no such live token).
     */
    async revoke(userId: string, id: string): Promise<string[]> {
      const { rows } = await sql<{ id: string }>`
        WITH RECURSIVE tree(id) AS (
          SELECT id FROM api_tokens WHERE id = ${id} AND user_id = ${userId} AND revoked_at IS NULL
          UNION
          SELECT t.id FROM api_tokens t JOIN tree ON t.parent_id = tree.id WHERE t.revoked_at IS NULL
        )
        UPDATE api_tokens SET revoked_at = ${nowIso()} WHERE id IN (SELECT id FROM tree) RETURNING id`.execute(
        db,
      );
      return rows.map((r) => r.id);
    },
    /** Revokes every live token of a user; returns their ids. */
    async revokeAllOf(userId: string): Promise<string[]> {
      const rows = await db
        .updateTable('api_tokens')
        .set({ revoked_at: nowIso() })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .returning('id')
        .execute();
      return rows.map((r) => r.id);
    },
  };
}

export type TokenStore = ReturnType<typeof createTokenStore>;
