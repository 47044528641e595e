import type { PointInput } from '../shared/schemas/metrics.ts';
import type { Services } from './services.ts';

/** Stores points (timestamps default to now) and announces them; returns how many were accepted. */
export async function ingestPoints(
  services: Pick<Services, 'metricStore' | 'bus'>,
  points: PointInput[],
): Promise<number> {
  const now = Date.now();
  const rows = points.map((p) => ({ series: p.series, value: p.value, ts: p.ts ?? now }));
  const lastId = await services.metricStore.ingest(rows);
  await services.bus.publish('metrics.ingested', {
    lastId,
    series: [...new Set(rows.map((r) => r.series))],
  });
  return rows.length;
}
