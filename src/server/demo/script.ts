import { createHash } from 'node:crypto';
import type { Severity } from '../../shared/schemas/common.ts';
import type { DashboardLayout } from '../../shared/schemas/metrics.ts';
import { seriesOf, type Episode, type EpisodeKind, type Service } from './fleet.ts';

/**
 * What the living demo says and does, apart from how: its alert rules, when episodes happen,
 * the team's chat, and the dashboard it gives the demo users. Durations are at speed 1;
 * `PULSE_DEMO_SPEED` divides them.
 */

/** A demo alert rule, and the episode that breaches it. */
export interface DemoRule {
  service: Service;
  kind: EpisodeKind;
  series: string;
  op: '>' | '<';
  threshold: number;
  forSeconds: number;
  severity: Severity;
  /** What the on-call person says in the incident's room when it opens. */
  onOpen: string;
}

/** In the order their breaches come, the first about a minute after a fresh start. */
export const DEMO_RULES: readonly DemoRule[] = [
  {
    service: 'checkout',
    kind: 'latency',
    series: seriesOf('checkout', 'latency.p99_ms'),
    op: '>',
    threshold: 1000,
    forSeconds: 30,
    severity: 'critical',
    onOpen: 'Checkout p99 is over a second. Rolling back 4.12 while I look.',
  },
  {
    service: 'payments',
    kind: 'errors',
    series: seriesOf('payments', 'errors_pct'),
    op: '>',
    threshold: 5,
    forSeconds: 30,
    severity: 'critical',
    onOpen:
      "Payments errors above 5%. The processor's status page is green, digging into our side.",
  },
  {
    service: 'search',
    kind: 'cpu',
    series: seriesOf('search', 'cpu_pct'),
    op: '>',
    threshold: 90,
    forSeconds: 60,
    severity: 'warning',
    onOpen: 'Search CPU is pinned. Probably the reindex job again, throttling it.',
  },
  {
    service: 'auth',
    kind: 'latency',
    series: seriesOf('auth', 'latency.p99_ms'),
    op: '>',
    threshold: 400,
    forSeconds: 30,
    severity: 'warning',
    onOpen: 'Auth p99 is up. The token cache again? Looking.',
  },
];

export const RESOLVED_TEXT = 'Back to normal for a few minutes now. Resolving.';

/** The demo's clock: every duration divided by the speed, none under its floor (real ms). */
export interface DemoTiming {
  speed: number;
  /** Between two fleet samples. */
  sampleMs: number;
  /** From the start of the live fleet to the first breach. */
  firstBreachMs: number;
  /** From the start of the live fleet to the incident the first breach opens. */
  firstAlertMs: number;
  /** Between the starts of two breaches. */
  gapMs: { min: number; max: number };
  /** A rule's `forSeconds` as created. */
  forSeconds(rule: DemoRule): number;
  /** How long a breach of `rule` lasts: its window and a minute more. */
  breachMs(rule: DemoRule): number;
  rampMs: number;
  /** An incident a rule opened is resolved once open this long and its service is calm. */
  resolveAfterMs: number;
  /** Between two looks at the team's incidents. */
  pollMs: number;
}

export function demoTiming(speed: number): DemoTiming {
  const scaled = (ms: number, floorMs: number) => Math.max(floorMs, Math.round(ms / speed));
  const forSeconds = (rule: DemoRule) => Math.max(1, Math.round(rule.forSeconds / speed));
  const firstBreachMs = scaled(30_000, 3_000);
  const first = DEMO_RULES[0];
  return {
    speed,
    sampleMs: scaled(5_000, 100),
    firstBreachMs,
    firstAlertMs: firstBreachMs + (first ? forSeconds(first) * 1000 : 0),
    gapMs: { min: scaled(10 * 60_000, 5_000), max: scaled(20 * 60_000, 10_000) },
    forSeconds,
    breachMs: (rule) => forSeconds(rule) * 1000 + scaled(60_000, 2_000),
    rampMs: scaled(15_000, 100),
    resolveAfterMs: scaled(5 * 60_000, 2_000),
    pollMs: scaled(10_000, 500),
  };
}

/** How strong a minor episode is: visible on a chart, well under every demo rule. */
const MINOR_STRENGTH = 0.15;

/**
 * When things go wrong: the first breach `firstBreachMs` after `startAt`, then one every
 * 10–20 minutes, taking the rules in turn, with a minor episode (a bump that breaches nothing)
 * somewhere in each gap. Holds the episodes not yet over, never more than three.
 */
