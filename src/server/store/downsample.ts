import type { Point } from '../../shared/schemas/metrics.ts';

/**
 * At most `maxPoints` points from `points` (oldest first), keeping each time bucket's minimum
 * and maximum so that a spike stays visible however far the range is zoomed out.
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
