import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { User } from '../../../shared/schemas/auth.ts';
import {
  historyPageSchema,
  historySchema,
  messageSchema,
  onMessageSchema,
  personSchema,
  presenceSummarySchema,
  roomInputSchema,
  roomSchema,
  sendMessageSchema,
  setTypingSchema,
  type Message,
  type Person,
  type PresenceSummary,
  type Room,
} from '../../../shared/schemas/chat.ts';
import { pageInputSchema } from '../../../shared/schemas/common.ts';
import { incidentRoomId, roomOwner, teamRoomId } from '../../../shared/rooms.ts';
import type { Env } from '../../env.ts';
import { trackedFeed, valueFeed } from '../../platform/hub.ts';
import { pageOf, pageOrRefuse, unknownCursor } from '../../platform/paging.ts';
import type { RateLimiterFactory } from '../../platform/rate-limits.ts';
import { seesTeam, visibleOrNotFound, visibleTeams } from '../../platform/policy.ts';
import { authedProcedure } from '../../platform/trpc.ts';
import type { IncidentStore } from '../incidents/store.ts';
import type { TeamStore } from '../users/store.ts';
import { personOf, type ChatActions } from './actions.ts';
import type { ChatFeed } from './feed.ts';
import { messageSeq, type ChatStore } from './store.ts';

