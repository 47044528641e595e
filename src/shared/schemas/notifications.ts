import { z } from 'zod';
import {
  NOTIFICATION_BODY_MAX,
  NOTIFICATION_GROUP_KEY_MAX,
  NOTIFICATION_IDS_MAX,
  NOTIFICATION_LINK_MAX,
  NOTIFICATION_MUTES_MAX,
  NOTIFICATION_PAGE_DEFAULT,
  NOTIFICATION_PAGE_MAX,
  NOTIFICATION_RECIPIENTS_MAX,
  NOTIFICATION_SEARCH_MAX,
  NOTIFICATION_TITLE_MAX,
  SNOOZE_MAX_DAYS,
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
  /** When the caller's inbox showed it (`markSeen`); null again once a snooze wakes it. */
  seenAt: isoTimeSchema.nullable(),
  archivedAt: isoTimeSchema.nullable(),
  /** Set while it is snoozed: when it comes back. */
  snoozedUntil: isoTimeSchema.nullable(),
  groupKey: z.string().nullable(),
  /** The team it was sent to, if it was sent to a team. */
  teamId: idSchema.nullable(),
  /**
   * It entered the inbox during the caller's quiet hours and is not critical: clients raise no
   * desktop notification and no badge for it.
   */
  quiet: z.boolean(),
  /** The caller's preferences mute it (never a critical one): stored and listed, never pushed. */
  muted: z.boolean(),
});
export type Notification = z.infer<typeof notificationSchema>;

export const groupKeySchema = z.string().trim().min(1).max(NOTIFICATION_GROUP_KEY_MAX);

export const listNotificationsSchema = z.object({
  cursor: z
    .string()
    .max(100)
    .nullish()
    .describe("The previous page's `nextCursor`; none for the first. Opaque."),
  limit: z.number().int().min(1).max(NOTIFICATION_PAGE_MAX).default(NOTIFICATION_PAGE_DEFAULT),
  unreadOnly: z.boolean().optional(),
  archived: z
    .boolean()
    .optional()
    .describe(
      'false (default): the inbox, neither archived nor snoozed notifications; true: only archived ones.',
    ),
  snoozed: z.boolean().optional().describe('true: only the notifications snoozed now.'),
  severity: z.array(severitySchema).min(1).max(3).optional(),
  teamId: idSchema.optional().describe('Only notifications sent to this team.'),
  search: z
    .string()
    .trim()
    .min(1)
    .max(NOTIFICATION_SEARCH_MAX)
    .optional()
    .describe(
      'A case-insensitive substring of the title or body; `%`, `_` and `\\` in it are literal.',
    ),
  grouped: z
    .boolean()
    .optional()
    .describe(
      "One entry per `groupKey`: the group's newest notification, with `group` (its count and unread count); ungrouped notifications are entries with `group: null`.",
    ),
  groupKey: groupKeySchema.optional().describe("Only that group's notifications."),
});
export type ListNotificationsInput = z.input<typeof listNotificationsSchema>;

export const notificationGroupSchema = z.object({
  key: z.string(),
  count: z.number().int().min(1),
  unreadCount: z.number().int().min(0),
});
export type NotificationGroup = z.infer<typeof notificationGroupSchema>;

/** A listed notification: in a `grouped` listing, an entry standing for its group. */
export const notificationListItemSchema = notificationSchema.extend({
  group: notificationGroupSchema.nullable().optional(),
});
export type NotificationListItem = z.infer<typeof notificationListItemSchema>;

export const notificationPageSchema = z.object({
  items: z.array(notificationListItemSchema),
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
  groupKey: groupKeySchema
    .optional()
    .describe(
      'Notifications with the same key collapse into one entry in grouped listings (1..100 characters, trimmed).',
    ),
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

/** Ids one triage call names: 1..100 of the caller's notifications. */
const idsSchema = z.array(idSchema).min(1).max(NOTIFICATION_IDS_MAX);

export const notificationIdsSchema = z.object({ ids: idsSchema });

export const markSeenSchema = z.object({
  upTo: idSchema.describe(
    "A notification of the caller's: it and every one listed below it in the inbox order are seen.",
  ),
});

const SNOOZE_MAX_MS = SNOOZE_MAX_DAYS * 86_400_000;

export const snoozeSchema = z.object({
  ids: idsSchema,
  until: z.iso
    .datetime({ offset: true })
    .refine((s) => Date.parse(s) > Date.now(), 'must be in the future')
    .refine(
      (s) => Date.parse(s) <= Date.now() + SNOOZE_MAX_MS,
      `must be at most ${SNOOZE_MAX_DAYS} days ahead`,
    )
    .describe(`When they come back: in the future, at most ${SNOOZE_MAX_DAYS} days ahead.`),
});

export const triageResultSchema = z.object({
  notifications: z.array(notificationSchema).describe('The notifications this call changed.'),
});
export type TriageResult = z.infer<typeof triageResultSchema>;

/** Whether `name` is a time zone this runtime knows (IANA names such as `Europe/Paris`). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const clockTimeSchema = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM (00:00 to 23:59)');

export const quietHoursSchema = z
  .object({
    start: clockTimeSchema,
    end: clockTimeSchema,
    timeZone: z
      .string()
      .min(1)
      .max(100)
      .refine(isTimeZone, 'an IANA time zone such as Europe/Paris'),
  })
  .refine((q) => q.start !== q.end, { message: 'start and end must differ', path: ['end'] })
  .describe(
    'From `start` to `end` (local time in `timeZone`; past midnight when start is after end): non-critical notifications raise no desktop notification and no badge.',
  );
export type QuietHours = z.infer<typeof quietHoursSchema>;

export const notificationPreferencesSchema = z.object({
  mutedSeverities: z
    .array(z.enum(['info', 'warning']))
    .max(2)
    .describe('Critical is never muted.'),
  mutedTeamIds: z.array(idSchema).max(NOTIFICATION_MUTES_MAX),
  mutedGroupKeys: z.array(groupKeySchema).max(NOTIFICATION_MUTES_MAX),
  quietHours: quietHoursSchema.nullable(),
});
export type NotificationPreferences = z.infer<typeof notificationPreferencesSchema>;

export const defaultPreferences = (): NotificationPreferences => ({
  mutedSeverities: [],
  mutedTeamIds: [],
  mutedGroupKeys: [],
  quietHours: null,
});

export const inboxChangeKindSchema = z.enum([
  'seen',
  'read',
  'readAll',
  'archived',
  'unarchived',
  'snoozed',
  'unsnoozed',
  'woken',
  'preferences',
]);
export type InboxChangeKind = z.infer<typeof inboxChangeKindSchema>;

/** One triage change of a user's inbox, made on any tab or device, or a snooze that woke. */
export const inboxChangeSchema = z.object({
  kind: inboxChangeKindSchema,
  /** The notifications changed (for `seen` and `readAll`, the newest 100 of them at most). */
  ids: z.array(idSchema),
  at: isoTimeSchema,
  /** The changed notifications as they are now (as `ids`). */
  notifications: z.array(notificationSchema),
  /** `seen`: every notification up to this one (in inbox order) is seen now. */
  upTo: idSchema.nullable(),
  /** `preferences`: the caller's preferences now. */
  preferences: notificationPreferencesSchema.nullable(),
  unseenCount: z.number().int().min(0),
  unreadCount: z.number().int().min(0),
});
export type InboxChange = z.infer<typeof inboxChangeSchema>;

export const onInboxChangeSchema = z.object({ lastEventId: lastEventIdSchema }).optional();
