import { describe, expect, it } from 'vitest';
import { isQuietAt, nextQuietEndIn, quietSince } from '../../src/shared/quiet-hours.ts';

/** 2026-06-01 (no clock change near it), at `hhmm` UTC. */
const at = (hhmm: string) => Date.parse(`2026-06-01T${hhmm}:00.000Z`);
const HOUR = 3_600_000;

describe('quiet hours in time', () => {
  const overnight = { start: '22:00', end: '07:00', timeZone: 'UTC' };
  const tokyo = { start: '22:00', end: '07:00', timeZone: 'Asia/Tokyo' }; // UTC+9

  it('holds from start (included) to end (excluded), past midnight', () => {
    expect(isQuietAt(at('21:59'), overnight)).toBe(false);
    expect(isQuietAt(at('22:00'), overnight)).toBe(true);
    expect(isQuietAt(at('03:00'), overnight)).toBe(true);
    expect(isQuietAt(at('07:00'), overnight)).toBe(false);
    // 22:00 in Tokyo is 13:00 UTC.
    expect(isQuietAt(at('13:30'), tokyo)).toBe(true);
    expect(isQuietAt(at('12:30'), tokyo)).toBe(false);
    expect(isQuietAt(at('03:00'), null)).toBe(false);
  });

  it('knows when the current window began', () => {
    expect(quietSince(at('03:00'), overnight)).toBe(at('22:00') - 24 * HOUR);
    expect(quietSince(at('12:00'), overnight)).toBeNull();
  });

  it('counts down to the next end, inside a window or before one', () => {
    expect(nextQuietEndIn(at('03:00'), overnight)).toBe(4 * HOUR);
    expect(nextQuietEndIn(at('12:00'), overnight)).toBe(19 * HOUR);
    // At the end itself, the next end is a day away. Tokyo's 07:00 is 22:00 UTC.
    expect(nextQuietEndIn(at('07:00'), overnight)).toBe(24 * HOUR);
    expect(nextQuietEndIn(at('21:00'), tokyo)).toBe(HOUR);
    expect(nextQuietEndIn(at('03:00'), null)).toBeNull();
  });
});
