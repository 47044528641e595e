import type { TimelineEntry } from '../../../shared/schemas/incidents.ts';

/** User ids written into timeline details (`to usr_…`), which read better as names. */
const USER_ID = /\busr_[A-Za-z0-9_-]+/g;
const FIRST_USER_ID = new RegExp(USER_ID.source);

/** Every user a timeline names: its actors and the users its details mention. */
export function timelineUserIds(timeline: readonly TimelineEntry[]): string[] {
  const ids = new Set<string>();
  for (const entry of timeline) {
    if (entry.actorId !== null) ids.add(entry.actorId);
    for (const match of entry.detail.matchAll(USER_ID)) ids.add(match[0]);
  }
  return [...ids];
}

/** A timeline detail with the user ids in it replaced by names. */
export function detailWithNames(detail: string, name: (userId: string) => string): string {
  return detail.replace(USER_ID, (userId) => name(userId));
}

/** What one change did: "acknowledged it", "took it", "assigned it to Carol Nguyen". */
function describeChange(entry: TimelineEntry, name: (userId: string) => string): string {
  if (entry.action === 'assigned') {
    const to = FIRST_USER_ID.exec(entry.detail)?.[0];
    if (to === undefined) return 'reassigned it';
    return to === entry.actorId ? 'took it' : `assigned it to ${name(to)}`;
  }
  return `${entry.action} it`;
}

/**
 * What others did to an incident after the version an action was sent with: "Alice Martin
 * acknowledged it", "Alice Martin acknowledged it and Bob Okafor took it". Each change adds
 * exactly one timeline entry (opening is version 1, the first entry), so the changes after
 * version `v` are the entries from index `v` on.
 */
export function describeChangesSince(
  timeline: readonly TimelineEntry[],
  version: number,
  name: (userId: string) => string,
): string | null {
  const changes = timeline.slice(version);
  // "Alice Martin acknowledged it and took it": a run of one person's changes names them once.
  const clauses = changes.map((entry, i) => {
    const what = describeChange(entry, name);
    if (i > 0 && changes[i - 1]?.actorId === entry.actorId) return what;
    return `${entry.actorId === null ? 'Pulse' : name(entry.actorId)} ${what}`;
  });
  const last = clauses.pop();
  if (last === undefined) return null;
  return clauses.length === 0 ? last : `${clauses.join(', ')} and ${last}`;
}
