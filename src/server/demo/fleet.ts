import type { PointInput } from '../../shared/schemas/metrics.ts';

/**
 * The simulated fleet of the living demo: a few services whose latency, error rate and CPU
 * follow the hour of the day, wander with noise, and now and then go through an episode (a
 * latency spike, an error burst, a CPU saturation). Pure: time and randomness come in as
 * arguments, so a test can drive it; the simulator only stamps and ships what it answers.
 */

export const SERVICES = ['checkout', 'search', 'payments', 'auth'] as const;
export type Service = (typeof SERVICES)[number];

export const SIGNALS = ['latency.p50_ms', 'latency.p99_ms', 'errors_pct', 'cpu_pct'] as const;
export type FleetSignal = (typeof SIGNALS)[number];

export const seriesOf = (service: Service, signal: FleetSignal) => `${service}.${signal}`;

/** Every series the fleet ingests: one per service and signal. */
export const FLEET_SERIES: readonly string[] = SERVICES.flatMap((service) =>
  SIGNALS.map((signal) => seriesOf(service, signal)),
);

/** Each service at full (afternoon) traffic, and at the height of an incident. */
interface Profile {
  p50: number;
  p99: number;
  errors: number;
  cpu: number;
  peak: { p50: number; p99: number; errors: number; cpu: number };
}

const PROFILES: Record<Service, Profile> = {
  checkout: {
    p50: 120,
    p99: 450,
    errors: 0.4,
    cpu: 45,
    peak: { p50: 480, p99: 2200, errors: 11, cpu: 96 },
  },
  search: {
    p50: 60,
    p99: 220,
    errors: 0.2,
    cpu: 55,
    peak: { p50: 300, p99: 1500, errors: 9, cpu: 98 },
  },
  payments: {
    p50: 180,
    p99: 600,
    errors: 0.3,
    cpu: 35,
    peak: { p50: 700, p99: 3000, errors: 12, cpu: 95 },
  },
  auth: {
    p50: 25,
    p99: 90,
    errors: 0.1,
    cpu: 25,
    peak: { p50: 150, p99: 900, errors: 8, cpu: 94 },
  },
};

/** What goes wrong in an episode: which signals head for the service's incident levels. */
export type EpisodeKind = 'latency' | 'errors' | 'cpu';

const AFFECTED: Record<EpisodeKind, Partial<Record<FleetSignal, number>>> = {
  // Weight of the move towards the peak level, per signal, at full intensity.
  latency: { 'latency.p50_ms': 0.8, 'latency.p99_ms': 1, cpu_pct: 0.3, errors_pct: 0.05 },
  errors: { errors_pct: 1, 'latency.p99_ms': 0.1 },
  cpu: { cpu_pct: 1, 'latency.p99_ms': 0.25, 'latency.p50_ms': 0.2 },
};

/**
 * One episode: from `start` to `end` (ms since the epoch) the service's affected signals move
 * towards its incident levels by `strength` (1: all the way, which breaches the demo's rules;
 * a minor episode stays well under them), ramping up and down over `rampMs`.
 */
export interface Episode {
  service: Service;
  kind: EpisodeKind;
  start: number;
  end: number;
  strength: number;
  rampMs: number;
}

/** How far into an episode `at` is: 0 outside, rising to 1 after the ramp, falling at its end. */
export function intensity(episode: Episode, at: number): number {
  if (at < episode.start || at >= episode.end) return 0;
  const ramp = Math.max(1, episode.rampMs);
  const up = (at - episode.start) / ramp;
  const down = (episode.end - at) / ramp;
  return Math.min(1, up, down) * episode.strength;
}

/**
 * Traffic by the local hour of the day, from 0.35 (04:00) to 1 (16:00), smoothly: the daily
 * shape every signal follows.
 */
export function load(at: number): number {
  const date = new Date(at);
  const hour = date.getHours() + date.getMinutes() / 60;
  return 0.35 + 0.65 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (hour - 4)) / 24));
}

/** A standard normal draw from `random` (Box–Muller). */
function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const round = (value: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/**
 * The fleet's state: one slowly wandering noise term per series (a mean-reverting walk, so a
 * chart looks like a measurement rather than static), and nothing else: it never grows.
 */
export function createFleet(random: () => number = Math.random) {
  const wander = new Map<string, number>(FLEET_SERIES.map((s) => [s, 0]));

  /** Moves the series' noise one step and answers it (about standard normal, correlated). */
  function step(series: string): number {
    const next = 0.85 * (wander.get(series) ?? 0) + 0.53 * gaussian(random);
    wander.set(series, next);
    return next;
  }

  /** Every series' value at `at`, with the episodes under way (any, past or future, may be passed). */
  function sample(at: number, episodes: readonly Episode[] = []): PointInput[] {
    const traffic = load(at);
    const points: PointInput[] = [];
    for (const service of SERVICES) {
      const p = PROFILES[service];
      const normal: Record<FleetSignal, number> = {
        'latency.p50_ms':
          p.p50 * (0.8 + 0.25 * traffic) * (1 + 0.06 * step(seriesOf(service, 'latency.p50_ms'))),
        'latency.p99_ms':
          p.p99 * (0.75 + 0.35 * traffic) * (1 + 0.1 * step(seriesOf(service, 'latency.p99_ms'))),
        errors_pct:
          p.errors * (0.7 + 0.4 * traffic) * (1 + 0.3 * step(seriesOf(service, 'errors_pct'))),
        cpu_pct: p.cpu * (0.5 + 0.6 * traffic) * (1 + 0.06 * step(seriesOf(service, 'cpu_pct'))),
      };
      const peak: Record<FleetSignal, number> = {
        'latency.p50_ms': p.peak.p50,
        'latency.p99_ms': p.peak.p99,
        errors_pct: p.peak.errors,
        cpu_pct: p.peak.cpu,
      };
      for (const signal of SIGNALS) {
        let value = normal[signal];
        for (const episode of episodes) {
          if (episode.service !== service) continue;
          const weight = (AFFECTED[episode.kind][signal] ?? 0) * intensity(episode, at);
          if (weight > 0) value += (peak[signal] * (1 + 0.02 * gaussian(random)) - value) * weight;
        }
        const bounded =
          signal === 'cpu_pct' ? Math.min(100, Math.max(1, value)) : Math.max(0, value);
        points.push({
          series: seriesOf(service, signal),
          value: round(bounded, signal === 'errors_pct' ? 3 : 1),
          ts: at,
        });
      }
    }
    return points;
  }

  return { sample };
}

export type Fleet = ReturnType<typeof createFleet>;
