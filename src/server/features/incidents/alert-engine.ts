import type { AlertRule } from '../../../shared/schemas/incidents.ts';
import { consume, type EventBus } from '../../platform/bus.ts';
import type { MetricStore } from '../metrics/store.ts';
import type { IncidentActions } from './actions.ts';
import type { RuleStore } from './rule-store.ts';

interface Deps {
  rules: RuleStore;
  /** The points the rules are evaluated against. */
  points: MetricStore;
  actions: IncidentActions;
  /** Where ingests are announced. */
  bus: EventBus;
}

/** Whether a rule's condition holds now: the latest point satisfies it, and has for `forSeconds`. */
async function ruleHolds(points: MetricStore, rule: AlertRule, now = Date.now()): Promise<boolean> {
  const run = await points.run(rule.series, rule.op, rule.threshold);
  return run !== null && run.holdsNow && now - run.since >= rule.forSeconds * 1000;
}

/**
 * Evaluates alert rules as points arrive (for the series that got points) and every second
 * (conditions also start to hold as time passes). A rule opens one incident while unresolved:
 * the store refuses a second.
 */
export function startAlertEngine(deps: Deps, signal: AbortSignal) {
  const { rules: ruleStore, points, actions, bus } = deps;
  let running = false;
  let dirty: Set<string> | 'all' | null = null;

  async function evaluate(series: string[] | null): Promise<void> {
    const rules = await ruleStore.ofSeries(series ?? undefined);
    for (const rule of rules) {
      if (signal.aborted) return;
      if (await ruleHolds(points, rule)) {
        await actions.open({
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
    subscribe: () => bus.subscribe('metrics.ingested', signal),
    signal,
    what: 'alert engine',
    handle: ({ series }) => request(series),
    // The every-second pass evaluates everything anyway; start it now.
    resumed: () => request('all'),
  });
  /** Evaluates every rule now (tests, rather than waiting for the next pass). */
  return { evaluateNow: () => evaluate(null) };
}
