import type { Notification } from '../../../shared/schemas/notifications.ts';
import type { EventBus } from '../../platform/bus.ts';
import type { Audience, NewNotification, NotificationStore } from './store.ts';

/** Recipients a notification's announcement may name; one for more people is read back. */
const CARRIED_USERS = 100;

/** Making notifications and marking them read: each is stored, then announced on the bus. */
export function createNotificationActions(deps: { store: NotificationStore; bus: EventBus }) {
  const { store, bus } = deps;
  return {
    /** Stores one notification for its audience and announces it; the only way notifications are made. */
    async notify(audience: Audience, content: NewNotification): Promise<number> {
      if (audience.kind === 'users' && audience.userIds.length === 0) return 0;
      const { count, ...row } = await store.create(content, audience);
      // The row travels with its announcement, unless its list of people makes it large.
      const small = row.audience.kind !== 'users' || row.audience.userIds.length <= CARRIED_USERS;
      await bus.publish('notifications.created', small ? { seq: row.seq, row } : { seq: row.seq });
      return count;
    },

    /**
     * Marks one of the user's notifications read, announcing it to their other tabs and devices
     * when that changed anything; null when it is none of theirs.
     */
    async markRead(userId: string, id: string): Promise<Notification | null> {
      const result = await store.markRead(userId, id);
      if (!result) return null;
      if (result.changed) {
        await bus.publish('notifications.read', {
          userId,
          event: {
            kind: 'read',
            ids: [id],
            readAt: result.notification.readAt ?? new Date().toISOString(),
            unreadCount: await store.unreadCount(userId),
          },
        });
      }
      return result.notification;
    },

    /** Marks all of the user's notifications read, announcing it; returns how many were unread. */
    async markAllRead(userId: string): Promise<number> {
      const { ids, readAt } = await store.markAllRead(userId);
      if (ids.length > 0) {
        await bus.publish('notifications.read', {
          userId,
          event: { kind: 'all', ids, readAt, unreadCount: 0 },
        });
      }
      return ids.length;
    },
  };
}

export type NotificationActions = ReturnType<typeof createNotificationActions>;
