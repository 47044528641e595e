import { describe, expect, it } from 'vitest';
import {
  applyPending,
  boardColumns,
  mergeDetail,
  mergeIncident,
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

describe('incident caches merge by version', () => {
  it('takes a newer version, and inserts an unknown incident first', () => {
    const list = [incident('a', 1), incident('b', 1)];
    const next = mergeIncident(list, incident('b', 2, { status: 'acknowledged' }));
    expect(next.map((i) => [i.id, i.version, i.status])).toEqual([
      ['a', 1, 'open'],
      ['b', 2, 'acknowledged'],
    ]);
    expect(mergeIncident(next, incident('c', 1)).map((i) => i.id)).toEqual(['c', 'a', 'b']);
  });

  it('never lets an older or equal version overwrite what is there', () => {
    const list = [incident('a', 3, { status: 'resolved' })];
    expect(mergeIncident(list, incident('a', 2, { status: 'acknowledged' }))).toBe(list);
    expect(mergeIncident(list, incident('a', 3, { status: 'open' }))).toBe(list);
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
