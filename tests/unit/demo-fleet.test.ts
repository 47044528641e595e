import { describe, expect, it } from 'vitest';
import { createFleet, FLEET_SERIES, load, type Episode } from '../../src/server/demo/fleet.ts';
import {
  createSchedule,
  DEMO_RULES,
  demoTiming,
  HISTORY,
  stableUuid,
} from '../../src/server/demo/script.ts';
import { sendMessageSchema } from '../../src/shared/schemas/chat.ts';
import { SERIES_PATTERN } from '../../src/shared/limits.ts';

/** A seeded generator (mulberry32), so that a failure can be replayed. */
function seeded(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const breaches = (rule: (typeof DEMO_RULES)[number], value: number) =>
  rule.op === '>' ? value > rule.threshold : value < rule.threshold;

describe('the demo fleet', () => {
  it('follows the hour of the day: quiet at 04:00, busiest at 16:00', () => {
    const at = (hour: number) => new Date(2026, 0, 15, hour).getTime();
    expect(load(at(4))).toBeCloseTo(0.35);
    expect(load(at(16))).toBeCloseTo(1);
    expect(load(at(10))).toBeGreaterThan(load(at(7)));
  });

  it('samples every series with a valid name, and breaches no demo rule when nothing happens', () => {
    expect(FLEET_SERIES.every((s) => SERIES_PATTERN.test(s))).toBe(true);
    const fleet = createFleet(seeded(1));
    const start = new Date(2026, 0, 15).getTime();
    for (let at = start; at < start + 2 * DAY; at += 10_000) {
      const points = fleet.sample(at);
      expect(points.map((p) => p.series)).toEqual(FLEET_SERIES);
      for (const rule of DEMO_RULES) {
        const point = points.find((p) => p.series === rule.series);
        if (!point || breaches(rule, point.value)) {
          throw new Error(`${rule.series} at ${new Date(at).toISOString()}: ${point?.value}`);
        }
      }
    }
  });

  it('breaches the rule of a breach episode for its whole plateau; a minor episode breaches nothing', () => {
    const fleet = createFleet(seeded(2));
    const start = new Date(2026, 0, 15, 4).getTime();
    for (const rule of DEMO_RULES) {
      for (const strength of [1, 0.15]) {
        const episode: Episode = {
          service: rule.service,
          kind: rule.kind,
          start,
          end: start + 120_000,
          strength,
          rampMs: 15_000,
        };
        for (let at = start + 15_000; at < start + 105_000; at += 1000) {
          const point = fleet.sample(at, [episode]).find((p) => p.series === rule.series);
          expect(
            breaches(rule, point?.value ?? NaN),
            `${rule.series} at strength ${strength}`,
          ).toBe(strength === 1);
        }
      }
    }
  });
});

describe('the demo schedule', () => {
  it('breaches each rule in turn: the first soon after the start, then one every 10–20 minutes', () => {
    const timing = demoTiming(1);
    const start = 1_000_000;
    const schedule = createSchedule(timing, start, seeded(3));
    const seen: Episode[] = [];
    for (let now = start; now < start + 3 * 3_600_000; now += 5_000) {
      const planned = schedule.at(now);
      expect(planned.length).toBeLessThanOrEqual(3);
      for (const e of planned) if (e.strength === 1 && !seen.includes(e)) seen.push(e);
    }
    expect(seen[0]?.start).toBe(start + 30_000);
    expect(seen.map((e) => e.service).slice(0, 5)).toEqual([
      ...DEMO_RULES.map((r) => r.service),
      DEMO_RULES[0]?.service,
    ]);
    for (const [i, e] of seen.entries()) {
      const previous = seen[i - 1];
      if (previous) {
        expect(e.start - previous.start).toBeGreaterThanOrEqual(10 * 60_000);
        expect(e.start - previous.start).toBeLessThanOrEqual(20 * 60_000);
      }
      const rule = DEMO_RULES.find((r) => r.service === e.service);
      // Long enough for the rule's window, and a minute more.
      expect(e.end - e.start).toBe(((rule?.forSeconds ?? 0) + 60) * 1000);
    }
    // The first incident opens about a minute after the start, as the README says.
    expect(timing.firstAlertMs).toBe(60_000);
  });

  it('runs faster with the speed, each duration above a floor', () => {
    const timing = demoTiming(60);
    expect(timing.sampleMs).toBe(100);
    expect(timing.firstBreachMs).toBe(3_000);
    expect(DEMO_RULES.map((r) => timing.forSeconds(r))).toEqual([1, 1, 1, 1]);
    const schedule = createSchedule(timing, 0, seeded(4));
    const first = DEMO_RULES[0]?.service ?? 'checkout';
    expect(schedule.troubled(first, 2_000)).toBe(false);
    expect(schedule.at(3_500).some((e) => e.service === first && e.strength === 1)).toBe(true);
    expect(schedule.troubled(first, 3_500)).toBe(true);
    // A second of the rule's window, and the two-second floor of the minute after it.
    schedule.at(6_000);
    expect(schedule.troubled(first, 6_000)).toBe(false);
  });

  it('gives each message a stable UUID that chat.send takes', () => {
    const ids = HISTORY.map((_, i) => stableUuid(`history/${i}`));
    expect(new Set(ids).size).toBe(HISTORY.length);
    expect(ids).toEqual(HISTORY.map((_, i) => stableUuid(`history/${i}`)));
    for (const [i, clientMessageId] of ids.entries()) {
      const parsed = sendMessageSchema.safeParse({
        roomId: 'room_team_x',
        text: HISTORY[i]?.text,
        clientMessageId,
      });
      expect(parsed.success).toBe(true);
    }
  });
});
