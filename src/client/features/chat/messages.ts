import type { Message } from '../../../shared/schemas/chat.ts';

/** Where a message stands in its room: what the server gives every message it stores. */
export type MessagePosition = Pick<Message, 'id' | 'createdAt'>;

const idOrder = new Intl.Collator('en', { numeric: true });

/** Server order: by time, then by id (ids grow with each message; compared digit-aware). */
export function compareMessages(a: MessagePosition, b: MessagePosition): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return idOrder.compare(a.id, b.id);
}

/**
 * Every message of the given lists once (by id), oldest first. History pages, live arrivals
 * and the answers to this tab's sends all land here, in whatever order they came.
 */
export function mergeMessages(...lists: readonly (readonly Message[])[]): Message[] {
  const byId = new Map<string, Message>();
  for (const list of lists) for (const m of list) byId.set(m.id, m);
  return [...byId.values()].sort(compareMessages);
}

/** `list` with `incoming` added, or `list` itself when they are all in it already. */
export function addMessages(list: readonly Message[], incoming: readonly Message[]): Message[] {
  const known = new Set(list.map((m) => m.id));
  const fresh = incoming.filter((m) => !known.has(m.id));
  if (fresh.length === 0) return list as Message[];
  return mergeMessages(list, fresh);
}

/** Messages after `seen` not written by `me`: the room's unread count. */
export function countUnread(
  messages: readonly Message[],
  seen: MessagePosition | null,
  me: string,
): number {
  return messages.filter(
    (m) => m.authorId !== me && (seen === null || compareMessages(m, seen) > 0),
  ).length;
}
