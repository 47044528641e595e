/**
 * Chat room ids name what they belong to: `room_team_…` for a team's room, `room_inc_…` for an
 * incident's, so a room needs no row of its own.
 */
const ROOM_PREFIX = 'room_';

export const teamRoomId = (teamId: string) => `${ROOM_PREFIX}${teamId}`;

export const incidentRoomId = (incidentId: string) => `${ROOM_PREFIX}${incidentId}`;

/** The id of the team or incident a room belongs to; null when `roomId` is no room id. */
export function roomOwner(roomId: string): string | null {
  return roomId.startsWith(ROOM_PREFIX) ? roomId.slice(ROOM_PREFIX.length) : null;
}
