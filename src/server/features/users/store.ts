import type { Role, TokenInfo, TokenScope, User } from '../../../shared/schemas/auth.ts';
import { sql } from 'kysely';
import type { Db } from '../../platform/db.ts';
import { newId, nowIso } from '../../platform/ids.ts';

export interface NewUser {
  username: string;
  passwordHash: string;
  displayName: string;
  role: Role;
  teamIds: string[];
}

export interface StoredToken {
  id: string;
  userId: string;
  scopes: TokenScope[];
}

/** Users, teams, sessions and API tokens. All SQL for them lives here. */
export function createUserStore(db: Db) {
  async function teamIdsOf(userIds: string[]): Promise<Map<string, string[]>> {
    const byUser = new Map<string, string[]>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return byUser;
    const rows = await db
      .selectFrom('team_members')
      .select(['user_id', 'team_id'])
      .where('user_id', 'in', userIds)
      .orderBy('team_id')
      .execute();
    for (const row of rows) byUser.get(row.user_id)?.push(row.team_id);
    return byUser;
  }

  type UserRow = { id: string; username: string; display_name: string; role: Role };
  async function toUsers(rows: UserRow[]): Promise<User[]> {
    const teams = await teamIdsOf(rows.map((r) => r.id));
    return rows.map((r) => ({
      id: r.id,
      username: r.username,
      displayName: r.display_name,
      role: r.role,
      teamIds: teams.get(r.id) ?? [],
    }));
  }

  const userColumns = ['id', 'username', 'display_name', 'role'] as const;

  return {
    async count(): Promise<number> {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Creates the user and its memberships in one transaction; `null` when the name is taken. */
    async create(input: NewUser): Promise<User | null> {
      const id = newId('usr');
      return db.transaction().execute(async (tx) => {
        const taken = await tx
          .selectFrom('users')
          .select('id')
          .where('username', '=', input.username)
          .executeTakeFirst();
        if (taken) return null;
        await tx
          .insertInto('users')
          .values({
            id,
            username: input.username,
            display_name: input.displayName,
            role: input.role,
            password_hash: input.passwordHash,
            created_at: nowIso(),
          })
          .execute();
        const teamIds = [...new Set(input.teamIds)].sort();
        if (teamIds.length > 0) {
          await tx
            .insertInto('team_members')
            .values(
              teamIds.map((teamId) => ({ team_id: teamId, user_id: id, joined_at: nowIso() })),
            )
            .execute();
        }
        return {
          id,
          username: input.username,
          displayName: input.displayName,
          role: input.role,
          teamIds,
        };
      });
    },

    async byId(id: string): Promise<User | null> {
      const row = await db
        .selectFrom('users')
        .select(userColumns)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? ((await toUsers([row]))[0] ?? null) : null;
    },

    async credentialsOf(
      username: string,
    ): Promise<{ id: string; passwordHash: string; disabled: boolean } | null> {
      const row = await db
        .selectFrom('users')
        .select(['id', 'password_hash', 'disabled_at'])
        .where('username', '=', username)
        .executeTakeFirst();
      return row ? { id: row.id, passwordHash: row.password_hash, disabled: row.disabled_at !== null } : null;
    },

    async setPasswordHash(id: string, passwordHash: string): Promise<void> {
      await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute();
    },

    /** Disables or enables a user; false when there is no such user. */
    async setDisabled(id: string, disabled: boolean): Promise<boolean> {
      const res = await db
        .updateTable('users')
        .set({ disabled_at: disabled ? nowIso() : null })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },

    async disabledAt(id: string): Promise<string | null> {
      const row = await db.selectFrom('users').select('disabled_at').where('id', '=', id).executeTakeFirst();
      return row?.disabled_at ?? null;
    },

    /** A page of users by username, after the user `cursor`; `null` when there is no such user. */
    async list(page: { cursor: string | null; limit: number }): Promise<User[] | null> {
      let after: string | null = null;
      if (page.cursor !== null) {
        const row = await db
          .selectFrom('users')
          .select('username')
          .where('id', '=', page.cursor)
          .executeTakeFirst();
        if (!row) return null;
        after = row.username;
      }
      const rows = await db
        .selectFrom('users')
        .select(userColumns)
        .$if(after !== null, (q) => q.where('username', '>', after ?? ''))
        .orderBy('username')
        .limit(page.limit)
        .execute();
      return toUsers(rows);
    },

    async idsByUsernames(usernames: string[]): Promise<Map<string, string>> {
      const rows = await db
        .selectFrom('users')
        .select(['id', 'username'])
        .where('username', 'in', usernames)
        .execute();
      return new Map(rows.map((r) => [r.username, r.id]));
    },

    async existingIds(ids: string[]): Promise<Set<string>> {
      const rows = await db.selectFrom('users').select('id').where('id', 'in', ids).execute();
      return new Set(rows.map((r) => r.id));
    },

    async allIds(): Promise<string[]> {
      const rows = await db.selectFrom('users').select('id').execute();
      return rows.map((r) => r.id);
    },

    teams: {
      async create(name: string): Promise<{ id: string; name: string } | null> {
        const taken = await db
          .selectFrom('teams')
          .select('id')
          .where('name', '=', name)
          .executeTakeFirst();
        if (taken) return null;
        const team = { id: newId('team'), name };
        await db
          .insertInto('teams')
          .values({ ...team, created_at: nowIso() })
          .execute();
        return team;
      },
      async list(): Promise<{ id: string; name: string }[]> {
        return db.selectFrom('teams').select(['id', 'name']).orderBy('name').execute();
      },
      /** Teams by name (of `teamIds`, or all when null), after the one named `afterName`. */
      async page(
        teamIds: string[] | null,
        afterName: string | null,
        limit: number,
      ): Promise<{ id: string; name: string }[]> {
        if (teamIds?.length === 0) return [];
        return db
          .selectFrom('teams')
          .select(['id', 'name'])
          .$if(teamIds !== null, (q) => q.where('id', 'in', teamIds ?? []))
          .$if(afterName !== null, (q) => q.where('name', '>', afterName ?? ''))
          .orderBy('name')
          .limit(limit)
          .execute();
      },
      async byId(id: string): Promise<{ id: string; name: string } | null> {
        const row = await db
          .selectFrom('teams')
          .select(['id', 'name'])
          .where('id', '=', id)
          .executeTakeFirst();
        return row ?? null;
      },
      async byName(name: string): Promise<{ id: string; name: string } | null> {
        const row = await db
          .selectFrom('teams')
          .select(['id', 'name'])
          .where('name', '=', name)
          .executeTakeFirst();
        return row ?? null;
      },
      async existingIds(ids: string[]): Promise<Set<string>> {
        if (ids.length === 0) return new Set();
        const rows = await db.selectFrom('teams').select('id').where('id', 'in', ids).execute();
        return new Set(rows.map((r) => r.id));
      },
      async addMember(teamId: string, userId: string): Promise<void> {
        await db
          .insertInto('team_members')
          .values({ team_id: teamId, user_id: userId, joined_at: nowIso() })
          .onConflict((oc) => oc.doNothing())
          .execute();
      },
      /** The team's members as people (id, username, display name), by username. */
      async people(
        teamId: string,
      ): Promise<{ userId: string; username: string; displayName: string }[]> {
        const rows = await db
          .selectFrom('team_members as m')
          .innerJoin('users as u', 'u.id', 'm.user_id')
          .select(['u.id', 'u.username', 'u.display_name'])
          .where('m.team_id', '=', teamId)
          .orderBy('u.username')
          .execute();
        return rows.map((r) => ({
          userId: r.id,
          username: r.username,
          displayName: r.display_name,
        }));
      },
      async memberIds(teamId: string): Promise<string[]> {
        const rows = await db
          .selectFrom('team_members')
          .select('user_id')
          .where('team_id', '=', teamId)
          .execute();
        return rows.map((r) => r.user_id);
      },
    },

    sessions: {
      async create(idHash: string, userId: string, expiresAt: string): Promise<void> {
        const now = nowIso();
        await db
          .insertInto('sessions')
          .values({ id_hash: idHash, user_id: userId, created_at: now, expires_at: expiresAt, last_seen_at: now })
          .execute();
      },
      /**
       * The session's user id, when the session exists, has not expired, was used after
       * `idleSince`, and its user is not disabled.
       */
      async userIdOf(idHash: string, idleSince: string): Promise<string | null> {
        const row = await db
          .selectFrom('sessions as s')
          .innerJoin('users as u', 'u.id', 's.user_id')
          .select('s.user_id')
          .where('s.id_hash', '=', idHash)
          .where('s.expires_at', '>', nowIso())
          .where((eb) => eb(eb.fn.coalesce('s.last_seen_at', 's.created_at'), '>', idleSince))
          .where('u.disabled_at', 'is', null)
          .executeTakeFirst();
        return row?.user_id ?? null;
      },
      async touch(idHash: string): Promise<void> {
        await db.updateTable('sessions').set({ last_seen_at: nowIso() }).where('id_hash', '=', idHash).execute();
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
        if (hashes.length > 0) await db.deleteFrom('sessions').where('id_hash', 'in', hashes).execute();
        return hashes;
      },
      /** Deletes every session of a user; returns their hashes. */
      async deleteAllOf(userId: string): Promise<string[]> {
        const rows = await db.deleteFrom('sessions').where('user_id', '=', userId).returning('id_hash').execute();
        return rows.map((r) => r.id_hash);
      },
    },

    settings: {
      async get(userId: string, key: string): Promise<string | null> {
        const row = await db
          .selectFrom('user_settings')
          .select('value')
          .where('user_id', '=', userId)
          .where('key', '=', key)
          .executeTakeFirst();
        return row?.value ?? null;
      },
      async set(userId: string, key: string, value: string): Promise<void> {
        await db
          .insertInto('user_settings')
          .values({ user_id: userId, key, value })
          .onConflict((oc) => oc.columns(['user_id', 'key']).doUpdateSet({ value }))
          .execute();
      },
    },

    tokens: {
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
        const row = await db
          .selectFrom('api_tokens as t')
          .innerJoin('users as u', 'u.id', 't.user_id')
          .select(['t.id', 't.user_id', 't.scopes'])
          .where('t.token_hash', '=', tokenHash)
          .where('t.revoked_at', 'is', null)
          .where('u.disabled_at', 'is', null)
          .executeTakeFirst();
        return row
          ? { id: row.id, userId: row.user_id, scopes: JSON.parse(row.scopes) as TokenScope[] }
          : null;
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
          UPDATE api_tokens SET revoked_at = ${nowIso()} WHERE id IN (SELECT id FROM tree) RETURNING id`.execute(db);
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
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
