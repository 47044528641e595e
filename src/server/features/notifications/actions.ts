import { TRPCError } from '@trpc/server';
import type {
  Notification,
  NotificationPreferences,
} from '../../../shared/schemas/notifications.ts';
import type { EventBus } from '../../platform/bus.ts';
import type { InboxStore, StoredChange, Triaged } from './inbox-store.ts';
import type { Audience, NewNotification, NotificationStore } from './store.ts';

/** Recipients a notification's announcement may name; one for more people is read back. */
const CARRIED_USERS = 100;
/** Inbox changes larger than this (as JSON) are announced without their row, and read back. */
const CARRIED_CHANGE_CHARS = 64 * 1024;

/** The answer for an id that is none of the caller's: the same whether it exists or not. */
const noNotification = (id: string) =>
  new TRPCError({ code: 'NOT_FOUND', message: `No notification '${id}'` });

function settled<T>(triaged: Triaged<T>): { value: T; change: StoredChange | null } {
  if (!triaged.ok) throw noNotification(triaged.missing);
  return triaged;
}

/**
 * Making notifications and triaging them: each is stored, then announced on the bus (inbox
 * changes to every tab and device of their user, on every instance).
 */
export function createNotificationActions(deps: {
  store: NotificationStore;
  inbox: InboxStore;
  bus: EventBus;
}) {
  const { store, inbox, bus } = deps;

  async function announce(change: StoredChange | null): Promise<void> {
    if (!change) return;
    const small = JSON.stringify(change.change).length <= CARRIED_CHANGE_CHARS;
    await bus.publish(
      'notifications.inbox',
      small ? { seq: change.seq, row: change } : { seq: change.seq },
    );
  }

  async function triaged<T>(result: Promise<Triaged<T>>): Promise<T> {
    const { value, change } = settled(await result);
    await announce(change);
    return value;
  }

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
      const result = await inbox.markRead(userId, id);
      if (!result.ok) return null;
      const { value, change } = result;
      if (change) {
        await bus.publish('notifications.read', {
          userId,
          event: {
            kind: 'read',
            ids: [id],
            readAt: value.notification.readAt ?? change.change.at,
            unreadCount: change.change.unreadCount,
          },
        });
        await announce(change);
      }
      return value.notification;
    },

    /** Marks all of the user's notifications read, announcing it; returns how many were unread. */
    async markAllRead(userId: string): Promise<number> {
      const { ids, readAt, change } = await inbox.markAllRead(userId);
      if (ids.length > 0) {
        await bus.publish('notifications.read', {
          userId,
          event: { kind: 'all', ids, readAt, unreadCount: 0 },
        });
        await announce(change);
      }
      return ids.length;
    },

    /** Marks `upTo` and everything below it in the user's inbox seen; how many that was. */
    markSeen: (userId: string, upTo: string): Promise<number> =>
      triaged(inbox.markSeen(userId, upTo)),

    archive: (userId: string, ids: string[]): Promise<Notification[]> =>
      triaged(inbox.archive(userId, ids)),

    unarchive: (userId: string, ids: string[]): Promise<Notification[]> =>
      triaged(inbox.unarchive(userId, ids)),

    snooze: (userId: string, ids: string[], until: Date): Promise<Notification[]> =>
      triaged(inbox.snooze(userId, ids, until.toISOString())),

    unsnooze: (userId: string, ids: string[]): Promise<Notification[]> =>
      triaged(inbox.unsnooze(userId, ids)),

    async setPreferences(
      userId: string,
      preferences: NotificationPreferences,
    ): Promise<NotificationPreferences> {
      const normalized: NotificationPreferences = {
        mutedSeverities: [...new Set(preferences.mutedSeverities)],
        mutedTeamIds: [...new Set(preferences.mutedTeamIds)],
        mutedGroupKeys: [...new Set(preferences.mutedGroupKeys)],
        quietHours: preferences.quietHours,
      };
      await announce(await inbox.setPreferences(userId, normalized));
      return normalized;
    },

    /**
     * Wakes every snooze due now, announcing each user's `woken` change; another instance may
     * wake some of them first (each wakes once). Returns how many users' snoozes this one woke.
     */
    async wakeDue(): Promise<number> {
      const now = new Date().toISOString();
      let woken = 0;
      for (;;) {
        const users = await inbox.dueUsers(now, 100);
        for (const userId of users) {
          const change = await inbox.wake(userId, now);
          if (change) woken++;
          await announce(change);
        }
        if (users.length < 100) return woken;
      }
    },
  };
}

export type NotificationActions = ReturnType<typeof createNotificationActions>;
