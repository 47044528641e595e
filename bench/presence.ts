/**
 * What presence bookkeeping costs in a big room, in process (no sockets: the chat feed, the hub
 * and a memory bus, as one instance runs them): N members join a room one after another, then
 * leave, while W of them watch the room's presence list; CPU of this process and the lists sent.
 *
 *   node --import tsx bench/presence.ts [--members 10000] [--watchers 1] [--quick]
 *
 * Target (issue 10): 10,000 members join and leave in under 2 s of CPU, whatever the room's size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChatFeed } from '../src/server/features/chat/feed.ts';
import { createChatStore } from '../src/server/features/chat/store.ts';
import { createMemoryBus } from '../src/server/platform/bus.ts';
import { openDatabase } from '../src/server/platform/db.ts';
import { Hub, type Sink } from '../src/server/platform/hub.ts';
import type { Metrics } from '../src/server/platform/telemetry.ts';
import { numberFlag, parseKnownFlags, sleep } from './common.ts';

// `--quick` and `--seconds` come from `npm run bench` for every benchmark; this one has no phases.
const flags = parseKnownFlags(
  process.argv.slice(2),
  ['members', 'watchers', 'quick', 'seconds'],
  '--members N --watchers W --quick',
);
const members = numberFlag(flags, 'members', flags.has('quick') ? 2000 : 10_000);
const watchers = numberFlag(flags, 'watchers', 1);

const dir = mkdtempSync(join(tmpdir(), 'pulse-presence-bench-'));
const db = await openDatabase(`sqlite:${join(dir, 'pulse.db')}`);
const hub = new Hub({ counts: { subscriptions: 0, published: 0 } } as unknown as Metrics);
const feed = createChatFeed({
  bus: createMemoryBus(),
  hub,
  store: createChatStore(db),
  instance: 'bench',
  heartbeatMs: null,
});
const room = 'room_bench';
const person = (i: number) => ({
  userId: `usr_${i}`,
  username: `member-${i}`,
  displayName: `Member ${i}`,
});

let lists = 0;
let bytes = 0;
const watching: Sink = {
  deliver(event) {
    lists++;
    bytes += event.json.length;
  },
  end: () => undefined,
};
const quiet: Sink = { deliver: () => undefined, end: () => undefined };

const closeWatchers = Array.from({ length: watchers }, (_, i) =>
  hub.open(feed.presence(room, person(members + i)), watching),
);
await sleep(200);
lists = 0;
bytes = 0;

const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const before = cpu();
const t0 = performance.now();
// Joins arrive as connections do, a hundred per macrotask, not all in one tick.
const leaves: (() => void)[] = [];
for (let i = 0; i < members; i++) {
  leaves.push(hub.open(feed.typing(room, person(i)), quiet));
  if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
}
for (const [i, leave] of leaves.entries()) {
  leave();
  if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
}
await sleep(300);
const seconds = cpu() - before;
const wall = (performance.now() - t0) / 1000;

console.log(
  `presence: ${members} members joined and left a room watched by ${watchers}: ` +
    `${seconds.toFixed(2)} s CPU (${((seconds * 1e6) / (2 * members)).toFixed(1)} µs per join or leave), ` +
    `${wall.toFixed(2)} s wall, ${lists} lists sent (${(bytes / 1e6).toFixed(1)} MB)`,
);
for (const close of closeWatchers) close();
await db.destroy();
rmSync(dir, { recursive: true, force: true });
process.exit(seconds < 2 ? 0 : 1);
