import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import type { PulseClient } from '../../src/sdk/client.ts';
import type { InboxChange, Notification } from '../../src/shared/schemas/notifications.ts';
import { scaleOutMissing, startCluster } from '../support/instances.ts';
import { record } from '../support/live.ts';
import { OPS } from '../support/people.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { wsClient } from '../support/ws.ts';

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

  it('wakes a snooze by its timer, live on every tab, back at the top as new', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await send(t, { title: 'later' }, { title: 'now' });
    const phone = await t.client({ username: 'alice' });
    const laptop = await t.client({ username: 'alice' });
    const { items } = await phone.notifications.list.query({});
    await phone.notifications.markSeen.mutate({ upTo: items[0]!.id });
    const later = items.find((n) => n.title === 'later')!;
    await phone.notifications.markRead.mutate({ id: later.id });
    const tabs = [phone, laptop].map((client) =>
      record<Tracked<InboxChange>>((o) =>
        client.notifications.onInboxChange.subscribe(undefined, o),
      ),
    );
    await Promise.all(tabs.map((tab) => tab.started));
    const until = new Date(Date.now() + 1500).toISOString();
    const snoozed = await phone.notifications.snooze.mutate({ ids: [later.id], until });
    expect(snoozed.notifications[0]!.snoozedUntil).toBe(until);
    expect(titles((await phone.notifications.list.query({})).items)).toEqual(['now']);
    expect(titles((await phone.notifications.list.query({ snoozed: true })).items)).toEqual([
      'later',
    ]);
    for (const tab of tabs) {
      await tab.waitUntil((e) => e.some((c) => c.data.kind === 'woken'), 'the wake', 10_000);
    }
    for (const tab of tabs) {
      expect(tab.items.map((e) => e.data.kind)).toEqual(['snoozed', 'woken']);
      const woken = tab.items[1]!.data;
      expect(woken).toMatchObject({ ids: [later.id], unseenCount: 1, unreadCount: 2 });
      expect(woken.notifications[0]).toMatchObject({
        snoozedUntil: null,
        seenAt: null,
        readAt: null,
        archivedAt: null,
      });
      tab.stop();
    }
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(until));
    // Listed as if it had just arrived: above what came before it, below what comes after.
    expect(titles((await phone.notifications.list.query({})).items)).toEqual(['later', 'now']);
    await send(t, { title: 'newer' });
    const first = await phone.notifications.list.query({ limit: 2 });
    expect(titles(first.items)).toEqual(['newer', 'later']);
    const rest = await phone.notifications.list.query({ limit: 2, cursor: first.nextCursor });
    expect(titles(rest.items)).toEqual(['now']);
    expect(rest.nextCursor).toBeNull();
    expect(await phone.notifications.unseenCount.query()).toBe(2);
  });

  it('replays a wake exactly once to a client resuming after it', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await send(t, { title: 'snoozy' });
    const alice = await t.client({ username: 'alice' });
    const [note] = (await alice.notifications.list.query({})).items;
    const watcher = record<Tracked<InboxChange>>((o) =>
      alice.notifications.onInboxChange.subscribe(undefined, o),
    );
    await watcher.started;
    await alice.notifications.snooze.mutate({
      ids: [note!.id],
      until: new Date(Date.now() + 1500).toISOString(),
    });
    await watcher.waitFor(1);
    const snoozedId = watcher.items[0]!.id;
    await watcher.waitFor(2, 10_000);
    await alice.notifications.archive.mutate({ ids: [note!.id] });
    await watcher.waitFor(3);
    watcher.stop();
    expect(watcher.items.map((e) => e.data.kind)).toEqual(['snoozed', 'woken', 'archived']);
    const resumed = record<Tracked<InboxChange>>((o) =>
      alice.notifications.onInboxChange.subscribe({ lastEventId: snoozedId }, o),
    );
    await resumed.waitFor(2);
    await alice.notifications.unarchive.mutate({ ids: [note!.id] });
    await resumed.waitFor(3);
    resumed.stop();
    expect(resumed.items.map((e) => e.data.kind)).toEqual(['woken', 'archived', 'unarchived']);
    expect(resumed.items.slice(0, 2)).toEqual(watcher.items.slice(1));
    // Someone else's change id cannot be resumed from.
    const bob = await t.client({ username: 'bob' });
    const probe = record<Tracked<InboxChange>>((o) =>
      bob.notifications.onInboxChange.subscribe({ lastEventId: snoozedId }, o),
    );
    expect((await probe.waitForError()).data?.code).toBe('PRECONDITION_FAILED');
    probe.stop();
  });

  it("keeps each user's newest changes only: resuming from a forgotten one starts afresh", async () => {
    await using t = await startTestServer({ PULSE_INBOX_CHANGES_KEPT: '10' }, { teams: [OPS] });
    await send(t, { title: 'toggled' });
    const alice = await t.client({ username: 'alice' });
    const [note] = (await alice.notifications.list.query({})).items;
    const watcher = record<Tracked<InboxChange>>((o) =>
      alice.notifications.onInboxChange.subscribe(undefined, o),
    );
    await watcher.started;
    for (let i = 0; i < 6; i++) {
      await alice.notifications.archive.mutate({ ids: [note!.id] });
      await alice.notifications.unarchive.mutate({ ids: [note!.id] });
    }
    await watcher.waitFor(12);
    watcher.stop();
    const ids = watcher.items.map((e) => e.id);
    // The 10 newest are kept: resuming from the third replays the nine after it.
    const recent = record<Tracked<InboxChange>>((o) =>
      alice.notifications.onInboxChange.subscribe({ lastEventId: ids[2] }, o),
    );
    await recent.waitFor(9);
    recent.stop();
    expect(recent.items.map((e) => e.id)).toEqual(ids.slice(3));
    // The first is forgotten: the client is told to refetch and subscribe afresh.
    const stale = record<Tracked<InboxChange>>((o) =>
      alice.notifications.onInboxChange.subscribe({ lastEventId: ids[0] }, o),
    );
    expect((await stale.waitForError()).data?.code).toBe('PRECONDITION_FAILED');
    stale.stop();
  });

  it('wakes at start what fell due while the server was down', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await send(t, { title: 'over the restart' }, { title: 'stays' });
    let alice = await t.client({ username: 'alice' });
    const { items } = await alice.notifications.list.query({});
    const note = items.find((n) => n.title === 'over the restart')!;
    const watcher = record<Tracked<InboxChange>>((o) =>
      alice.notifications.onInboxChange.subscribe(undefined, o),
    );
    await watcher.started;
    const until = Date.now() + 1500;
    await alice.notifications.snooze.mutate({
      ids: [note.id],
      until: new Date(until).toISOString(),
    });
    await watcher.waitFor(1);
    await t.stop();
    const stoppedAt = Date.now();
    // Down until the snooze is due: the new server must wake it at start.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now() + 50)));
    await t.restart();
    alice = await t.client({ username: 'alice' });
    // The stream resumes by itself after the restart, from the last change it had.
    await watcher.waitUntil((e) => e.some((c) => c.data.kind === 'woken'), 'the wake', 15_000);
    watcher.stop();
    const wakes = watcher.items.filter((e) => e.data.kind === 'woken');
    expect(wakes).toHaveLength(1);
    // Woken by the new server (unless the machine was so slow that the old one stopped late).
    if (stoppedAt < until) expect(Date.parse(wakes[0]!.data.at)).toBeGreaterThan(stoppedAt);
    expect(titles((await alice.notifications.list.query({})).items)).toEqual([
      'over the restart',
      'stays',
    ]);
  });

  it('filters, searches and groups, with exact paging in every combination', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const ops = t.team('ops').team.id;
    await send(
      t,
      { title: 'deploy 1', groupKey: 'deploy' },
      { title: '100% disk on db-1', severity: 'warning', groupKey: 'disk' },
      { title: 'team note', to: { teamId: ops }, body: 'for the whole Team' },
      { title: 'deploy 2', groupKey: 'deploy' },
      { title: '100 disk on db-2', severity: 'warning', groupKey: 'disk' },
      { title: 'plain', severity: 'critical' },
      { title: 'deploy 3', groupKey: ' deploy ' },
      { title: 'a_b under_score' },
    );
    const alice = await t.client({ username: 'alice' });
    /** Every entry of a listing, a page of `limit` at a time. */
    const all = async (input: Parameters<typeof alice.notifications.list.query>[0], limit = 2) => {
      const items = [];
      let cursor: string | null = null;
      do {
        const page = await alice.notifications.list.query({ ...input, limit, cursor });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== null);
      return items;
    };
    expect(titles(await all({ severity: ['warning'] }))).toEqual([
      '100 disk on db-2',
      '100% disk on db-1',
    ]);
    expect(titles(await all({ teamId: ops }))).toEqual(['team note']);
    expect((await all({ teamId: ops }))[0]!.teamId).toBe(ops);
    // Case-insensitive, in the body too; wildcards are literal.
    expect(titles(await all({ search: 'TEAM' }))).toEqual(['team note']);
    expect(titles(await all({ search: '100%' }))).toEqual(['100% disk on db-1']);
    expect(titles(await all({ search: 'a_b' }))).toEqual(['a_b under_score']);
    expect(titles(await all({ search: '_' }))).toEqual(['a_b under_score']);
    expect(await all({ search: '%%' })).toEqual([]);
    const grouped = await all({ grouped: true });
    expect(grouped.map((n) => [n.title, n.group ?? null])).toEqual([
      ['a_b under_score', null],
      ['deploy 3', { key: 'deploy', count: 3, unreadCount: 3 }],
      ['plain', null],
      ['100 disk on db-2', { key: 'disk', count: 2, unreadCount: 2 }],
      ['team note', null],
    ]);
    for (const limit of [1, 3, 10]) expect(await all({ grouped: true }, limit)).toEqual(grouped);
    expect(titles(await all({ groupKey: 'deploy' }, 1))).toEqual([
      'deploy 3',
      'deploy 2',
      'deploy 1',
    ]);
    await alice.notifications.markRead.mutate({ id: grouped[1]!.id });
    const filtered = await all({ grouped: true, severity: ['info'], unreadOnly: true }, 1);
    expect(filtered.map((n) => [n.title, n.group?.count ?? null])).toEqual([
      ['a_b under_score', null],
      ['deploy 2', 2],
      ['team note', null],
    ]);
    // Archived ones leave the inbox's groups.
    await alice.notifications.archive.mutate({ ids: [grouped[3]!.id] });
    expect((await all({ grouped: true })).find((n) => n.group?.key === 'disk')?.group).toEqual({
      key: 'disk',
      count: 1,
      unreadCount: 1,
    });
    expect(titles(await all({ archived: true, grouped: true }))).toEqual(['100 disk on db-2']);
    // Old cursors (a bare id) still page.
    const [top] = (await alice.notifications.list.query({ limit: 1 })).items;
    const next = await alice.notifications.list.query({ limit: 1, cursor: top!.id });
    expect(next.items[0]!.title).toBe('deploy 3');
  });

  it('mutes by severity, team and group, never critical, on every transport', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const ops = t.team('ops').team.id;
    const alice = await t.client({ username: 'alice' });
    const changes = record<Tracked<InboxChange>>((o) =>
      alice.notifications.onInboxChange.subscribe(undefined, o),
    );
    await changes.started;
    const prefs = {
      mutedSeverities: ['info' as const],
      mutedTeamIds: [ops],
      mutedGroupKeys: ['noisy'],
      quietHours: null,
    };
    expect(await alice.notifications.setPreferences.mutate(prefs)).toEqual(prefs);
    expect(await alice.notifications.preferences.query()).toEqual(prefs);
    await changes.waitFor(1);
    expect(changes.items[0]!.data).toMatchObject({ kind: 'preferences', preferences: prefs });
    changes.stop();
    const sse = record<Tracked<Notification>>((o) =>
      alice.notifications.onNotification.subscribe(undefined, o),
    );
    const ws = wsClient(t.url, { headers: { cookie: await t.login('alice') } });
    const socket = record<Tracked<Notification>>((o) =>
      ws.trpc.notifications.onNotification.subscribe(undefined, o),
    );
    await Promise.all([sse.started, socket.started]);
    await send(
      t,
      { title: 'muted info' },
      { title: 'muted team', severity: 'warning', to: { teamId: ops } },
      { title: 'muted group', severity: 'warning', groupKey: 'noisy' },
      { title: 'critical to the team', severity: 'critical', to: { teamId: ops } },
      { title: 'critical in the group', severity: 'critical', groupKey: 'noisy' },
      { title: 'warning', severity: 'warning' },
    );
    const delivered = ['critical to the team', 'critical in the group', 'warning'];
    await sse.waitFor(3);
    const { items } = await alice.notifications.list.query({});
    expect(items.map((n) => [n.title, n.muted])).toEqual([
      ['warning', false],
      ['critical in the group', false],
      ['critical to the team', false],
      ['muted group', true],
      ['muted team', true],
      ['muted info', true],
    ]);
    expect(await alice.notifications.unseenCount.query()).toBe(3);
    // Replayed as live: the muted ones are skipped, on SSE and WebSocket alike.
    const replayed = record<Tracked<Notification>>((o) =>
      alice.notifications.onNotification.subscribe({ lastEventId: items.at(-1)!.id }, o),
    );
    await replayed.waitFor(3);
    await send(t, { title: 'sentinel', severity: 'critical' });
    await Promise.all([sse.waitFor(4), replayed.waitFor(4), socket.waitFor(4)]);
    sse.stop();
    replayed.stop();
    socket.stop();
    await ws.close();
    expect(sse.items.map((e) => e.data.title)).toEqual([...delivered, 'sentinel']);
    expect(socket.items.map((e) => e.data.title)).toEqual([...delivered, 'sentinel']);
    expect(replayed.items.map((e) => e.data.title)).toEqual([...delivered, 'sentinel']);
  });

  it('holds back badges and desktop alerts of non-critical notifications in quiet hours', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const timeZone = 'Asia/Tokyo';
    const local = (ms: number) =>
      new Intl.DateTimeFormat('en-GB', {
        timeZone,
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(ms);
    const hour = 3_600_000;
    // A window around now in Tokyo, whatever the machine's own zone.
    const quietNow = { start: local(Date.now() - hour), end: local(Date.now() + hour), timeZone };
    await send(t, { title: 'before' });
    await alice.notifications.setPreferences.mutate({
      mutedSeverities: [],
      mutedTeamIds: [],
      mutedGroupKeys: [],
      quietHours: quietNow,
    });
    const live = record<Tracked<Notification>>((o) =>
      alice.notifications.onNotification.subscribe(undefined, o),
    );
    await live.started;
    await send(
      t,
      { title: 'hushed', severity: 'warning' },
      { title: 'loud', severity: 'critical' },
    );
    await live.waitFor(2);
    live.stop();
    expect(live.items.map((e) => [e.data.title, e.data.quiet])).toEqual([
      ['hushed', true],
      ['loud', false],
    ]);
    // Only the critical one counts: 'before' too arrived inside the window (it began an hour ago).
    expect(await alice.notifications.unseenCount.query()).toBe(1);
    expect((await alice.notifications.list.query({})).items.map((n) => [n.title, n.quiet])).toEqual(
      [
        ['loud', false],
        ['hushed', true],
        ['before', true],
      ],
    );
    // Once quiet hours are over (here: moved away from now), they count.
    await alice.notifications.setPreferences.mutate({
      mutedSeverities: [],
      mutedTeamIds: [],
      mutedGroupKeys: [],
      quietHours: {
        start: local(Date.now() + 2 * hour),
        end: local(Date.now() + 3 * hour),
        timeZone,
      },
    });
    expect(await alice.notifications.unseenCount.query()).toBe(3);
  });

  it('refuses hostile input with BAD_REQUEST and changes nothing', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    await send(t, { title: 'target' });
    const alice = await t.client({ username: 'alice' });
    const [note] = (await alice.notifications.list.query({})).items;
    const id = note!.id;
    const soon = (ms: number) => new Date(Date.now() + ms).toISOString();
    const none = { mutedSeverities: [], mutedTeamIds: [], mutedGroupKeys: [], quietHours: null };
    const calls: [string, Promise<unknown>][] = [
      ['101 ids', alice.notifications.archive.mutate({ ids: Array(101).fill(id) as string[] })],
      ['no ids', alice.notifications.unarchive.mutate({ ids: [] })],
      ['past until', alice.notifications.snooze.mutate({ ids: [id], until: soon(-1000) })],
      ['far until', alice.notifications.snooze.mutate({ ids: [id], until: soon(91 * 86_400_000) })],
      ['not a time', alice.notifications.snooze.mutate({ ids: [id], until: 'tomorrow' })],
      [
        'bad time zone',
        alice.notifications.setPreferences.mutate({
          ...none,
          quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus_Mons' },
        }),
      ],
      [
        'bad clock time',
        alice.notifications.setPreferences.mutate({
          ...none,
          quietHours: { start: '24:00', end: '07:00', timeZone: 'UTC' },
        }),
      ],
      [
        'muting critical',
        alice.notifications.setPreferences.mutate({
          ...none,
          mutedSeverities: ['critical' as 'info'],
        }),
      ],
      [
        '51 muted teams',
        alice.notifications.setPreferences.mutate({
          ...none,
          mutedTeamIds: Array.from({ length: 51 }, (_, i) => `team_${i}`),
        }),
      ],
      ['long search', alice.notifications.list.query({ search: 'x'.repeat(201) })],
      ['empty group key', alice.notifications.list.query({ groupKey: '  ' })],
    ];
    for (const [what, call] of calls)
      expect([what, await codeOf(call)]).toEqual([what, 'BAD_REQUEST']);
    const [after] = (await alice.notifications.list.query({})).items;
    expect(after).toEqual(note);
    expect(await alice.notifications.preferences.query()).toEqual(none);
    // Overnight windows are fine.
    await alice.notifications.setPreferences.mutate({
      ...none,
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Paris' },
    });
  });
});

