import { TRPCError, isTrackedEnvelope } from '@trpc/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Hub,
  isFeed,
  isSlowConsumerError,
  liveEvent,
  trackedFeed,
  valueFeed,
  type FeedSpec,
  type LiveEvent,
  type Sink,
} from '../../src/server/platform/hub.ts';
import type { Metrics } from '../../src/server/platform/telemetry.ts';

afterEach(() => vi.restoreAllMocks());

const newHub = () => new Hub({ counts: { subscriptions: 0 } } as unknown as Metrics);
const event = (seq: number, data: unknown = seq) => liveEvent(data, `e${seq}`, seq);

/** A sink that records what it got; `ended` resolves when the feed ends it. */
function recorder() {
  const got: LiveEvent[] = [];
  let resolveEnd: (error: TRPCError | undefined) => void = () => undefined;
  const ended = new Promise<TRPCError | undefined>((resolve) => (resolveEnd = resolve));
  const waiters: { count: number; wake: () => void }[] = [];
  const sink: Sink = {
    deliver(e) {
      got.push(e);
      for (const w of waiters.filter((w) => got.length >= w.count)) w.wake();
    },
    end: (error) => resolveEnd(error),
  };
  /** Resolves once `count` events arrived. */
  const received = (count: number) =>
    got.length >= count
      ? Promise.resolve()
      : new Promise<void>((wake) => waiters.push({ count, wake }));
  return { sink, got, ended, received, seqs: () => got.map((e) => e.seq) };
}

/** A feed on channel 'a' that resumes after `lastEventId` through `replay`. */
const resuming = (
  hub: Hub,
  replay: FeedSpec['replay'],
  more: Partial<FeedSpec> = {},
): FeedSpec => ({
  hub,
  channel: 'a',
  lastEventId: 'e0',
  replay,
  ...more,
});

