import { describe, expect, it } from 'vitest';
import {
  describeChangesSince,
  detailWithNames,
  timelineUserIds,
} from '../../src/client/features/incidents/incident-text.ts';
import type { TimelineEntry } from '../../src/shared/schemas/incidents.ts';

const at = '2025-01-01T00:00:00.000Z';
const names: Record<string, string> = { usr_a: 'Alice Martin', usr_b: 'Bob Okafor' };
const name = (id: string) => names[id] ?? 'Unknown user';
const timeline: TimelineEntry[] = [
  { at, actorId: null, action: 'opened', detail: 'cpu > 90 for 60s' },
  { at, actorId: 'usr_a', action: 'acknowledged', detail: '' },
  { at, actorId: 'usr_b', action: 'assigned', detail: 'to usr_b' },
  { at, actorId: 'usr_b', action: 'assigned', detail: 'to usr_gone' },
  { at, actorId: 'usr_a', action: 'resolved', detail: '' },
];

describe('incident texts', () => {
  it('tells the changes after a version, naming each run of one person once', () => {
    expect(describeChangesSince(timeline, 1, name)).toBe(
      'Alice Martin acknowledged it, Bob Okafor took it, assigned it to Unknown user and Alice Martin resolved it',
    );
    expect(describeChangesSince(timeline, 4, name)).toBe('Alice Martin resolved it');
    expect(describeChangesSince(timeline, 5, name)).toBeNull();
    expect(describeChangesSince(timeline.slice(0, 1), 0, name)).toBe('Pulse opened it');
  });

  it('finds and names the people a timeline mentions', () => {
    expect(timelineUserIds(timeline).sort()).toEqual(['usr_a', 'usr_b', 'usr_gone']);
    expect(detailWithNames('to usr_b', name)).toBe('to Bob Okafor');
    expect(detailWithNames('to usr_gone', name)).toBe('to Unknown user');
  });
});
