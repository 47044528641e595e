import { TRPCError } from '@trpc/server';
import { notificationSchema } from '../../shared/schemas/notifications.ts';
import type { EventBus } from '../bus.ts';
import { notificationSeq, type NotificationStore } from '../store/notifications.ts';
import { liveEvent, type FeedSpec, type Hub, type LiveEvent } from './hub.ts';
import { followLog } from './log-follower.ts';

export const notificationChannel = (userId: string) => `notifications:${userId}`;
export const readStateChannel = (userId: string) => `notifications.read:${userId}`;

/**
 * Turns "notifications up to seq N exist" announcements into per-user events: one read of the
 * database per announcement for this whole instance, not one per subscriber, and each
 * notification serialized once for all of its recipients.
 */
export function startNotificationFanout(opts: {
  bus: EventBus;
  hub: Hub;
  store: NotificationStore;
  signal: AbortSignal;
}) {
  const { bus, hub, store, signal } = opts;
  const follower = followLog({
    signal,
    what: 'notification',
    announcements: bus.subscribe('notifications.created', signal),
    start: () => store.maxSeq(),
    read: (after, limit) => store.since(after, limit),
    seqOf: (c) => c.seq,
    onRow(c) {
      // Validated once here, so what every subscriber receives is what the schema says.
      const data = notificationSchema.parse(c.notification);
      const event = liveEvent(data, data.id, c.seq, Date.parse(data.createdAt));
      hub.metrics.counts.published++;
      for (const userId of c.recipientIds) hub.dispatch(notificationChannel(userId), event);
    },
  });
  void (async () => {
    for await (const { userId, event } of bus.subscribe('notifications.read', signal)) {
      hub.dispatch(readStateChannel(userId), liveEvent(event));
    }
  })();
  const { ready } = follower;

  return { ready };
}

/** What `notifications.onNotification` streams for one user. */
export function notificationFeedSpec(
  hub: Hub,
  store: NotificationStore,
  userId: string,
  lastEventId: string | null | undefined,
): FeedSpec {
  return {
    hub,
    channel: notificationChannel(userId),
    lastEventId,
    replay: {
      async resolve(id) {
        const seq = notificationSeq(id);
        if (seq === null || !(await store.isRecipient(userId, seq))) {
          throw new TRPCError({
            code: 'PRECONDITION_FAILED',
            message: `Cannot resume from '${id}': refetch and subscribe afresh`,
          });
        }
        return seq;
      },
      async after(seq, limit): Promise<LiveEvent[]> {
        const rows = await store.after(userId, seq, limit);
        return rows.map((row) => {
          const n = notificationSchema.parse(row);
          return liveEvent(n, n.id, notificationSeq(n.id) ?? 0, Date.parse(n.createdAt));
        });
      },
    },
  };
}
