import { randomUUID } from 'node:crypto';
import { isTrackedEnvelope } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { procedureDefinitions } from '../../src/server/platform/trpc-internals.ts';
import type { Meta } from '../../src/server/platform/trpc.ts';
import { teamRoomId } from '../../src/shared/rooms.ts';
import { createTestServices } from '../support/caller.ts';
import { OPS } from '../support/people.ts';

/**
 * What the API contract says of each subscription (its meta: tracked or not, and the schema of
 * its events), checked against what the subscription yields on a real app.
 */
describe('the contract of each stream', () => {
  it('says what it yields: tracked envelopes exactly where meta.tracked says, events valid by meta.yields', async () => {
    await using t = await createTestServices({}, { teams: [OPS] });
    const alice = t.caller('alice');
    const admin = t.caller('admin');
    const teamId = t.team('ops').team.id;
    const roomId = teamRoomId(teamId);
    const notifyAlice = () =>
      admin.notifications.send({ to: { usernames: ['alice'] }, title: 'hi', severity: 'info' });

    /** How alice opens each subscription, and what makes it yield (none: it yields at start). */
    const streams: Record<
      string,
      { open: () => Promise<AsyncIterable<unknown>>; then?: () => Promise<unknown> }
    > = {
      'notifications.onNotification': {
        open: () => alice.notifications.onNotification(),
        then: notifyAlice,
      },
      'notifications.onReadState': {
        open: () => alice.notifications.onReadState(),
        then: async () => {
          await notifyAlice();
          const [latest] = (await alice.notifications.list({ limit: 1 })).items;
          return alice.notifications.markRead({ id: latest!.id });
        },
      },
      'notifications.onInboxChange': {
        open: () => alice.notifications.onInboxChange(),
        then: async () => {
          await notifyAlice();
          const [latest] = (await alice.notifications.list({ limit: 1 })).items;
          return alice.notifications.archive({ ids: [latest!.id] });
        },
      },
      'incidents.onChange': {
        open: () => alice.incidents.onChange(),
        then: () => alice.incidents.create({ title: 'Disk full', severity: 'warning', teamId }),
      },
      'metrics.onPoints': {
        open: () => alice.metrics.onPoints({ series: ['contract.check'] }),
        then: () => alice.metrics.ingest({ points: [{ series: 'contract.check', value: 1 }] }),
      },
      'chat.onMessage': {
        open: () => alice.chat.onMessage({ roomId }),
        then: () => alice.chat.send({ roomId, text: 'hello', clientMessageId: randomUUID() }),
      },
      'chat.onTyping': { open: () => alice.chat.onTyping({ roomId }) },
      'chat.onPresence': { open: () => alice.chat.onPresence({ roomId }) },
      'chat.onPresenceSummary': { open: () => alice.chat.onPresenceSummary({ roomId }) },
    };

    const subscriptions = procedureDefinitions(t.app.router).filter(
      (d) => d.type === 'subscription',
    );
    // A new subscription needs a line above.
    expect(subscriptions.map((d) => d.path)).toEqual(Object.keys(streams).sort());
    for (const { path, meta } of subscriptions) {
      const { tracked, yields } = meta as Meta;
      const stream = streams[path]!;
      const iterator = (await stream.open())[Symbol.asyncIterator]();
      await stream.then?.();
      const value: unknown = (await iterator.next()).value;
      await iterator.return?.();
      expect({ path, tracked: isTrackedEnvelope(value) }).toEqual({ path, tracked });
      const data: unknown = isTrackedEnvelope(value) ? value[1] : value;
      expect(yields?.safeParse(data).success, `${path} yielded ${JSON.stringify(data)}`).toBe(true);
    }
    expect(t.app.metrics.counts.subscriptions).toBe(0);
  });
});
