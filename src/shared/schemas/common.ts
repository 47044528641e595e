import { z } from 'zod';

export const idSchema = z.string().min(1).max(100);
export const isoTimeSchema = z.string();
export const severitySchema = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof severitySchema>;
