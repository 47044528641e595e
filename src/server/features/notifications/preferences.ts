import {
  defaultPreferences,
  notificationPreferencesSchema,
  type NotificationPreferences,
  type QuietHours,
} from '../../../shared/schemas/notifications.ts';
import type { Severity } from '../../../shared/schemas/common.ts';

/** Stored preferences, read back through their schema; anything unreadable is the defaults. */
export function parsePreferences(json: string | null | undefined): NotificationPreferences {
  if (!json) return defaultPreferences();
  try {
    const parsed = notificationPreferencesSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : defaultPreferences();
  } catch {
    return defaultPreferences();
  }
}

/** Whether the preferences mute a notification. Critical is never muted. */
export function isMuted(
  n: { severity: Severity; teamId: string | null; groupKey: string | null },
  prefs: NotificationPreferences,
): boolean {
  if (n.severity === 'critical') return false;
  return (
    prefs.mutedSeverities.includes(n.severity) ||
    (n.teamId !== null && prefs.mutedTeamIds.includes(n.teamId)) ||
    (n.groupKey !== null && prefs.mutedGroupKeys.includes(n.groupKey))
  );
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local wall-clock time at `ms` in `timeZone`, in seconds since local midnight. */
function localSeconds(ms: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    // Time zones are few in practice; a bound keeps a hostile stream of names from growing it.
    if (formatters.size >= 1000) formatters.clear();
    formatters.set(timeZone, format);
  }
  let h = 0;
  let m = 0;
  let s = 0;
  for (const part of format.formatToParts(ms)) {
    if (part.type === 'hour') h = Number(part.value);
    else if (part.type === 'minute') m = Number(part.value);
    else if (part.type === 'second') s = Number(part.value);
  }
  return h * 3600 + m * 60 + s;
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/**
 * How long quiet hours have lasted at `ms` (seconds), or null when `ms` is outside them. The
 * window runs from `start` (included) to `end` (excluded), past midnight when start > end.
 */
function secondsIntoQuiet(ms: number, quiet: QuietHours): number | null {
  const now = localSeconds(ms, quiet.timeZone);
  const start = minutesOf(quiet.start) * 60;
  const end = minutesOf(quiet.end) * 60;
  const day = 86_400;
  const length = (end - start + day) % day;
  const into = (now - start + day) % day;
  return into < length ? into : null;
}

/** Whether `ms` falls in the quiet hours (none: never). */
export function isQuietAt(ms: number, quiet: QuietHours | null): boolean {
  return quiet !== null && secondsIntoQuiet(ms, quiet) !== null;
}

/**
 * When the quiet hours that hold at `now` began (ms), or null when `now` is outside them. Counted
 * back in wall-clock seconds, so across a daylight-saving change it is off by that change.
 */
export function quietSince(now: number, quiet: QuietHours | null): number | null {
  if (quiet === null) return null;
  const into = secondsIntoQuiet(now, quiet);
  return into === null ? null : now - into * 1000 - (now % 1000);
}
