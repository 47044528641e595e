import type { Point, SeriesSummary } from '../../../shared/schemas/metrics.ts';
import type { Db } from '../../platform/db.ts';
import { lockForAppend } from '../../platform/log-lock.ts';
import { StreamingDownsampler } from './downsample.ts';

export interface StoredPoint {
  id: number;
  series: string;
  ts: number;
  value: number;
}

/** SQLite binds at most 32,766 parameters per statement; three per point. */
const INSERT_CHUNK = 2000;
/** Rows per query when `range` reads a series. */
const RANGE_PAGE = 5000;

/** Metric points and the last value of each series. */
export function createMetricStore(db: Db) {
  return {
    /**
     * Stores a batch in one transaction; returns the id of its last point. Each series' last
     * value is written first, in series order (concurrent batches lock those rows in the same
     * order), then the points: the log lock (decision 0009) is held only for their insert and the
     * commit.
     */
    async ingest(points: { series: string; ts: number; value: number }[]): Promise<number> {
      const latest = new Map<string, { ts: number; value: number }>();
      for (const p of points) {
        const seen = latest.get(p.series);
        if (!seen || p.ts >= seen.ts) latest.set(p.series, p);
      }
      const series = [...latest.keys()].sort();
      return db.transaction().execute(async (tx) => {
        for (const name of series) {
          const p = latest.get(name);
          if (!p) continue;
          await tx
            .insertInto('metric_series')
            .values({ series: name, last_ts: p.ts, last_value: p.value })
            .onConflict((oc) =>
              oc
                .column('series')
                .doUpdateSet({ last_ts: p.ts, last_value: p.value })
                .where('metric_series.last_ts', '<=', p.ts),
            )
            .execute();
        }
        await lockForAppend(tx, 'metric_points');
        let lastId = 0;
        for (let i = 0; i < points.length; i += INSERT_CHUNK) {
          const rows = await tx
            .insertInto('metric_points')
            .values(points.slice(i, i + INSERT_CHUNK))
            .returning('id')
            .execute();
          for (const row of rows) lastId = Math.max(lastId, row.id);
        }
        return lastId;
      });
    },

    async list(): Promise<SeriesSummary[]> {
      const rows = await db.selectFrom('metric_series').selectAll().orderBy('series').execute();
      return rows.map((r) => ({
        series: r.series,
        last: { ts: Number(r.last_ts), value: r.last_value },
      }));
    },

    /**
     * The points of `series` from `from` to `to` (inclusive), downsampled to `maxPoints`. Read
     * in keyset pages of `RANGE_PAGE`, each its own query (other queries run in between), into
     * a downsampler that holds at most `maxPoints`: memory does not grow with the range. `null`
     * when the range holds more than `maxRows` points: reading stops there.
     */
    async range(
      series: string,
      from: number,
      to: number,
      maxPoints: number,
      maxRows: number,
    ): Promise<Point[] | null> {
      const sampler = new StreamingDownsampler(maxPoints, from, to);
      const page = (after: { ts: number; id: number } | null, limit: number) => {
        const query = db
          .selectFrom('metric_points')
          .select(['id', 'ts', 'value'])
          .where('series', '=', series)
          .where('ts', '<=', to);
        return (
          after === null
            ? query.where('ts', '>=', from)
            : query.where((eb) => eb(eb.refTuple('ts', 'id'), '>', eb.tuple(after.ts, after.id)))
        )
          .orderBy('ts')
          .orderBy('id')
          .limit(limit)
          .execute();
      };
      let after: { ts: number; id: number } | null = null;
      let read = 0;
      for (;;) {
        // One row past the cap tells a range that is too wide from one that fits exactly.
        const limit = Math.min(RANGE_PAGE, maxRows + 1 - read);
        const rows = await page(after, limit);
        read += rows.length;
        if (read > maxRows) return null;
        for (const row of rows) sampler.push({ ts: Number(row.ts), value: row.value });
        const last = rows.at(-1);
        if (rows.length < limit || !last) return sampler.result();
        after = { ts: Number(last.ts), id: last.id };
      }
    },

    /** Points stored after `afterId` for the given series, in id order (live fan-out). */
    async after(afterId: number, series: string[], limit: number): Promise<StoredPoint[]> {
      if (series.length === 0) return [];
      const rows = await db
        .selectFrom('metric_points')
        .selectAll()
        .where('id', '>', afterId)
        .where('series', 'in', series)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ ...r, ts: Number(r.ts) }));
    },

    async maxId(): Promise<number> {
      const row = await db
        .selectFrom('metric_points')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirst();
      return Number(row?.id ?? 0);
    },

    /** Deletes points older than `beforeTs`, and series with nothing newer. */
    async prune(beforeTs: number): Promise<number> {
      const res = await db
        .deleteFrom('metric_points')
        .where('ts', '<', beforeTs)
        .executeTakeFirst();
      await db.deleteFrom('metric_series').where('last_ts', '<', beforeTs).execute();
      return Number(res.numDeletedRows);
    },

    /**
     * For alert rules: when the current run of points satisfying `op threshold` began (the first
     * point after the last one that did not), and whether the latest point satisfies it.
     */
    async run(
      series: string,
      op: '>' | '<',
      threshold: number,
    ): Promise<{ since: number; holdsNow: boolean } | null> {
      const latest = await db
        .selectFrom('metric_points')
        .select(['ts', 'value'])
        .where('series', '=', series)
        .orderBy('ts', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!latest) return null;
      const holdsNow = op === '>' ? latest.value > threshold : latest.value < threshold;
      if (!holdsNow) return { since: Number(latest.ts), holdsNow };
      const violation = await db
        .selectFrom('metric_points')
        .select((eb) => eb.fn.max('ts').as('ts'))
        .where('series', '=', series)
        .where('value', op === '>' ? '<=' : '>=', threshold)
        .executeTakeFirst();
      const lastBad =
        violation?.ts === null || violation?.ts === undefined ? null : Number(violation.ts);
      const first = await db
        .selectFrom('metric_points')
        .select((eb) => eb.fn.min('ts').as('ts'))
        .where('series', '=', series)
        .$if(lastBad !== null, (q) => q.where('ts', '>', lastBad ?? 0))
        .executeTakeFirst();
      return { since: Number(first?.ts ?? latest.ts), holdsNow };
    },
  };
}

export type MetricStore = ReturnType<typeof createMetricStore>;
