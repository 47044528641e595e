import type { Role, User } from '../../../shared/schemas/auth.ts';
import { preparedQuery, type Db } from '../../platform/db.ts';
import { newId, nowIso } from '../../platform/ids.ts';

export interface NewUser {
  username: string;
  passwordHash: string;
  displayName: string;
  role: Role;
  teamIds: string[];
}

/** Users (with the ids of their teams). All SQL for them lives here. */
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

  // Every signed-in request runs it (who is calling): one query, compiled once.
  const userWithTeams = preparedQuery<[id: string], UserRow & { team_id: string | null }>(
    db,
    1,
    (id) =>
      db
        .selectFrom('users as u')
        .leftJoin('team_members as m', 'm.user_id', 'u.id')
        .select(['u.id', 'u.username', 'u.display_name', 'u.role', 'm.team_id'])
        .where('u.id', '=', id)
        .orderBy('m.team_id'),
  );

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
        // A concurrent create of the same name may commit after the check (PostgreSQL runs
        // writers side by side): the unique username decides, and the loser stores nothing.
        const inserted = await tx
          .insertInto('users')
          .values({
            id,
            username: input.username,
            display_name: input.displayName,
            role: input.role,
            password_hash: input.passwordHash,
            created_at: nowIso(),
          })
          .onConflict((oc) => oc.column('username').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) return null;
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
      const rows = await userWithTeams(id);
      const [first] = rows;
      if (!first) return null;
      return {
        id: first.id,
        username: first.username,
        displayName: first.display_name,
        role: first.role,
        teamIds: rows.flatMap((r) => (r.team_id === null ? [] : [r.team_id])),
      };
    },

    /** Who a user id is, for showing them by name; `null` when no user has it. */
    async person(
      id: string,
    ): Promise<{ userId: string; username: string; displayName: string } | null> {
      const row = await db
        .selectFrom('users')
        .select(['id', 'username', 'display_name'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? { userId: row.id, username: row.username, displayName: row.display_name } : null;
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
      const row = await db
        .selectFrom('users')
        .select('disabled_at')
        .where('id', '=', id)
        .executeTakeFirst();
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
  };
}

export type UserStore = ReturnType<typeof createUserStore>;

// The feature's other stores, which other features reach through this file, its public face.
export type { SettingsStore } from './settings-store.ts';
export type { TeamStore } from './team-store.ts';
