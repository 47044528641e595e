import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  listNotificationsSchema,
  markReadSchema,
  notificationPageSchema,
  notificationSchema,
  onNotificationSchema,
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
      .input(listNotificationsSchema)
      .output(notificationPageSchema)
      .query(({ ctx, input }) => store.list(ctx.user.id, input)),

    unreadCount: authedProcedure
      .output(z.number().int())
      .query(({ ctx }) => store.unreadCount(ctx.user.id)),

    markRead: authedProcedure
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
      .output(z.object({ count: z.number().int() }))
      .mutation(async ({ ctx }) => ({ count: await actions.markAllRead(ctx.user.id) })),

    send: adminProcedure
      .meta({ scope: 'notify' })
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

    /**
     * The caller's new notifications, replayable: with `lastEventId` (or SSE `Last-Event-ID`) it
     * first sends everything after that id, then goes live, with no gap and no duplicate.
     */
    onNotification: authedProcedure
      .input(onNotificationSchema)
      .subscription(({ ctx, input }) =>
        trackedFeed<Notification>(feed.notifications(ctx.user, input?.lastEventId)),
      ),

    /** Read-state changes made on any of the caller's tabs or devices. */
    onReadState: authedProcedure.subscription(({ ctx }) =>
      valueFeed<ReadStateEvent>(feed.readState(ctx.user.id)),
    ),
  } satisfies TRPCRouterRecord;
}
