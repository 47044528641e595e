import type { User } from '../../../shared/schemas/auth.ts';
import { trpc } from '../../trpc.ts';
import { useAllUsers } from '../people/use-all-users.ts';
import { useNames } from '../people/use-names.ts';

/** Someone an incident may be assigned to. */
export interface Candidate {
  id: string;
  displayName: string;
}

export interface People {
  me: User;
  /** Who may take an incident of `teamId`: the team's members (and, as admins see them, admins). */
  candidates: (teamId: string) => Candidate[];
  teamName: (teamId: string) => string;
}

/** A name as incidents show it: "nobody" for no one, and "(you)" after the caller's own. */
export type IncidentNameOf = (userId: string | null) => string;

const byName = (a: Candidate, b: Candidate) => a.displayName.localeCompare(b.displayName);

/**
 * Who may be assigned, and team names. Admins read every user (`users.list`, page by page);
 * members read the people of their own teams (`teams.members`), which is everyone they may
 * assign an incident of those teams to.
 */
export function usePeople(me: User): People {
  const isAdmin = me.role === 'admin';
  const users = useAllUsers(isAdmin);
  const teams = trpc.teams.list.useQuery(undefined, { staleTime: 60_000 });
  const myTeams = isAdmin ? [] : me.teamIds;
  const teamPeople = trpc.useQueries((t) =>
    myTeams.map((teamId) => t.teams.members({ teamId }, { staleTime: 60_000 })),
  );

  const members = new Map<string, Candidate[]>();
  myTeams.forEach((teamId, i) => {
    const people = teamPeople[i]?.data ?? [];
    members.set(
      teamId,
      people.map((p) => ({ id: p.userId, displayName: p.displayName })),
    );
  });

  return {
    me,
    candidates: (teamId) =>
      (isAdmin
        ? users
            .filter((u) => u.role === 'admin' || u.teamIds.includes(teamId))
            .map((u) => ({ id: u.id, displayName: u.displayName }))
        : [...(members.get(teamId) ?? [])]
      ).sort(byName),
    teamName: (teamId) => teams.data?.find((t) => t.id === teamId)?.name ?? teamId,
  };
}

/** The names of `userIds` as incidents show them (see `useNames`, which fetches the unknown). */
export function useIncidentNames(
  me: User,
  userIds: readonly (string | null | undefined)[],
): IncidentNameOf {
  const name = useNames(userIds);
  return (userId) => {
    if (userId === null) return 'nobody';
    return userId === me.id ? `${name(userId)} (you)` : name(userId);
  };
}
