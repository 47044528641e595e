/** What a sparkline is drawn into, measured by its owner (on resize), not on every draw. */
export interface SparklineCanvas {
  canvas: HTMLCanvasElement;
  /** CSS pixels. */
  width: number;
  height: number;
  color: string;
}

/**
 * Draws a sparkline of `xs`/`ys` (xs ascending) over the time span [from, to]. Imperative on
 * purpose: a tile redraws on every frame that brings points, without React; and it reads no
 * layout, so a dozen tiles drawing in one frame force no reflow between them.
 */
export function drawSparkline(
  target: SparklineCanvas,
  xs: readonly number[],
  ys: readonly number[],
  from: number,
  to: number,
): void {
  const { canvas, width, height, color } = target;
  if (width === 0 || height === 0) return;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  if (xs.length === 0) return;

  let min = Infinity;
  let max = -Infinity;
  for (const y of ys) {
    if (y < min) min = y;
    if (y > max) max = y;
  }
  const pad = 2;
  const spanY = max - min || Math.abs(max) || 1;
  const spanX = to - from || 1;
  const x = (t: number) => ((t - from) / spanX) * width;
  // A flat series is drawn across the middle, not glued to an edge.
  const y = (v: number) =>
    max === min ? height / 2 : pad + (1 - (v - min) / spanY) * (height - 2 * pad);

  ctx.beginPath();
  for (let i = 0; i < xs.length; i++) {
    const px = x(xs[i] ?? 0);
    const py = y(ys[i] ?? 0);
    if (i === 0) ctx.moveTo(px, py);
    else ctx.lineTo(px, py);
  }
  ctx.lineWidth = 1.5;
  ctx.lineJoin = 'round';
  ctx.strokeStyle = color;
  ctx.stroke();
  // The area under the line, faintly, then the newest point.
  ctx.lineTo(x(xs[xs.length - 1] ?? 0), height);
  ctx.lineTo(x(xs[0] ?? 0), height);
  ctx.closePath();
  ctx.globalAlpha = 0.12;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
  ctx.beginPath();
  ctx.arc(x(xs[xs.length - 1] ?? 0), y(ys[ys.length - 1] ?? 0), 2, 0, Math.PI * 2);
  ctx.fill();
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const compactFormat = new Intl.NumberFormat(undefined, {
  notation: 'compact',
  maximumFractionDigits: 1,
});

/** A metric value as a tile shows it: up to two decimals, compact past a million. */
export function formatValue(value: number | undefined): string {
  if (value === undefined) return '—';
  return Math.abs(value) >= 1e6 ? compactFormat.format(value) : numberFormat.format(value);
}
