import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { timeRangeSchema, type TimeRange } from '../../../shared/schemas/metrics.ts';
import { RangePicker } from '../../components/range-picker.tsx';
import { formatValue } from '../../components/sparkline.ts';
import { trpc } from '../../trpc.ts';
import { followSeries, RANGE_MS } from './follow-series.ts';
import type { PointsHub } from './points-hub.ts';
import { RemoveButton } from '../../components/remove-button.tsx';

const HEIGHT = 200;
const hoursMinutes = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const withSeconds = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export interface MetricChartProps {
  series: string;
  range: TimeRange;
  hub: PointsHub;
  onRangeChange: (range: TimeRange) => void;
  onRemove: () => void;
}

function chartOptions(
  el: HTMLElement,
  series: string,
  windowMs: { current: number },
): uPlot.Options {
  const css = getComputedStyle(el);
  const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const muted = color('--muted', '#64748b');
  const grid = color('--border', '#e2e8f0');
  const accent = color('--accent', '#2563eb');
  const axis: uPlot.Axis = {
    stroke: muted,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
  };
  const timeAxis: uPlot.Axis = {
    ...axis,
    space: 70,
    // One row of plain clock times: uPlot's default adds a second row of dates that crowds it.
    values: (_u, splits) => {
      const format = splits.some((t) => t % 60_000 !== 0) ? withSeconds : hoursMinutes;
      return splits.map((t) => format.format(t));
    },
  };
  return {
    width: Math.max(100, el.clientWidth),
    height: HEIGHT,
    ms: 1,
    legend: { show: false },
    // A live chart scrolls on its own: no drag-to-zoom fighting it.
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: {
        time: true,
        range: () => {
          const now = Date.now();
          return [now - windowMs.current, now];
        },
      },
    },
    axes: [timeAxis, { ...axis, size: 56 }],
    series: [
      {},
      {
        label: series,
        stroke: accent,
        width: 1.5,
        fill: `${accent}1f`,
        points: { show: false },
      },
    ],
  };
}

/** A chart's text alternative: the series over its range, now, lowest and highest. */
export function describeSeries(
  series: string,
  range: TimeRange,
  values: readonly number[],
  now: string,
): string {
  if (values.length === 0) return `${series}: no points in the last ${range}.`;
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return (
    `${series} over the last ${range}: now ${now}, lowest ${formatValue(low)}, ` +
    `highest ${formatValue(high)} (${values.length} points).`
  );
}

/**
 * A uPlot chart of one series over a time range: loads `metrics.range` (about one point per
 * pixel), then appends the live points the page's stream brings, once per frame, through
 * `setData`. React renders it once per series and range; the data lives in refs.
 */
export function MetricChart({ series, range, hub, onRangeChange, onRemove }: MetricChartProps) {
  const utils = trpc.useUtils();
  const root = useRef<HTMLElement>(null);
  const plotEl = useRef<HTMLDivElement>(null);
  const valueEl = useRef<HTMLSpanElement>(null);
  const summaryEl = useRef<HTMLParagraphElement>(null);
  const plot = useRef<uPlot | null>(null);
  const windowMs = useRef(RANGE_MS[range]);
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    const el = plotEl.current;
    if (!el) return;
    const chart = new uPlot(chartOptions(el, series, windowMs), [[], []], el);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      const width = Math.max(100, el.clientWidth);
      if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [series]);

  useEffect(() => {
    windowMs.current = RANGE_MS[range];
    let summarizedAt = 0;
    return followSeries({
      hub,
      series,
      windowMs: RANGE_MS[range],
      maxPoints: () => plotEl.current?.clientWidth ?? 600,
      loadRange: (query) => utils.client.metrics.range.query(query),
      onLoadError: setLoadError,
      msPerPixel: () => RANGE_MS[range] / (plot.current?.width ?? 600),
      update: (data) => {
        root.current?.setAttribute('data-points', String(data.length));
        const text = formatValue(data.last()?.value);
        if (valueEl.current && valueEl.current.textContent !== text) {
          valueEl.current.textContent = text;
        }
        // The chart in words, for screen readers: rewritten at most once a second.
        const now = Date.now();
        if (summaryEl.current && now - summarizedAt >= 1000) {
          summarizedAt = now;
          summaryEl.current.textContent = describeSeries(series, range, data.ys, text);
        }
      },
      draw: (data, from, to) => {
        const chart = plot.current;
        if (!chart) return;
        chart.batch(() => {
          chart.setData([data.xs, data.ys], true);
          chart.setScale('x', { min: from, max: to });
        });
      },
    });
  }, [hub, series, range, utils]);

  return (
    <section
      className="card chart"
      ref={root}
      data-testid="chart"
      data-series={series}
      data-range={range}
      data-points="0"
      aria-label={`Chart of ${series}`}
    >
      <header className="chart__header">
        <h2 className="chart__title" title={series}>
          {series}
        </h2>
        <span className="chart__value" ref={valueEl} data-testid="chart-value">
          —
        </span>
        <RangePicker
          label="Time range"
          options={timeRangeSchema.options}
          value={range}
          onChange={onRangeChange}
        />
        <RemoveButton what={`chart ${series}`} onClick={onRemove} />
      </header>
      {loadError && (
        <p className="error-text small pad" role="alert">
          Could not load {series}: {loadError}
        </p>
      )}
      <p className="visually-hidden" ref={summaryEl} data-testid="chart-summary">
        {series}: no points yet.
      </p>
      <div className="chart__plot" ref={plotEl} aria-hidden="true" />
    </section>
  );
}
