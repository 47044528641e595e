import type { User } from '../../../shared/schemas/auth.ts';
import { trpc } from '../../trpc.ts';

export interface People {
  me: User;
  /** A user's display name; ids of users this user cannot list stay ids. */
  name: (userId: string | null) => string;
  /** Who may take an incident of `teamId` (admins only know; members get themselves). */
  candidates: (teamId: string) => User[];
  teamName: (teamId: string) => string;
}

/**
 * Names for the ids incidents carry. Admins list every user; members cannot (`users.list` is
 * admin-only), so they know themselves by name and others by id.
 */
export function usePeople(me: User): People {
  const isAdmin = me.role === 'admin';
  const users = trpc.users.list.useQuery(undefined, { enabled: isAdmin, staleTime: 60_000 });
  const teams = trpc.teams.list.useQuery(undefined, { staleTime: 60_000 });
  const byId = new Map((users.data ?? []).map((u) => [u.id, u]));
  byId.set(me.id, me);
  return {
    me,
    name: (userId) => {
      if (userId === null) return 'nobody';
      const user = byId.get(userId);
      if (!user) return userId;
      return user.id === me.id ? `${user.displayName} (you)` : user.displayName;
    },
    candidates: (teamId) =>
      [...byId.values()]
        .filter((u) => u.role === 'admin' || u.teamIds.includes(teamId))
        .sort((a, b) => a.displayName.localeCompare(b.displayName)),
    teamName: (teamId) => teams.data?.find((t) => t.id === teamId)?.name ?? teamId,
  };
}
