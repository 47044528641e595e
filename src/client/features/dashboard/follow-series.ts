import { RANGE_POINTS_MAX } from '../../../shared/limits.ts';
import type { Point, TimeRange } from '../../../shared/schemas/metrics.ts';
import type { PointsHub } from './points-hub.ts';
import { SeriesWindow } from './series-window.ts';

export const RANGE_MS: Record<TimeRange, number> = {
  '5m': 5 * 60_000,
  '1h': 60 * 60_000,
  '24h': 24 * 60 * 60_000,
};

export interface RangeQuery {
  series: string;
  from: number;
  to: number;
  maxPoints: number;
}

export interface FollowSeriesOptions {
  hub: PointsHub;
  series: string;
  windowMs: number;
  /** How many points a load asks for: about the widget's width in pixels. */
  maxPoints: () => number;
  loadRange: (query: RangeQuery) => Promise<Point[]>;
  /** Cheap DOM writes (the value, counts): on every frame that brings points. */
  update?: (window: SeriesWindow) => void;
  /**
   * Redraws the canvas: in an animation frame, at most about once per pixel's worth of time
   * (`msPerPixel`, bounded), and now and then when no points come, so the window scrolls.
   */
  draw: (window: SeriesWindow, from: number, to: number) => void;
  /** About how long one pixel of the widget spans: redrawing more often shows nothing new. */
  msPerPixel: () => number;
  /** A load failed (the message), or worked again (null). */
  onLoadError?: (message: string | null) => void;
}

/** Points stamped a little ahead of this browser's clock (another machine's) still load. */
const CLOCK_SLACK_MS = 5_000;
/** Live points kept at full resolution past this many times `maxPoints` are downsampled by a reload. */
const COMPACT_FACTOR = 3;
const RETRY_MS = 3_000;
/**
 * Bounds on the time between two redraws of one widget. A canvas redraw costs far more than
 * the DOM writes (a software-rastered canvas, a dozen of them, ten batches a second): a chart
 * redraws about when its newest point has moved a pixel, and at least four times a second.
 */
const DRAW_MIN_MS = 16;
const DRAW_MAX_MS = 250;

/**
 * Keeps one widget's series window current: loads the range (when the stream is up, and again
 * on every (re)start, so no gap remains), appends live points as frames bring them, drops
 * points that scroll out of the window. Returns the function that stops it.
 */
export function followSeries(opts: FollowSeriesOptions): () => void {
  const { hub, series, windowMs } = opts;
  const data = new SeriesWindow();
  let stopped = false;
  let loads = 0;
  /** Live points that arrive while a range loads; null when no load is in flight. */
  let arriving: Point[] | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let maxPoints = 1;
  let lastDraw = -Infinity;
  let drawTimer: ReturnType<typeof setTimeout> | null = null;
  let drawFrame: number | null = null;

  const draw = () => {
    drawFrame = null;
    lastDraw = performance.now();
    const to = Date.now();
    opts.draw(data, to - windowMs, to);
  };

  const scheduleDraw = () => {
    if (drawTimer !== null || drawFrame !== null) return;
    const every = Math.min(DRAW_MAX_MS, Math.max(DRAW_MIN_MS, opts.msPerPixel()));
    const wait = lastDraw + every - performance.now();
    if (wait <= 0) draw();
    else {
      drawTimer = setTimeout(() => {
        drawTimer = null;
        drawFrame = requestAnimationFrame(draw);
      }, wait);
    }
  };

  const commit = () => {
    data.trimBefore(Date.now() - windowMs);
    opts.update?.(data);
    scheduleDraw();
    if (arriving === null && data.length > COMPACT_FACTOR * maxPoints) load();
  };

  function load() {
    const seq = ++loads;
    if (retry !== null) clearTimeout(retry);
    retry = null;
    arriving = [];
    maxPoints = Math.max(10, Math.min(RANGE_POINTS_MAX, Math.round(opts.maxPoints())));
    const now = Date.now();
    opts.loadRange({ series, from: now - windowMs, to: now + CLOCK_SLACK_MS, maxPoints }).then(
      (points) => {
        if (stopped || seq !== loads) return;
        data.load(points, arriving ?? []);
        arriving = null;
        opts.onLoadError?.(null);
        commit();
      },
      (error: unknown) => {
        if (stopped || seq !== loads) return;
        arriving = null;
        opts.onLoadError?.(error instanceof Error ? error.message : String(error));
        retry = setTimeout(load, RETRY_MS);
      },
    );
  }

  const unwatch = hub.watch(series, {
    onPoints(points) {
      if (arriving) {
        for (const p of points) arriving.push(p);
        return;
      }
      data.append(points);
      commit();
    },
    onReload: load,
  });
  // Scrolls the window when no points come (a 24-hour chart moves a pixel every few minutes).
  const tick = setInterval(() => {
    data.trimBefore(Date.now() - windowMs);
    opts.update?.(data);
    const idle = drawTimer === null && drawFrame === null;
    if (idle && performance.now() - lastDraw >= Math.max(1000, opts.msPerPixel())) draw();
  }, 1000);
  if (hub.live) load();
  else commit();

  return () => {
    stopped = true;
    unwatch();
    clearInterval(tick);
    if (retry !== null) clearTimeout(retry);
    if (drawTimer !== null) clearTimeout(drawTimer);
    if (drawFrame !== null) cancelAnimationFrame(drawFrame);
  };
}
