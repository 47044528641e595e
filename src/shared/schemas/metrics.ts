import { z } from 'zod';
import {
  INGEST_BATCH_MAX,
  RANGE_POINTS_DEFAULT,
  RANGE_POINTS_MAX,
  SERIES_PATTERN,
  WATCH_SERIES_MAX,
} from '../limits.ts';

export const seriesNameSchema = z
  .string()
  .regex(SERIES_PATTERN, 'series: 1–100 of A-Z a-z 0-9 _ . : -');
/** Milliseconds since the epoch. */
export const timestampSchema = z.number().int().min(0).max(8.64e15);

export const pointInputSchema = z.object({
  series: seriesNameSchema,
  value: z.number().finite(),
  ts: timestampSchema
    .optional()
    .describe(
      "Milliseconds since the epoch; none: the server's now. From `PULSE_METRICS_RETENTION_H` ago to `PULSE_MAX_CLOCK_SKEW_S` ahead of the server's clock.",
    ),
});
export type PointInput = z.infer<typeof pointInputSchema>;

export const ingestSchema = z.object({
  points: z.array(pointInputSchema).min(1).max(INGEST_BATCH_MAX),
});

export const pointSchema = z.object({ ts: z.number(), value: z.number() });
export type Point = z.infer<typeof pointSchema>;

export const seriesSummarySchema = z.object({ series: z.string(), last: pointSchema });
export type SeriesSummary = z.infer<typeof seriesSummarySchema>;

export const rangeSchema = z
  .object({
    series: seriesNameSchema,
    from: timestampSchema,
    to: timestampSchema,
    maxPoints: z.number().int().min(1).max(RANGE_POINTS_MAX).default(RANGE_POINTS_DEFAULT),
  })
  .refine((r) => r.from <= r.to, { message: '`from` must not be after `to`', path: ['from'] });

export const onPointsSchema = z.object({
  series: z.array(seriesNameSchema).min(1).max(WATCH_SERIES_MAX),
});

export const pointsBatchSchema = z.array(
  z.object({ series: z.string(), points: z.array(pointSchema) }),
);
export type PointsBatch = z.infer<typeof pointsBatchSchema>;

export const timeRangeSchema = z.enum(['5m', '1h', '24h']);
export type TimeRange = z.infer<typeof timeRangeSchema>;

/** What one user's dashboard shows: tiles, and charts with their time range. */
export const dashboardLayoutSchema = z.object({
  tiles: z.array(seriesNameSchema).max(WATCH_SERIES_MAX),
  charts: z.array(z.object({ series: seriesNameSchema, range: timeRangeSchema })).max(24),
});
export type DashboardLayout = z.infer<typeof dashboardLayoutSchema>;
