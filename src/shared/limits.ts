/** Limits shared by the server's validation and the UI's forms. */
export const USERNAME_MAX = 40;
/** For passwords set through the API; the demo seed keeps its documented short one. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 200;
export const DISPLAY_NAME_MAX = 100;
export const TEAM_NAME_MAX = 60;
export const TOKEN_NAME_MAX = 100;

/**
 * Calls the web app and the SDK put in one HTTP batch, and the URL length a batched GET may
 * reach: under the server's smallest allowed `PULSE_MAX_BATCH_CALLS` and `PULSE_MAX_URL_BYTES`.
 */
export const CLIENT_BATCH_MAX = 50;
export const CLIENT_URL_MAX = 4000;

export const NOTIFICATION_TITLE_MAX = 200;
export const NOTIFICATION_BODY_MAX = 2000;
export const NOTIFICATION_LINK_MAX = 2000;
export const NOTIFICATION_PAGE_DEFAULT = 20;
export const NOTIFICATION_PAGE_MAX = 100;
/** Recipients one `notifications.send` may name explicitly. */
export const NOTIFICATION_RECIPIENTS_MAX = 1000;
/** Notification ids one triage call (archive, snooze, …) may name. */
export const NOTIFICATION_IDS_MAX = 100;
/** A notification's `groupKey`, and each muted group key. */
export const NOTIFICATION_GROUP_KEY_MAX = 100;
/** `notifications.list`'s `search`. */
export const NOTIFICATION_SEARCH_MAX = 200;
/** How far ahead a snooze may wake. */
export const SNOOZE_MAX_DAYS = 90;
/** Entries of each muted list in the notification preferences. */
export const NOTIFICATION_MUTES_MAX = 50;

/** Page sizes of the lists that grow (incidents, rooms, rules, tokens, users). */
export const LIST_PAGE_DEFAULT = 100;
export const LIST_PAGE_MAX = 500;

export const SERIES_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;
export const INGEST_BATCH_MAX = 5000;
export const RANGE_POINTS_DEFAULT = 1000;
export const RANGE_POINTS_MAX = 10_000;
/** Series one `metrics.onPoints` subscription may follow. */
export const WATCH_SERIES_MAX = 50;
/** Coalescing window of `metrics.onPoints`: at most ~10 batches per second per subscription. */
export const POINTS_FLUSH_MS = 100;

export const INCIDENT_TITLE_MAX = 200;
export const ALERT_FOR_SECONDS_MAX = 86_400;

export const CHAT_TEXT_MAX = 4000;
export const CHAT_PAGE_DEFAULT = 50;
export const CHAT_PAGE_MAX = 100;
/** A typing indicator lasts this long after the last `typing: true`. */
export const TYPING_TTL_MS = 5000;
/**
 * `chat.onPresenceSummary` lists everyone present up to this many people; past it, a sample of
 * `PRESENCE_SAMPLE` (the first by username) and the count.
 */
export const PRESENCE_LIST_MAX = 100;
export const PRESENCE_SAMPLE = 20;
