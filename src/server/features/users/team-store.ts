import type { Db } from '../../platform/db.ts';
import { newId, nowIso } from '../../platform/ids.ts';

/** Teams and their members. All SQL for them lives here. */
export function createTeamStore(db: Db) {
  return {
    /** `null` when the name is taken (the unique name decides between concurrent creates). */
    async create(name: string): Promise<{ id: string; name: string } | null> {
      const team = { id: newId('team'), name };
      const inserted = await db
        .insertInto('teams')
        .values({ ...team, created_at: nowIso() })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning('id')
        .executeTakeFirst();
      return inserted ? team : null;
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
  };
}

export type TeamStore = ReturnType<typeof createTeamStore>;
