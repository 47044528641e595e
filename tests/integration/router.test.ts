import { isTrackedEnvelope, TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { createTestServices } from '../support/caller.ts';
import { OPS, teamOf } from '../support/people.ts';

/** Services with the ops team: all of it, or only the members named. */
const withOps = (...only: string[]) =>
  createTestServices({}, { teams: [only.length > 0 ? teamOf(OPS, ...only) : OPS] });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
  return 'OK';
}

describe('router through createCaller', () => {
  it('pages notifications newest first by cursor, and filters unread', async () => {
    await using t = await withOps('alice');
    const admin = t.caller('admin');
    const teamId = t.team('ops').team.id;
    for (const title of ['team-1', 'team-2', 'team-3']) {
      await admin.notifications.send({ to: { teamId }, title, severity: 'warning' });
    }
    for (let i = 1; i <= 5; i++) {
      await admin.notifications.send({
        to: { usernames: ['alice'] },
        title: `n${i}`,
        severity: 'info',
      });
    }
    const alice = t.caller('alice');
    const first = await alice.notifications.list({ limit: 3 });
    expect(first.items.map((n) => n.title)).toEqual(['n5', 'n4', 'n3']);
    expect(first.nextCursor).toBe(first.items[2]?.id);
    const second = await alice.notifications.list({ limit: 3, cursor: first.nextCursor });
    // The last two personal ones, then the newest team one.
    expect(second.items.map((n) => n.title)).toEqual(['n2', 'n1', 'team-3']);
    const rest = await alice.notifications.list({ limit: 3, cursor: second.nextCursor });
    expect(rest.items).toHaveLength(2);
    expect(rest.nextCursor).toBeNull();

    await alice.notifications.markRead({ id: first.items[0]!.id });
    const unread = await alice.notifications.list({ limit: 100, unreadOnly: true });
    expect(unread.items.map((n) => n.title)).not.toContain('n5');
    expect(unread.items).toHaveLength(7);
    expect(await alice.notifications.unreadCount()).toBe(7);
  });

  it('marks read idempotently and marks all read with a count', async () => {
    await using t = await withOps('alice');
    const teamId = t.team('ops').team.id;
    for (const title of ['one', 'two', 'three']) {
      await t.caller('admin').notifications.send({ to: { teamId }, title, severity: 'info' });
    }
    const alice = t.caller('alice');
    const [latest] = (await alice.notifications.list({ limit: 1 })).items;
    const once = await alice.notifications.markRead({ id: latest!.id });
    const twice = await alice.notifications.markRead({ id: latest!.id });
    expect(once.readAt).not.toBeNull();
    expect(twice.readAt).toBe(once.readAt);
    expect(await alice.notifications.markAllRead()).toEqual({ count: 2 });
    expect(await alice.notifications.markAllRead()).toEqual({ count: 0 });
    expect(await alice.notifications.unreadCount()).toBe(0);
  });

  it("answers another user's notification exactly as an unknown one", async () => {
    await using t = await withOps('alice', 'bob');
    await t
      .caller('admin')
      .notifications.send({ to: { usernames: ['alice'] }, title: 'private', severity: 'info' });
    const [mine] = (await t.caller('alice').notifications.list({ limit: 1 })).items;
    const bob = t.caller('bob');
    const foreign = await bob.notifications.markRead({ id: mine!.id }).catch((e: TRPCError) => e);
    const unknown = await bob.notifications
      .markRead({ id: 'ntf_999999' })
      .catch((e: TRPCError) => e);
    expect(foreign).toBeInstanceOf(TRPCError);
    expect(unknown).toBeInstanceOf(TRPCError);
    expect((foreign as TRPCError).code).toBe('NOT_FOUND');
    expect((unknown as TRPCError).code).toBe('NOT_FOUND');
    expect((foreign as TRPCError).message.replace(mine!.id, 'X')).toBe(
      (unknown as TRPCError).message.replace('ntf_999999', 'X'),
    );
    expect((await t.caller('alice').notifications.list({ limit: 1 })).items[0]?.readAt).toBeNull();
  });

  it('sends to a team, to named users and to everyone', async () => {
    await using t = await withOps();
    const admin = t.caller('admin');
    const [ops] = await admin.teams.list();
    expect(
      await admin.notifications.send({ to: { teamId: ops!.id }, title: 't', severity: 'warning' }),
    ).toEqual({
      count: 3,
    });
    expect(
      await admin.notifications.send({ to: { teamName: 'ops' }, title: 't', severity: 'info' }),
    ).toEqual({
      count: 3,
    });
    expect(
      await admin.notifications.send({ to: { all: true }, title: 'a', severity: 'info' }),
    ).toEqual({ count: 4 });
    expect(
      await admin.notifications.send({
        to: { usernames: ['bob', 'bob', 'carol'] },
        title: 'u',
        severity: 'info',
      }),
    ).toEqual({ count: 2 });
    // Each of the four sends reached bob once.
    expect(await t.caller('bob').notifications.unreadCount()).toBe(4);
    expect(
      await codeOf(
        admin.notifications.send({ to: { teamName: 'nope' }, title: 't', severity: 'info' }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      await codeOf(
        admin.notifications.send({
          to: { userIds: ['usr_missing'] },
          title: 't',
          severity: 'info',
        }),
      ),
    ).toBe('NOT_FOUND');
  });

  it('keeps team and everyone notifications to those who were there, with read state per person', async () => {
    await using t = await withOps();
    const admin = t.caller('admin');
    const [ops] = await admin.teams.list();
    await admin.notifications.send({
      to: { teamId: ops!.id },
      title: 'team-before',
      severity: 'info',
    });
    await admin.notifications.send({ to: { all: true }, title: 'all-before', severity: 'info' });
    const dave = await admin.users.create({ username: 'dave', password: 'secret-password' });
    await admin.teams.addMember({ teamId: ops!.id, userId: dave.id });
    await admin.notifications.send({
      to: { teamId: ops!.id },
      title: 'team-after',
      severity: 'info',
    });
    const davesCaller = t.callerFor(dave.id);
    const davesTitles = async () =>
      (await (await davesCaller).notifications.list({ limit: 100 })).items.map((n) => n.title);
    expect(await davesTitles()).toEqual(['team-after']);
    // One member reading a team notification leaves it unread for the others.
    const alice = t.caller('alice');
    const bob = t.caller('bob');
    const [latest] = (await alice.notifications.list({ limit: 1 })).items;
    expect(latest?.title).toBe('team-after');
    await alice.notifications.markRead({ id: latest!.id });
    expect((await bob.notifications.list({ limit: 1 })).items[0]?.readAt).toBeNull();
    expect(await bob.notifications.unreadCount()).toBe(3);
    expect(await bob.notifications.markAllRead()).toEqual({ count: 3 });
    expect(await bob.notifications.unreadCount()).toBe(0);
    expect(await alice.notifications.unreadCount()).toBe(2);
    expect(await (await davesCaller).notifications.unreadCount()).toBe(1);
  });

  it('refuses bad input with BAD_REQUEST and the zod issues, storing nothing', async () => {
    await using t = await withOps('alice');
    const admin = t.caller('admin');
    const before = await t.caller('alice').notifications.unreadCount();
    const bad = [
      { to: { usernames: ['alice'] }, title: '', severity: 'info' },
      { to: { usernames: ['alice'] }, title: 'x'.repeat(201), severity: 'info' },
      { to: { usernames: ['alice'] }, title: 'ok', body: 'x'.repeat(2001), severity: 'info' },
      { to: { usernames: ['alice'] }, title: 'ok', severity: 'loud' },
      { to: { usernames: ['alice'] }, title: 'ok', severity: 'info', link: 'javascript:alert(1)' },
      { to: { usernames: [] }, title: 'ok', severity: 'info' },
      { to: { everyone: true }, title: 'ok', severity: 'info' },
    ];
    for (const input of bad) {
      const error = await admin.notifications.send(input as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code).toBe('BAD_REQUEST');
    }
    expect(await t.caller('alice').notifications.unreadCount()).toBe(before);
    expect(await codeOf(t.caller('alice').notifications.list({ limit: 0 }))).toBe('BAD_REQUEST');
    expect(await codeOf(t.caller('alice').notifications.list({ limit: 101 }))).toBe('BAD_REQUEST');
  });

  it('enforces roles, scopes and the origin guard', async () => {
    await using t = await withOps('alice');
    expect(await codeOf(t.caller(null).notifications.list({}))).toBe('UNAUTHORIZED');
    expect(await codeOf(t.caller(null).auth.me())).toBe('UNAUTHORIZED');
    expect(await t.caller(null).system.health()).toMatchObject({ status: 'ok' });
    expect(
      await codeOf(
        t.caller('alice').notifications.send({ to: { all: true }, title: 't', severity: 'info' }),
      ),
    ).toBe('FORBIDDEN');
    expect(await codeOf(t.caller('alice').users.list())).toBe('FORBIDDEN');
    expect(await codeOf(t.caller('alice').system.stats())).toBe('FORBIDDEN');
    // Tokens do what their scopes say.
    expect(await codeOf(t.caller('alice', ['read']).notifications.list({}))).toBe('OK');
    expect(await codeOf(t.caller('alice', ['read']).notifications.markAllRead())).toBe('FORBIDDEN');
    expect(await codeOf(t.caller('alice', ['write']).notifications.list({}))).toBe('FORBIDDEN');
    expect(
      await codeOf(
        t
          .caller('admin', ['write'])
          .notifications.send({ to: { all: true }, title: 't', severity: 'info' }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(
        t
          .caller('admin', ['notify'])
          .notifications.send({ to: { all: true }, title: 't', severity: 'info' }),
      ),
    ).toBe('OK');
    expect(
      await codeOf(t.caller('alice').auth.createToken({ name: 'n', scopes: ['notify'] })),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(t.caller('alice', ['write']).auth.createToken({ name: 'n', scopes: ['read'] })),
    ).toBe('FORBIDDEN');
    // A browser on a foreign origin may read but not mutate with its cookie.
    expect(await codeOf(t.foreignCaller('alice').notifications.unreadCount())).toBe('OK');
    expect(await codeOf(t.foreignCaller('alice').notifications.markAllRead())).toBe('FORBIDDEN');
  });

  it('creates users, teams and memberships; names are unique', async () => {
    await using t = await withOps();
    const admin = t.caller('admin');
    const team = await admin.teams.create({ name: 'payments' });
    const dave = await admin.users.create({
      username: 'dave',
      password: 'secret-password',
      teamIds: [team.id],
    });
    expect(dave).toMatchObject({
      username: 'dave',
      displayName: 'dave',
      role: 'member',
      teamIds: [team.id],
    });
    expect(await codeOf(admin.users.create({ username: 'dave', password: 'other-password' }))).toBe(
      'CONFLICT',
    );
    expect(await codeOf(admin.teams.create({ name: 'payments' }))).toBe('CONFLICT');
    expect(
      await codeOf(admin.users.create({ username: 'Bad Name', password: 'secret-password' })),
    ).toBe('BAD_REQUEST');
    expect(
      await codeOf(
        admin.users.create({
          username: 'erin',
          password: 'secret-password',
          teamIds: ['team_nope'],
        }),
      ),
    ).toBe('NOT_FOUND');
    const bob = t.user('bob');
    const updated = await admin.teams.addMember({ teamId: team.id, userId: bob.id });
    expect(updated.teamIds).toContain(team.id);
    expect((await admin.users.list()).map((u) => u.username)).toEqual([
      'admin',
      'alice',
      'bob',
      'carol',
      'dave',
    ]);
    // Members see only their own teams, and their own teams' people.
    expect((await t.caller('carol').teams.list()).map((x) => x.name)).toEqual(['ops']);
    const [ops] = await t.caller('carol').teams.list();
    expect(
      (await t.caller('carol').teams.members({ teamId: ops!.id })).map((p) => p.username),
    ).toEqual(['alice', 'bob', 'carol']);
    expect(await codeOf(t.caller('carol').teams.members({ teamId: team.id }))).toBe('NOT_FOUND');
    expect((await admin.teams.members({ teamId: team.id })).map((p) => p.displayName)).toEqual([
      'Bob Okafor',
      'dave',
    ]);
  });

  it('streams through the async-iterable form and releases the subscriber on return', async () => {
    await using t = await withOps('alice');
    const { counts } = t.app.metrics;
    const iterable = await t.caller('alice').notifications.onNotification();
    const iterator = iterable[Symbol.asyncIterator]();
    expect(counts.subscriptions).toBe(1);
    await t
      .caller('admin')
      .notifications.send({ to: { usernames: ['alice'] }, title: 'live', severity: 'info' });
    // Server-side callers see the raw `tracked()` envelope, whatever the client types say.
    const value: unknown = (await iterator.next()).value;
    expect(isTrackedEnvelope(value)).toBe(true);
    const [id, data] = value as [string, unknown];
    expect(id).toMatch(/^ntf_\d+$/);
    expect(data).toMatchObject({ id, title: 'live', readAt: null });
    await iterator.return?.();
    expect(counts.subscriptions).toBe(0);
  });
});
