import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  followSeries,
  type RangeQuery,
} from '../../src/client/features/dashboard/follow-series.ts';
import { PointsHub, streamSeries } from '../../src/client/features/dashboard/points-hub.ts';
import { SeriesWindow } from '../../src/client/features/dashboard/series-window.ts';
import type { Point } from '../../src/shared/schemas/metrics.ts';
import { deferred } from '../support/live.ts';

const pts = (...pairs: [number, number][]): Point[] => pairs.map(([ts, value]) => ({ ts, value }));

describe('series window', () => {
  it('loads a range, then keeps only the live points newer than its last', () => {
    const w = new SeriesWindow();
    w.load(pts([10, 1], [20, 2]), pts([15, 9], [20, 9], [30, 3]));
    expect(w.xs).toEqual([10, 20, 30]);
    expect(w.ys).toEqual([1, 2, 3]);
    expect(w.last()).toEqual({ ts: 30, value: 3 });
  });

  it('appends in order, and puts a late point in its place', () => {
    const w = new SeriesWindow();
    w.append(pts([10, 1], [30, 3]));
    w.append(pts([20, 2], [40, 4]));
    expect(w.xs).toEqual([10, 20, 30, 40]);
    expect(w.ys).toEqual([1, 2, 3, 4]);
  });

  it('drops what scrolled out of the window, in place', () => {
    const w = new SeriesWindow();
    const xs = w.xs;
    w.append(pts([10, 1], [20, 2], [30, 3]));
    expect(w.trimBefore(20)).toBe(1);
    expect(w.xs).toBe(xs);
    expect(w.xs).toEqual([20, 30]);
    expect(w.trimBefore(100)).toBe(2);
    expect(w.last()).toBeUndefined();
  });
});

/** Animation frames run when the test says so. */
function frames() {
  const queue: FrameRequestCallback[] = [];
  vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => queue.push(cb));
  vi.stubGlobal('cancelAnimationFrame', () => undefined);
  return {
    run() {
      for (const cb of queue.splice(0)) cb(0);
    },
    get pending() {
      return queue.length;
    },
  };
}

describe('points hub', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('hands each watcher its series’ points once per frame, however many batches came', () => {
    const frame = frames();
    const hub = new PointsHub();
    const a: Point[][] = [];
    const b: Point[][] = [];
    hub.watch('a', { onPoints: (p) => a.push([...p]), onReload: () => undefined });
    hub.watch('b', { onPoints: (p) => b.push([...p]), onReload: () => undefined });
    hub.push([
      { series: 'a', points: pts([1, 1]) },
      { series: 'other', points: pts([1, 1]) },
    ]);
    hub.push([
      { series: 'a', points: pts([2, 2]) },
      { series: 'b', points: pts([2, 5]) },
    ]);
    expect(frame.pending).toBe(1);
    expect(a).toEqual([]);
    frame.run();
    expect(a).toEqual([pts([1, 1], [2, 2])]);
    expect(b).toEqual([pts([2, 5])]);
  });

  it('asks every watcher to reload when the stream (re)starts, dropping what was queued', () => {
    const frame = frames();
    const hub = new PointsHub();
    const seen: string[] = [];
    hub.watch('a', { onPoints: () => seen.push('points'), onReload: () => seen.push('reload') });
    hub.push([{ series: 'a', points: pts([1, 1]) }]);
    hub.started();
    expect(hub.live).toBe(true);
    frame.run();
    expect(seen).toEqual(['reload']);
  });

  it('reloads instead of appending when a hidden tab let too many points pile up', () => {
    const frame = frames();
    const hub = new PointsHub();
    const seen: string[] = [];
    hub.watch('a', { onPoints: () => seen.push('points'), onReload: () => seen.push('reload') });
    const many = Array.from({ length: 25_000 }, (_, i) => ({ ts: i, value: i }));
    hub.push([{ series: 'a', points: many }]);
    frame.run();
    expect(seen).toEqual(['reload']);
  });

  it('follows each series once, in one order, whatever the layout lists', () => {
    expect(streamSeries(['b', 'a', 'b'])).toEqual(['a', 'b']);
  });
});

describe('following a series', () => {
  afterEach(() => vi.unstubAllGlobals());

  function follow(hub: PointsHub) {
    const loads: { query: RangeQuery; answer: ReturnType<typeof deferred<Point[]>> }[] = [];
    const shown: number[][] = [];
    const stop = followSeries({
      hub,
      series: 'api.latency',
      windowMs: 60_000,
      maxPoints: () => 100,
      msPerPixel: () => 0,
      loadRange: (query) => {
        const answer = deferred<Point[]>();
        loads.push({ query, answer });
        return answer.promise;
      },
      update: (data) => shown.push([...data.xs]),
      draw: () => undefined,
    });
    return { loads, shown, stop };
  }

  it('loads the range when the stream starts and keeps what arrives meanwhile, once', async () => {
    const frame = frames();
    const hub = new PointsHub();
    const f = follow(hub);
    expect(f.loads).toHaveLength(0); // not before the stream is up: its start would miss points
    hub.started();
    expect(f.loads).toHaveLength(1);
    const now = Date.now();
    expect(f.loads[0]?.query).toMatchObject({ series: 'api.latency', maxPoints: 100 });
    expect(f.loads[0]?.query.from).toBeGreaterThanOrEqual(now - 60_000 - 50);

    hub.push([{ series: 'api.latency', points: pts([now - 2000, 2], [now - 1000, 3]) }]);
    frame.run();
    expect(f.shown.flat()).toEqual([]); // held until the range is in
    f.loads[0]?.answer.resolve(pts([now - 3000, 1], [now - 2000, 2]));
    await f.loads[0]?.answer.promise;
    expect(f.shown.at(-1)).toEqual([now - 3000, now - 2000, now - 1000]);

    hub.push([{ series: 'api.latency', points: pts([now, 4]) }]);
    frame.run();
    expect(f.shown.at(-1)).toEqual([now - 3000, now - 2000, now - 1000, now]);

    // A restart (a dropped stream, a server restart) loads again: the gap is the server's to fill.
    hub.started();
    expect(f.loads).toHaveLength(2);
    f.stop();
  });

  it('drops a load that a newer one replaced', async () => {
    frames();
    const hub = new PointsHub();
    hub.started();
    const f = follow(hub);
    hub.started();
    const now = Date.now();
    f.loads[1]?.answer.resolve(pts([now - 1000, 2]));
    await f.loads[1]?.answer.promise;
    f.loads[0]?.answer.resolve(pts([now - 5000, 1]));
    await f.loads[0]?.answer.promise;
    expect(f.shown.at(-1)).toEqual([now - 1000]);
    f.stop();
  });
});
