import { describe, expect, it } from 'vitest';
import { record } from '../support/live.ts';
import { OPS, teamOf } from '../support/people.ts';
import { startTestServer } from '../support/server.ts';

describe('smoke', () => {
  it('delivers a notification live over SSE through the official link', async () => {
    await using t = await startTestServer({}, { teams: [teamOf(OPS, 'alice')] });
    const alice = await t.client({ username: 'alice' });
    const admin = await t.client({ username: 'admin' });
    const live = record<{ id: string; data: { title: string } }>((o) =>
      alice.notifications.onNotification.subscribe(undefined, o),
    );
    await live.started;
    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'hello',
      severity: 'info',
    });
    await live.waitFor(1);
    live.stop();
    expect(live.items.map((e) => e.data.title)).toEqual(['hello']);
  });

  it("seeds the demo `npm start` shows: the README's users, team and password, and a few notifications", async () => {
    // What `npm start` sets (PULSE_DEMO defaults to 1 there); no test relies on this data.
    await using t = await startTestServer({ PULSE_DEMO: '1' });
    expect(t.server.seeded).toContain(
      "Demo data: users alice, bob, carol (team ops), password 'pulse'",
    );
    for (const [username, displayName] of [
      ['alice', 'Alice Martin'],
      ['bob', 'Bob Okafor'],
      ['carol', 'Carol Nguyen'],
    ] as const) {
      // The documented password, literally: the seed's constant is what is under test.
      const member = await t.client({ username, password: 'pulse' });
      expect(await member.auth.me.query()).toMatchObject({ username, displayName, role: 'member' });
      expect((await member.teams.list.query()).map((team) => team.name)).toEqual(['ops']);
      expect(await member.notifications.unreadCount.query()).toBe(3);
    }
    const admin = await t.client({ username: 'admin' });
    expect((await admin.users.list.query()).map((u) => u.username)).toEqual([
      'admin',
      'alice',
      'bob',
      'carol',
    ]);
  });

  it('starts without demo data when PULSE_DEMO is off: the admin alone', async () => {
    await using t = await startTestServer();
    const admin = await t.client({ username: 'admin' });
    expect((await admin.users.list.query()).map((u) => u.username)).toEqual(['admin']);
    expect(await admin.teams.list.query()).toEqual([]);
  });
});