export function createSchedule(
  timing: DemoTiming,
  startAt: number,
  random: () => number = Math.random,
) {
  let next = 0;
  const planned: Episode[] = [];
  const between = (min: number, max: number) => min + (max - min) * random();

  function breach(start: number): Episode {
    const rule = DEMO_RULES[next % DEMO_RULES.length] ?? DEMO_RULES[0];
    if (!rule) throw new Error('The demo has no rules');
    next++;
    return {
      service: rule.service,
      kind: rule.kind,
      start,
      end: start + timing.breachMs(rule),
      strength: 1,
      rampMs: timing.rampMs,
    };
  }

  /** Plans what follows `last` (a breach): a minor episode in the gap, and the next breach. */
  function planAfter(last: Episode) {
    const gap = between(timing.gapMs.min, timing.gapMs.max);
    const coming = breach(last.start + gap);
    const services = ['checkout', 'search', 'payments', 'auth'] as const;
    const kinds = ['latency', 'errors', 'cpu'] as const;
    const minorStart = last.end + (coming.start - last.end) * between(0.3, 0.6);
    planned.push(
      {
        service: services[Math.floor(random() * services.length)] ?? 'search',
        kind: kinds[Math.floor(random() * kinds.length)] ?? 'latency',
        start: minorStart,
        end: minorStart + between(40_000, 80_000) / timing.speed,
        strength: MINOR_STRENGTH,
        rampMs: timing.rampMs,
      },
      coming,
    );
  }

  const first = breach(startAt + timing.firstBreachMs);
  planned.push(first);
  planAfter(first);

  return {
    /** The episodes not over at `now` (after dropping the others, and planning ahead). */
    at(now: number): readonly Episode[] {
      for (let i = planned.length - 1; i >= 0; i--) {
        if ((planned[i]?.end ?? 0) <= now) planned.splice(i, 1);
      }
      const last = planned.findLast((e) => e.strength === 1);
      // Without a breach ahead (the process slept through the last one), the next comes a gap on.
      if (!last) planned.push(breach(now + timing.gapMs.min));
      else if (last.start <= now) planAfter(last);
      return planned;
    },
    /** Whether an episode has `service` off its normal levels at `now`. */
    troubled(service: Service, now: number): boolean {
      return planned.some((e) => e.service === service && e.start <= now && now < e.end);
    },
  };
}

export type Schedule = ReturnType<typeof createSchedule>;

/** A stable UUID (version 5 layout) for `name`: the same message gets the same id on every start. */
export function stableUuid(name: string): string {
  const hash = createHash('sha1').update(`pulse-demo:${name}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export type DemoUsername = 'alice' | 'bob' | 'carol';

/** Who answers incidents in the demo. */
export const ON_CALL: DemoUsername = 'bob';

/** The team room's history, sent once (by stable ids) on the first demo start. */
export const HISTORY: readonly { author: DemoUsername; text: string }[] = [
  {
    author: 'carol',
    text: 'Morning all. Deploying checkout 4.12 at 10:00 unless someone objects.',
  },
  { author: 'bob', text: 'Go ahead. Search had a slow patch overnight, CPU looked fine though.' },
  {
    author: 'alice',
    text: 'I saw that: search p99 went up around 3am during the reindex. Back to normal since.',
  },
  {
    author: 'carol',
    text: 'Checkout 4.12 is out. Watching latency and errors for the next half hour.',
  },
  { author: 'bob', text: 'Payments error rate is flat at about 0.3%, nothing new there.' },
  {
    author: 'alice',
    text: 'I have set alert rules for checkout p99, payments errors, search CPU and auth p99. They open incidents for this team.',
  },
  { author: 'carol', text: 'Nice. What are the thresholds?' },
  {
    author: 'alice',
    text: 'Checkout p99 over 1 s for 30 s, payments errors over 5% for 30 s, search CPU over 90% for a minute, auth p99 over 400 ms for 30 s.',
  },
  {
    author: 'bob',
    text: 'I am on call this week, so I pick incidents up first. Shout here if something looks off.',
  },
  {
    author: 'carol',
    text: 'Auth runs a bit hot at lunch; the token cache hit rate dropped after the last release.',
  },
  { author: 'alice', text: '@bob could you look at the auth cache after standup?' },
  {
    author: 'bob',
    text: 'Will do. The dashboard has all four services now if you want to keep an eye on them.',
  },
];

/** The dashboard a demo user still on Pulse's default one gets: the fleet first. */
export const DEMO_LAYOUT: DashboardLayout = {
  tiles: [
    seriesOf('checkout', 'latency.p99_ms'),
    seriesOf('payments', 'errors_pct'),
    seriesOf('search', 'cpu_pct'),
    seriesOf('auth', 'latency.p99_ms'),
    'pulse.connections.sse',
    'pulse.rss_mb',
  ],
  charts: [
    { series: seriesOf('checkout', 'latency.p99_ms'), range: '1h' },
    { series: seriesOf('payments', 'errors_pct'), range: '1h' },
    { series: seriesOf('search', 'cpu_pct'), range: '1h' },
    { series: seriesOf('auth', 'latency.p99_ms'), range: '1h' },
    { series: seriesOf('checkout', 'latency.p50_ms'), range: '5m' },
    { series: seriesOf('search', 'latency.p99_ms'), range: '5m' },
  ],
};
