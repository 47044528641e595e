import { z } from 'zod';
import {
  NOTIFICATION_BODY_MAX,
  NOTIFICATION_LINK_MAX,
  NOTIFICATION_PAGE_DEFAULT,
  NOTIFICATION_PAGE_MAX,
  NOTIFICATION_RECIPIENTS_MAX,
  NOTIFICATION_TITLE_MAX,
  TEAM_NAME_MAX,
  USERNAME_MAX,
} from '../limits.ts';
import { idSchema, isoTimeSchema, lastEventIdSchema, severitySchema } from './common.ts';

export const notificationSchema = z.object({
  id: idSchema,
  title: z.string(),
  body: z.string(),
  severity: severitySchema,
  link: z.string().nullable(),
  createdAt: isoTimeSchema,
  readAt: isoTimeSchema.nullable(),
});
export type Notification = z.infer<typeof notificationSchema>;

export const listNotificationsSchema = z.object({
  cursor: z
    .string()
    .max(100)
    .nullish()
    .describe("The previous page's `nextCursor`; none for the first."),
  limit: z.number().int().min(1).max(NOTIFICATION_PAGE_MAX).default(NOTIFICATION_PAGE_DEFAULT),
  unreadOnly: z.boolean().optional(),
});

export const notificationPageSchema = z.object({
  items: z.array(notificationSchema),
  nextCursor: z.string().nullable(),
});
export type NotificationPage = z.infer<typeof notificationPageSchema>;

/** Who a notification goes to. `usernames` and `teamName` are conveniences for programs. */
export const recipientsSchema = z.union([
  z.object({ userIds: z.array(idSchema).min(1).max(NOTIFICATION_RECIPIENTS_MAX) }).strict(),
  z
    .object({
      usernames: z
        .array(z.string().min(1).max(USERNAME_MAX))
        .min(1)
        .max(NOTIFICATION_RECIPIENTS_MAX),
    })
    .strict(),
  z.object({ teamId: idSchema }).strict(),
  z.object({ teamName: z.string().min(1).max(TEAM_NAME_MAX) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);
export type Recipients = z.infer<typeof recipientsSchema>;

/** Whitespace or control characters: a link holding them may not go where it seems to. */
const UNSAFE_LINK_CHARS = /[\s\p{Cc}]/u;

/**
 * What a notification link is: a path on this site, a page elsewhere (an absolute http(s)
 * URL), or neither. `//host` and `/\host` look like paths but browsers read them as other sites.
 */
export function linkKind(link: string): 'internal' | 'external' | null {
  if (UNSAFE_LINK_CHARS.test(link)) return null;
  if (link.startsWith('/')) {
    return link.startsWith('//') || link.startsWith('/\\') ? null : 'internal';
  }
  const scheme = /^(https?):\/\//i.exec(link)?.[1];
  if (!scheme || !URL.canParse(link)) return null;
  return new URL(link).protocol === `${scheme.toLowerCase()}:` ? 'external' : null;
}

export const sendNotificationSchema = z.object({
  to: recipientsSchema,
  title: z.string().trim().min(1).max(NOTIFICATION_TITLE_MAX),
  body: z.string().max(NOTIFICATION_BODY_MAX).default(''),
  severity: severitySchema,
  link: z
    .string()
    .max(NOTIFICATION_LINK_MAX)
    .refine(
      (s) => linkKind(s) !== null,
      'a path on this site (/…, not //…) or an absolute http(s) URL, without spaces',
    )
    .nullish()
    .describe(
      'A path on this site (`/…`, but not `//…` or `/\\…`) or an absolute `http://` or `https://` URL, with no whitespace or control characters; anything else answers `BAD_REQUEST`.',
    ),
});
export type SendNotificationInput = z.input<typeof sendNotificationSchema>;

export const markReadSchema = z.object({ id: idSchema });

export const onNotificationSchema = z.object({ lastEventId: lastEventIdSchema }).optional();

/** Read-state changes pushed to all of a user's tabs and devices. */
export const readStateEventSchema = z.object({
  /** ids newly read, or `all` for "mark all read" up to `upTo`. */
  kind: z.enum(['read', 'all']),
  ids: z.array(idSchema),
  readAt: isoTimeSchema,
  unreadCount: z.number().int().min(0),
});
export type ReadStateEvent = z.infer<typeof readStateEventSchema>;
