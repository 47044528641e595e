import {
  matchMutation,
  useMutationState,
  useQueryClient,
  type Mutation,
  type QueryClient,
} from '@tanstack/react-query';
import { getMutationKey } from '@trpc/react-query';
import { useMemo } from 'react';
import { assignSchema, versionedSchema, type Incident } from '../../../shared/schemas/incidents.ts';
import { errorCode } from '../../lib/errors.ts';
import { trpc } from '../../trpc.ts';
import type { User } from '../../../shared/schemas/auth.ts';
import { applyPending, mergeDetail, type PendingChange } from './incident-cache.ts';
import { describeChangesSince, timelineUserIds } from './incident-text.ts';
import { INCIDENTS_STALE_TIME, mergeIntoIncidentList } from './use-live-incidents.ts';
import { useIncidentNames } from './use-people.ts';

type Utils = ReturnType<typeof trpc.useUtils>;
type Action = PendingChange['action'];
type AnyMutation = Mutation<unknown, Error, unknown, unknown>;

/**
 * This tab's incident actions are the overlay: they live in React Query's mutation cache (no
 * store of our own), and are drawn over the cached incident (which only ever holds the
 * server's word) wherever it shows, the board and its page. So a live event arriving meanwhile
 * updates the cache without clobbering what the user just did, a failure needs no snapshot
 * (the overlay goes, and the refetched server state shows), and signing out, which clears the
 * caches, clears the overlay with them.
 */
const ACTIONS: readonly Action[] = ['acknowledge', 'assign', 'resolve'];

function actionKey(action: Action) {
  switch (action) {
    case 'acknowledge':
      return getMutationKey(trpc.incidents.acknowledge);
    case 'assign':
      return getMutationKey(trpc.incidents.assign);
    case 'resolve':
      return getMutationKey(trpc.incidents.resolve);
  }
}

/** Which incident action a cached mutation is, if it is one. */
function actionOf(mutation: AnyMutation): Action | null {
  return (
    ACTIONS.find((action) =>
      matchMutation({ mutationKey: actionKey(action), exact: true }, mutation),
    ) ?? null
  );
}

/** Why an action of this tab was refused. */
export interface ActionFailure {
  action: Action;
  /** The server's reason. */
  reason: string;
  /**
   * Refused because the incident changed since (`CONFLICT`): the version the action was sent
   * with, from which who changed what meanwhile can be told.
   */
  staleVersion: number | null;
}

/** One incident action of this tab, as the overlay needs it. */
interface ActionRecord {
  mutationId: number;
  incidentId: string;
  change: PendingChange;
  status: AnyMutation['state']['status'];
  failure: ActionFailure | null;
}

function toRecord(mutation: AnyMutation): ActionRecord | null {
  const action = actionOf(mutation);
  if (action === null) return null;
  const { variables, status, error } = mutation.state;
  let change: PendingChange;
  let at: { id: string; version: number };
  if (action === 'assign') {
    const input = assignSchema.safeParse(variables);
    if (!input.success) return null;
    change = { action, assigneeId: input.data.assigneeId };
    at = input.data;
  } else {
    const input = versionedSchema.safeParse(variables);
    if (!input.success) return null;
    change = { action };
    at = input.data;
  }
  return {
    mutationId: mutation.mutationId,
    incidentId: at.id,
    change,
    status,
    failure:
      status === 'error'
        ? {
            action,
            reason: error instanceof Error ? error.message : String(error),
            staleVersion: errorCode(error) === 'CONFLICT' ? at.version : null,
          }
        : null,
  };
}

export interface IncidentOverlay {
  /** Actions in flight, in the order they were made. */
  changes: PendingChange[];
  /** The last action's failure, until the next action or dismissal. */
  failure: { failure: ActionFailure; mutationId: number } | null;
}

const NO_OVERLAY: IncidentOverlay = { changes: [], failure: null };

/** Every incident's overlay, by id. */
function useOverlays(): ReadonlyMap<string, IncidentOverlay> {
  const records = useMutationState({
    filters: { predicate: (mutation) => actionOf(mutation) !== null },
    select: toRecord,
  });
  return useMemo(() => {
    const byId = new Map<string, IncidentOverlay>();
    // In the order they were made: a later action hides an earlier one's failure.
    for (const record of records) {
      if (record === null) continue;
      const overlay = byId.get(record.incidentId) ?? { changes: [], failure: null };
      if (record.status === 'pending') {
        overlay.changes.push(record.change);
        overlay.failure = null;
      } else {
        overlay.failure =
          record.failure === null
            ? null
            : { failure: record.failure, mutationId: record.mutationId };
      }
      byId.set(record.incidentId, overlay);
    }
    return byId;
  }, [records]);
}

