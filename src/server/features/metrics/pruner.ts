import type { Env } from '../../env.ts';
import type { MetricStore } from './store.ts';

/** Deletes points older than the retention (`PULSE_METRICS_RETENTION_H`): at once, then every minute. */
export function startPruner(
  deps: { store: MetricStore; env: Pick<Env, 'PULSE_METRICS_RETENTION_H'> },
  signal: AbortSignal,
): void {
  const { store, env } = deps;
  const retentionMs = env.PULSE_METRICS_RETENTION_H * 3_600_000;
  const prune = () => void store.prune(Date.now() - retentionMs).catch(() => undefined);
  prune();
  const pruner = setInterval(prune, 60_000);
  pruner.unref();
  signal.addEventListener('abort', () => clearInterval(pruner), { once: true });
}
