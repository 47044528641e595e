import type { Point } from '../../../shared/schemas/metrics.ts';

/**
 * The points of one series that a chart or tile shows, as the column arrays uPlot draws
 * (`xs` ascending). Mutated in place: a live view appends every frame, and copying thousands
 * of points sixty times a second is what we must not do.
 */
export class SeriesWindow {
  readonly xs: number[] = [];
  readonly ys: number[] = [];

  get length(): number {
    return this.xs.length;
  }

  last(): Point | undefined {
    const i = this.xs.length - 1;
    const ts = this.xs[i];
    const value = this.ys[i];
    return ts === undefined || value === undefined ? undefined : { ts, value };
  }

  /**
   * Replaces the contents with a loaded range, then puts back the live points that arrived
   * while it loaded and are newer than its last point (older ones it already holds).
   */
  load(range: readonly Point[], liveSince: readonly Point[] = []): void {
    this.xs.length = 0;
    this.ys.length = 0;
    for (const p of range) this.insert(p);
    const lastTs = this.xs.at(-1) ?? -Infinity;
    this.append(liveSince.filter((p) => p.ts > lastTs));
  }

  /** Adds live points; they almost always come in order, so that case costs a push. */
  append(points: readonly Point[]): void {
    for (const p of points) this.insert(p);
  }

  /** Drops the points older than `from`; returns how many went. */
  trimBefore(from: number): number {
    let n = 0;
    while (n < this.xs.length && (this.xs[n] ?? Infinity) < from) n++;
    if (n > 0) {
      this.xs.splice(0, n);
      this.ys.splice(0, n);
    }
    return n;
  }

  private insert(p: Point): void {
    const lastTs = this.xs.at(-1);
    if (lastTs === undefined || p.ts >= lastTs) {
      this.xs.push(p.ts);
      this.ys.push(p.value);
      return;
    }
    // Out of order (an ingest with an explicit older `ts`): binary search for its place.
    let lo = 0;
    let hi = this.xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.xs[mid] ?? Infinity) <= p.ts) lo = mid + 1;
      else hi = mid;
    }
    this.xs.splice(lo, 0, p.ts);
    this.ys.splice(lo, 0, p.value);
  }
}
