import {
  defaultPreferences,
  notificationPreferencesSchema,
  type NotificationPreferences,
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
