import { z } from 'zod';
import { ALERT_FOR_SECONDS_MAX, INCIDENT_TITLE_MAX } from '../limits.ts';
import {
  idSchema,
  isoTimeSchema,
  lastEventIdSchema,
  pageInputSchema,
  severitySchema,
} from './common.ts';
import { seriesNameSchema } from './metrics.ts';

export const incidentStatusSchema = z.enum(['open', 'acknowledged', 'resolved']);
export type IncidentStatus = z.infer<typeof incidentStatusSchema>;

export const incidentSchema = z.object({
  id: idSchema,
  teamId: idSchema,
  title: z.string(),
  severity: severitySchema,
  status: incidentStatusSchema,
  assigneeId: idSchema.nullable(),
  version: z
    .number()
    .int()
    .min(1)
    .describe(
      '1 when opened, one more with each change; changes name the version they were made on.',
    ),
  openedAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
  ruleId: idSchema.nullable(),
});
export type Incident = z.infer<typeof incidentSchema>;

export const timelineEntrySchema = z.object({
  at: isoTimeSchema,
  actorId: idSchema.nullable(),
  action: z.string(),
  detail: z.string(),
});
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

export const incidentDetailSchema = incidentSchema.extend({
  timeline: z.array(timelineEntrySchema),
});
export type IncidentDetail = z.infer<typeof incidentDetailSchema>;

export const listIncidentsSchema = pageInputSchema
  .extend({ status: incidentStatusSchema.optional() })
  .optional();
export const incidentIdSchema = z.object({ id: idSchema });
export const createIncidentSchema = z.object({
  title: z.string().trim().min(1).max(INCIDENT_TITLE_MAX),
  severity: severitySchema,
  teamId: idSchema,
});
export const versionedSchema = z.object({
  id: idSchema,
  version: z
    .number()
    .int()
    .min(1)
    .describe('The version the caller saw; another (stale) answers `CONFLICT`.'),
});
export const assignSchema = versionedSchema.extend({ assigneeId: idSchema });

export const onIncidentChangeSchema = z.object({ lastEventId: lastEventIdSchema }).optional();

export const alertRuleSchema = z.object({
  id: idSchema,
  series: z.string(),
  op: z.enum(['>', '<']),
  threshold: z.number(),
  forSeconds: z.number().int(),
  severity: severitySchema,
  teamId: idSchema,
  createdAt: isoTimeSchema,
});
export type AlertRule = z.infer<typeof alertRuleSchema>;

export const createRuleSchema = z.object({
  series: seriesNameSchema,
  op: z.enum(['>', '<']),
  threshold: z.number().finite(),
  forSeconds: z.number().int().min(0).max(ALERT_FOR_SECONDS_MAX),
  severity: severitySchema,
  teamId: idSchema,
});
