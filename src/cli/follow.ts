import type { Unsubscribable } from '@trpc/server/observable';
import { backoffMs } from '../sdk/client.ts';
import { describeError, errorCode } from './errors.ts';

/** What a replayable subscription (`tracked(id, data)`) tells its observer. */
export interface TrackedObserver<T> {
  onStarted(): void;
  onData(event: { id: string; data: T }): void;
  onError(error: unknown): void;
  onComplete(): void;
  onConnectionStateChange(state: {
    state: 'idle' | 'connecting' | 'pending';
    error: unknown;
  }): void;
}

export type StreamState = 'connecting' | 'connected' | 'reconnecting';

export interface FollowOptions<T> {
  /** Opens the subscription, resuming after `lastEventId` when there is one. */
  open(lastEventId: string | null, observer: TrackedObserver<T>): Unsubscribable;
  /** Where to resume from at first: events after it are delivered, none before. */
  lastEventId?: string | null | undefined;
  onEvent(id: string, data: T): void;
  onState(state: StreamState, reason: string | null): void;
  onWarning(message: string): void;
  /** Ends the stream; `follow` then resolves. */
  signal: AbortSignal;
  /** Server for error messages. */
  url: string;
}

/** Why a stream dropped, briefly; EventSource's end-of-stream event carries no message. */
function streamProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  return message && message !== 'Unknown error' ? message : 'connection lost';
}

/** Ids recently delivered, oldest forgotten first. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}

  /** False when `id` was seen already. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
    return true;
  }
}

/**
 * Follows a replayable subscription until `signal` aborts, delivering each event once.
 *
 * The transport does the resuming: EventSource reconnects a dropped stream with `Last-Event-ID`,
 * and the client's retryLink re-opens a failed one from the last id it saw. On top of that:
 * a stream the server ends (`return`) is re-opened from the last id here, `PRECONDITION_FAILED`
 * (the server cannot resume from that id) starts afresh with a warning, and ids already
 * delivered are dropped, in case a replay overlaps what arrived live.
 * Rejects on errors that retrying cannot fix (`UNAUTHORIZED` after a revocation, say).
 */
export function follow<T>(opts: FollowOptions<T>): Promise<void> {
  const seen = new RecentIds(10_000);
  let lastEventId = opts.lastEventId ?? null;
  let everConnected = false;
  let shown: StreamState | null = null;
  let reopenAttempts = 0;
  let current: Unsubscribable | null = null;
  let generations = 0;
  let reopenTimer: ReturnType<typeof setTimeout> | undefined;

  const show = (state: StreamState, reason: string | null) => {
    if (state === shown) return;
    shown = state;
    opts.onState(state, reason);
  };

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(reopenTimer);
      opts.signal.removeEventListener('abort', onAbort);
      const sub = current;
      current = null;
      sub?.unsubscribe();
      if (error === undefined) resolve();
      else
        reject(error instanceof Error ? error : new Error('The stream failed', { cause: error }));
    };
    const onAbort = () => finish();

    const open = (from: string | null) => {
      // Callbacks of a subscription we replaced or stopped are ignored; some come synchronously,
      // from inside `opts.open`, so the check cannot compare against its return value.
      const generation = ++generations;
      const live = () => !settled && generation === generations;
      current = opts.open(from, {
        onStarted() {
          if (!live()) return;
          everConnected = true;
          reopenAttempts = 0;
          show('connected', null);
        },
        onConnectionStateChange({ state, error }) {
          if (!live()) return;
          if (state === 'pending') show('connected', null);
          if (state === 'connecting') {
            const reason = error ? streamProblem(error) : null;
            show(everConnected || error ? 'reconnecting' : 'connecting', reason);
          }
        },
        onData({ id, data }) {
          if (!live()) return;
          lastEventId = id;
          if (seen.add(id)) opts.onEvent(id, data);
        },
        onError(error) {
          if (!live()) return;
          if (errorCode(error) === 'PRECONDITION_FAILED') {
            opts.onWarning(
              `${describeError(error, opts.url)}; subscribing afresh (some events may be missing)`,
            );
            lastEventId = null;
            show('reconnecting', null);
            open(null);
            return;
          }
          finish(error);
        },
        onComplete() {
          if (!live()) return;
          // The server ended the stream; pick it up again where it stopped.
          show('reconnecting', 'stream ended');
          current = null;
          generations++;
          reopenTimer = setTimeout(() => open(lastEventId), backoffMs(reopenAttempts++));
        },
      });
    };

    if (opts.signal.aborted) return finish();
    opts.signal.addEventListener('abort', onAbort);
    show('connecting', null);
    open(lastEventId);
  });
}