describe.skipIf(scaleOutMissing !== null)('notification triage on several instances', () => {
  it('wakes each due snooze once, whichever instance wins, for subscribers of every instance', async () => {
    await using cluster = await startCluster(3, { teams: [OPS] });
    const servers = cluster.servers;
    const clients = await Promise.all(servers.map((s) => s.client({ username: 'alice' })));
    await send(
      servers[0]!,
      { title: 'one' },
      { title: 'two' },
      { title: 'muted', severity: 'info' },
    );
    const ids = (await clients[0]!.notifications.list.query({})).items.map((n) => n.id);
    const tabs = clients.map((c) =>
      record<Tracked<InboxChange>>((o) => c.notifications.onInboxChange.subscribe(undefined, o)),
    );
    const notes = record<Tracked<Notification>>((o) =>
      clients[2]!.notifications.onNotification.subscribe(undefined, o),
    );
    await Promise.all([...tabs.map((tab) => tab.started), notes.started]);
    // Preferences set through one instance hold on another's streams.
    await clients[1]!.notifications.setPreferences.mutate({
      mutedSeverities: ['info'],
      mutedTeamIds: [],
      mutedGroupKeys: [],
      quietHours: null,
    });
    await tabs[2]!.waitFor(1);
    await clients[0]!.notifications.snooze.mutate({
      ids: ids.slice(0, 2),
      until: new Date(Date.now() + 1500).toISOString(),
    });
    for (const tab of tabs) {
      await tab.waitUntil((e) => e.some((c) => c.data.kind === 'woken'), 'the wake', 10_000);
    }
    // A sentinel after the wake: any second wake would have come before it.
    await clients[1]!.notifications.archive.mutate({ ids: [ids[0]!] });
    await send(
      servers[1]!,
      { title: 'quiet please', severity: 'info' },
      { title: 'heard', severity: 'warning' },
    );
    await notes.waitFor(1);
    for (const tab of tabs) {
      await tab.waitFor(4);
      tab.stop();
      expect(tab.items.map((e) => e.data.kind)).toEqual([
        'preferences',
        'snoozed',
        'woken',
        'archived',
      ]);
      expect(tab.items[2]!.data.ids.toSorted()).toEqual(ids.slice(0, 2).toSorted());
      expect(tab.items.map((e) => e.id)).toEqual(tabs[0]!.items.map((e) => e.id));
    }
    notes.stop();
    expect(notes.items.map((e) => e.data.title)).toEqual(['heard']);
  });
});
