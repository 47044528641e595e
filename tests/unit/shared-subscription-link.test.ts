import {
  TRPCClientError,
  type Operation,
  type OperationResultEnvelope,
  type TRPCLink,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable, type Observer } from '@trpc/server/observable';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedSubscriptionLink } from '../../src/client/transport/shared-subscription-link.ts';
import {
  subscriptionKey,
  type TabRole,
} from '../../src/client/transport/shared-subscription-relay.ts';

type Envelope = OperationResultEnvelope<unknown, TRPCClientError<AnyRouter>>;

/** Web Locks as one origin's tabs share them; `kill` is what closing a tab does to its locks. */
class FakeLocks {
  private held = new Map<string, { owner: string; release: () => void }>();
  private waiting = new Map<string, { owner: string; grant: () => void }[]>();

  /** The LockManager one tab sees. */
  forTab(owner: string) {
    return {
      request: (name: string, callback: (lock: { name: string }) => unknown) =>
        this.request(owner, name, callback),
    };
  }

  private request(
    owner: string,
    name: string,
    callback: (lock: { name: string }) => unknown,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const grant = () => {
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          this.held.delete(name);
          const next = this.waiting.get(name)?.shift();
          if (next) queueMicrotask(next.grant);
        };
        this.held.set(name, { owner, release });
        Promise.resolve()
          .then(() => callback({ name }))
          .then(
            (value) => (release(), resolve(value)),
            (error: unknown) => (
              release(),
              reject(error instanceof Error ? error : new Error(String(error)))
            ),
          );
      };
      if (this.held.has(name)) {
        const queue = this.waiting.get(name) ?? [];
        queue.push({ owner, grant });
        this.waiting.set(name, queue);
      } else {
        queueMicrotask(grant);
      }
    });
  }

  kill(owner: string) {
    for (const [name, queue] of this.waiting)
      this.waiting.set(
        name,
        queue.filter((w) => w.owner !== owner),
      );
    for (const lock of [...this.held.values()]) if (lock.owner === owner) lock.release();
  }
}

interface Stream {
  tab: string;
  op: Operation;
  observer: Observer<Envelope, TRPCClientError<AnyRouter>>;
  closed: boolean;
}

function harness() {
  const locks = new FakeLocks();
  const channels = new Map<string, BroadcastChannel[]>();
  let creating = '';
  vi.stubGlobal(
    'BroadcastChannel',
    class extends BroadcastChannel {
      constructor(name: string) {
        super(name);
        channels.set(creating, [...(channels.get(creating) ?? []), this]);
      }
    },
  );
  const streams: Stream[] = [];
  let opId = 0;

  function tab(name: string) {
    const roles: TabRole[] = [];
    const transport: TRPCLink<AnyRouter> =
      () =>
      ({ op }) =>
        observable<Envelope, TRPCClientError<AnyRouter>>((observer) => {
          const stream: Stream = { tab: name, op, observer, closed: false };
          streams.push(stream);
          return () => {
            stream.closed = true;
          };
        });
    creating = name;
    vi.stubGlobal('navigator', { locks: locks.forTab(name) });
    vi.spyOn(crypto, 'randomUUID').mockReturnValueOnce(`${name}-0000-0000-0000-000000000000`);
    const link = sharedSubscriptionLink<AnyRouter>({
      upstream: [transport],
      onRoleChange: (r) => roles.push(r),
    })({});
    return {
      roles,
      subscribe(path: string, input?: unknown) {
        const events: Envelope['result'][] = [];
        const errors: TRPCClientError<AnyRouter>[] = [];
        const op: Operation = {
          id: ++opId,
          type: 'subscription',
          path,
          input,
          context: {},
          signal: null,
        };
        const sub = link({
          op,
          next: () => {
            throw new Error('no next');
          },
        }).subscribe({
          next: (envelope) => events.push(envelope.result),
          error: (error) => errors.push(error),
        });
        return { events, errors, stop: () => sub.unsubscribe() };
      },
      /** What closing the tab does: its channel, locks and connections go with it. */
      close() {
        for (const channel of channels.get(name) ?? []) channel.close();
        locks.kill(name);
        for (const stream of streams) if (stream.tab === name) stream.closed = true;
      },
    };
  }

  const open = () => streams.filter((s) => !s.closed);
  const cleanup = () => {
    for (const list of channels.values()) for (const channel of list) channel.close();
  };
  return { tab, streams, open, cleanup };
}