/** A gate a test opens by hand. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('the hub', () => {
  it('dispatches to the subscribers of a channel, and to feeds merging several', async () => {
    const hub = newHub();
    const a = recorder();
    const b = recorder();
    const both = recorder();
    hub.open({ hub, channel: 'a' }, a.sink);
    hub.open({ hub, channel: 'b' }, b.sink);
    hub.open({ hub, channel: ['a', 'b'] }, both.sink);
    // Subscribers go live once their (empty) replay is done: on the next microtasks.
    await Promise.resolve();
    hub.dispatch('a', event(1));
    hub.dispatch('b', event(2));
    hub.dispatch('c', event(3));
    await both.received(2);
    expect(a.seqs()).toEqual([1]);
    expect(b.seqs()).toEqual([2]);
    expect(both.seqs()).toEqual([1, 2]);
  });

  it('ends a subscriber whose delivery throws, alone: the others still get the event', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const hub = newHub();
    const broken = recorder();
    const healthy = recorder();
    hub.open(
      { hub, channel: 'a' },
      {
        ...broken.sink,
        deliver: () => {
          throw new Error('socket gone');
        },
      },
    );
    hub.open({ hub, channel: 'a' }, healthy.sink);
    await Promise.resolve();
    hub.dispatch('a', event(1));
    expect(await broken.ended).toMatchObject({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'Delivery failed',
    });
    await healthy.received(1);
    expect(healthy.seqs()).toEqual([1]);
  });

  it('sends the initial snapshot first, then live events', async () => {
    const hub = newHub();
    const r = recorder();
    hub.open({ hub, channel: 'a', initial: async () => [liveEvent('snapshot')] }, r.sink);
    hub.dispatch('a', event(1));
    await r.received(2);
    expect(r.got.map((e) => e.data)).toEqual(['snapshot', 1]);
  });

  it('joins the replayed backlog and live events without a gap or a duplicate', async () => {
    const hub = newHub();
    const log = Array.from({ length: 1_200 }, (_, i) => event(i + 1));
    const replaying = gate();
    const pages: number[] = [];
    const spec = resuming(
      hub,
      {
        resolve: async (id) => Number(id.slice(1)),
        async after(seq, limit) {
          pages.push(seq);
          if (pages.length === 2) await replaying.opened;
          return log.filter((e) => e.seq > seq).slice(0, limit);
        },
      },
      { lastEventId: 'e100' },
    );
    const r = recorder();
    hub.open(spec, r.sink);
    await r.received(500);
    // While the backlog replays, live events arrive: some the replay also reads, some new.
    for (const seq of [1_150, 1_200]) hub.dispatch('a', log[seq - 1] ?? event(seq));
    log.push(event(1_201));
    hub.dispatch('a', event(1_201));
    replaying.open();
    await r.received(1_101);
    expect(r.seqs()).toEqual(Array.from({ length: 1_101 }, (_, i) => 101 + i));
    expect(pages).toEqual([100, 600, 1_100]);
    hub.dispatch('a', event(1_202));
    await r.received(1_102);
    expect(r.seqs().at(-1)).toBe(1_202);
  });

  it('waits for a sink that is not ready before the next replay page', async () => {
    const hub = newHub();
    const log = Array.from({ length: 600 }, (_, i) => event(i + 1));
    const drained = gate();
    const r = recorder();
    let asked = 0;
    const replay = {
      resolve: async () => 0,
      after: async (seq: number, limit: number) => log.filter((e) => e.seq > seq).slice(0, limit),
    };
    hub.open(resuming(hub, replay), { ...r.sink, ready: () => (asked++, drained.opened) });
    await r.received(500);
    await Promise.resolve();
    expect(asked).toBe(1);
    expect(r.got).toHaveLength(500);
    drained.open();
    await r.received(600);
  });

  it('starts a subscriber over when more live events arrive during replay than it may hold', async () => {
    const hub = newHub();
    const replaying = gate();
    const r = recorder();
    const replay = { resolve: async () => 0, after: async () => (await replaying.opened, []) };
    hub.open(resuming(hub, replay), r.sink);
    for (let seq = 1; seq <= 10_001; seq++) hub.dispatch('a', event(seq));
    const error = await r.ended;
    expect(isSlowConsumerError(error)).toBe(true);
    expect(error?.code).toBe('TOO_MANY_REQUESTS');
    replaying.open();
  });

  it('ends the feed with the replay error, and releases it', async () => {
    const hub = newHub();
    const r = recorder();
    const closed = gate();
    const replay = {
      resolve: async () => {
        throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'Cannot resume' });
      },
      after: async () => [],
    };
    hub.open(resuming(hub, replay, { onClose: closed.open }), r.sink);
    expect(await r.ended).toMatchObject({ code: 'PRECONDITION_FAILED' });
    await closed.opened;
    expect(hub.has('a')).toBe(false);
  });

  it('counts open subscriptions and forgets a channel when its last subscriber closes', async () => {
    const metrics = { counts: { subscriptions: 0 } } as unknown as Metrics;
    const hub = new Hub(metrics);
    const opened: string[] = [];
    const spec: FeedSpec = {
      hub,
      channel: 'a',
      onOpen: () => opened.push('open'),
      onClose: () => opened.push('close'),
    };
    const close = hub.open(spec, recorder().sink);
    expect(metrics.counts.subscriptions).toBe(1);
    expect(hub.has('a')).toBe(true);
    close();
    close();
    expect(metrics.counts.subscriptions).toBe(0);
    expect(hub.has('a')).toBe(false);
    expect(opened).toEqual(['open', 'close']);
  });
});

describe('feeds', () => {
  it('are recognised by isFeed; other async iterables are not', () => {
    const hub = newHub();
    async function* plain() {
      yield 1;
    }
    expect(isFeed(trackedFeed({ hub, channel: 'a' }))).toBe(true);
    expect(isFeed(valueFeed({ hub, channel: 'a' }))).toBe(true);
    expect(isFeed(plain())).toBe(false);
    expect(isFeed(null)).toBe(false);
  });

  it('iterate as tRPC iterates them: tracked envelopes, or plain values', async () => {
    const hub = newHub();
    const tracked = trackedFeed<number>({ hub, channel: 'a' })[Symbol.asyncIterator]();
    const values = valueFeed<number>({ hub, channel: 'a' })[Symbol.asyncIterator]();
    await Promise.resolve();
    hub.dispatch('a', event(7, 70));
    hub.dispatch('a', liveEvent(80, null, 8));
    const first = (await tracked.next()).value;
    expect(isTrackedEnvelope(first)).toBe(true);
    expect(first).toEqual(['e7', 70, expect.anything()]);
    expect((await tracked.next()).value?.[0]).toBe('8');
    expect([(await values.next()).value, (await values.next()).value]).toEqual([70, 80]);
    await tracked.return?.();
    await values.return?.();
    expect(hub.has('a')).toBe(false);
  });

  it('end an iteration that leaves more than 5,000 events unread', async () => {
    const hub = newHub();
    const iterator = valueFeed<number>({ hub, channel: 'a' })[Symbol.asyncIterator]();
    await Promise.resolve();
    for (let seq = 1; seq <= 5_001; seq++) hub.dispatch('a', event(seq));
    let read = 0;
    const failure = await (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return null;
        read++;
      }
    })().catch((e: unknown) => e);
    expect(read).toBe(5_000);
    expect(isSlowConsumerError(failure)).toBe(true);
  });
});
