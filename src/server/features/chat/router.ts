import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import type { User } from '../../../shared/schemas/auth.ts';
import {
  historyPageSchema,
  historySchema,
  messageSchema,
  onMessageSchema,
  personSchema,
  roomInputSchema,
  roomSchema,
  sendMessageSchema,
  setTypingSchema,
  type Message,
  type Person,
  type Room,
} from '../../../shared/schemas/chat.ts';
import { pageInputSchema } from '../../../shared/schemas/common.ts';
import { trackedFeed, valueFeed } from '../../platform/hub.ts';
import { notify } from '../notifications/actions.ts';
import { pageOf, pageOrRefuse, unknownCursor } from '../../platform/paging.ts';
import type { Services } from '../../services.ts';
import { messageSeq } from './store.ts';
import { authedProcedure } from '../../platform/trpc.ts';

/** Room ids name what they belong to: `room_team_…` for a team, `room_inc_…` for an incident. */
const ROOM_PREFIX = 'room_';
export const teamRoomId = (teamId: string) => `${ROOM_PREFIX}${teamId}`;
export const incidentRoomId = (incidentId: string) => `${ROOM_PREFIX}${incidentId}`;

const person = (user: User): Person => ({
  userId: user.id,
  username: user.username,
  displayName: user.displayName,
});
const canEnter = (user: User, teamId: string) =>
  user.role === 'admin' || user.teamIds.includes(teamId);

/** The room, when it exists and the user may enter it; NOT_FOUND otherwise, so rooms do not leak. */
async function requireRoom(services: Services, user: User, roomId: string): Promise<Room> {
  const notFound = () => new TRPCError({ code: 'NOT_FOUND', message: `No room '${roomId}'` });
  if (!roomId.startsWith(ROOM_PREFIX)) throw notFound();
  const owner = roomId.slice(ROOM_PREFIX.length);
  let room: Room | null = null;
  if (owner.startsWith('team_')) {
    const team = await services.users.teams.byId(owner);
    if (team)
      room = { id: roomId, kind: 'team', teamId: team.id, incidentId: null, name: `#${team.name}` };
  } else if (owner.startsWith('inc_')) {
    const incident = await services.incidents.get(owner);
    if (incident) {
      room = {
        id: roomId,
        kind: 'incident',
        teamId: incident.teamId,
        incidentId: incident.id,
        name: incident.title,
      };
    }
  }
  if (!room || !canEnter(user, room.teamId)) throw notFound();
  return room;
}

/** Users named `@username` in the text who may read the room, besides the author. */
async function mentioned(
  services: Services,
  text: string,
  room: Room,
  authorId: string,
): Promise<string[]> {
  const names = [
    ...new Set([...text.matchAll(/(?:^|[^\w@])@([a-z0-9_.-]{1,40})/g)].map((m) => m[1] ?? '')),
  ];
  if (names.length === 0) return [];
  const ids = await services.users.idsByUsernames(names);
  const users = await Promise.all([...ids.values()].map((id) => services.users.byId(id)));
  return users
    .filter((u): u is User => u !== null && u.id !== authorId && canEnter(u, room.teamId))
    .map((u) => u.id);
}

