import { useEffect, useSyncExternalStore } from 'react';
import type { LinkState } from '../components/link-indicator.tsx';
import { createExternalStore } from '../lib/external-store.ts';

/** A `useSubscription` status, as tRPC reports it. */
export type StreamStatus = 'idle' | 'connecting' | 'pending' | 'error';

interface StreamReport {
  status: StreamStatus;
  error: string | null;
}

/**
 * The live streams this tab has open right now, by name. Features open their streams only on
 * the pages that need them (the dashboard's points, the incidents' changes), and the header's
 * one SSE indicator speaks for all of them.
 */
const reports = createExternalStore<ReadonlyMap<string, StreamReport>>(new Map());
/** Some stream has started once: later trouble is "reconnecting", not "connecting". */
const everStarted = createExternalStore(false);

export function markStreamStarted(): void {
  everStarted.set(true);
}

/**
 * Reports a stream's status for as long as the calling component is mounted; `null` while
 * the stream is not wanted (nothing to follow).
 */
export function useReportStream(
  name: string,
  status: StreamStatus | null,
  error: { message: string } | null,
): void {
  const message = error?.message ?? null;
  useEffect(() => {
    const next = new Map(reports.get());
    if (status === null) next.delete(name);
    else next.set(name, { status, error: message });
    reports.set(next);
  }, [name, status, message]);
  useEffect(
    () => () => {
      const next = new Map(reports.get());
      next.delete(name);
      reports.set(next);
    },
    [name],
  );
}

/** The SSE link's state across every open stream, and the last error one of them reported. */
export function useStreamsState(online: boolean): { state: LinkState; problem: string | null } {
  const all = useSyncExternalStore(reports.subscribe, reports.get);
  const started = useSyncExternalStore(everStarted.subscribe, everStarted.get);
  const list = [...all.values()];
  const problem = list.find((r) => r.error !== null)?.error ?? null;
  return {
    state: linkState(
      online,
      started,
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
