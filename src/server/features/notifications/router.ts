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
import { notificationFeedSpec, readStateChannel } from './feed.ts';
import { notify } from './actions.ts';
import type { Services } from '../../services.ts';
import type { Audience } from './store.ts';
import { adminProcedure, authedProcedure } from '../../platform/trpc.ts';

async function resolveAudience(services: Services, to: Recipients): Promise<Audience> {
  const { users } = services;
  if ('all' in to) return { kind: 'all' };
  if ('teamId' in to || 'teamName' in to) {
    const team = 'teamId' in to ? await users.teams.byId(to.teamId) : await users.teams.byName(to.teamName);
    if (!team) {
      const name = 'teamId' in to ? to.teamId : to.teamName;
      throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${name}'` });
    }
    return { kind: 'team', teamId: team.id };
  }
  if ('usernames' in to) {
    const ids = await users.idsByUsernames(to.usernames);
    const unknown = to.usernames.find((name) => !ids.has(name));
    if (unknown !== undefined) throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${unknown}'` });
    return { kind: 'users', userIds: [...ids.values()] };
  }
  const known = await users.existingIds(to.userIds);
  const unknown = to.userIds.find((id) => !known.has(id));
  if (unknown !== undefined) throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${unknown}'` });
  return { kind: 'users', userIds: to.userIds };
}

async function announceReadState(services: Services, userId: string, event: ReadStateEvent) {
  await services.bus.publish('notifications.read', { userId, event });
}

export const notificationsRouter = {
  list: authedProcedure
    .input(listNotificationsSchema)
    .output(notificationPageSchema)
    .query(({ ctx, input }) => ctx.services.notifications.list(ctx.user.id, input)),

  unreadCount: authedProcedure
    .output(z.number().int())
    .query(({ ctx }) => ctx.services.notifications.unreadCount(ctx.user.id)),

  markRead: authedProcedure
    .input(markReadSchema)
    .output(notificationSchema)
    .mutation(async ({ ctx, input }) => {
      const { notifications } = ctx.services;
      const result = await notifications.markRead(ctx.user.id, input.id);
      // Someone else's notification answers exactly as an unknown one, so ids leak nothing.
      if (!result) throw new TRPCError({ code: 'NOT_FOUND', message: `No notification '${input.id}'` });
      if (result.changed) {
        await announceReadState(ctx.services, ctx.user.id, {
          kind: 'read',
          ids: [input.id],
          readAt: result.notification.readAt ?? new Date().toISOString(),
          unreadCount: await notifications.unreadCount(ctx.user.id),
        });
      }
      return result.notification;
    }),

  markAllRead: authedProcedure
    .output(z.object({ count: z.number().int() }))
    .mutation(async ({ ctx }) => {
      const { ids, readAt } = await ctx.services.notifications.markAllRead(ctx.user.id);
      if (ids.length > 0) {
        await announceReadState(ctx.services, ctx.user.id, { kind: 'all', ids, readAt, unreadCount: 0 });
      }
      return { count: ids.length };
    }),

  send: adminProcedure
    .meta({ scope: 'notify' })
    .input(sendNotificationSchema)
    .output(z.object({ count: z.number().int() }))
    .mutation(async ({ ctx, input }) => {
      const audience = await resolveAudience(ctx.services, input.to);
      const count = await notify(ctx.services, audience, {
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
  onNotification: authedProcedure.input(onNotificationSchema).subscription(({ ctx, input }) =>
    trackedFeed<Notification>(
      notificationFeedSpec(ctx.services.hub, ctx.services.notifications, ctx.user, input?.lastEventId),
    ),
  ),

  /** Read-state changes made on any of the caller's tabs or devices. */
  onReadState: authedProcedure.subscription(({ ctx }) =>
    valueFeed<ReadStateEvent>({ hub: ctx.services.hub, channel: readStateChannel(ctx.user.id) }),
  ),
} satisfies TRPCRouterRecord;
