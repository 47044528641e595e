import { notificationSchema, type Notification } from '../../../shared/schemas/notifications.ts';
import { consume, type EventBus } from '../../platform/bus.ts';
import { notificationSeq, type NotificationStore } from './store.ts';
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

/** Validated once, serialized once, whoever it goes to: live or replayed, the schema holds. */
function notificationEvent(notification: Notification): LiveEvent {
  const data = notificationSchema.parse(notification);
  return liveEvent(data, data.id, notificationSeq(data.id) ?? 0, Date.parse(data.createdAt));
}

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
  return {
    start(signal: AbortSignal): { ready: Promise<void> } {
      const follower = followLog({
        signal,
        what: 'notification',
        announcements: () => bus.subscribe('notifications.created', signal),
        start: () => store.maxSeq(),
        read: (after, limit) => store.since(after, limit),
        seqOf: (c) => c.seq,
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
      return { hub, channel: readStateChannel(userId) };
    },
  };
}

export type NotificationFeed = ReturnType<typeof createNotificationFeed>;
