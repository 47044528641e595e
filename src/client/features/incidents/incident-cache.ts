import type {
  Incident,
  IncidentDetail,
  IncidentStatus,
} from '../../../shared/schemas/incidents.ts';

/**
 * The caches hold only what the server said, and only ever move forward: a change is taken
 * when its version is newer than what is there. So a late replay, a slow refetch or a
 * mutation's answer arriving after the live event of the same change all land harmlessly.
 */
export function mergeIncident(list: Incident[], incoming: Incident): Incident[] {
  const i = list.findIndex((x) => x.id === incoming.id);
  if (i === -1) return [incoming, ...list];
  const existing = list[i];
  if (existing && existing.version >= incoming.version) return list;
  const next = [...list];
  next[i] = incoming;
  return next;
}

/** The same for an incident page; its timeline stays until a refetch brings the new entries. */
export function mergeDetail(detail: IncidentDetail, incoming: Incident): IncidentDetail {
  if (detail.id !== incoming.id || detail.version >= incoming.version) return detail;
  return { ...detail, ...incoming };
}

/** A change this tab has asked for and the server has not answered yet. */
export type PendingChange =
  { action: 'acknowledge' } | { action: 'resolve' } | { action: 'assign'; assigneeId: string };

/** What the user sees: the server's incident with this tab's pending changes on top. */
export function applyPending<T extends Incident>(
  incident: T,
  changes: readonly PendingChange[],
): T {
  let view = incident;
  for (const change of changes) {
    switch (change.action) {
      case 'acknowledge':
        if (view.status === 'open') view = { ...view, status: 'acknowledged' };
        break;
      case 'resolve':
        view = { ...view, status: 'resolved' };
        break;
      case 'assign':
        view = { ...view, assigneeId: change.assigneeId };
        break;
    }
  }
  return view;
}

const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 } as const;

/**
 * The board's columns. Open and acknowledged: most severe first, then newest. Resolved: the
 * most recently resolved first.
 */
export function boardColumns(incidents: readonly Incident[]): Record<IncidentStatus, Incident[]> {
  const columns: Record<IncidentStatus, Incident[]> = { open: [], acknowledged: [], resolved: [] };
  for (const incident of incidents) columns[incident.status].push(incident);
  const byUrgency = (a: Incident, b: Incident) =>
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.openedAt.localeCompare(a.openedAt);
  columns.open.sort(byUrgency);
  columns.acknowledged.sort(byUrgency);
  columns.resolved.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  return columns;
}
