import type { LinkState } from '../components/link-indicator.tsx';
import { createExternalStore, type ExternalStore } from '../lib/external-store.ts';

/** A `useSubscription` status, as tRPC reports it. */
export type StreamStatus = 'idle' | 'connecting' | 'pending' | 'error';

export interface StreamReport {
  status: StreamStatus;
  error: string | null;
}

/**
 * The live streams a tab has open right now, by name. Features open their streams only on
 * the pages that need them (the dashboard's points, the incidents' changes), and the header's
 * one SSE indicator speaks for all of them.
 */
export interface StreamReports {
  all: ExternalStore<ReadonlyMap<string, StreamReport>>;
  /** Some stream has started once: later trouble is "reconnecting", not "connecting". */
  everStarted: ExternalStore<boolean>;
  /** Sets a stream's report, or removes it (`null`: the stream is not open). */
  report: (name: string, report: StreamReport | null) => void;
}

export function createStreamReports(): StreamReports {
  const all = createExternalStore<ReadonlyMap<string, StreamReport>>(new Map());
  return {
    all,
    everStarted: createExternalStore(false),
    report: (name, report) => {
      if (report === null && !all.get().has(name)) return;
      const next = new Map(all.get());
      if (report === null) next.delete(name);
      else next.set(name, report);
      all.set(next);
    },
  };
}

/** The SSE link's state across every open stream, and the last error one of them reported. */
export function streamsState(
  online: boolean,
  everStarted: boolean,
  reports: ReadonlyMap<string, StreamReport>,
): { state: LinkState; problem: string | null } {
  const list = [...reports.values()];
  const problem = list.find((r) => r.error !== null)?.error ?? null;
  return {
    state: linkState(
      online,
      everStarted,
      list.map((r) => r.status),
    ),
    problem,
  };
}

export function linkState(
  online: boolean,
  everConnected: boolean,
  statuses: readonly StreamStatus[],
): LinkState {
  if (!online || statuses.some((s) => s === 'error' || s === 'idle')) return 'offline';
  if (statuses.length > 0 && statuses.every((s) => s === 'pending')) return 'connected';
  return everConnected ? 'reconnecting' : 'connecting';
}
