import { z } from 'zod';
import {
  inboxChangeSchema,
  notificationSchema,
  type Notification,
  type NotificationPreferences,
} from '../../../shared/schemas/notifications.ts';
import { consume, type EventBus } from '../../platform/bus.ts';
import {
  inboxChangeId,
  inboxChangeSeq,
  type InboxStore,
  type StoredChange,
} from './inbox-store.ts';
import { isQuietAt } from '../../../shared/quiet-hours.ts';
import { isMuted } from './preferences.ts';
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
const inboxChannel = (userId: string) => `notifications.inbox:${userId}`;

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

const storedChangeSchema = z.object({
  seq: z.number().int().positive(),
  userId: z.string(),
  change: inboxChangeSchema,
});

function carriedChange(row: unknown): StoredChange | null {
  if (row === undefined) return null;
  const parsed = storedChangeSchema.safeParse(row);
  return parsed.success ? parsed.data : null;
}

function inboxEvent(c: StoredChange): LiveEvent {
  const data = inboxChangeSchema.parse(c.change);
  return liveEvent(data, inboxChangeId(c.seq), c.seq, Date.parse(data.at));
}

/** Preferences that change nothing of what is delivered (no mute, no quiet hours) as null. */
function inEffect(prefs: NotificationPreferences): NotificationPreferences | null {
  const inert =
    prefs.quietHours === null &&
    prefs.mutedSeverities.length === 0 &&
    prefs.mutedTeamIds.length === 0 &&
    prefs.mutedGroupKeys.length === 0;
  return inert ? null : prefs;
}

/** Each event's variant flagged `quiet`, made once for all the subscribers who get it. */
const quietVariants = new WeakMap<LiveEvent, LiveEvent>();

/**
 * What one recipient gets of a notification event: nothing when their preferences mute it, and
 * a variant flagged `quiet` when it arrived during their quiet hours (not critical). Replayed
 * notifications come flagged for their recipient already.
 */
function forRecipient(prefs: NotificationPreferences | null, event: LiveEvent): LiveEvent | null {
  if (prefs === null) return event;
  const n = event.data as Notification;
  if (n.muted || isMuted(n, prefs)) return null;
  if (n.quiet || n.severity === 'critical') return event;
  if (!isQuietAt(Date.parse(n.createdAt), prefs.quietHours)) return event;
  let variant = quietVariants.get(event);
  if (!variant) {
    variant = liveEvent({ ...n, quiet: true }, event.id, event.seq, event.at);
    quietVariants.set(event, variant);
  }
  return variant;
}

/** The preferences of a user with notification streams open here, kept current by the inbox log. */
interface WatchedPreferences {
  streams: number;
  /** Null while unknown, and for preferences that change nothing (delivered as is). */
  prefs: NotificationPreferences | null;
  /** Bumped by each change heard: a load that started before it does not overwrite it. */
  version: number;
  loaded: Promise<void>;
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
  inbox: InboxStore;
}) {
  const { bus, hub, store, inbox } = deps;
  /** Users with a read-state stream open here, and how many. */
  const watchingReadState = new Map<string, number>();
  const watchedPreferences = new Map<string, WatchedPreferences>();

  function watchPreferences(userId: string): WatchedPreferences {
    let watched = watchedPreferences.get(userId);
    if (!watched) {
      const entry: WatchedPreferences = {
        streams: 0,
        prefs: null,
        version: 0,
        loaded: Promise.resolve(),
      };
      entry.loaded = store.preferences(userId).then(
        (prefs) => {
          if (entry.version === 0) entry.prefs = inEffect(prefs);
        },
        (error: unknown) => console.error('notification preferences could not be read', error),
      );
      watchedPreferences.set(userId, (watched = entry));
    }
    watched.streams++;
    return watched;
  }

  function unwatchPreferences(userId: string): void {
    const watched = watchedPreferences.get(userId);
    if (watched && --watched.streams <= 0) watchedPreferences.delete(userId);
  }

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
      const inboxFollower = followLog({
        signal,
        what: 'inbox change',
        announcements: () => bus.subscribe('notifications.inbox', signal),
        start: () => inbox.maxChangeSeq(),
        read: (after, limit) => inbox.changesAfter(after, limit),
        seqOf: (c) => c.seq,
        carried: ({ row }) => carriedChange(row),
        onRow(c) {
          const { preferences } = c.change;
          const watched = watchedPreferences.get(c.userId);
          if (watched && c.change.kind === 'preferences' && preferences) {
            watched.version++;
            watched.prefs = inEffect(preferences);
          }
          hub.metrics.counts.published++;
          hub.dispatch(inboxChannel(c.userId), inboxEvent(c));
        },
      });
      return { ready: Promise.all([follower.ready, inboxFollower.ready]).then(() => undefined) };
    },

    /** One user's new notifications, replayable from `lastEventId`. */
    notifications(
      user: { id: string; teamIds: string[] },
      lastEventId: string | null | undefined,
    ): FeedSpec {
      const userId = user.id;
      let watched: WatchedPreferences | null = null;
      return {
        hub,
        channel: [notificationChannel(userId), ...user.teamIds.map(teamChannel), EVERYONE],
        lastEventId,
        onOpen: () => (watched = watchPreferences(userId)),
        onClose: () => unwatchPreferences(userId),
        // Nothing is delivered before the preferences are known (live events wait meanwhile).
        initial: async () => {
          await watched?.loaded;
          return [];
        },
        select: (event) => forRecipient(watched?.prefs ?? null, event),
        // Only a resuming stream replays: a fresh one holds no replay of its own.
        ...(lastEventId
          ? {
              replay: replayLog({
                seqOf: notificationSeq,
                mayResumeFrom: (seq) => store.isRecipient(userId, seq),
                after: (seq, limit) => store.after(userId, seq, limit),
                toEvent: notificationEvent,
              }),
            }
          : {}),
      };
    },

    /** One user's inbox changes, made on any tab or device or by a snooze waking, replayable. */
    inboxChanges(userId: string, lastEventId: string | null | undefined): FeedSpec {
      return {
        hub,
        channel: inboxChannel(userId),
        lastEventId,
        ...(lastEventId
          ? {
              replay: replayLog({
                seqOf: inboxChangeSeq,
                mayResumeFrom: async (seq) => (await inbox.changeUser(seq)) === userId,
                after: (seq, limit) => inbox.userChangesAfter(userId, seq, limit),
                toEvent: inboxEvent,
              }),
            }
          : {}),
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
