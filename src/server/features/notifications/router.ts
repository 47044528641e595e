import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  inboxChangeSchema,
  listNotificationsSchema,
  markReadSchema,
  markSeenSchema,
  notificationIdsSchema,
  notificationPageSchema,
  notificationPreferencesSchema,
  notificationSchema,
  onInboxChangeSchema,
  onNotificationSchema,
  readStateEventSchema,
  sendNotificationSchema,
  snoozeSchema,
  triageResultSchema,
  type InboxChange,
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
          "The caller's notifications in inbox order (newest first; a notification whose snooze woke is listed as if it had just arrived), a page at a time: pass a page's `nextCursor` as `cursor` for the next; it is null on the last page, and paging is exact with any filters. By default the inbox: neither archived nor snoozed notifications. Filters combine; `grouped` collapses each `groupKey` into one entry (its newest notification, with `group`).",
      })
      .input(listNotificationsSchema)
      .output(notificationPageSchema)
      .query(({ ctx, input }) => store.list(ctx.user.id, input)),

    unreadCount: authedProcedure
      .meta({ description: "How many of the caller's notifications are unread." })
      .output(z.number().int())
      .query(({ ctx }) => store.unreadCount(ctx.user.id)),

    unseenCount: authedProcedure
      .meta({
        description:
          "The badge: how many notifications in the caller's inbox (neither archived nor snoozed) are unseen and not muted. While the caller is inside their quiet hours, the non-critical ones that arrived during them are not counted (they are once quiet hours end).",
      })
      .output(z.number().int())
      .query(({ ctx }) => store.unseenCount(ctx.user.id)),

    markSeen: authedProcedure
      .meta({
        description:
          "Marks `upTo` and every notification of the caller below it in inbox order seen (what an opened inbox showed), and answers how many that newly made seen; again changes nothing. Seen is not read. Another user's or an unknown id answers `NOT_FOUND`.",
      })
      .input(markSeenSchema)
      .output(z.object({ count: z.number().int() }))
      .mutation(async ({ ctx, input }) => ({
        count: await actions.markSeen(ctx.user.id, input.upTo),
      })),

    archive: authedProcedure
      .meta({
        description:
          "Archives the caller's notifications `ids` (1..100; a snoozed one stops being snoozed) and answers those it changed. Any id that is not the caller's answers `NOT_FOUND` and changes nothing.",
      })
      .input(notificationIdsSchema)
      .output(triageResultSchema)
      .mutation(async ({ ctx, input }) => ({
        notifications: await actions.archive(ctx.user.id, input.ids),
      })),

    unarchive: authedProcedure
      .meta({
        description:
          "Brings archived notifications of the caller back to the inbox, where they were, and answers those it changed. Any id that is not the caller's answers `NOT_FOUND` and changes nothing.",
      })
      .input(notificationIdsSchema)
      .output(triageResultSchema)
      .mutation(async ({ ctx, input }) => ({
        notifications: await actions.unarchive(ctx.user.id, input.ids),
      })),

    snooze: authedProcedure
      .meta({
        description:
          "Takes the caller's notifications `ids` out of the inbox (and the archive) until `until`, when they come back as new: unseen, unread, at the top of the inbox, announced on `notifications.onInboxChange` (kind `woken`) on every tab and device, after a restart too. `until` must be in the future and at most 90 days ahead. Any id that is not the caller's answers `NOT_FOUND` and changes nothing.",
      })
      .input(snoozeSchema)
      .output(triageResultSchema)
      .mutation(async ({ ctx, input }) => ({
        notifications: await actions.snooze(ctx.user.id, input.ids, new Date(input.until)),
      })),

    unsnooze: authedProcedure
      .meta({
        description:
          "Ends the snooze of the caller's notifications `ids` now: they are back in the inbox where they were (not as new). Answers those it changed. Any id that is not the caller's answers `NOT_FOUND` and changes nothing.",
      })
      .input(notificationIdsSchema)
      .output(triageResultSchema)
      .mutation(async ({ ctx, input }) => ({
        notifications: await actions.unsnooze(ctx.user.id, input.ids),
      })),

    preferences: authedProcedure
      .meta({
        description:
          "The caller's notification preferences (nothing muted, no quiet hours until set).",
      })
      .output(notificationPreferencesSchema)
      .query(({ ctx }) => store.preferences(ctx.user.id)),

    setPreferences: authedProcedure
      .meta({
        description:
          "Replaces the caller's notification preferences and answers them. Muted notifications (never critical ones) are stored and listed (`muted: true`) but not pushed on `notifications.onNotification` and not counted by `unseenCount`; quiet hours (a local time window in an IANA time zone, past midnight when `start` is after `end`) flag non-critical notifications arriving in them `quiet`. Announced on `notifications.onInboxChange` (kind `preferences`).",
      })
      .input(notificationPreferencesSchema)
      .output(notificationPreferencesSchema)
      .mutation(({ ctx, input }) => actions.setPreferences(ctx.user.id, input)),

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
          groupKey: input.groupKey ?? null,
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

    onInboxChange: authedProcedure
      .meta({
        description:
          "Every change of the caller's inbox, made on any tab or device or by a snooze waking: what changed, the changed notifications as they are now, and the unseen and unread counts after it. Tracked by change id (`inb_…`) and replayable from `lastEventId` like `onNotification`: a client resuming after a wake sees it exactly once. An id it cannot resume from ends the stream with `PRECONDITION_FAILED`.",
        yields: inboxChangeSchema,
        tracked: true,
      })
      .input(onInboxChangeSchema)
      .subscription(({ ctx, input }) =>
        trackedFeed<InboxChange>(feed.inboxChanges(ctx.user.id, input?.lastEventId)),
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
