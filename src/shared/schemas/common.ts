import { z } from 'zod';
import { LIST_PAGE_DEFAULT, LIST_PAGE_MAX } from '../limits.ts';

export const idSchema = z.string().min(1).max(100);
export const isoTimeSchema = z.string();
export const severitySchema = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof severitySchema>;

/**
 * One page of a list that grows. `cursor` is the id of the last item of the previous page
 * (none: the first page); a page shorter than `limit` is the last.
 */
export const pageInputSchema = z.object({
  cursor: idSchema.nullish(),
  limit: z.number().int().min(1).max(LIST_PAGE_MAX).default(LIST_PAGE_DEFAULT),
});
export type PageInput = z.infer<typeof pageInputSchema>;
