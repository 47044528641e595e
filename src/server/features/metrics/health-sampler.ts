import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Metrics } from '../../platform/telemetry.ts';
import type { MetricActions } from './actions.ts';

/**
 * Ingests the server's own health every second (the first sample at once) as `pulse.*` series,
 * so a fresh install has a live dashboard.
 */
export function startHealthSampler(
  deps: { actions: MetricActions; metrics: Metrics },
  signal: AbortSignal,
) {
  const { actions } = deps;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const { counts } = deps.metrics;
  let lastDelivered = counts.delivered;
  let lastAt = performance.now();

  async function sample() {
    const now = performance.now();
    const perSecond = ((counts.delivered - lastDelivered) * 1000) / Math.max(1, now - lastAt);
    lastDelivered = counts.delivered;
    lastAt = now;
    const lagMs = Number.isFinite(lag.mean) ? lag.mean / 1e6 : 0;
    lag.reset();
    const ts = Date.now();
    await actions.ingest([
      { series: 'pulse.connections.sse', value: counts.sse, ts },
      { series: 'pulse.connections.ws', value: counts.ws, ts },
      { series: 'pulse.subscriptions', value: counts.subscriptions, ts },
      { series: 'pulse.eventloop.lag_ms', value: Math.round(lagMs * 100) / 100, ts },
      {
        series: 'pulse.rss_mb',
        value: Math.round((process.memoryUsage.rss() / 2 ** 20) * 10) / 10,
        ts,
      },
      { series: 'pulse.events.delivered_per_s', value: Math.round(perSecond), ts },
    ]);
  }

  const run = () => {
    if (!signal.aborted) {
      sample().catch((error: unknown) => {
        if (!signal.aborted) console.error('health sample failed', error);
      });
    }
  };
  run();
  const timer = setInterval(run, 1000);
  timer.unref();
  signal.addEventListener(
    'abort',
    () => {
      clearInterval(timer);
      lag.disable();
    },
    { once: true },
  );
}
