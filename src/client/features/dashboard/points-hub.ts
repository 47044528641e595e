import { WATCH_SERIES_MAX } from '../../../shared/limits.ts';
import type { Point, PointsBatch } from '../../../shared/schemas/metrics.ts';

/** What a chart or tile does with its series' points. */
export interface SeriesListener {
  /** New points since the last frame, oldest first. */
  onPoints(points: readonly Point[]): void;
  /** The stream (re)started, or points were dropped: load the range again so no gap remains. */
  onReload(): void;
}

/** Points held for one series between frames; past this (a hidden tab), reload instead. */
const MAX_PENDING = 20_000;

/**
 * Hands the points of the page's one `metrics.onPoints` stream to the charts and tiles that
 * show them, once per animation frame: batches come up to ten times a second, and React never
 * hears of them (widgets draw through refs).
 */
export class PointsHub {
  /** The stream is up: a widget that mounts now loads its range itself. */
  live = false;
  private readonly listeners = new Map<string, Set<SeriesListener>>();
  private pending = new Map<string, Point[]>();
  private overflowed = new Set<string>();
  private frame: number | null = null;

  watch(series: string, listener: SeriesListener): () => void {
    let set = this.listeners.get(series);
    if (!set) this.listeners.set(series, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(series);
    };
  }

  push(batch: PointsBatch): void {
    for (const { series, points } of batch) {
      if (!this.listeners.has(series) || points.length === 0) continue;
      let list = this.pending.get(series);
      if (!list) this.pending.set(series, (list = []));
      for (const p of points) list.push(p);
      if (list.length > MAX_PENDING) {
        list.splice(0, list.length - MAX_PENDING);
        this.overflowed.add(series);
      }
    }
    if (this.pending.size > 0) this.frame ??= requestAnimationFrame(this.flush);
  }

  /** The stream (re)started: every widget reloads, and what was queued is covered by that. */
  started(): void {
    this.live = true;
    this.pending.clear();
    this.overflowed.clear();
    for (const set of this.listeners.values()) for (const l of [...set]) l.onReload();
  }

  stopped(): void {
    this.live = false;
  }

  dispose(): void {
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
    this.pending.clear();
    this.listeners.clear();
  }

  private readonly flush = () => {
    this.frame = null;
    const pending = this.pending;
    const overflowed = this.overflowed;
    this.pending = new Map();
    this.overflowed = new Set();
    for (const [series, points] of pending) {
      for (const l of [...(this.listeners.get(series) ?? [])]) {
        if (overflowed.has(series)) l.onReload();
        else l.onPoints(points);
      }
    }
  };
}

/** The series one stream follows: each once, sorted (so the same set is the same stream). */
export function streamSeries(series: readonly string[]): string[] {
  return [...new Set(series)].sort().slice(0, WATCH_SERIES_MAX);
}
