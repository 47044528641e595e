import type { Point } from '../../../shared/schemas/metrics.ts';

/**
 * At most `maxPoints` points from `points` (oldest first), keeping each time bucket's minimum
 * and maximum so that a spike stays visible however far the range is zoomed out. The
 * definition that `StreamingDownsampler` (what `metrics.range` uses) is tested against.
 */
export function downsample(points: Point[], maxPoints: number, from: number, to: number): Point[] {
  if (points.length <= maxPoints) return points;
  const buckets = Math.floor(maxPoints / 2);
  if (buckets === 0) {
    return [points.reduce((a, b) => (Math.abs(b.value) > Math.abs(a.value) ? b : a))];
  }
  const width = (to - from + 1) / buckets;
  const out: Point[] = [];
  let bucket = -1;
  let lo: Point | null = null;
  let hi: Point | null = null;
  const flush = () => {
    if (!lo || !hi) return;
    if (lo === hi) out.push(lo);
    else if (lo.ts <= hi.ts) out.push(lo, hi);
    else out.push(hi, lo);
  };
  for (const p of points) {
    const b = Math.min(buckets - 1, Math.floor((p.ts - from) / width));
    if (b !== bucket) {
      flush();
      bucket = b;
      lo = hi = p;
    } else {
      if (p.value < lo!.value) lo = p;
      if (p.value > hi!.value) hi = p;
    }
  }
  flush();
  return out;
}

/**
 * The same result as `downsample(points, maxPoints, from, to)`, from points pushed one at a
 * time (oldest first), holding at most `maxPoints` of them: `metrics.range` reads a series in
 * pages and never has all of it in memory. Until more than `maxPoints` have come it keeps them
 * as they are; from then on, each bucket's extremes.
 */
export class StreamingDownsampler {
  private raw: Point[] | null = [];
  private readonly out: Point[] = [];
  private readonly buckets: number;
  private readonly width: number;
  private bucket = -1;
  private lo: Point | null = null;
  private hi: Point | null = null;
  /** When only one point fits (`maxPoints` 1): the most extreme so far. */
  private extreme: Point | null = null;

  constructor(
    private readonly maxPoints: number,
    private readonly from: number,
    to: number,
  ) {
    this.buckets = Math.floor(maxPoints / 2);
    this.width = (to - from + 1) / this.buckets;
  }

  push(point: Point): void {
    if (this.raw) {
      if (this.raw.length < this.maxPoints) {
        this.raw.push(point);
        return;
      }
      const held = this.raw;
      this.raw = null;
      for (const p of held) this.take(p);
    }
    this.take(point);
  }

  /** The downsampled points, oldest first. */
  result(): Point[] {
    if (this.raw) return this.raw;
    if (this.buckets === 0) return this.extreme ? [this.extreme] : [];
    this.flush();
    return this.out;
  }

  private take(p: Point): void {
    if (this.buckets === 0) {
      if (!this.extreme || Math.abs(p.value) > Math.abs(this.extreme.value)) this.extreme = p;
      return;
    }
    const b = Math.min(this.buckets - 1, Math.floor((p.ts - this.from) / this.width));
    if (b !== this.bucket || !this.lo || !this.hi) {
      this.flush();
      this.bucket = b;
      this.lo = this.hi = p;
      return;
    }
    if (p.value < this.lo.value) this.lo = p;
    if (p.value > this.hi.value) this.hi = p;
  }

  private flush(): void {
    const { lo, hi } = this;
    this.lo = this.hi = null;
    if (!lo || !hi) return;
    if (lo === hi) this.out.push(lo);
    else if (lo.ts <= hi.ts) this.out.push(lo, hi);
    else this.out.push(hi, lo);
  }
}
