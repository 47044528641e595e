import { z } from 'zod';
import { PRESENCE_LIST_MAX, PRESENCE_SAMPLE, TYPING_TTL_MS } from '../../../shared/limits.ts';
import {
  messageSchema,
  type Message,
  type Person,
  type PresenceSummary,
} from '../../../shared/schemas/chat.ts';
import { consume, type EventBus } from '../../platform/bus.ts';
import { messageSeq, type ChatStore } from './store.ts';
import {
  liveEvent,
  replayLog,
  type FeedSpec,
  type Hub,
  type LiveEvent,
} from '../../platform/hub.ts';
import { followLog } from '../../platform/log-follower.ts';

const messageChannel = (roomId: string) => `chat:${roomId}`;
const typingChannel = (roomId: string) => `chat.typing:${roomId}`;
const presenceChannel = (roomId: string) => `chat.presence:${roomId}`;
const summaryChannel = (roomId: string) => `chat.presence.summary:${roomId}`;

/** The first `k` of `people` by name, in order, without sorting them all. */
function firstByName(people: Iterable<Person>, k: number): Person[] {
  const first: Person[] = [];
  for (const person of people) {
    if (first.length === k && byName(person, first[k - 1] as Person) >= 0) continue;
    let at = first.length;
    while (at > 0 && byName(person, first[at - 1] as Person) < 0) at--;
    first.splice(at, 0, person);
    if (first.length > k) first.pop();
  }
  return first;
}

// One collator for every comparison (`localeCompare` builds one per call), made when a presence
// list is first sorted: making it maps ICU's collation data (~2 MiB of RSS), which a server
// with no chat room in use does not need.
let collator: Intl.Collator | null = null;
const byName = (a: Person, b: Person) =>
  (collator ??= new Intl.Collator()).compare(a.username, b.username);

/**
 * In a room of more than PRESENCE_LIST_MAX people, presence changes are gathered this long
 * before the room's list and summary are sent again: such a room costs one sorted list per
 * window (and none while nobody watches), not one per change, so joining and leaving cost O(1)
 * amortized whatever the room's size. Smaller rooms send every change as it happens.
 */
export const PRESENCE_WINDOW_MS = 100;

/** A message as its announcement carries it (decision 0012): checked before it is used. */
const carriedSchema = z.object({ seq: z.number().int().positive(), message: messageSchema });

function carriedMessage(row: unknown): { seq: number; message: Message } | null {
  if (row === undefined) return null;
  const parsed = carriedSchema.safeParse(row);
  return parsed.success ? parsed.data : null;
}

function messageEvent(message: Message): LiveEvent {
  const data = messageSchema.parse(message);
  return liveEvent(data, data.id, messageSeq(data.id) ?? 0, Date.parse(data.createdAt));
}

/**
 * Chat's live side on one instance: messages from the database log to room channels; who is
 * typing (expiring `TYPING_TTL_MS` after the last keystroke signal); and who is present (a user
 * is present while any of their chat subscriptions to the room is open, on any instance,
 * counted once however many tabs they have).
 *
 * Presence across instances: each instance announces its own changes as they happen, and, with
 * `heartbeatMs`, its whole presence every heartbeat and whenever the bus resyncs. A snapshot
 * replaces what the others knew of that instance, so a lost announcement heals at the next
 * beat, and after Redis comes back (empty or not) presence is rebuilt from snapshots alone. An
 * instance not heard from for three heartbeats (killed, say) loses its people; while the bus is
 * down no one is dropped for silence (the silence is the outage's), and every instance's clock
 * starts again when it is back.
 */
