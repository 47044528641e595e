import { useSyncExternalStore } from 'react';
import { z } from 'zod';
import { createExternalStore, type ExternalStore } from '../../lib/external-store.ts';
import { compareMessages, type MessagePosition } from './messages.ts';

/**
 * A small per-browser memory of the chat, in localStorage and shared by the tabs: the last
 * message seen in each room (for unread markers).
 */
function persisted<T>(key: string, schema: z.ZodType<T>, empty: T): ExternalStore<T> {
  const load = (): T => {
    try {
      const parsed = schema.safeParse(JSON.parse(localStorage.getItem(key) ?? 'null'));
      return parsed.success ? parsed.data : empty;
    } catch {
      return empty;
    }
  };
  const store = createExternalStore<T>(typeof window === 'undefined' ? empty : load());
  if (typeof window !== 'undefined') {
    window.addEventListener('storage', (event) => {
      if (event.key === key) store.set(load());
    });
  }
  return {
    get: store.get,
    subscribe: store.subscribe,
    set: (value) => {
      store.set(value);
      try {
        localStorage.setItem(key, JSON.stringify(value));
      } catch {
        // Full or forbidden: remembered for this page only.
      }
    },
  };
}

const positionSchema = z.object({ id: z.string(), createdAt: z.string() });
const seenSchema = z.record(z.string(), positionSchema);
type Seen = z.infer<typeof seenSchema>;

const seenStores = new Map<string, ExternalStore<Seen>>();
function seenStore(userId: string): ExternalStore<Seen> {
  let store = seenStores.get(userId);
  if (!store) {
    store = persisted(`pulse-chat-seen:${userId}`, seenSchema, {});
    seenStores.set(userId, store);
  }
  return store;
}

/** Records that `userId` has seen `roomId` up to `message` (never moves back). */
export function markSeen(userId: string, roomId: string, message: MessagePosition): void {
  const store = seenStore(userId);
  const seen = store.get();
  const current = seen[roomId];
  if (current && compareMessages(current, message) >= 0) return;
  store.set({ ...seen, [roomId]: { id: message.id, createdAt: message.createdAt } });
}

/** The last message `userId` saw in each room. */
export function useSeen(userId: string): Seen {
  const store = seenStore(userId);
  return useSyncExternalStore(store.subscribe, store.get);
}
