import type { inferRouterInputs } from '@trpc/server';
import type { AppRouter } from '../../src/server/router.ts';
import type { Team, User } from '../../src/shared/schemas/auth.ts';

/**
 * The people and teams a test works with, made by the admin through the API (`users.create`,
 * `teams.create`, `teams.addMember`) on a database that starts with the admin alone: no test
 * leans on the demo seed (only `smoke.test.ts` checks that seed itself).
 */

/** The password of every member a test creates (the admin's is `ADMIN_PASSWORD`). */
export const MEMBER_PASSWORD = 'member-password';

type CreateUserInput = inferRouterInputs<AppRouter>['users']['create'];

/** What creating people needs, whether through a server-side caller or an HTTP client. */
export interface PeopleAdmin {
  createUser(input: CreateUserInput): Promise<User>;
  createTeam(name: string): Promise<Team>;
  addMember(teamId: string, userId: string): Promise<User>;
}

/** A person to create: a username, or one with a display name. */
export type PersonSpec = string | { username: string; displayName?: string };

export interface TeamSpec {
  name: string;
  members: readonly PersonSpec[];
}

/** The on-call team most tests use: three members with full names. */
export const OPS: TeamSpec = {
  name: 'ops',
  members: [
    { username: 'alice', displayName: 'Alice Martin' },
    { username: 'bob', displayName: 'Bob Okafor' },
    { username: 'carol', displayName: 'Carol Nguyen' },
  ],
};

/** Three notifications for an inbox that is not empty when its owner first looks (`sendTo`). */
export const INBOX = [
  'Welcome to Pulse',
  'Disk usage above 80% on db-1',
  'Checkout latency p99 over 2 s',
] as const;

/** `spec` with only the named members (a test that needs fewer people). */
export function teamOf(spec: TeamSpec, ...usernames: string[]): TeamSpec {
  return { name: spec.name, members: spec.members.filter((m) => usernames.includes(nameOf(m))) };
}

const nameOf = (person: PersonSpec) => (typeof person === 'string' ? person : person.username);

export interface TeamWithMembers {
  team: Team;
  members: User[];
  /** A member by username (throws if the team has none by that name). */
  member(username: string): User;
}

/**
 * Creates the team and its members (a username already taken is added to the team instead),
 * each member with `MEMBER_PASSWORD`.
 */
export async function createTeamWithMembers(
  admin: PeopleAdmin,
  spec: TeamSpec,
  existing: readonly User[] = [],
): Promise<TeamWithMembers> {
  const team = await admin.createTeam(spec.name);
  const members: User[] = [];
  for (const person of spec.members) {
    const username = nameOf(person);
    const known = existing.find((u) => u.username === username);
    members.push(
      known
        ? await admin.addMember(team.id, known.id)
        : await admin.createUser({
            username,
            password: MEMBER_PASSWORD,
            ...(typeof person === 'string' ? {} : { displayName: person.displayName }),
            teamIds: [team.id],
          }),
    );
  }
  return {
    team,
    members,
    member(username) {
      const user = members.find((u) => u.username === username);
      if (!user) throw new Error(`team ${spec.name} has no member ${username}`);
      return user;
    },
  };
}

/** Creates every team in `specs` in order; a person named in two teams is one user in both. */
export async function createTeams(
  admin: PeopleAdmin,
  specs: readonly TeamSpec[],
): Promise<TeamWithMembers[]> {
  const made: TeamWithMembers[] = [];
  for (const spec of specs) {
    made.push(
      await createTeamWithMembers(
        admin,
        spec,
        made.flatMap((t) => t.members),
      ),
    );
  }
  return made;
}
