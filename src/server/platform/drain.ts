/**
 * Shutdown as a drain, so that a restart or a scale-down costs clients a reconnect and nothing
 * else: the instance first stops taking anything new (its health check answers 503 at once, so
 * a balancer stops sending to it), then ends its open streams a few at a time, spread evenly
 * over the drain window, so that the clients reconnecting (and resuming by last event id) reach
 * the other instances as a trickle rather than all in one instant; then it lets the requests
 * in flight finish and closes the app. A second signal (`hurry`) ends the rest at once.
 *
 * The steps themselves (refusing, ending a stream, waiting for requests, closing) belong to the
 * server and its transports; this module only orders and paces them, so it can be tested with
 * a clock of its own.
 */

/** One open stream the drain ends: an SSE response (a clean end) or a WebSocket (code 1012). */
export interface Drainable {
  end(): void;
}

/** Time, as the drain sees it; tests pass a clock they advance themselves. */
export interface DrainClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: DrainClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface DrainSteps {
  /** Stop taking anything new: stop listening, refuse requests, upgrades and streams (503). */
  refuseNew(): void;
  /** The streams open now; each is ended once, in this order. */
  streams(): Iterable<Drainable>;
  /** Resolves once the requests in flight have finished (the caller bounds how long). */
  settle(): Promise<void>;
  /** Ends every connection still open, at once (the second signal, or `settle` ran out). */
  cut(): void;
  /** Closes the app: background jobs, the bus, the database. */
  closeApp(): Promise<void>;
}

/**
 * The open streams of several transports in one order that spreads each transport over the
 * whole drain window (the i-th of n at about (i + ½) / n of it), rather than one transport's
 * after the other's: clients of each reconnect with their own delays (an SSE client after the
 * `retry` its stream set, a WebSocket client at once), so ending one kind in each half of the
 * window would have the two bunch up on arrival.
 */
export function interleave<T>(...lists: readonly (readonly T[])[]): T[] {
  return lists
    .flatMap((list) => list.map((item, i) => ({ item, at: (i + 0.5) / list.length })))
    .sort((a, b) => a.at - b.at)
    .map(({ item }) => item);
}

export type DrainState = 'serving' | 'draining' | 'closed';

export interface Drain {
  readonly state: DrainState;
  /**
   * Starts the drain (once; later calls answer the same promise): refuses what is new at once,
   * ends the open streams spread evenly over `windowMs` (0: all at once), waits for the
   * requests in flight, then closes the app. Resolves when all of it is done.
   */
  start(windowMs: number): Promise<void>;
  /** Ends the drain now: the streams not yet ended, and every connection; then closes the app. */
  hurry(): void;
}

export function createDrain(steps: DrainSteps, clock: DrainClock = systemClock): Drain {
  let state: DrainState = 'serving';
  let done: Promise<void> | null = null;
  /** Set while streams wait for their turn: ends them all now. */
  let endRest: (() => void) | null = null;
  let hurried = false;

  /** Ends `list` evenly over `windowMs`: the i-th (from 0) at (i + 1) / n of the window. */
  function spread(list: Drainable[], windowMs: number): Promise<void> {
    return new Promise((resolve) => {
      const n = list.length;
      const started = clock.now();
      let next = 0;
      let timer: unknown = null;
      const endThrough = (count: number) => {
        while (next < count) {
          const stream = list[next++];
          try {
            stream?.end();
          } catch (error) {
            // One stream failing to end must not keep the others open.
            console.error('Ending a stream during the drain failed', error);
          }
        }
      };
      const finish = () => {
        if (timer !== null) clock.clearTimeout(timer);
        timer = null;
        endRest = null;
        endThrough(n);
        resolve();
      };
      const tick = () => {
        timer = null;
        const elapsed = clock.now() - started;
        // The small epsilon keeps float rounding from leaving a stream one tick late.
        endThrough(Math.min(n, Math.floor((elapsed * n) / windowMs + 1e-9)));
        if (next >= n) return finish();
        const dueAt = ((next + 1) * windowMs) / n;
        timer = clock.setTimeout(tick, Math.max(0, dueAt - elapsed));
      };
      endRest = finish;
      if (n === 0 || windowMs <= 0 || hurried) return finish();
      tick();
    });
  }

  async function run(windowMs: number): Promise<void> {
    steps.refuseNew();
    await spread([...steps.streams()], windowMs);
    if (!hurried) await steps.settle();
    steps.cut();
    await steps.closeApp();
    state = 'closed';
  }

  return {
    get state() {
      return state;
    },
    start(windowMs) {
      if (done) return done;
      state = 'draining';
      done = run(windowMs);
      return done;
    },
    hurry() {
      if (state !== 'draining' || hurried) return;
      hurried = true;
      endRest?.();
      // `settle` may be waiting: ending every connection lets it resolve.
      steps.cut();
    },
  };
}