async function rateLimit(limiter: RateLimiterAbstract, userId: string, what: string) {
  try {
    await limiter.consume(userId);
  } catch {
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Too many ${what}; slow down` });
  }
}

export function createChatRouter(deps: {
  store: ChatStore;
  actions: ChatActions;
  feed: ChatFeed;
  /** What rooms belong to: teams and incidents. */
  teams: TeamStore;
  incidents: IncidentStore;
  /** Where sends and typing signals are counted: this instance, or all of them. */
  limiters: RateLimiterFactory;
  env: Pick<Env, 'PULSE_CHAT_SENDS_PER_10S'>;
}) {
  const { store, actions, feed, teams, incidents, limiters, env } = deps;
  // Per user: messages (`PULSE_CHAT_SENDS_PER_10S`) and typing signals.
  const sendLimit = limiters({
    name: 'chat-send',
    points: env.PULSE_CHAT_SENDS_PER_10S,
    duration: 10,
  });
  const typingLimit = limiters({ name: 'chat-typing', points: 60, duration: 10 });

  /** The room, when it exists and the user may enter it; NOT_FOUND otherwise, so rooms do not leak. */
  async function requireRoom(user: User, roomId: string): Promise<Room> {
    const owner = roomOwner(roomId);
    let room: Room | null = null;
    if (owner?.startsWith('team_')) {
      const team = await teams.byId(owner);
      if (team)
        room = {
          id: roomId,
          kind: 'team',
          teamId: team.id,
          incidentId: null,
          name: `#${team.name}`,
        };
    } else if (owner?.startsWith('inc_')) {
      const incident = await incidents.get(owner);
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
    return visibleOrNotFound(user, room, `No room '${roomId}'`);
  }

  return {
    // Each page reads only its own teams and incidents.
    rooms: authedProcedure
      .meta({
        description:
          "The rooms the caller may enter (their teams' rooms and those teams' incidents' rooms): team rooms by team name, then incident rooms newest first, a page at a time. Room ids are `room_<teamId>` and `room_<incidentId>`.",
      })
      .input(pageInputSchema.optional())
      .output(z.array(roomSchema))
      .query(async ({ ctx, input }) => {
        const { cursor, limit } = pageOf(input);
        const teamIds = visibleTeams(ctx.user);
        const owner = cursor === null ? null : roomOwner(cursor);
        const afterIncident = owner?.startsWith('inc_') ? owner : null;
        let afterTeam: string | null = null;
        if (owner?.startsWith('team_')) {
          const team = seesTeam(ctx.user, owner) ? await teams.byId(owner) : null;
          if (!team) throw unknownCursor(cursor);
          afterTeam = team.name;
        } else if (cursor !== null && afterIncident === null) {
          throw unknownCursor(cursor);
        }
        const rooms: Room[] = [];
        if (afterIncident === null) {
          for (const t of await teams.page(teamIds, afterTeam, limit)) {
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

    room: authedProcedure
      .meta({
        description:
          'One room the caller may enter (its name and what it belongs to), without listing them all. A room the caller may not enter answers `NOT_FOUND`, as an unknown one, so rooms do not leak.',
      })
      .input(roomInputSchema)
      .output(roomSchema)
      .query(({ ctx, input }) => requireRoom(ctx.user, input.roomId)),

    members: authedProcedure
      .meta({
        description:
          "Everyone who may read the room (its team's people), to show names and complete @mentions.",
      })
      .input(roomInputSchema)
      .output(z.array(personSchema))
      .query(async ({ ctx, input }) => {
        const room = await requireRoom(ctx.user, input.roomId);
        return teams.people(room.teamId);
      }),

    history: authedProcedure
      .meta({
        description:
          "A page of the room's messages, oldest first within the page, older than `cursor` (a message id; none: the newest). `nextCursor` is the cursor of the page before, null when nothing older is left; a cursor that is not a message id answers `BAD_REQUEST`.",
      })
      .input(historySchema)
      .output(historyPageSchema)
      .query(async ({ ctx, input }) => {
        await requireRoom(ctx.user, input.roomId);
        const cursor = input.cursor ?? input.before;
        const before = cursor ? messageSeq(cursor) : null;
        if (cursor && before === null) {
          throw new TRPCError({
            code: 'BAD_REQUEST',
            message: `'${cursor}' is not a message id`,
          });
        }
        const page = await store.history(input.roomId, before, input.limit);
        const oldest = page.items[0];
        return { items: page.items, nextCursor: page.hasMore && oldest ? oldest.id : null };
      }),

    send: authedProcedure
      .meta({
        description:
          'Sends a message to the room and answers it. Idempotent on `clientMessageId` per author: a retry answers the stored message and stores nothing new, and another user reusing the id gets `CONFLICT`. `@username` mentions notify that user. One user may send `PULSE_CHAT_SENDS_PER_10S` (20) messages per 10 s; the excess answers `TOO_MANY_REQUESTS` and is not stored (a retry of a stored message is not counted).',
      })
      .input(sendMessageSchema)
      .output(messageSchema)
      .mutation(async ({ ctx, input }) => {
        const { user } = ctx;
        const room = await requireRoom(user, input.roomId);
        // A retry of a stored send answers at once, without counting against the limit.
        const earlier = await store.existing(user.id, input.roomId, input.clientMessageId);
        if (earlier?.kind === 'existing') return earlier.message;
        if (earlier?.kind !== 'conflict') await rateLimit(sendLimit, user.id, 'messages');
        const result = await actions.send(room, user, input);
        if (result.kind === 'conflict') {
          throw new TRPCError({
            code: 'CONFLICT',
            message: `clientMessageId '${input.clientMessageId}' was already used for another message`,
          });
        }
        return result.message;
      }),

    onMessage: authedProcedure
      .meta({
        description:
          "The room's new messages, tracked by message id, in one order on every instance; it replays from `lastEventId` and resumes exactly as `notifications.onNotification` does. While it is open the caller is present in the room.",
        yields: messageSchema,
        tracked: true,
      })
      .input(onMessageSchema)
      .subscription(async ({ ctx, input }) => {
        await requireRoom(ctx.user, input.roomId);
        return trackedFeed<Message>(
          feed.messages(input.roomId, personOf(ctx.user), input.lastEventId),
        );
      }),

    setTyping: authedProcedure
      .meta({
        description:
          'Says the caller is typing in the room, or has stopped: `typing: true` shows them on `chat.onTyping` for 5 s (each one renews it), `typing: false` removes them at once. 60 per 10 s per user; the excess answers `TOO_MANY_REQUESTS`.',
      })
      .input(setTypingSchema)
      .output(z.object({ ok: z.literal(true) }))
      .mutation(async ({ ctx, input }) => {
        await requireRoom(ctx.user, input.roomId);
        await rateLimit(typingLimit, ctx.user.id, 'typing updates');
        await actions.setTyping(input.roomId, personOf(ctx.user), input.typing);
        return { ok: true as const };
      }),

    onTyping: authedProcedure
      .meta({
        description:
          'Who is typing in the room now, whole: at start and on every change, on every instance. Untracked: the list is the state.',
        yields: z.array(personSchema),
        tracked: false,
      })
      .input(roomInputSchema)
      .subscription(async ({ ctx, input }) => {
        await requireRoom(ctx.user, input.roomId);
        return valueFeed<Person[]>(feed.typing(input.roomId, personOf(ctx.user)));
      }),

    onPresence: authedProcedure
      .meta({
        description:
          'Everyone present in the room, whole: a user is present while at least one of their chat subscriptions to the room is open, counted once across tabs and instances, the caller included. At start and on every change; in a room of more than 100 people at most once per 100 ms (the latest state). A connection lost without a close leaves within 60 s. Untracked. Big rooms: `chat.onPresenceSummary` sends a bounded list.',
        yields: z.array(personSchema),
        tracked: false,
      })
      .input(roomInputSchema)
      .subscription(async ({ ctx, input }) => {
        await requireRoom(ctx.user, input.roomId);
        return valueFeed<Person[]>(feed.presence(input.roomId, personOf(ctx.user)));
      }),

    onPresenceSummary: authedProcedure
      .meta({
        description:
          'Who is present, for rooms of any size: everyone (`complete: true`) up to 100 people, else the first 20 by username and the count, the caller included. At start and on every change; in a room of more than 100 people at most once per 100 ms (the latest state). Untracked.',
        yields: presenceSummarySchema,
        tracked: false,
      })
      .input(roomInputSchema)
      .subscription(async ({ ctx, input }) => {
        await requireRoom(ctx.user, input.roomId);
        return valueFeed<PresenceSummary>(feed.presenceSummary(input.roomId, personOf(ctx.user)));
      }),
  } satisfies TRPCRouterRecord;
}
