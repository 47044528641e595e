import { useEffect, useRef, useState } from 'react';
import { drawSparkline, formatValue, type SparklineCanvas } from '../../components/sparkline.ts';
import { trpc } from '../../trpc.ts';
import { followSeries } from './follow-series.ts';
import type { PointsHub } from './points-hub.ts';
import { RemoveButton } from '../../components/remove-button.tsx';

/** What a tile's sparkline spans. */
const TILE_WINDOW_MS = 5 * 60_000;

export interface MetricTileProps {
  series: string;
  hub: PointsHub;
  onRemove: () => void;
}

/** The current value of a series and a five-minute sparkline, drawn without re-rendering. */
export function MetricTile({ series, hub, onRemove }: MetricTileProps) {
  const utils = trpc.useUtils();
  const valueEl = useRef<HTMLSpanElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    // Measured here and on resize only: reading layout in every draw would force a reflow
    // per tile per frame.
    const target: SparklineCanvas = {
      canvas: el,
      width: el.clientWidth,
      height: el.clientHeight,
      color: getComputedStyle(el).color,
    };
    const resize = new ResizeObserver(([entry]) => {
      if (!entry) return;
      target.width = entry.contentRect.width;
      target.height = entry.contentRect.height;
    });
    resize.observe(el);
    const stop = followSeries({
      hub,
      series,
      windowMs: TILE_WINDOW_MS,
      maxPoints: () => target.width * 2,
      loadRange: (query) => utils.client.metrics.range.query(query),
      onLoadError: setLoadError,
      msPerPixel: () => TILE_WINDOW_MS / Math.max(1, target.width),
      update: (data) => {
        const last = data.last();
        const value = valueEl.current;
        if (!value) return;
        const text = formatValue(last?.value);
        if (value.textContent !== text) value.textContent = text;
        if (last) value.setAttribute('data-ts', String(last.ts));
      },
      draw: (data, from, to) => drawSparkline(target, data.xs, data.ys, from, to),
    });
    return () => {
      resize.disconnect();
      stop();
    };
  }, [hub, series, utils]);

  return (
    <li className="tile" data-testid="tile" data-series={series}>
      <div className="tile__header">
        <span className="tile__name" title={series}>
          {series}
        </span>
        <RemoveButton what={`tile ${series}`} onClick={onRemove} />
      </div>
      <span
        className="tile__value"
        ref={valueEl}
        data-testid="tile-value"
        title={loadError ? `Could not load: ${loadError}` : undefined}
      >
        —
      </span>
      <canvas className="tile__spark" ref={canvas} aria-hidden="true" />
    </li>
  );
}
