import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  listNotificationsSchema,
  markReadSchema,
  notificationPageSchema,
  notificationSchema,
  onNotificationSchema,
  readStateEventSchema,
  sendNotificationSchema,
  type Notification,
  type ReadStateEvent,
  type Recipients,
} from '../../../shared/schemas/notifications.ts';
import { trackedFeed, valueFeed } from '../../platform/hub.ts';
import { adminProcedure, authedProcedure } from '../../platform/trpc.ts';
import type { TeamStore, UserStore } from '../users/store.ts';
import type { NotificationActions } from './actions.ts';
import type { NotificationFeed } from './feed.ts';
import type { Audience, NotificationStore } from './store.ts';

export function createNotificationsRouter(deps: {
  store: NotificationStore;
  actions: NotificationActions;
  feed: NotificationFeed;
  users: UserStore;
  teams: TeamStore;
}) {
  const { store, actions, feed, users, teams } = deps;

  async function resolveAudience(to: Recipients): Promise<Audience> {
    if ('all' in to) return { kind: 'all' };
    if ('teamId' in to || 'teamName' in to) {
      const team = 'teamId' in to ? await teams.byId(to.teamId) : await teams.byName(to.teamName);
      if (!team) {
        const name = 'teamId' in to ? to.teamId : to.teamName;
        throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${name}'` });
      }
      return { kind: 'team', teamId: team.id };
    }
    if ('usernames' in to) {
      const ids = await users.idsByUsernames(to.usernames);
      const unknown = to.usernames.find((name) => !ids.has(name));
      if (unknown !== undefined)
        throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${unknown}'` });
      return { kind: 'users', userIds: [...ids.values()] };
    }
    const known = await users.existingIds(to.userIds);
    const unknown = to.userIds.find((id) => !known.has(id));
    if (unknown !== undefined)
      throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${unknown}'` });
    return { kind: 'users', userIds: to.userIds };
  }

  return {
    list: authedProcedure
      .meta({
        description:
          "The caller's notifications, newest first, a page at a time: pass a page's `nextCursor` as `cursor` for the next; it is null on the last page.",
      })
      .input(listNotificationsSchema)
      .output(notificationPageSchema)
      .query(({ ctx, input }) => store.list(ctx.user.id, input)),

    unreadCount: authedProcedure
      .meta({ description: "How many of the caller's notifications are unread." })
      .output(z.number().int())
      .query(({ ctx }) => store.unreadCount(ctx.user.id)),

    markRead: authedProcedure
      .meta({
        description:
          "Marks one of the caller's notifications read and answers it; again changes nothing. The caller's other tabs and devices hear it on `notifications.onReadState`. Another user's notification answers `NOT_FOUND`, exactly as an unknown id does.",
      })
      .input(markReadSchema)
      .output(notificationSchema)
      .mutation(async ({ ctx, input }) => {
        const notification = await actions.markRead(ctx.user.id, input.id);
        // Someone else's notification answers exactly as an unknown one, so ids leak nothing.
        if (!notification)
          throw new TRPCError({ code: 'NOT_FOUND', message: `No notification '${input.id}'` });
        return notification;
      }),

    markAllRead: authedProcedure
      .meta({
        description:
          "Marks every notification of the caller read, and answers how many were unread; the caller's other tabs and devices hear it on `notifications.onReadState`.",
      })
      .output(z.object({ count: z.number().int() }))
      .mutation(async ({ ctx }) => ({ count: await actions.markAllRead(ctx.user.id) })),

    send: adminProcedure
      .meta({
        scope: 'notify',
        description:
          'Sends a notification (admins, and their tokens with scope `notify`) and answers how many people it reached. A team means the people who are its members now, everyone the users who exist now; unknown users or teams answer `NOT_FOUND` and store nothing. It is stored once, whatever the audience, and reaches every subscriber of `notifications.onNotification` on every instance.',
      })
      .input(sendNotificationSchema)
      .output(z.object({ count: z.number().int() }))
      .mutation(async ({ input }) => {
        const audience = await resolveAudience(input.to);
        const count = await actions.notify(audience, {
          title: input.title,
          body: input.body,
          severity: input.severity,
          link: input.link ?? null,
        });
        return { count };
      }),

    onNotification: authedProcedure
      .meta({
        description:
          "The caller's new notifications, each tracked by its id. With `lastEventId` (or SSE's `Last-Event-ID` on reconnect) it first replays, in order, every notification of the caller after that one, then goes live: no gap and no duplicate, across reconnects, restarts and instances. An id it cannot resume from (unknown, or not the caller's) ends the stream with `PRECONDITION_FAILED`: refetch, then subscribe afresh.",
        yields: notificationSchema,
        tracked: true,
      })
      .input(onNotificationSchema)
      .subscription(({ ctx, input }) =>
        trackedFeed<Notification>(feed.notifications(ctx.user, input?.lastEventId)),
      ),

    onReadState: authedProcedure
      .meta({
        description:
          'Read-state changes the caller makes on any tab or device, with the unread count after each. Untracked: a client refetches the count whenever the stream starts or restarts.',
        yields: readStateEventSchema,
        tracked: false,
      })
      .subscription(({ ctx }) => valueFeed<ReadStateEvent>(feed.readState(ctx.user.id))),
  } satisfies TRPCRouterRecord;
}
