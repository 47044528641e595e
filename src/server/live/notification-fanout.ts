import { TRPCError } from '@trpc/server';
import { notificationSchema } from '../../shared/schemas/notifications.ts';
import type { EventBus } from '../bus.ts';
import { notificationSeq, type NotificationStore } from '../store/notifications.ts';
import { liveEvent, type FeedSpec, type Hub, type LiveEvent } from './hub.ts';

export const notificationChannel = (userId: string) => `notifications:${userId}`;
export const readStateChannel = (userId: string) => `notifications.read:${userId}`;

const FETCH_PAGE = 1000;

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
  let cursor = 0;
  let wanted = 0;
  let running: Promise<void> | null = null;

  async function drain(): Promise<void> {
    while (cursor < wanted && !signal.aborted) {
      const created = await store.since(cursor, FETCH_PAGE);
      if (created.length === 0) break;
      for (const c of created) {
        // Validated once here, so what every subscriber receives is what the schema says.
        const data = notificationSchema.parse(c.notification);
        const event = liveEvent(data, data.id, c.seq, Date.parse(data.createdAt));
        hub.metrics.counts.published++;
        for (const userId of c.recipientIds) hub.dispatch(notificationChannel(userId), event);
        cursor = c.seq;
      }
    }
  }

  function pump(): void {
    running ??= drain()
      .catch((error: unknown) => console.error('notification fan-out failed', error))
      .finally(() => {
        running = null;
        if (cursor < wanted && !signal.aborted) pump();
      });
  }

  const ready = (async () => {
    const created = bus.subscribe('notifications.created', signal);
    const read = bus.subscribe('notifications.read', signal);
    cursor = await store.maxSeq();
    wanted = cursor;
    void (async () => {
      for await (const { seq } of created) {
        wanted = Math.max(wanted, seq);
        pump();
      }
    })();
    void (async () => {
      for await (const { userId, event } of read) {
        hub.dispatch(readStateChannel(userId), liveEvent(event));
      }
    })();
  })();

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
