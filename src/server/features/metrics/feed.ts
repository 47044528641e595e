import { POINTS_FLUSH_MS } from '../../../shared/limits.ts';
import type { Point, PointsBatch } from '../../../shared/schemas/metrics.ts';
import { consume, type EventBus } from '../../platform/bus.ts';
import { createPump } from '../../platform/pump.ts';
import type { MetricStore } from './store.ts';
import { liveEvent, type FeedSpec, type Hub } from '../../platform/hub.ts';

const FETCH_PAGE = 5000;
/** Points of one series kept per flush window; a live view past this rate needs `range`, not every point. */
const MAX_PENDING_PER_SERIES = 5000;
/** Points held for the next flush over all series: a window's memory stays bounded however many are watched. */
const MAX_PENDING_TOTAL = 100_000;

/**
 * Live points for `metrics.onPoints`. Subscribers that watch the same set of series share a
 * channel, so a flush serializes one batch per distinct set, not per subscriber; and every
 * subscriber gets at most one batch per window (`POINTS_FLUSH_MS`), however fast points come.
 * Only series someone on this instance watches are read back from the database.
 */
export function createMetricsFeed(deps: { bus: EventBus; hub: Hub; store: MetricStore }) {
  const { bus, hub, store } = deps;
  const watched = new Map<string, number>();
  const channels = new Map<string, { series: string[]; refs: number }>();
  const pending = new Map<string, Point[]>();
  let pendingTotal = 0;
  let cursor = 0;
  let wanted = 0;
  let timer: NodeJS.Timeout | null = null;

  function flush(): void {
    if (pending.size === 0) return;
    for (const [key, channel] of channels) {
      const batch: PointsBatch = [];
      for (const series of channel.series) {
        const points = pending.get(series);
        if (points) batch.push({ series, points });
      }
      if (batch.length > 0) {
        hub.metrics.counts.published++;
        hub.dispatch(key, liveEvent(batch));
      }
    }
    pending.clear();
    pendingTotal = 0;
  }

  function stop(): void {
    if (timer) clearInterval(timer);
    timer = null;
  }

  return {
    /** Follows ingests from now on (`ready` once the starting point is read); until `signal` aborts. */
    start(signal: AbortSignal): { ready: Promise<void> } {
      async function drain(): Promise<void> {
        while (cursor < wanted && !signal.aborted) {
          const target = wanted;
          const series = [...watched.keys()];
          const rows = await store.after(cursor, series, FETCH_PAGE);
          for (const row of rows) {
            let list = pending.get(row.series);
            if (!list) pending.set(row.series, (list = []));
            list.push({ ts: row.ts, value: row.value });
            // Past a bound the oldest point of the series goes: the live view keeps its newest.
            if (list.length > MAX_PENDING_PER_SERIES || pendingTotal >= MAX_PENDING_TOTAL)
              list.shift();
            else pendingTotal++;
          }
          const last = rows.at(-1);
          cursor = rows.length === FETCH_PAGE && last ? last.id : target;
        }
      }

      const { pump, running } = createPump({
        drain,
        behind: () => cursor < wanted,
        signal,
        what: 'metrics fan-out',
      });

      let started = false;
      consume({
        subscribe: () => bus.subscribe('metrics.ingested', signal),
        signal,
        what: 'metrics fan-out',
        handle({ lastId, series }) {
          if (lastId <= wanted) return;
          // Nobody here watches these series: skip the read, just move on.
          if (started && !series.some((s) => watched.has(s))) {
            if (!running() && cursor === wanted) cursor = lastId;
            wanted = lastId;
            return;
          }
          wanted = lastId;
          if (started) pump();
        },
        resumed() {
          // Before `ready`, its first read of the end covers what was missed.
          if (!started) return;
          void store.maxId().then(
            (id) => {
              wanted = Math.max(wanted, id);
              pump();
            },
            (error: unknown) => {
              if (!signal.aborted) console.error('metrics fan-out could not catch up', error);
            },
          );
        },
      });
      const ready = store.maxId().then((id) => {
        cursor = id;
        wanted = Math.max(wanted, id);
        started = true;
        pump();
      });
      signal.addEventListener('abort', stop, { once: true });
      return { ready };
    },

    /** Distinct series watched if `series` were added: those watched already add nothing. */
    watchedWith(series: readonly string[]): number {
      let added = 0;
      for (const s of new Set(series)) if (!watched.has(s)) added++;
      return watched.size + added;
    },
    /** What `metrics.onPoints` streams for a set of series. */
    points(series: string[]): FeedSpec {
      const unique = [...new Set(series)].sort();
      const key = `metrics:${unique.join(',')}`;
      return {
        hub,
        channel: key,
        onOpen() {
          const channel = channels.get(key);
          if (channel) channel.refs++;
          else channels.set(key, { series: unique, refs: 1 });
          for (const s of unique) watched.set(s, (watched.get(s) ?? 0) + 1);
          timer ??= setInterval(flush, POINTS_FLUSH_MS);
        },
        onClose() {
          const channel = channels.get(key);
          if (channel && --channel.refs === 0) channels.delete(key);
          for (const s of unique) {
            const n = (watched.get(s) ?? 1) - 1;
            if (n === 0) {
              watched.delete(s);
              pendingTotal -= pending.get(s)?.length ?? 0;
              pending.delete(s);
            } else watched.set(s, n);
          }
          if (channels.size === 0 && timer) {
            clearInterval(timer);
            timer = null;
          }
        },
      };
    },
  };
}

export type MetricsFeed = ReturnType<typeof createMetricsFeed>;
