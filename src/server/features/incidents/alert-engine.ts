import { consume } from '../../platform/bus.ts';
import type { AlertRule } from '../../../shared/schemas/incidents.ts';
import { openIncident } from './actions.ts';
import type { Services } from '../../services.ts';

type Deps = Pick<Services, 'incidents' | 'notifications' | 'bus' | 'users' | 'metricStore'>;

/** Whether a rule's condition holds now: the latest point satisfies it, and has for `forSeconds`. */
export async function ruleHolds(
  services: Deps,
  rule: AlertRule,
  now = Date.now(),
): Promise<boolean> {
  const run = await services.metricStore.run(rule.series, rule.op, rule.threshold);
  return run !== null && run.holdsNow && now - run.since >= rule.forSeconds * 1000;
}

/**
 * Evaluates alert rules as points arrive (for the series that got points) and every second
 * (conditions also start to hold as time passes). A rule opens one incident while unresolved:
 * the store refuses a second.
 */
export function startAlertEngine(services: Deps, signal: AbortSignal) {
  let running = false;
  let dirty: Set<string> | 'all' | null = null;

  async function evaluate(series: string[] | null): Promise<void> {
    const rules = await services.incidents.rules.ofSeries(series ?? undefined);
    for (const rule of rules) {
      if (signal.aborted) return;
      if (await ruleHolds(services, rule)) {
        await openIncident(services, {
          teamId: rule.teamId,
          title: `${rule.series} ${rule.op} ${rule.threshold}`,
          severity: rule.severity,
          actorId: null,
          rule,
        });
      }
    }
  }

  function request(series: string[] | 'all'): void {
    if (series === 'all' || dirty === 'all') dirty = 'all';
    else {
      const set: Set<string> = dirty ?? new Set();
      for (const s of series) set.add(s);
      dirty = set;
    }
    if (running) return;
    running = true;
    void (async () => {
      while (dirty !== null && !signal.aborted) {
        const next: Set<string> | 'all' = dirty;
        dirty = null;
        await evaluate(next === 'all' ? null : [...next]).catch((error: unknown) => {
          if (!signal.aborted) console.error('alert evaluation failed', error);
        });
      }
      running = false;
    })();
  }

  const timer = setInterval(() => request('all'), 1000);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  consume({
    subscribe: () => services.bus.subscribe('metrics.ingested', signal),
    signal,
    what: 'alert engine',
    handle: ({ series }) => request(series),
    // The every-second pass evaluates everything anyway; start it now.
    resumed: () => request('all'),
  });
  return { evaluateNow: () => evaluate(null) };
}
