import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createClientAddress } from '../../src/server/platform/client-address.ts';
import {
  createDrain,
  interleave,
  type DrainClock,
  type DrainSteps,
} from '../../src/server/platform/drain.ts';
import { deferred } from '../support/live.ts';

/** A clock the test moves: timers fire, in order, only when `advance` passes them. */
function manualClock() {
  let now = 0;
  let nextId = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: DrainClock = {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++nextId;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
  };
  function advance(ms: number) {
    const until = now + ms;
    for (;;) {
      const due = [...timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at);
      const first = due[0];
      if (!first) break;
      timers.delete(first[0]);
      now = Math.max(now, first[1].at);
      first[1].fn();
    }
    now = until;
  }
  return { clock, advance, pending: () => timers.size };
}

/** Steps that record what the drain did, and when (by the manual clock). */
function recordingSteps(clock: DrainClock, streams: number) {
  const log: string[] = [];
  const endedAt: number[] = [];
  const settled = deferred();
  const steps: DrainSteps = {
    refuseNew: () => void log.push('refuseNew'),
    streams: () =>
      Array.from({ length: streams }, () => ({ end: () => void endedAt.push(clock.now()) })),
    settle: () => {
      log.push('settle');
      return settled.promise;
    },
    cut: () => void log.push('cut'),
    closeApp: () => {
      log.push('closeApp');
      return Promise.resolve();
    },
  };
  return { steps, log, endedAt, settle: () => settled.resolve() };
}

describe('the drain', () => {
  it('refuses new work first, ends the streams evenly over the window, then settles, cuts and closes', async () => {
    const { clock, advance } = manualClock();
    const r = recordingSteps(clock, 10);
    const drain = createDrain(r.steps, clock);
    expect(drain.state).toBe('serving');
    const done = drain.start(1000);
    expect(drain.state).toBe('draining');
    expect(r.log).toEqual(['refuseNew']);
    expect(r.endedAt).toEqual([]);

    advance(499);
    expect(r.endedAt).toEqual([100, 200, 300, 400]);
    advance(501);
    expect(r.endedAt).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    await Promise.resolve();
    expect(r.log).toEqual(['refuseNew', 'settle']);
    r.settle();
    await done;
    expect(r.log).toEqual(['refuseNew', 'settle', 'cut', 'closeApp']);
    expect(drain.state).toBe('closed');
    // Once: a second start answers the same drain.
    expect(drain.start(1000)).toBe(done);
  });

  it('with a window of 0 ends every stream at once', async () => {
    const { clock } = manualClock();
    const r = recordingSteps(clock, 5);
    const done = createDrain(r.steps, clock).start(0);
    expect(r.endedAt).toEqual([0, 0, 0, 0, 0]);
    r.settle();
    await done;
    expect(r.log).toEqual(['refuseNew', 'settle', 'cut', 'closeApp']);
  });

  it('hurry ends the streams still waiting at once, skips settling and closes', async () => {
    const { clock, advance, pending } = manualClock();
    const r = recordingSteps(clock, 4);
    const drain = createDrain(r.steps, clock);
    const done = drain.start(4000);
    advance(1500);
    expect(r.endedAt).toEqual([1000]);
    drain.hurry();
    expect(r.endedAt).toEqual([1000, 1500, 1500, 1500]);
    expect(pending()).toBe(0);
    await done;
    expect(r.log).toEqual(['refuseNew', 'cut', 'cut', 'closeApp']);
  });

  it('hurry while settling cuts the connections it waits for', async () => {
    const { clock } = manualClock();
    const r = recordingSteps(clock, 0);
    const drain = createDrain(r.steps, clock);
    const done = drain.start(1000);
    await Promise.resolve();
    expect(r.log).toEqual(['refuseNew', 'settle']);
    drain.hurry();
    expect(r.log).toEqual(['refuseNew', 'settle', 'cut']);
    r.settle(); // what cutting every connection brings about
    await done;
    expect(r.log.at(-1)).toBe('closeApp');
  });

  it('spreads each transport over the whole window, not one after the other', () => {
    const sse = ['s1', 's2', 's3', 's4'];
    const ws = ['w1', 'w2'];
    expect(interleave(sse, ws)).toEqual(['s1', 'w1', 's2', 's3', 'w2', 's4']);
    expect(interleave(sse, [])).toEqual(sse);
    expect(interleave([], ws)).toEqual(ws);
    // Each kind's first half ends in the window's first half.
    const order = interleave(
      Array.from({ length: 30 }, (_, i) => `s${i}`),
      Array.from({ length: 10 }, (_, i) => `w${i}`),
    );
    const firstHalf = order.slice(0, 20);
    expect(firstHalf.filter((id) => id.startsWith('s'))).toHaveLength(15);
    expect(firstHalf.filter((id) => id.startsWith('w'))).toHaveLength(5);
  });
});

const request = (peer: string, forwardedFor?: string) =>
  ({
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  }) as unknown as IncomingMessage;

describe('the client address', () => {
  it('is the peer, X-Forwarded-For ignored, when no proxy is trusted', () => {
    const address = createClientAddress([]);
    expect(address(request('10.0.0.9', '1.2.3.4'))).toBe('10.0.0.9');
    expect(address(request('::ffff:10.0.0.9'))).toBe('10.0.0.9');
  });

  it('is read from X-Forwarded-For through trusted proxies only, from the right', () => {
    const address = createClientAddress(['127.0.0.1', '10.0.0.2']);
    // Untrusted peer: its header is its own claim.
    expect(address(request('10.0.0.9', '1.2.3.4'))).toBe('10.0.0.9');
    // Trusted peer: the nearest hop it names that is not a trusted proxy.
    expect(address(request('::ffff:127.0.0.1', '1.2.3.4'))).toBe('1.2.3.4');
    expect(address(request('127.0.0.1', '6.6.6.6, 1.2.3.4, 10.0.0.2'))).toBe('1.2.3.4');
    expect(address(request('127.0.0.1', '6.6.6.6, 1.2.3.4'))).toBe('1.2.3.4');
    // No header: the proxy itself.
    expect(address(request('127.0.0.1'))).toBe('127.0.0.1');
    // Garbage stops the walk: nothing left of it is believed.
    expect(address(request('127.0.0.1', '1.2.3.4, unknown'))).toBe('127.0.0.1');
  });
});
