import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChatFeed, PRESENCE_WINDOW_MS } from '../../src/server/features/chat/feed.ts';
import { PRESENCE_LIST_MAX, PRESENCE_SAMPLE } from '../../src/shared/limits.ts';
import { createChatStore } from '../../src/server/features/chat/store.ts';
import { createMemoryBus } from '../../src/server/platform/bus.ts';
import { openDatabase, type Db } from '../../src/server/platform/db.ts';
import { Hub, type LiveEvent, type Sink } from '../../src/server/platform/hub.ts';
import type { Metrics } from '../../src/server/platform/telemetry.ts';
import type { Person, PresenceSummary } from '../../src/shared/schemas/chat.ts';

const ROOM = 'room_presence';
const person = (i: number): Person => ({
  userId: `usr_${i}`,
  username: `user-${String(i).padStart(5, '0')}`,
  displayName: `User ${i}`,
});

/** A sink that keeps what it got and can wait for the next event. */
function watcher() {
  const got: LiveEvent[] = [];
  let wake: (() => void) | null = null;
  const sink: Sink = {
    deliver(event) {
      got.push(event);
      wake?.();
    },
    end: () => undefined,
  };
  const next = () => new Promise<void>((resolve) => (wake = resolve));
  const names = () => (got.at(-1)?.data as Person[] | undefined)?.map((p) => p.username) ?? [];
  return { sink, got, next, names };
}

const quiet: Sink = { deliver: () => undefined, end: () => undefined };

/**
 * `xs` without repeats in a row: a watcher's own arrival may come twice at the start (in the
 * snapshot it opens with, and as the change its opening made).
 */
const changes = <T>(xs: T[]) => xs.filter((x, i) => i === 0 || x !== xs[i - 1]);

let dir: string;
let db: Db;
let hub: Hub;
let feed: ReturnType<typeof createChatFeed>;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pulse-presence-'));
  db = await openDatabase(`sqlite:${join(dir, 'pulse.db')}`);
  hub = new Hub({ counts: { subscriptions: 0, published: 0 } } as unknown as Metrics);
  feed = createChatFeed({
    bus: createMemoryBus(),
    hub,
    store: createChatStore(db),
    instance: 'test',
    heartbeatMs: null,
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** `n` people join the room (each opens its typing stream, which counts as presence). */
const join_ = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => hub.open(feed.typing(ROOM, person(from + i)), quiet));

describe('chat presence in a big room', () => {
  it('sends every change of a small room, and a big room its list once per window', async () => {
    const w = watcher();
    const sizes = () => changes(w.got.map((e) => (e.data as Person[]).length));
    const first = w.next();
    hub.open(feed.presence(ROOM, person(0)), w.sink);
    await first;
    expect(w.names()).toEqual(['user-00000']);

    // Up to PRESENCE_LIST_MAX people: a list per join, as it happens.
    const small = join_(1, PRESENCE_LIST_MAX - 1);
    expect(sizes()).toEqual(Array.from({ length: PRESENCE_LIST_MAX }, (_, i) => i + 1));

    // Past it: 2,000 more within one window are one list, sent when the window ends.
    const joined = w.next();
    const big = join_(PRESENCE_LIST_MAX, 2000);
    expect(sizes()).toHaveLength(PRESENCE_LIST_MAX);
    await joined;
    expect(sizes().slice(PRESENCE_LIST_MAX)).toEqual([PRESENCE_LIST_MAX + 2000]);
    expect(w.names()).toEqual([...w.names()].sort());

    // Leaving: the big room's states within the window give way to the small room's, each sent.
    const before = sizes().length;
    for (const close of big) close();
    for (const close of small) close();
    expect(sizes().slice(before)).toEqual(
      Array.from({ length: PRESENCE_LIST_MAX }, (_, i) => PRESENCE_LIST_MAX - i),
    );
    expect(w.names()).toEqual(['user-00000']);
  });

  it('builds and sends nothing while nobody watches the room, and a new watcher sees everyone', async () => {
    const dispatch = vi.spyOn(hub, 'dispatch');
    const leave = join_(1, 2000);
    for (const close of leave.slice(0, 1000)) close();
    await new Promise((resolve) => setTimeout(resolve, PRESENCE_WINDOW_MS * 2));
    expect(dispatch).not.toHaveBeenCalledWith(`chat.presence:${ROOM}`, expect.anything());

    const w = watcher();
    const first = w.next();
    hub.open(feed.presence(ROOM, person(0)), w.sink);
    await first;
    expect(w.names()).toHaveLength(1001);
    expect(w.names()[0]).toBe('user-00000');
  });

  it('summarizes a big room as its count and the first people by name, once per window', async () => {
    const w = watcher();
    const summary = () => w.got.at(-1)?.data as PresenceSummary;
    const first = w.next();
    hub.open(feed.presenceSummary(ROOM, person(0)), w.sink);
    await first;
    expect(summary()).toEqual({ count: 1, people: [person(0)], complete: true });

    // Up to the limit: everyone, by name, at every change.
    const counts = () => changes(w.got.map((e) => (e.data as PresenceSummary).count));
    const small = join_(1, PRESENCE_LIST_MAX - 1);
    expect(counts()).toEqual(Array.from({ length: PRESENCE_LIST_MAX }, (_, i) => i + 1));
    expect(summary().count).toBe(PRESENCE_LIST_MAX);
    expect(summary().complete).toBe(true);
    expect(summary().people.map((p) => p.username)).toEqual(
      Array.from({ length: PRESENCE_LIST_MAX }, (_, i) => person(i).username),
    );

    // Past it: the count, and a sample of the first by name (joined in reverse order), once.
    let next = w.next();
    const big = Array.from({ length: 2000 }, (_, i) =>
      hub.open(feed.typing(ROOM, person(20_000 - i)), quiet),
    );
    await next;
    expect(summary()).toEqual({
      count: PRESENCE_LIST_MAX + 2000,
      people: Array.from({ length: PRESENCE_SAMPLE }, (_, i) => person(i)),
      complete: false,
    });
    expect(counts()).toHaveLength(PRESENCE_LIST_MAX + 1);

    next = w.next();
    for (const close of [...big, ...small]) close();
    await next;
    expect(summary()).toEqual({ count: 1, people: [person(0)], complete: true });
  });
});