export function createChatFeed(deps: {
  bus: EventBus;
  hub: Hub;
  store: ChatStore;
  /** This instance's name, in presence announcements. */
  instance: string;
  /** Presence heartbeat with other instances; null with one instance (nothing to tell). */
  heartbeatMs: number | null;
}) {
  const { bus, hub, store, instance, heartbeatMs } = deps;

  // roomId → userId → who, and when their indicator lapses.
  const typing = new Map<string, Map<string, { person: Person; timer: NodeJS.Timeout }>>();
  const typingList = (roomId: string) =>
    [...(typing.get(roomId)?.values() ?? [])].map((t) => t.person).sort(byName);
  const announceTyping = (roomId: string) =>
    hub.dispatch(typingChannel(roomId), liveEvent(typingList(roomId)));

  function applyTyping(roomId: string, person: Person, on: boolean) {
    let room = typing.get(roomId);
    const existing = room?.get(person.userId);
    if (existing) clearTimeout(existing.timer);
    if (on) {
      if (!room)
        typing.set(roomId, (room = new Map<string, { person: Person; timer: NodeJS.Timeout }>()));
      const timer = setTimeout(() => applyTyping(roomId, person, false), TYPING_TTL_MS);
      timer.unref();
      room.set(person.userId, { person, timer });
      if (!existing) announceTyping(roomId);
    } else if (existing && room) {
      room.delete(person.userId);
      if (room.size === 0) typing.delete(roomId);
      announceTyping(roomId);
    }
  }

  // Local subscription counts per room and user; and the union over instances of who is present.
  const local = new Map<string, Map<string, { person: Person; n: number }>>();
  const present = new Map<string, Map<string, { person: Person; instances: Set<string> }>>();
  /** Each room's list, sorted, kept until its presence changes. */
  const lists = new Map<string, Person[]>();
  function presentList(roomId: string): Person[] {
    let list = lists.get(roomId);
    if (!list) {
      list = [...(present.get(roomId)?.values() ?? [])].map((p) => p.person).sort(byName);
      lists.set(roomId, list);
    }
    return list;
  }
  function presentSummary(roomId: string): PresenceSummary {
    const room = present.get(roomId);
    const count = room?.size ?? 0;
    if (count <= PRESENCE_LIST_MAX) return { count, people: presentList(roomId), complete: true };
    const people = firstByName(
      [...(room?.values() ?? [])].map((p) => p.person),
      PRESENCE_SAMPLE,
    );
    return { count, people, complete: false };
  }
  /** Rooms whose watched presence changed since it was last sent. */
  const changed = new Set<string>();
  let flush: NodeJS.Timeout | null = null;
  function send(roomId: string) {
    if (hub.has(presenceChannel(roomId)))
      hub.dispatch(presenceChannel(roomId), liveEvent(presentList(roomId)));
    if (hub.has(summaryChannel(roomId)))
      hub.dispatch(summaryChannel(roomId), liveEvent(presentSummary(roomId)));
  }
  function sendChanged() {
    flush = null;
    for (const roomId of changed) send(roomId);
    changed.clear();
  }
  function presenceChanged(roomId: string) {
    lists.delete(roomId);
    // Nobody watching: nothing to build or send (a new watcher gets the list when it opens).
    if (!hub.has(presenceChannel(roomId)) && !hub.has(summaryChannel(roomId))) return;
    // A room of up to PRESENCE_LIST_MAX people: every change as it happens (its list costs a
    // bounded amount). A bigger one: its latest state once per window.
    if ((present.get(roomId)?.size ?? 0) <= PRESENCE_LIST_MAX) {
      changed.delete(roomId);
      return send(roomId);
    }
    changed.add(roomId);
    if (!flush) {
      flush = setTimeout(sendChanged, PRESENCE_WINDOW_MS);
      flush.unref();
    }
  }
  /** Other instances with people present, and when they were last heard from. */
  const heard = new Map<string, number>();

  function applyPresence(from: string, roomId: string, person: Person, on: boolean) {
    let room = present.get(roomId);
    const entry = room?.get(person.userId);
    const before = entry !== undefined;
    if (on) {
      if (!room)
        present.set(roomId, (room = new Map<string, { person: Person; instances: Set<string> }>()));
      if (entry) entry.instances.add(from);
      else room.set(person.userId, { person, instances: new Set([from]) });
    } else if (entry && room) {
      entry.instances.delete(from);
      if (entry.instances.size === 0) room.delete(person.userId);
      if (room.size === 0) present.delete(roomId);
    }
    const after = present.get(roomId)?.has(person.userId) ?? false;
    if (before !== after) presenceChanged(roomId);
  }

  /** What `from` says it has replaces what we knew of it. */
  function applySnapshot(from: string, rooms: { roomId: string; people: Person[] }[]) {
    const claimed = new Map<string, Map<string, Person>>();
    for (const { roomId, people } of rooms) {
      claimed.set(roomId, new Map(people.map((p) => [p.userId, p])));
    }
    const gone: [string, Person][] = [];
    for (const [roomId, room] of present) {
      for (const [userId, entry] of room) {
        if (entry.instances.has(from) && !claimed.get(roomId)?.has(userId))
          gone.push([roomId, entry.person]);
      }
    }
    for (const [roomId, person] of gone) applyPresence(from, roomId, person, false);
    for (const [roomId, people] of claimed) {
      for (const person of people.values()) applyPresence(from, roomId, person, true);
    }
    if (claimed.size === 0) heard.delete(from);
    else heard.set(from, Date.now());
  }

  function snapshot(): { roomId: string; people: Person[] }[] {
    return [...local].map(([roomId, users]) => ({
      roomId,
      people: [...users.values()].map((u) => u.person),
    }));
  }

  const publishSnapshot = (rooms = snapshot()) =>
    void bus.publish('chat.presence.snapshot', { instance, rooms });

  function track(roomId: string, person: Person, delta: 1 | -1) {
    let room = local.get(roomId);
    if (!room) local.set(roomId, (room = new Map<string, { person: Person; n: number }>()));
    const n = (room.get(person.userId)?.n ?? 0) + delta;
    if (n > 0) room.set(person.userId, { person, n });
    else {
      room.delete(person.userId);
      if (room.size === 0) local.delete(roomId);
    }
    // Only the first open and the last close of this user here change presence.
    if ((delta === 1 && n === 1) || (delta === -1 && n === 0)) {
      applyPresence(instance, roomId, person, delta === 1);
      void bus.publish('chat.presence', { instance, roomId, person, present: delta === 1 });
    }
  }

  /** Drops the people of instances silent for three heartbeats (unless the bus itself is down). */
  function sweep(everyMs: number) {
    if (bus.unavailable().length > 0) return;
    const silentSince = Date.now() - 3 * everyMs;
    for (const [from, at] of heard) if (at < silentSince) applySnapshot(from, []);
  }

  /** Every chat subscription counts toward its user's presence in the room. */
  const presenceHooks = (roomId: string, person: Person) => ({
    onOpen: () => track(roomId, person, 1),
    onClose: () => track(roomId, person, -1),
  });

  /** A room's stream of one value (who types, who is here), sent whole at start and on change. */
  const roomValue = (
    channel: string,
    roomId: string,
    person: Person,
    current: () => unknown,
  ): FeedSpec => ({
    hub,
    channel,
    ...presenceHooks(roomId, person),
    initial: async () => [liveEvent(current())],
  });

  return {
    /** Follows messages, typing and presence from now on (`ready` once the log's end is read). */
    start(signal: AbortSignal): { ready: Promise<void> } {
      const follower = followLog({
        signal,
        what: 'chat',
        announcements: () => bus.subscribe('chat.messages', signal),
        start: () => store.maxSeq(),
        read: (after, limit) => store.since(after, limit),
        seqOf: (row) => row.seq,
        carried: ({ row }) => carriedMessage(row),
        onRow({ message }) {
          const event = messageEvent(message);
          hub.metrics.counts.published++;
          hub.dispatch(messageChannel(message.roomId), event);
        },
      });
      consume({
        subscribe: () => bus.subscribe('chat.typing', signal),
        signal,
        what: 'chat typing',
        handle: ({ roomId, person, typing: on }) => applyTyping(roomId, person, on),
      });
      consume({
        subscribe: () => bus.subscribe('chat.presence', signal),
        signal,
        what: 'chat presence',
        handle(msg) {
          if (msg.instance === instance) return;
          applyPresence(msg.instance, msg.roomId, msg.person, msg.present);
          if (msg.present || heard.has(msg.instance)) heard.set(msg.instance, Date.now());
        },
      });
      let beat: NodeJS.Timeout | null = null;
      if (heartbeatMs !== null) {
        consume({
          subscribe: () => bus.subscribe('chat.presence.snapshot', signal),
          signal,
          what: 'chat presence snapshots',
          handle(msg) {
            if (msg.instance !== instance) applySnapshot(msg.instance, msg.rooms);
          },
          // Announcements may have been lost both ways: tell ours again, and give every other
          // instance a full period from now to tell theirs.
          resumed() {
            const now = Date.now();
            for (const from of heard.keys()) heard.set(from, now);
            publishSnapshot();
          },
        });
        beat = setInterval(() => {
          sweep(heartbeatMs);
          publishSnapshot();
        }, heartbeatMs);
        beat.unref();
        publishSnapshot();
      }
      signal.addEventListener(
        'abort',
        () => {
          for (const room of typing.values()) for (const t of room.values()) clearTimeout(t.timer);
          typing.clear();
          if (flush) clearTimeout(flush);
          if (beat) {
            clearInterval(beat);
            // Shutting down: the others drop our people now rather than after three beats.
            publishSnapshot([]);
          }
        },
        { once: true },
      );
      return { ready: follower.ready };
    },

    messages(roomId: string, person: Person, lastEventId: string | null | undefined): FeedSpec {
      return {
        hub,
        channel: messageChannel(roomId),
        lastEventId,
        ...presenceHooks(roomId, person),
        replay: replayLog({
          seqOf: messageSeq,
          mayResumeFrom: async (seq) => (await store.roomOf(seq)) === roomId,
          after: (seq, limit) => store.after(roomId, seq, limit),
          toEvent: messageEvent,
        }),
      };
    },
    typing: (roomId: string, person: Person): FeedSpec =>
      roomValue(typingChannel(roomId), roomId, person, () => typingList(roomId)),
    // Opening this subscription already made the caller present: the snapshot includes them.
    presence: (roomId: string, person: Person): FeedSpec =>
      roomValue(presenceChannel(roomId), roomId, person, () => presentList(roomId)),
    presenceSummary: (roomId: string, person: Person): FeedSpec =>
      roomValue(summaryChannel(roomId), roomId, person, () => presentSummary(roomId)),
  };
}

export type ChatFeed = ReturnType<typeof createChatFeed>;
