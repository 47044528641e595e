import { z } from 'zod';
import { LIST_PAGE_DEFAULT, LIST_PAGE_MAX } from '../limits.ts';

export const idSchema = z.string().min(1).max(100);
export const isoTimeSchema = z.string();
/** Where a tracked stream resumes: the id of the last event the client received. */
export const lastEventIdSchema = z
  .string()
  .max(100)
  .nullish()
  .describe(
    'The id of the last event received: the stream first replays every event after it. One it cannot resume from ends the stream with `PRECONDITION_FAILED`.',
  );
export const severitySchema = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof severitySchema>;

/**
 * One page of a list that grows. `cursor` is the id of the last item of the previous page
 * (none: the first page); a page shorter than `limit` is the last.
 */
export const pageInputSchema = z.object({
  cursor: idSchema
    .nullish()
    .describe(
      'The id of the last item of the previous page; none for the first. An id that is not an item of the list as the caller sees it answers `BAD_REQUEST`.',
    ),
  limit: z
    .number()
    .int()
    .min(1)
    .max(LIST_PAGE_MAX)
    .default(LIST_PAGE_DEFAULT)
    .describe('Items per page; a shorter page is the last.'),
});
export type PageInput = z.infer<typeof pageInputSchema>;