let cleanup = () => {};
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('sharedSubscriptionLink', () => {
  it('opens one upstream per key for all tabs and relays what it yields to each', async () => {
    const h = harness();
    cleanup = h.cleanup;
    const a = h.tab('a');
    await vi.waitFor(() => expect(a.roles.at(-1)).toBe('leader'));
    const b = h.tab('b');
    const inA = a.subscribe('notifications.onNotification');
    const inB = b.subscribe('notifications.onNotification', { lastEventId: 'n0' });
    const other = b.subscribe('notifications.onReadState');

    await vi.waitFor(() => expect(h.open()).toHaveLength(2));
    expect(h.open().every((s) => s.tab === 'a')).toBe(true);
    const [arrivals] = h.open();
    arrivals?.observer.next({ result: { type: 'started' } });
    arrivals?.observer.next({ result: { id: 'n1', data: { id: 'n1', data: { title: 'hello' } } } });

    const wanted = [
      { type: 'started' },
      { id: 'n1', data: { id: 'n1', data: { title: 'hello' } } },
    ];
    await vi.waitFor(() => expect(inB.events).toEqual(wanted));
    expect(inA.events).toEqual(wanted);
    expect(other.events).toEqual([]);

    // A late joiner is told the stream has started (its onStarted refetches what it missed).
    const late = b.subscribe('notifications.onNotification');
    await vi.waitFor(() => expect(late.events).toEqual([{ type: 'started' }]));

    inA.stop();
    inB.stop();
    late.stop();
    await vi.waitFor(() => expect(h.open()).toHaveLength(1));
    other.stop();
    await vi.waitFor(() => expect(h.open()).toHaveLength(0));
  });

  it('releases what a closed tab held', async () => {
    const h = harness();
    cleanup = h.cleanup;
    const a = h.tab('a');
    await vi.waitFor(() => expect(a.roles.at(-1)).toBe('leader'));
    const b = h.tab('b');
    b.subscribe('chat.onMessage', { roomId: 'r1' });
    await vi.waitFor(() => expect(h.open()).toHaveLength(1));
    b.close(); // no unsubscribe: a crashed or killed tab says nothing
    await vi.waitFor(() => expect(h.open()).toHaveLength(0));
  });

  it('hands the streams to the next tab when the leader closes', async () => {
    const h = harness();
    cleanup = h.cleanup;
    const a = h.tab('a');
    await vi.waitFor(() => expect(a.roles.at(-1)).toBe('leader'));
    const b = h.tab('b');
    const c = h.tab('c');
    const inB = b.subscribe('notifications.onNotification');
    const inC = c.subscribe('notifications.onNotification');
    await vi.waitFor(() => expect(h.open()).toHaveLength(1));
    expect(b.roles).toEqual(['follower']);

    a.close();
    await vi.waitFor(() => expect(h.open().map((s) => s.tab)).toEqual(['b']));
    expect(b.roles.at(-1)).toBe('leader');
    expect(c.roles).toEqual(['follower']);
    // c re-announced its subscription to b: one stream, both tabs on it.
    h.open()[0]?.observer.next({ result: { type: 'started' } });
    await vi.waitFor(() => expect(inC.events).toContainEqual({ type: 'started' }));
    expect(inC.events[0]).toEqual({ type: 'state', state: 'connecting', error: null });
    expect(inB.events).toContainEqual({ type: 'started' });
  });

  it('ends every holder with the error, code and all, and opens afresh on the next subscribe', async () => {
    const h = harness();
    cleanup = h.cleanup;
    const a = h.tab('a');
    await vi.waitFor(() => expect(a.roles.at(-1)).toBe('leader'));
    const b = h.tab('b');
    const inA = a.subscribe('notifications.onNotification');
    const inB = b.subscribe('notifications.onNotification');
    await vi.waitFor(() => expect(h.open()).toHaveLength(1));
    h.open()[0]?.observer.next({ result: { type: 'started' } });
    await vi.waitFor(() => expect(inB.events).toEqual([{ type: 'started' }]));
    h.open()[0]?.observer.error(
      TRPCClientError.from({
        error: {
          code: -32012,
          message: "Cannot resume from 'x'",
          data: { code: 'PRECONDITION_FAILED', httpStatus: 412 },
        },
      }),
    );
    await vi.waitFor(() => expect(inB.errors).toHaveLength(1));
    expect(inB.errors[0]).toBeInstanceOf(TRPCClientError);
    const data: unknown = inB.errors[0]?.data;
    expect(data).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect(inA.errors[0]?.message).toBe("Cannot resume from 'x'");

    b.subscribe('notifications.onNotification');
    await vi.waitFor(() => expect(h.open()).toHaveLength(1));
    expect(h.streams).toHaveLength(2);
  });

  it('passes straight through where Web Locks are missing', () => {
    vi.stubGlobal('navigator', {});
    const streams: Operation[] = [];
    const roles: TabRole[] = [];
    const link = sharedSubscriptionLink<AnyRouter>({
      upstream: [
        () =>
          ({ op }) =>
            observable(() => void streams.push(op)),
      ],
      onRoleChange: (r) => roles.push(r),
    })({});
    const op: Operation = {
      id: 1,
      type: 'subscription',
      path: 'p',
      input: undefined,
      context: {},
      signal: null,
    };
    link({
      op,
      next: () => {
        throw new Error('no next');
      },
    }).subscribe({});
    expect(streams).toEqual([op]);
    expect(roles).toEqual(['standalone']);
  });
});

describe('subscriptionKey', () => {
  it('ignores the resume point and key order', () => {
    expect(subscriptionKey('chat.onMessage', { roomId: 'r', lastEventId: 'm9' })).toBe(
      subscriptionKey('chat.onMessage', { roomId: 'r' }),
    );
    expect(subscriptionKey('x', { a: 1, b: { d: 1, c: 2 } })).toBe(
      subscriptionKey('x', { b: { c: 2, d: 1 }, a: 1 }),
    );
    expect(subscriptionKey('x', undefined)).toBe(subscriptionKey('x', { lastEventId: 'n1' }));
    expect(subscriptionKey('x', { roomId: 'a' })).not.toBe(subscriptionKey('x', { roomId: 'b' }));
  });
});
