import { describe, expect, it } from 'vitest';
import { downsample, StreamingDownsampler } from '../../src/server/features/metrics/downsample.ts';

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

/** A small seeded generator (mulberry32), so a failure names a case that can be run again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('StreamingDownsampler', () => {
  it('gives exactly what downsample gives, on random series', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const rand = random(seed);
      const int = (n: number) => Math.floor(rand() * n);
      const maxPoints = [1, 2, 3, 4, 7, 10, 50, 101][int(8)]!;
      // Around maxPoints (raw or not), and far past it.
      const n = int(4) === 0 ? int(maxPoints * 40) : Math.max(0, maxPoints - 3 + int(7));
      const from = int(1_000_000);
      let ts = from + int(50);
      const points = Array.from({ length: n }, () => {
        // Equal stamps and equal values happen: ties must resolve the same way.
        ts += int(4) === 0 ? 0 : int(100);
        return { ts, value: int(3) === 0 ? int(5) : Math.round((rand() - 0.5) * 2000) / 10 };
      });
      const to = ts + int(500);

      const streaming = new StreamingDownsampler(maxPoints, from, to);
      for (const p of points) streaming.push(p);
      expect(streaming.result(), `seed ${seed}`).toEqual(downsample(points, maxPoints, from, to));
    }
  });

  it('downsamples a million points to at most maxPoints', () => {
    const sampler = new StreamingDownsampler(100, 0, 999_999);
    for (let i = 0; i < 1_000_000; i++) sampler.push({ ts: i, value: Math.sin(i) });
    expect(sampler.result().length).toBeLessThanOrEqual(100);
  });
});
