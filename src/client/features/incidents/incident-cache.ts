import type { InfiniteData } from '@tanstack/react-query';
import type {
  Incident,
  IncidentDetail,
  IncidentStatus,
} from '../../../shared/schemas/incidents.ts';

/** The board's list as React Query holds it: the pages the server gave, newest first. */
export type IncidentPages<TCursor = string | null> = InfiniteData<Incident[], TCursor>;

/** The server's order of `incidents.list`: newest first (openedAt, then id, both descending). */
export function compareIncidents(a: Incident, b: Incident): number {
  if (a.openedAt !== b.openedAt) return a.openedAt < b.openedAt ? 1 : -1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? 1 : -1;
}

/**
 * The caches hold only what the server said, and only ever move forward: a change is taken
 * when its version is newer than what is there. So a late replay, a slow refetch or a
 * mutation's answer arriving after the live event of the same change all land harmlessly.
 * An incident not in the loaded pages goes where the server's order puts it (a new one: first),
 * unless that is past the last loaded page while more remain: loading more brings it then, as
 * it is then, and putting it in now would show it twice.
 */
export function mergeIncidentPages<TCursor>(
  data: IncidentPages<TCursor>,
  incoming: Incident,
  pageSize: number,
): IncidentPages<TCursor> {
  const withPage = (p: number, page: Incident[]): IncidentPages<TCursor> => {
    const pages = [...data.pages];
    pages[p] = page;
    return { ...data, pages };
  };
  for (const [p, page] of data.pages.entries()) {
    const i = page.findIndex((x) => x.id === incoming.id);
    if (i === -1) continue;
    const existing = page[i];
    if (existing && existing.version >= incoming.version) return data;
    const next = [...page];
    next[i] = incoming;
    return withPage(p, next);
  }
  const last = data.pages.length - 1;
  const more = (data.pages[last]?.length ?? 0) >= pageSize;
  for (const [p, page] of data.pages.entries()) {
    const end = page.at(-1);
    if ((end && compareIncidents(incoming, end) < 0) || (p === last && !more)) {
      const at = page.findIndex((x) => compareIncidents(incoming, x) < 0);
      const next = [...page];
      next.splice(at === -1 ? page.length : at, 0, incoming);
      return withPage(p, next);
    }
  }
  return data;
}

/** The loaded incidents, each once, in the server's order. */
export function loadedIncidents(data: IncidentPages<unknown> | undefined): Incident[] {
  const byId = new Map<string, Incident>();
  for (const incident of (data?.pages ?? []).flat()) {
    if (!byId.has(incident.id)) byId.set(incident.id, incident);
  }
  return [...byId.values()];
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