async function rateLimit(limiter: Services['chatLimits']['send'], userId: string, what: string) {
  try {
    await limiter.consume(userId);
  } catch {
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Too many ${what}; slow down` });
  }
}

export const chatRouter = {
  /**
   * The rooms the caller may enter, a page at a time: team rooms by team name, then incident
   * rooms newest first (`cursor`: the last room of the previous page). Each page reads only
   * its own teams and incidents.
   */
  rooms: authedProcedure
    .input(pageInputSchema.optional())
    .output(z.array(roomSchema))
    .query(async ({ ctx, input }) => {
      const { users, incidents } = ctx.services;
      const { cursor, limit } = pageOf(input);
      const teamIds = ctx.user.role === 'admin' ? null : ctx.user.teamIds;
      const owner = cursor?.startsWith(ROOM_PREFIX) ? cursor.slice(ROOM_PREFIX.length) : null;
      const afterIncident = owner?.startsWith('inc_') ? owner : null;
      let afterTeam: string | null = null;
      if (owner?.startsWith('team_')) {
        const team = canEnter(ctx.user, owner) ? await users.teams.byId(owner) : null;
        if (!team) throw unknownCursor(cursor);
        afterTeam = team.name;
      } else if (cursor !== null && afterIncident === null) {
        throw unknownCursor(cursor);
      }
      const rooms: Room[] = [];
      if (afterIncident === null) {
        for (const t of await users.teams.page(teamIds, afterTeam, limit)) {
          rooms.push({
            id: teamRoomId(t.id),
            kind: 'team',
            teamId: t.id,
            incidentId: null,
            name: `#${t.name}`,
          });
        }
      }
      if (rooms.length === limit) return rooms;
      const page = { cursor: afterIncident, limit: limit - rooms.length };
      for (const i of await pageOrRefuse(cursor, incidents.list(teamIds, page))) {
        rooms.push({
          id: incidentRoomId(i.id),
          kind: 'incident',
          teamId: i.teamId,
          incidentId: i.id,
          name: i.title,
        });
      }
      return rooms;
    }),

  /** One room the caller may enter (its name and what it belongs to), without listing them all. */
  room: authedProcedure
    .input(roomInputSchema)
    .output(roomSchema)
    .query(({ ctx, input }) => requireRoom(ctx.services, ctx.user, input.roomId)),

  /** Everyone who may read the room (its team), to show names and complete @mentions. */
  members: authedProcedure
    .input(roomInputSchema)
    .output(z.array(personSchema))
    .query(async ({ ctx, input }) => {
      const room = await requireRoom(ctx.services, ctx.user, input.roomId);
      return ctx.services.users.teams.people(room.teamId);
    }),

  history: authedProcedure
    .input(historySchema)
    .output(historyPageSchema)
    .query(async ({ ctx, input }) => {
      await requireRoom(ctx.services, ctx.user, input.roomId);
      const cursor = input.cursor ?? input.before;
      const before = cursor ? messageSeq(cursor) : null;
      if (cursor && before === null) {
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: `'${cursor}' is not a message id`,
        });
      }
      const page = await ctx.services.chat.history(input.roomId, before, input.limit);
      const oldest = page.items[0];
      return { items: page.items, nextCursor: page.hasMore && oldest ? oldest.id : null };
    }),

  send: authedProcedure
    .input(sendMessageSchema)
    .output(messageSchema)
    .mutation(async ({ ctx, input }) => {
      const { services, user } = ctx;
      const room = await requireRoom(services, user, input.roomId);
      // A retry of a stored send answers at once, without counting against the limit.
      const earlier = await services.chat.existing(user.id, input.roomId, input.clientMessageId);
      if (earlier?.kind === 'existing') return earlier.message;
      if (earlier?.kind !== 'conflict')
        await rateLimit(services.chatLimits.send, user.id, 'messages');
      const result = await services.chat.send({ ...input, authorId: user.id });
      if (result.kind === 'conflict') {
        throw new TRPCError({
          code: 'CONFLICT',
          message: `clientMessageId '${input.clientMessageId}' was already used for another message`,
        });
      }
      if (result.kind === 'created') {
        await services.bus.publish('chat.messages', { seq: result.seq });
        await services.chatFanout.setTyping(input.roomId, person(user), false);
        const targets = await mentioned(services, input.text, room, user.id);
        await notify(
          services,
          { kind: 'users', userIds: targets },
          {
            title: `${user.displayName} mentioned you in ${room.name}`,
            body: input.text.length > 300 ? `${input.text.slice(0, 300)}…` : input.text,
            severity: 'info',
            link: room.incidentId ? `/incidents/${room.incidentId}` : `/chat/${room.id}`,
          },
        );
      }
      return result.message;
    }),

  /** The room's new messages, replayable from `lastEventId` like notifications. */
  onMessage: authedProcedure.input(onMessageSchema).subscription(async ({ ctx, input }) => {
    await requireRoom(ctx.services, ctx.user, input.roomId);
    return trackedFeed<Message>(
      ctx.services.chatFanout.messages(input.roomId, person(ctx.user), input.lastEventId),
    );
  }),

  setTyping: authedProcedure
    .input(setTypingSchema)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await requireRoom(ctx.services, ctx.user, input.roomId);
      await rateLimit(ctx.services.chatLimits.typing, ctx.user.id, 'typing updates');
      await ctx.services.chatFanout.setTyping(input.roomId, person(ctx.user), input.typing);
      return { ok: true as const };
    }),

  /** Who is typing now: at start and on every change. */
  onTyping: authedProcedure.input(roomInputSchema).subscription(async ({ ctx, input }) => {
    await requireRoom(ctx.services, ctx.user, input.roomId);
    return valueFeed<Person[]>(ctx.services.chatFanout.typing(input.roomId, person(ctx.user)));
  }),

  /** Who is here now (any open chat subscription to the room, counted once): at start and on every change. */
  onPresence: authedProcedure.input(roomInputSchema).subscription(async ({ ctx, input }) => {
    await requireRoom(ctx.services, ctx.user, input.roomId);
    return valueFeed<Person[]>(ctx.services.chatFanout.presence(input.roomId, person(ctx.user)));
  }),
} satisfies TRPCRouterRecord;
