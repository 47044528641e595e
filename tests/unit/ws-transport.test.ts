import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWsTransport, type WsTransport } from '../../src/client/transport/ws-transport.ts';

/** A WebSocket the test opens, refuses and drops by hand. */
class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static all: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  binaryType = 'blob';
  sent: string[] = [];
  constructor(readonly url: string) {
    super();
    FakeSocket.all.push(this);
  }
  accept() {
    this.readyState = FakeSocket.OPEN;
    this.dispatchEvent(new Event('open'));
  }
  /** What a proxy that refuses the upgrade looks like from the page. */
  refuse() {
    this.readyState = FakeSocket.CLOSED;
    this.dispatchEvent(new Event('error'));
    this.dispatchEvent(new Event('close'));
  }
  /** The server goes away. */
  drop() {
    this.readyState = FakeSocket.CLOSED;
    this.dispatchEvent(new Event('close'));
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    if (this.readyState >= FakeSocket.CLOSING) return;
    this.readyState = FakeSocket.CLOSING;
    queueMicrotask(() => this.drop());
  }
}

const sockets = () => FakeSocket.all;
const last = () => {
  const socket = FakeSocket.all.at(-1);
  if (!socket) throw new Error('no socket opened');
  return socket;
};
/**
 * Runs what is due now and what that schedules "now" (tRPC hops through `sleep(0)`, which fake
 * timers defer by 1 ms when it is scheduled from a timer).
 */
async function settle() {
  for (let i = 0; i < 3; i++) await vi.advanceTimersByTimeAsync(1);
}

let transport: WsTransport;
beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0); // backoff at its low end: 0.5 s, 1 s, 2 s…
  FakeSocket.all = [];
  transport = createWsTransport({
    url: () => 'ws://pulse.test/trpc',
    WebSocket: FakeSocket as unknown as typeof WebSocket,
  });
});
// The transport is dropped with its fake timers (a gate waiting for them would hold `close()`).
afterEach(() => {
  vi.useRealTimers();
});

describe('the WebSocket transport', () => {
  it('opens no socket until someone is signed in', async () => {
    await vi.advanceTimersByTimeAsync(5000);
    expect(sockets()).toHaveLength(0);
    transport.setIdentity('usr_alice');
    await settle();
    expect(sockets().map((s) => s.url)).toEqual(['ws://pulse.test/trpc']);
    expect(transport.view.get().state).toBe('connecting');
    last().accept();
    expect(transport.view.get().state).toBe('connected');
  });

  it('reconnects with backoff after a drop, or at once when woken', async () => {
    transport.setIdentity('usr_alice');
    await settle();
    last().accept();
    last().drop();
    await settle();
    expect(transport.view.get().state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(450);
    expect(sockets()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets()).toHaveLength(2);
    last().refuse(); // still down: the next wait is longer…
    await vi.advanceTimersByTimeAsync(900);
    expect(sockets()).toHaveLength(2);
    transport.wake(); // …unless the tab is shown or the network comes back
    await settle();
    expect(sockets()).toHaveLength(3);
    last().accept();
    expect(transport.view.get().state).toBe('connected');
    await vi.advanceTimersByTimeAsync(2000);
    // Once a socket has proved usable, refusals are a server restart, never a reason to fall back.
    for (let i = 0; i < 5; i++) {
      last().drop();
      await vi.advanceTimersByTimeAsync(30_000);
    }
    expect(transport.mode.get()).toBe('ws');
  });

  it('falls back after three refused opens, probes now and then, and comes back', async () => {
    transport.setIdentity('usr_alice');
    await settle();
    last().refuse();
    await vi.advanceTimersByTimeAsync(500);
    last().refuse();
    await vi.advanceTimersByTimeAsync(1000);
    expect(transport.mode.get()).toBe('ws');
    last().refuse();
    await settle();
    expect(transport.mode.get()).toBe('fallback');
    expect(transport.view.get().state).toBe('fallback');
    const probes = sockets().length;
    await vi.advanceTimersByTimeAsync(14_000);
    expect(sockets()).toHaveLength(probes);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets()).toHaveLength(probes + 1);
    last().accept();
    // Back once it stays open: a proxy that accepts and cuts would otherwise flap.
    expect(transport.mode.get()).toBe('fallback');
    await vi.advanceTimersByTimeAsync(2000);
    expect(transport.mode.get()).toBe('ws');
    expect(transport.view.get().state).toBe('connected');
  });

  it('gives up an upgrade nobody answers after the open timeout, and falls back at once', async () => {
    transport.setIdentity('usr_alice');
    await settle();
    const hung = last();
    await vi.advanceTimersByTimeAsync(3900);
    expect(transport.mode.get()).toBe('ws');
    await vi.advanceTimersByTimeAsync(200);
    expect(hung.readyState).toBe(FakeSocket.CLOSED);
    expect(transport.mode.get()).toBe('fallback');
    expect(transport.view.get().detail).toContain('no answer');
  });

  it('falls back when every socket is accepted and closed at once', async () => {
    transport.setIdentity('usr_alice');
    await settle();
    for (let i = 0; i < 3; i++) {
      last().accept();
      last().drop();
      await vi.advanceTimersByTimeAsync(2000);
    }
    expect(transport.mode.get()).toBe('fallback');
    expect(transport.view.get().detail).toContain('closed as soon as it opened');
  });

  it('reopens the socket for a new user, since the cookie is read at the upgrade', async () => {
    transport.setIdentity('usr_alice');
    await settle();
    last().accept();
    transport.setIdentity('usr_alice');
    await settle();
    expect(sockets()).toHaveLength(1);
    transport.setIdentity('usr_bob');
    await settle();
    expect(sockets()).toHaveLength(2);
    expect(sockets()[0]?.readyState).toBe(FakeSocket.CLOSED);
    last().accept();
    // Signing out closes it, and nothing opens until someone signs in.
    transport.setIdentity(null);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets()).toHaveLength(2);
    expect(last().readyState).toBe(FakeSocket.CLOSED);
    expect(transport.mode.get()).toBe('ws');
  });

  it('checks an open socket when woken, and replaces it if it does not answer', async () => {
    transport.setIdentity('usr_alice');
    await settle();
    const first = last();
    first.accept();
    transport.wake();
    expect(first.sent).toContain('PING');
    first.dispatchEvent(new MessageEvent('message', { data: 'PONG' }));
    await vi.advanceTimersByTimeAsync(5000);
    expect(sockets()).toHaveLength(1);

    transport.wake(); // asleep, say: no answer
    await vi.advanceTimersByTimeAsync(3000);
    await settle();
    expect(sockets()).toHaveLength(2);
    expect(first.readyState).toBe(FakeSocket.CLOSED);
  });
});