/** Forgets a settled action (its failure is dismissed, or a newer action supersedes it). */
function forget(queryClient: QueryClient, keep: (mutation: AnyMutation) => boolean): void {
  const cache = queryClient.getMutationCache();
  for (const mutation of cache.getAll()) {
    if (mutation.state.status !== 'pending' && !keep(mutation)) cache.remove(mutation);
  }
}

/** An incident as this tab shows it: the server's state with this tab's pending changes on top. */
export function useIncidentView<T extends Incident>(
  incident: T,
): { view: T; pending: boolean; failure: ActionFailure | null; dismissFailure: () => void } {
  const queryClient = useQueryClient();
  const overlay = useOverlays().get(incident.id) ?? NO_OVERLAY;
  const failed = overlay.failure?.mutationId;
  return {
    view: overlay.changes.length > 0 ? applyPending(incident, overlay.changes) : incident,
    pending: overlay.changes.length > 0,
    failure: overlay.failure?.failure ?? null,
    dismissFailure: () => forget(queryClient, (m) => m.mutationId !== failed),
  };
}

/** Applies the views of many incidents at once (the board). */
export function usePendingChanges(): (incident: Incident) => Incident {
  const overlays = useOverlays();
  return (incident) => {
    const changes = overlays.get(incident.id)?.changes;
    return changes && changes.length > 0 ? applyPending(incident, changes) : incident;
  };
}

/** The server's answer to our own change: into both caches, by version like any other. */
function applyAnswer(utils: Utils, answer: Incident): void {
  mergeIntoIncidentList(utils, answer);
  utils.incidents.get.setData({ id: answer.id }, (detail) => detail && mergeDetail(detail, answer));
  // The page's timeline has a new entry.
  void utils.incidents.get.invalidate({ id: answer.id });
}

/**
 * The lifecycle every optimistic incident action shares. A mutation is pending until its
 * callbacks are done, so the overlay lasts until the answer is in the cache, or, after a
 * failure, until the refetched server state is.
 */
function useOptimistic(incidentId: string) {
  const utils = trpc.useUtils();
  const queryClient = useQueryClient();
  return {
    // Serialised per incident: each is sent with the version the previous one's answer brings.
    scope: { id: `incident:${incidentId}` },
    // Kept until the next action on the incident (or sign-out), so a failure stays in view
    // wherever the incident shows, also after the card that made it has gone.
    gcTime: Infinity,
    onMutate: () =>
      forget(queryClient, (m) => actionOf(m) === null || toRecord(m)?.incidentId !== incidentId),
    onSuccess: (answer: Incident) => applyAnswer(utils, answer),
    onError: async () => {
      await Promise.all([
        utils.incidents.list.invalidate(),
        utils.incidents.get.invalidate({ id: incidentId }),
      ]);
    },
  };
}

/**
 * Acknowledge, assign and resolve, each sent with the version the user saw: the server answers
 * CONFLICT when it changed meanwhile, and the card goes back to what the server holds, saying
 * why.
 */
export function useIncidentActions(incident: Incident) {
  const optimistic = useOptimistic(incident.id);
  const acknowledge = trpc.incidents.acknowledge.useMutation(optimistic);
  const resolve = trpc.incidents.resolve.useMutation(optimistic);
  const assign = trpc.incidents.assign.useMutation(optimistic);
  const at = { id: incident.id, version: incident.version };
  return {
    acknowledge: () => acknowledge.mutate(at),
    resolve: () => resolve.mutate(at),
    assign: (assigneeId: string) => assign.mutate({ ...at, assigneeId }),
  };
}

/**
 * A refused action as the card says it. A stale one (`CONFLICT`) says who changed what
 * meanwhile, read from the incident's timeline (fetched for it where no page holds it), by
 * name: "Could not resolve: Alice Martin acknowledged it meanwhile".
 */
export function useFailureText(
  incidentId: string,
  failure: ActionFailure | null,
  me: User,
): string | null {
  const stale = failure?.staleVersion ?? null;
  const query = trpc.incidents.get.useQuery(
    { id: incidentId },
    { enabled: stale !== null, staleTime: INCIDENTS_STALE_TIME },
  );
  // What the cache held before the refusal may predate the change that caused it.
  const detail = query.isFetching && (query.data?.version ?? 0) <= (stale ?? 0) ? null : query.data;
  const timeline = stale === null ? [] : (detail?.timeline.slice(stale) ?? []);
  const name = useIncidentNames(me, timelineUserIds(timeline));
  if (failure === null) return null;
  const verb = `Could not ${failure.action}`;
  if (stale === null) return `${verb}: ${failure.reason}`;
  if (!detail) return `${verb}: it changed meanwhile`;
  const changes = describeChangesSince(detail.timeline, stale, name);
  return changes === null ? `${verb}: it is ${detail.status}` : `${verb}: ${changes} meanwhile`;
}
