import { describe, expect, it } from 'vitest';
import {
  applyPending,
  boardColumns,
  loadedIncidents,
  mergeDetail,
  mergeIncidentPages,
} from '../../src/client/features/incidents/incident-cache.ts';
import type { Incident, IncidentDetail } from '../../src/shared/schemas/incidents.ts';

const incident = (id: string, version: number, patch: Partial<Incident> = {}): Incident => ({
  id,
  teamId: 'team_ops',
  title: `incident ${id}`,
  severity: 'warning',
  status: 'open',
  assigneeId: null,
  version,
  openedAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
  ruleId: null,
  ...patch,
});

/** The board's cache: pages as the server sent them. */
const pagesOf = (...pages: Incident[][]) => ({ pages, pageParams: pages.map((_, i) => i) });
const ids = (data: { pages: Incident[][] }) => data.pages.map((page) => page.map((i) => i.id));

describe('incident caches merge by version', () => {
  it('takes a newer version where the incident is, and puts a new incident first', () => {
    const data = pagesOf([incident('b', 1), incident('a', 1)]);
    const next = mergeIncidentPages(data, incident('a', 2, { status: 'acknowledged' }), 10);
    expect(next.pages[0]!.map((i) => [i.id, i.version, i.status])).toEqual([
      ['b', 1, 'open'],
      ['a', 2, 'acknowledged'],
    ]);
    const newer = incident('c', 1, { openedAt: '2025-01-02T00:00:00.000Z' });
    expect(ids(mergeIncidentPages(next, newer, 10))).toEqual([['c', 'b', 'a']]);
  });

  it('never lets an older or equal version overwrite what is there', () => {
    const data = pagesOf([incident('a', 3, { status: 'resolved' })]);
    expect(mergeIncidentPages(data, incident('a', 2, { status: 'acknowledged' }), 10)).toBe(data);
    expect(mergeIncidentPages(data, incident('a', 3, { status: 'open' }), 10)).toBe(data);
  });

  it('finds an incident on any loaded page', () => {
    const data = pagesOf(
      [incident('d', 1), incident('c', 1)],
      [incident('b', 1), incident('a', 1)],
    );
    const next = mergeIncidentPages(data, incident('a', 2), 2);
    expect(next.pages[0]).toBe(data.pages[0]);
    expect(next.pages[1]!.map((i) => i.version)).toEqual([1, 2]);
  });

  it('puts an unknown incident where the server orders it, unless that is past the loaded pages', () => {
    // Newest first: openedAt, then id, both descending.
    const at = (day: number) => `2025-01-0${day}T00:00:00.000Z`;
    const loaded = pagesOf(
      [incident('e', 1, { openedAt: at(9) }), incident('d', 1, { openedAt: at(7) })],
      [incident('c', 1, { openedAt: at(5) }), incident('b', 1, { openedAt: at(3) })],
    );
    expect(ids(mergeIncidentPages(loaded, incident('x', 1, { openedAt: at(6) }), 2))).toEqual([
      ['e', 'd'],
      ['x', 'c', 'b'],
    ]);
    expect(ids(mergeIncidentPages(loaded, incident('x', 1, { openedAt: at(3) }), 2))).toEqual([
      ['e', 'd'],
      ['c', 'x', 'b'],
    ]);
    // Older than everything loaded while more remain: loading more brings it.
    expect(mergeIncidentPages(loaded, incident('x', 1, { openedAt: at(2) }), 2)).toBe(loaded);
    // When the last page is short, nothing remains: it goes at the end.
    expect(ids(mergeIncidentPages(loaded, incident('x', 1, { openedAt: at(2) }), 3))).toEqual([
      ['e', 'd'],
      ['c', 'b', 'x'],
    ]);
    expect(ids(mergeIncidentPages(pagesOf([]), incident('x', 1), 100))).toEqual([['x']]);
  });

  it('lists each loaded incident once, in order', () => {
    const data = pagesOf(
      [incident('b', 1), incident('a', 1)],
      [incident('a', 1), incident('z', 1)],
    );
    expect(loadedIncidents(data).map((i) => i.id)).toEqual(['b', 'a', 'z']);
    expect(loadedIncidents(undefined)).toEqual([]);
  });

  it('updates an incident page, keeping its timeline until the refetch', () => {
    const detail: IncidentDetail = {
      ...incident('a', 1),
      timeline: [{ at: '2025-01-01T00:00:00.000Z', actorId: null, action: 'opened', detail: '' }],
    };
    const next = mergeDetail(detail, incident('a', 2, { status: 'acknowledged' }));
    expect(next).toMatchObject({ version: 2, status: 'acknowledged', timeline: detail.timeline });
    expect(mergeDetail(next, incident('a', 1))).toBe(next);
    expect(mergeDetail(next, incident('b', 9))).toBe(next);
  });
});

describe('pending changes drawn over the server state', () => {
  it('applies acknowledge, assign and resolve in order, without touching the version', () => {
    const base = incident('a', 4);
    const view = applyPending(base, [
      { action: 'acknowledge' },
      { action: 'assign', assigneeId: 'usr_bob' },
    ]);
    expect(view).toMatchObject({ status: 'acknowledged', assigneeId: 'usr_bob', version: 4 });
    expect(applyPending(base, [{ action: 'resolve' }]).status).toBe('resolved');
    expect(applyPending(base, [])).toBe(base);
  });

  it('does not reopen a resolved incident by acknowledging it', () => {
    const resolved = incident('a', 2, { status: 'resolved' });
    expect(applyPending(resolved, [{ action: 'acknowledge' }]).status).toBe('resolved');
  });
});

describe('board columns', () => {
  it('groups by status, most severe and newest first; resolved by latest change', () => {
    const columns = boardColumns([
      incident('old-warning', 1, { openedAt: '2025-01-01T00:00:00.000Z' }),
      incident('new-info', 1, { severity: 'info', openedAt: '2025-01-03T00:00:00.000Z' }),
      incident('critical', 1, { severity: 'critical' }),
      incident('new-warning', 1, { openedAt: '2025-01-02T00:00:00.000Z' }),
      incident('ack', 2, { status: 'acknowledged' }),
      incident('r1', 2, { status: 'resolved', updatedAt: '2025-01-02T00:00:00.000Z' }),
      incident('r2', 2, { status: 'resolved', updatedAt: '2025-01-05T00:00:00.000Z' }),
    ]);
    expect(columns.open.map((i) => i.id)).toEqual([
      'critical',
      'new-warning',
      'old-warning',
      'new-info',
    ]);
    expect(columns.acknowledged.map((i) => i.id)).toEqual(['ack']);
    expect(columns.resolved.map((i) => i.id)).toEqual(['r2', 'r1']);
  });
});
