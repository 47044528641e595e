import { describe, expect, it } from 'vitest';
import { downsample } from '../../src/server/store/downsample.ts';

const series = (n: number, value: (i: number) => number) =>
  Array.from({ length: n }, (_, i) => ({ ts: 1000 + i * 10, value: value(i) }));

describe('downsample', () => {
  it('returns short series untouched', () => {
    const points = series(10, (i) => i);
    expect(downsample(points, 10, 1000, 1090)).toBe(points);
  });

  it('keeps at most maxPoints, oldest first, with every bucket’s extremes', () => {
    const points = series(10_000, (i) => Math.sin(i / 50));
    points[4321] = { ts: points[4321]!.ts, value: 99 };
    points[7654] = { ts: points[7654]!.ts, value: -99 };
    const out = downsample(points, 100, 1000, 1000 + 9999 * 10);
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out.length).toBeGreaterThan(90);
    expect(out.map((p) => p.ts)).toEqual([...out.map((p) => p.ts)].sort((a, b) => a - b));
    expect(out).toContainEqual(points[4321]);
    expect(out).toContainEqual(points[7654]);
  });

  it('keeps the most extreme point when only one fits', () => {
    const points = series(5, (i) => [1, -7, 3, 2, 0][i]!);
    expect(downsample(points, 1, 1000, 1040)).toEqual([{ ts: 1010, value: -7 }]);
  });
});
