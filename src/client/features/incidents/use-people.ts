import type { User } from '../../../shared/schemas/auth.ts';
import { trpc } from '../../trpc.ts';
import { useAllUsers } from '../people/use-all-users.ts';

/** Someone an incident may be assigned to. */
export interface Candidate {
  id: string;
  displayName: string;
}

export interface People {
  me: User;
  /** A user's display name; ids of users this user cannot know stay ids. */
  name: (userId: string | null) => string;
  /** Who may take an incident of `teamId`: the team's members (and, as admins see them, admins). */
  candidates: (teamId: string) => Candidate[];
  teamName: (teamId: string) => string;
}

const byName = (a: Candidate, b: Candidate) => a.displayName.localeCompare(b.displayName);

/**
 * Names for the ids incidents carry, and who may be assigned. Admins read every user
 * (`users.list`, page by page); members read the people of their own teams (`teams.members`),
 * which is everyone they may assign an incident of those teams to.
 */
export function usePeople(me: User): People {
  const isAdmin = me.role === 'admin';
  const users = useAllUsers(isAdmin);
  const teams = trpc.teams.list.useQuery(undefined, { staleTime: 60_000 });
  const myTeams = isAdmin ? [] : me.teamIds;
  const teamPeople = trpc.useQueries((t) =>
    myTeams.map((teamId) => t.teams.members({ teamId }, { staleTime: 60_000 })),
  );

  const names = new Map<string, string>(users.map((u) => [u.id, u.displayName]));
  const members = new Map<string, Candidate[]>();
  myTeams.forEach((teamId, i) => {
    const people = teamPeople[i]?.data ?? [];
    members.set(
      teamId,
      people.map((p) => ({ id: p.userId, displayName: p.displayName })),
    );
    for (const p of people) names.set(p.userId, p.displayName);
  });
  names.set(me.id, me.displayName);

  return {
    me,
    name: (userId) => {
      if (userId === null) return 'nobody';
      const name = names.get(userId);
      if (name === undefined) return userId;
      return userId === me.id ? `${name} (you)` : name;
    },
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
