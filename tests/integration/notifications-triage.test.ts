import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import type { PulseClient } from '../../src/sdk/client.ts';
import type { InboxChange, Notification } from '../../src/shared/schemas/notifications.ts';
import { record } from '../support/live.ts';
import { OPS } from '../support/people.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

type Tracked<T> = { id: string; data: T };
type SendInput = Parameters<PulseClient['notifications']['send']['mutate']>[0];

/** Sends each notification as the admin, in order; `to` defaults to alice. */
async function send(t: TestServer, ...notes: Partial<SendInput>[]) {
  const admin = await t.client({ username: 'admin' });
  for (const note of notes) {
    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'untitled',
      severity: 'info',
      ...note,
    });
  }
}

const titles = (items: readonly { title: string }[]) => items.map((n) => n.title);

async function codeOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (error) {
    if (error instanceof TRPCClientError) return (error.data as { code?: string } | null)?.code;
    throw error;
  }
  throw new Error('the call succeeded');
}

describe('notification inbox triage', () => {
  it('counts unseen apart from unread: seeing is not reading', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await send(t, { title: 'n1' }, { title: 'n2' }, { title: 'n3' });
    const alice = await t.client({ username: 'alice' });
    expect(await alice.notifications.unseenCount.query()).toBe(3);
    const { items } = await alice.notifications.list.query({});
    expect(titles(items)).toEqual(['n3', 'n2', 'n1']);
    // The inbox showed the newest two.
    expect(await alice.notifications.markSeen.mutate({ upTo: items[1]!.id })).toEqual({ count: 2 });
    expect(await alice.notifications.markSeen.mutate({ upTo: items[1]!.id })).toEqual({ count: 0 });
    expect(await alice.notifications.unseenCount.query()).toBe(1);
    expect(await alice.notifications.unreadCount.query()).toBe(3);
    const after = await alice.notifications.list.query({});
    expect(after.items.map((n) => n.seenAt !== null)).toEqual([false, true, true]);
    expect(after.items.every((n) => n.readAt === null)).toBe(true);
    await alice.notifications.markRead.mutate({ id: items[0]!.id });
    expect(await alice.notifications.unseenCount.query()).toBe(1);
    expect(await alice.notifications.unreadCount.query()).toBe(2);
  });

  it('archives and unarchives, moving notifications between the inbox and the archive', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await send(t, { title: 'keep' }, { title: 'file away' }, { title: 'also keep' });
    const alice = await t.client({ username: 'alice' });
    const { items } = await alice.notifications.list.query({});
    const away = items.find((n) => n.title === 'file away')!;
    const archived = await alice.notifications.archive.mutate({ ids: [away.id] });
    expect(archived.notifications).toHaveLength(1);
    expect(archived.notifications[0]!.archivedAt).not.toBeNull();
    // Again: nothing changes.
    expect((await alice.notifications.archive.mutate({ ids: [away.id] })).notifications).toEqual(
      [],
    );
    expect(titles((await alice.notifications.list.query({})).items)).toEqual(['also keep', 'keep']);
    expect(titles((await alice.notifications.list.query({ archived: true })).items)).toEqual([
      'file away',
    ]);
    expect(await alice.notifications.unseenCount.query()).toBe(2);
    await alice.notifications.unarchive.mutate({ ids: [away.id] });
    expect(titles((await alice.notifications.list.query({})).items)).toEqual([
      'also keep',
      'file away',
      'keep',
    ]);
    expect((await alice.notifications.list.query({ archived: true })).items).toEqual([]);
  });

  it('announces every triage change once to every tab, with the counts after it', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await send(t, { title: 'a' }, { title: 'b' });
    const phone = await t.client({ username: 'alice' });
    const laptop = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const laptopSees = record<Tracked<InboxChange>>((o) =>
      laptop.notifications.onInboxChange.subscribe(undefined, o),
    );
    const bobSees = record<Tracked<InboxChange>>((o) =>
      bob.notifications.onInboxChange.subscribe(undefined, o),
    );
    await Promise.all([laptopSees.started, bobSees.started]);
    const { items } = await phone.notifications.list.query({});
    await phone.notifications.markSeen.mutate({ upTo: items[0]!.id });
    await phone.notifications.archive.mutate({ ids: [items[1]!.id] });
    await phone.notifications.markRead.mutate({ id: items[0]!.id });
    await laptopSees.waitFor(3);
    const changes = laptopSees.items.map((e) => e.data);
    expect(changes.map((c) => c.kind)).toEqual(['seen', 'archived', 'read']);
    expect(changes[0]).toMatchObject({ upTo: items[0]!.id, unseenCount: 0, unreadCount: 2 });
    expect(changes[1]).toMatchObject({ ids: [items[1]!.id], unreadCount: 2 });
    expect(changes[2]).toMatchObject({ ids: [items[0]!.id], unreadCount: 1 });
    expect(laptopSees.items.every((e) => /^inb_\d+$/.test(e.id))).toBe(true);
    laptopSees.stop();
    bobSees.stop();
    expect(bobSees.items).toEqual([]);
  });

  it("answers another user's ids exactly as unknown ones, and changes nothing", async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await send(t, { title: 'for alice' }, { title: 'for bob', to: { usernames: ['bob'] } });
    const alice = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const [mine] = (await alice.notifications.list.query({})).items;
    const [theirs] = (await bob.notifications.list.query({})).items;
    for (const ids of [[theirs!.id], ['ntf_999999'], [mine!.id, theirs!.id], ['nonsense']]) {
      expect(await codeOf(alice.notifications.archive.mutate({ ids }))).toBe('NOT_FOUND');
    }
    expect(await codeOf(alice.notifications.markSeen.mutate({ upTo: theirs!.id }))).toBe(
      'NOT_FOUND',
    );
    expect((await alice.notifications.list.query({})).items[0]!.archivedAt).toBeNull();
    expect(await bob.notifications.unseenCount.query()).toBe(1);
  });
});

export type { Notification };
