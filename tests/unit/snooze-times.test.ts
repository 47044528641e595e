import { describe, expect, it } from 'vitest';
import {
  fromLocalInput,
  inOneHour,
  nextWeek,
  snoozeProblem,
  toLocalInput,
  tomorrowMorning,
} from '../../src/client/features/notifications/snooze-times.ts';

// Local times, as the menu reads them: Wednesday 4 June 2025, 22:30.
const wednesdayNight = new Date(2025, 5, 4, 22, 30);

describe('snooze times', () => {
  it('offers an hour from now, tomorrow at 08:00 and next Monday at 08:00, in local time', () => {
    expect(inOneHour(wednesdayNight)).toEqual(new Date(2025, 5, 4, 23, 30));
    expect(tomorrowMorning(wednesdayNight)).toEqual(new Date(2025, 5, 5, 8, 0));
    expect(nextWeek(wednesdayNight)).toEqual(new Date(2025, 5, 9, 8, 0));
    // On a Monday, next week is the Monday after; on a Sunday, tomorrow.
    expect(nextWeek(new Date(2025, 5, 9, 7, 0))).toEqual(new Date(2025, 5, 16, 8, 0));
    expect(nextWeek(new Date(2025, 5, 8, 7, 0))).toEqual(new Date(2025, 5, 9, 8, 0));
  });

  it('reads and writes the custom time as a datetime-local input holds it', () => {
    expect(toLocalInput(wednesdayNight)).toBe('2025-06-04T22:30');
    expect(fromLocalInput('2025-06-04T22:30')).toEqual(wednesdayNight);
    expect(fromLocalInput('2025-06-04T22:30:15')).toEqual(new Date(2025, 5, 4, 22, 30, 15));
    expect(fromLocalInput('')).toBeNull();
    expect(fromLocalInput('tomorrow')).toBeNull();
    expect(fromLocalInput('2025-13-40T99:99')).toBeNull();
  });

  it('refuses what the server would: the past, and more than the limit ahead', () => {
    expect(snoozeProblem(new Date(2025, 5, 4, 22, 0), wednesdayNight, 90)).toBe(
      'Pick a time in the future.',
    );
    expect(snoozeProblem(new Date(2025, 8, 3, 22, 30), wednesdayNight, 90)).toBe(
      'Pick a time at most 90 days ahead.',
    );
    expect(snoozeProblem(tomorrowMorning(wednesdayNight), wednesdayNight, 90)).toBeNull();
  });
});
