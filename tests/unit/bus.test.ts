import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  consume,
  createMemoryBus,
  type EventBus,
  type Topics,
} from '../../src/server/platform/bus.ts';

let bus: EventBus;
let stop: AbortController;
beforeEach(() => {
  bus = createMemoryBus();
  stop = new AbortController();
});
afterEach(async () => {
  stop.abort();
  await bus.close();
  vi.restoreAllMocks();
});

/** The next `count` messages of an iteration. */
async function take<T>(iterator: AsyncIterator<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

/** A promise and the function that resolves it. */
function deferred<T = void>() {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('the memory bus', () => {
  it('delivers what is published after subscribing, in order, to every subscriber of the topic', async () => {
    await bus.publish('incidents.changed', { seq: 0 });
    const a = bus.subscribe('incidents.changed', stop.signal)[Symbol.asyncIterator]();
    const b = bus.subscribe('incidents.changed', stop.signal)[Symbol.asyncIterator]();
    const other = bus.subscribe('chat.messages', stop.signal)[Symbol.asyncIterator]();
    await bus.publish('incidents.changed', { seq: 1 });
    await bus.publish('incidents.changed', { seq: 2 });
    await bus.publish('chat.messages', { seq: 9 });
    expect(await take(a, 2)).toEqual([{ seq: 1 }, { seq: 2 }]);
    expect(await take(b, 2)).toEqual([{ seq: 1 }, { seq: 2 }]);
    expect(await take(other, 1)).toEqual([{ seq: 9 }]);
  });

  it('ends an iteration when its signal aborts, even while it waits', async () => {
    const own = new AbortController();
    const iterator = bus.subscribe('incidents.changed', own.signal)[Symbol.asyncIterator]();
    const waiting = iterator.next();
    own.abort();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });

  it('releases a subscription whose loop breaks: later messages are not queued for it', async () => {
    const seen: Topics['incidents.changed'][] = [];
    const messages = bus.subscribe('incidents.changed', stop.signal);
    const loop = (async () => {
      for await (const message of messages) {
        seen.push(message);
        break;
      }
    })();
    await bus.publish('incidents.changed', { seq: 1 });
    await loop;
    const witness = bus.subscribe('incidents.changed', stop.signal)[Symbol.asyncIterator]();
    await bus.publish('incidents.changed', { seq: 2 });
    expect(await take(witness, 1)).toEqual([{ seq: 2 }]);
    expect(seen).toEqual([{ seq: 1 }]);
  });

  it('fails a subscriber that leaves more than 10,000 messages unread', async () => {
    const iterator = bus.subscribe('incidents.changed', stop.signal)[Symbol.asyncIterator]();
    for (let seq = 1; seq <= 10_001; seq++) await bus.publish('incidents.changed', { seq });
    // Delivery is on the next microtask: one round trip through the queue.
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await expect(iterator.next()).rejects.toThrow(/fell behind/);
  });
});

describe('consume()', () => {
  it('hands every message to the handler, and goes on past a handler that throws', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const handled: number[] = [];
    const third = deferred();
    consume({
      subscribe: () => bus.subscribe('incidents.changed', stop.signal),
      signal: stop.signal,
      what: 'test',
      handle: ({ seq }) => {
        handled.push(seq);
        if (seq === 2) throw new Error('bad message');
        if (seq === 3) third.resolve();
      },
    });
    for (const seq of [1, 2, 3]) await bus.publish('incidents.changed', { seq });
    await third.promise;
    expect(handled).toEqual([1, 2, 3]);
    expect(errors).toHaveBeenCalledWith(
      'test: a bus message could not be handled',
      expect.any(Error),
    );
  });

  it('subscribes again after a failing subscription, and says so through resumed()', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const handled: number[] = [];
    const resumed = deferred();
    const afterResume = deferred();
    let subscriptions = 0;
    async function* failing() {
      yield { seq: 1 };
      throw new Error('fell behind');
    }
    consume({
      subscribe: () =>
        ++subscriptions === 1 ? failing() : bus.subscribe('incidents.changed', stop.signal),
      signal: stop.signal,
      what: 'test',
      handle: ({ seq }) => {
        handled.push(seq);
        if (seq === 2) afterResume.resolve();
      },
      resumed: () => resumed.resolve(),
    });
    await resumed.promise;
    expect(subscriptions).toBe(2);
    await bus.publish('incidents.changed', { seq: 2 });
    await afterResume.promise;
    expect(handled).toEqual([1, 2]);
    expect(errors).toHaveBeenCalledWith(
      'test: bus subscription failed; subscribing again',
      expect.any(Error),
    );
  });

  it('stops when its signal aborts, without subscribing again', async () => {
    let subscriptions = 0;
    const own = new AbortController();
    const ended = deferred();
    consume({
      subscribe: () => {
        subscriptions++;
        const messages = bus.subscribe('incidents.changed', own.signal);
        own.signal.addEventListener('abort', () => queueMicrotask(() => ended.resolve()));
        return messages;
      },
      signal: own.signal,
      what: 'test',
      handle: () => undefined,
    });
    own.abort();
    await ended.promise;
    await bus.publish('incidents.changed', { seq: 1 });
    expect(subscriptions).toBe(1);
  });
});
