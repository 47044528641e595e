import { z } from 'zod';
import { notificationSchema, type Notification } from '../../../shared/schemas/notifications.ts';
import { consume, type EventBus } from '../../platform/bus.ts';
import { notificationSeq, type CreatedNotification, type NotificationStore } from './store.ts';
import {
  liveEvent,
  replayLog,
  type FeedSpec,
  type Hub,
  type LiveEvent,
} from '../../platform/hub.ts';
import { followLog } from '../../platform/log-follower.ts';

export const notificationChannel = (userId: string) => `notifications:${userId}`;
const readStateChannel = (userId: string) => `notifications.read:${userId}`;
const teamChannel = (teamId: string) => `notifications.team:${teamId}`;
const EVERYONE = 'notifications.all';

/** A notification as its announcement carries it (decision 0012): checked before it is used. */
const carriedSchema = z.object({
  seq: z.number().int().positive(),
  audience: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('users'), userIds: z.array(z.string()) }),
    z.object({ kind: z.literal('team'), teamId: z.string() }),
    z.object({ kind: z.literal('all') }),
  ]),
  notification: notificationSchema,
});

function carriedNotification(row: unknown): CreatedNotification | null {
  if (row === undefined) return null;
  const parsed = carriedSchema.safeParse(row);
  return parsed.success ? parsed.data : null;
}

/** Validated once, serialized once, whoever it goes to: live or replayed, the schema holds. */
function notificationEvent(notification: Notification): LiveEvent {
  const data = notificationSchema.parse(notification);
  return liveEvent(data, data.id, notificationSeq(data.id) ?? 0, Date.parse(data.createdAt));
}

/** Read-state changes re-read after a resync, per user: more is left to the client's next refetch. */
const RESYNC_READ_LIMIT = 1000;
/** Read times are stamped by the instance that wrote them: allow for clocks that differ. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * What `notifications.onNotification` and `onReadState` stream. Once started, it turns
 * "notifications up to seq N exist" announcements into per-user events: one read of the
 * database per announcement for this whole instance, not one per subscriber, and each
 * notification serialized once for all of its recipients.
 */
export function createNotificationFeed(deps: {
  bus: EventBus;
  hub: Hub;
  store: NotificationStore;
}) {
  const { bus, hub, store } = deps;
  /** Users with a read-state stream open here, and how many. */
  const watchingReadState = new Map<string, number>();

  /**
   * Read state is not in a log the bus can catch up on: after a resync, each user with a stream
   * open here gets one `read` event with what was read since the gap began (on any instance)
   * and their unread count now. Clients treat it as any other read event (idempotent).
   */
  async function resyncReadState(since: number, signal: AbortSignal): Promise<void> {
    const from = new Date(since - CLOCK_MARGIN_MS).toISOString();
    for (const userId of [...watchingReadState.keys()]) {
      if (signal.aborted) return;
      const { ids, readAt } = await store.readSince(userId, from, RESYNC_READ_LIMIT);
      if (ids.length === 0 || readAt === null) continue;
      const unreadCount = await store.unreadCount(userId);
      hub.dispatch(readStateChannel(userId), liveEvent({ kind: 'read', ids, readAt, unreadCount }));
    }
  }

  return {
    start(signal: AbortSignal): { ready: Promise<void> } {
      const follower = followLog({
        signal,
        what: 'notification',
        announcements: () => bus.subscribe('notifications.created', signal),
        start: () => store.maxSeq(),
        read: (after, limit) => store.since(after, limit),
        seqOf: (c) => c.seq,
        carried: ({ row }) => carriedNotification(row),
        onRow(c) {
          const event = notificationEvent(c.notification);
          hub.metrics.counts.published++;
          // One dispatch for a team or everyone: subscribers listen on those channels too.
          const { audience } = c;
          if (audience.kind === 'team') hub.dispatch(teamChannel(audience.teamId), event);
          else if (audience.kind === 'all') hub.dispatch(EVERYONE, event);
          else
            for (const userId of audience.userIds) hub.dispatch(notificationChannel(userId), event);
        },
      });
      consume({
        subscribe: () => bus.subscribe('notifications.read', signal),
        signal,
        what: 'read-state fan-out',
        handle: ({ userId, event }) => hub.dispatch(readStateChannel(userId), liveEvent(event)),
        resumed: (since) =>
          void resyncReadState(since, signal).catch((error: unknown) =>
            console.error('read-state fan-out could not catch up', error),
          ),
      });
      return { ready: follower.ready };
    },

    /** One user's new notifications, replayable from `lastEventId`. */
    notifications(
      user: { id: string; teamIds: string[] },
      lastEventId: string | null | undefined,
    ): FeedSpec {
      const userId = user.id;
      return {
        hub,
        channel: [notificationChannel(userId), ...user.teamIds.map(teamChannel), EVERYONE],
        lastEventId,
        replay: replayLog({
          seqOf: notificationSeq,
          mayResumeFrom: (seq) => store.isRecipient(userId, seq),
          after: (seq, limit) => store.after(userId, seq, limit),
          toEvent: notificationEvent,
        }),
      };
    },

    /** Read-state changes made on any of the user's tabs or devices. */
    readState(userId: string): FeedSpec {
      return {
        hub,
        channel: readStateChannel(userId),
        onOpen: () => watchingReadState.set(userId, (watchingReadState.get(userId) ?? 0) + 1),
        onClose() {
          const n = (watchingReadState.get(userId) ?? 1) - 1;
          if (n > 0) watchingReadState.set(userId, n);
          else watchingReadState.delete(userId);
        },
      };
    },
  };
}

export type NotificationFeed = ReturnType<typeof createNotificationFeed>;
