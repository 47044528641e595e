/**
 * The snooze menu's times, in the browser's own time zone. Pure: `now` is passed in, so the
 * choices can be tested at any moment of the week.
 */

/** The hour a "morning" snooze wakes at. */
export const MORNING_HOUR = 8;

export function inOneHour(now: Date): Date {
  return new Date(now.getTime() + 60 * 60_000);
}

/** Tomorrow at 08:00, local time. */
export function tomorrowMorning(now: Date): Date {
  const at = new Date(now);
  at.setDate(at.getDate() + 1);
  at.setHours(MORNING_HOUR, 0, 0, 0);
  return at;
}

/** Next Monday at 08:00, local time (a week from today when today is Monday). */
export function nextWeek(now: Date): Date {
  const at = new Date(now);
  const daysToMonday = (8 - at.getDay()) % 7 || 7;
  at.setDate(at.getDate() + daysToMonday);
  at.setHours(MORNING_HOUR, 0, 0, 0);
  return at;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A local time as `<input type="datetime-local">` holds it: `2025-03-04T08:30`. */
export function toLocalInput(at: Date): string {
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** A `datetime-local` value (with or without seconds) as a time; null when it is not one. */
export function fromLocalInput(value: string): Date | null {
  // A date-time without an offset is local time (ECMAScript's date-time string format).
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at;
}

/** Why a snooze until `until` would be refused (the server checks the same), or null. */
export function snoozeProblem(until: Date, now: Date, maxDays: number): string | null {
  if (until.getTime() <= now.getTime()) return 'Pick a time in the future.';
  if (until.getTime() > now.getTime() + maxDays * 86_400_000)
    return `Pick a time at most ${maxDays} days ahead.`;
  return null;
}

/** "Tue 08:00", or a date for later than a week: how a menu item says when. */
export function shortWhen(at: Date, now: Date): string {
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (at.getTime() - now.getTime() < 6 * 86_400_000) {
    return `${at.toLocaleDateString([], { weekday: 'short' })} ${time}`;
  }
  return `${at.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}
