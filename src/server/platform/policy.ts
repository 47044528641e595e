import { TRPCError } from '@trpc/server';
import type { User } from '../../shared/schemas/auth.ts';

/**
 * Team scope, the one visibility rule of incidents, alert rules, chat rooms and teams: an admin
 * sees every team's, a member their own teams'. What is out of scope answers exactly as what
 * does not exist (NOT_FOUND), so that existence does not leak.
 */
type Member = Pick<User, 'role' | 'teamIds'>;

/** The teams whose things the user may see, as list queries filter by: null means all (admins). */
export const visibleTeams = (user: Member): string[] | null =>
  user.role === 'admin' ? null : user.teamIds;

/** Whether the user may see what belongs to `teamId`. */
export const seesTeam = (user: Member, teamId: string): boolean =>
  user.role === 'admin' || user.teamIds.includes(teamId);

/** `found` when it exists and its team is in the user's scope; NOT_FOUND with `message` otherwise. */
export function visibleOrNotFound<T extends { teamId: string }>(
  user: Member,
  found: T | null,
  message: string,
): T {
  if (!found || !seesTeam(user, found.teamId)) throw new TRPCError({ code: 'NOT_FOUND', message });
  return found;
}

/** The team, when it exists and is in the user's scope (looked up only then); NOT_FOUND otherwise. */
export async function requireVisibleTeam<T>(
  teams: { byId(id: string): Promise<T | null> },
  user: Member,
  teamId: string,
): Promise<T> {
  const team = seesTeam(user, teamId) ? await teams.byId(teamId) : null;
  if (!team) throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${teamId}'` });
  return team;
}
