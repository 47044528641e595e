import { z } from 'zod';
import { CHAT_PAGE_DEFAULT, CHAT_PAGE_MAX, CHAT_TEXT_MAX } from '../limits.ts';
import { idSchema, isoTimeSchema, lastEventIdSchema } from './common.ts';

export const messageSchema = z.object({
  id: idSchema,
  roomId: idSchema,
  authorId: idSchema,
  text: z.string(),
  clientMessageId: z.string(),
  createdAt: isoTimeSchema,
});
export type Message = z.infer<typeof messageSchema>;

export const roomSchema = z.object({
  id: idSchema,
  kind: z.enum(['team', 'incident']),
  teamId: idSchema,
  incidentId: idSchema.nullable(),
  name: z.string(),
});
export type Room = z.infer<typeof roomSchema>;

export const personSchema = z.object({
  userId: idSchema,
  username: z.string(),
  displayName: z.string(),
});
export type Person = z.infer<typeof personSchema>;

/**
 * Who is in a room, for rooms of any size: everyone (`complete`) up to `PRESENCE_LIST_MAX`
 * people, else the first `PRESENCE_SAMPLE` by username; `count` is always everyone.
 */
export const presenceSummarySchema = z.object({
  count: z.number().int().nonnegative(),
  people: z.array(personSchema),
  complete: z.boolean(),
});
export type PresenceSummary = z.infer<typeof presenceSummarySchema>;

export const roomInputSchema = z.object({ roomId: idSchema });

export const historySchema = z.object({
  roomId: idSchema,
  /** @deprecated The same as `cursor`, which React Query's infinite queries fill in. */
  before: z.string().max(100).nullish().meta({
    deprecated: true,
    description:
      'Deprecated: the same as `cursor`, which is the name infinite queries give a page cursor; still read when `cursor` is absent.',
  }),
  cursor: z
    .string()
    .max(100)
    .nullish()
    .describe("The previous page's `nextCursor`; none for the newest messages."),
  limit: z.number().int().min(1).max(CHAT_PAGE_MAX).default(CHAT_PAGE_DEFAULT),
});
export const historyPageSchema = z.object({
  items: z.array(messageSchema),
  nextCursor: z.string().nullable(),
});

export const sendMessageSchema = z.object({
  roomId: idSchema,
  text: z
    .string()
    .min(1)
    .max(CHAT_TEXT_MAX)
    .refine((t) => t.trim().length > 0, 'text is blank')
    .describe('Not blank (whitespace alone answers `BAD_REQUEST`).'),
  clientMessageId: z
    .uuid()
    .describe(
      'Made by the client once per message and sent again with every retry: the server stores the message once.',
    ),
});
export type SendMessageInput = z.infer<typeof sendMessageSchema>;

export const onMessageSchema = z.object({
  roomId: idSchema,
  lastEventId: lastEventIdSchema,
});
export const setTypingSchema = z.object({ roomId: idSchema, typing: z.boolean() });
