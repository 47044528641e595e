import { useSyncExternalStore } from 'react';
import type { Incident } from '../../../shared/schemas/incidents.ts';
import { createExternalStore } from '../../lib/external-store.ts';
import { trpc } from '../../trpc.ts';
import { applyPending, mergeDetail, type PendingChange } from './incident-cache.ts';
import { mergeIntoIncidentList } from './use-live-incidents.ts';

type Utils = ReturnType<typeof trpc.useUtils>;

interface PendingEntry {
  key: number;
  change: PendingChange;
}

/**
 * This tab's changes in flight, by incident id. They are drawn over the cached incident
 * (which only ever holds the server's word) wherever it shows: the board and its page. So a
 * live event arriving meanwhile updates the cache without clobbering what the user just did,
 * and a failure needs no snapshot: the overlay goes, and the refetched server state shows.
 */
const pending = createExternalStore<ReadonlyMap<string, readonly PendingEntry[]>>(new Map());
/** The last failed action's message, by incident id, until the next action or dismissal. */
const failures = createExternalStore<ReadonlyMap<string, string>>(new Map());
const NONE: readonly PendingEntry[] = [];
let nextKey = 0;

function addPending(id: string, change: PendingChange): number {
  const key = ++nextKey;
  const next = new Map(pending.get());
  next.set(id, [...(next.get(id) ?? NONE), { key, change }]);
  pending.set(next);
  return key;
}

function removePending(id: string, key: number): void {
  const next = new Map(pending.get());
  const left = (next.get(id) ?? NONE).filter((e) => e.key !== key);
  if (left.length > 0) next.set(id, left);
  else next.delete(id);
  pending.set(next);
}

export function setFailure(id: string, message: string | null): void {
  const current = failures.get();
  if (message === null && !current.has(id)) return;
  const next = new Map(current);
  if (message === null) next.delete(id);
  else next.set(id, message);
  failures.set(next);
}

/** An incident as this tab shows it: the server's state with this tab's pending changes on top. */
export function useIncidentView<T extends Incident>(
  incident: T,
): { view: T; pending: boolean; failure: string | null } {
  const all = useSyncExternalStore(pending.subscribe, pending.get);
  const failed = useSyncExternalStore(failures.subscribe, failures.get);
  const entries = all.get(incident.id) ?? NONE;
  return {
    view:
      entries.length > 0
        ? applyPending(
            incident,
            entries.map((e) => e.change),
          )
        : incident,
    pending: entries.length > 0,
    failure: failed.get(incident.id) ?? null,
  };
}

/** Applies the views of many incidents at once (the board). */
export function usePendingChanges(): (incident: Incident) => Incident {
  const all = useSyncExternalStore(pending.subscribe, pending.get);
  return (incident) => {
    const entries = all.get(incident.id);
    return entries
      ? applyPending(
          incident,
          entries.map((e) => e.change),
        )
      : incident;
  };
}

/** The server's answer to our own change: into both caches, by version like any other. */
function applyAnswer(utils: Utils, answer: Incident): void {
  mergeIntoIncidentList(utils, answer);
  utils.incidents.get.setData({ id: answer.id }, (detail) => detail && mergeDetail(detail, answer));
  // The page's timeline has a new entry.
  void utils.incidents.get.invalidate({ id: answer.id });
}

/** After a failure, what the server holds now; awaited so the overlay goes only once it shows. */
async function refetchIncident(utils: Utils, id: string): Promise<void> {
  await Promise.all([utils.incidents.list.invalidate(), utils.incidents.get.invalidate({ id })]);
}

/** The lifecycle every optimistic incident action shares. */
function optimistic<TInput extends { id: string }>(
  utils: Utils,
  verb: string,
  toChange: (input: TInput) => PendingChange,
) {
  return {
    onMutate: (input: TInput) => {
      setFailure(input.id, null);
      return addPending(input.id, toChange(input));
    },
    onSuccess: (answer: Incident) => applyAnswer(utils, answer),
    onError: async (error: { message: string }, input: TInput) => {
      setFailure(input.id, `Could not ${verb}: ${error.message}`);
      await refetchIncident(utils, input.id);
    },
    onSettled: (_answer: unknown, _error: unknown, input: TInput, key: number | undefined) => {
      if (key !== undefined) removePending(input.id, key);
    },
  };
}

/**
 * Acknowledge, assign and resolve, each sent with the version the user saw: the server answers
 * CONFLICT when it changed meanwhile, and the card goes back to what the server holds, saying
 * why. Serialised per incident (`scope`), so each one's snapshot of the server state holds.
 */
export function useIncidentActions(incident: Incident) {
  const utils = trpc.useUtils();
  const scope = { id: `incident:${incident.id}` };
  const acknowledge = trpc.incidents.acknowledge.useMutation({
    scope,
    ...optimistic(utils, 'acknowledge', () => ({ action: 'acknowledge' })),
  });
  const resolve = trpc.incidents.resolve.useMutation({
    scope,
    ...optimistic(utils, 'resolve', () => ({ action: 'resolve' })),
  });
  const assign = trpc.incidents.assign.useMutation({
    scope,
    ...optimistic(utils, 'assign', (input: { id: string; assigneeId: string }) => ({
      action: 'assign',
      assigneeId: input.assigneeId,
    })),
  });
  const at = { id: incident.id, version: incident.version };
  return {
    acknowledge: () => acknowledge.mutate(at),
    resolve: () => resolve.mutate(at),
    assign: (assigneeId: string) => assign.mutate({ ...at, assigneeId }),
    dismissFailure: () => setFailure(incident.id, null),
  };
}
