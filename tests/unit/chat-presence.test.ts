import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChatFeed, PRESENCE_WINDOW_MS } from '../../src/server/features/chat/feed.ts';
import { createChatStore } from '../../src/server/features/chat/store.ts';
import { createMemoryBus } from '../../src/server/platform/bus.ts';
import { openDatabase, type Db } from '../../src/server/platform/db.ts';
import { Hub, type LiveEvent, type Sink } from '../../src/server/platform/hub.ts';
import type { Metrics } from '../../src/server/platform/telemetry.ts';
import type { Person } from '../../src/shared/schemas/chat.ts';

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
  it('sends a watched room its list once per window however many come and go', async () => {
    const w = watcher();
    const first = w.next();
    hub.open(feed.presence(ROOM, person(0)), w.sink);
    await first;
    expect(w.names()).toEqual(['user-00000']);

    const joined = w.next();
    const leave = join_(1, 2000);
    await joined;
    expect(w.names()).toHaveLength(2001);
    expect(w.names()).toEqual([...w.names()].sort());
    // The snapshot at open, then one list for all 2,000 joins (they came within one window).
    expect(w.got).toHaveLength(2);

    const left = w.next();
    for (const close of leave) close();
    await left;
    expect(w.names()).toEqual(['user-00000']);
    expect(w.got).toHaveLength(3);
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
});
