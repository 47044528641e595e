import { afterEach, describe, expect, it } from 'vitest';
import type { Notification } from '../../src/shared/schemas/notifications.ts';
import { cleanupCli, cliEnv, pulse, tokenFor } from '../support/cli.ts';
import { OPS } from '../support/people.ts';
import { startTestServer } from '../support/server.ts';

afterEach(cleanupCli);

const parsed = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Notification);

// Each step spawns a Node process, so these take seconds, more on a busy machine.
describe('pulse CLI: notification triage', { timeout: 90_000 }, () => {
  it('lists with filters, archives, snoozes, marks seen and sets preferences', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const admin = await t.client({ username: 'admin' });
    for (const [title, severity, groupKey] of [
      ['deploy 1', 'info', 'deploy'],
      ['disk 90%', 'warning', undefined],
      ['deploy 2', 'info', 'deploy'],
    ] as const) {
      await admin.notifications.send.mutate({
        to: { usernames: ['alice'] },
        title,
        severity,
        groupKey,
      });
    }
    const alice = await t.client({ username: 'alice' });
    const ids = new Map(
      (await alice.notifications.list.query({})).items.map((n) => [n.title, n.id]),
    );
    const asAlice = cliEnv(t, { token: await tokenFor(t, 'alice') });

    const [listed, grouped, warnings, searched] = await Promise.all([
      pulse(['notifications', 'list'], asAlice),
      pulse(['notifications', 'list', '--grouped'], asAlice),
      pulse(['notifications', 'list', '--severity', 'warning', '--json'], asAlice),
      pulse(['notifications', 'list', '--search', '90%', '--json'], asAlice),
    ]);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+SEVERITY\s+STATE\s+CREATED\s+TITLE$/m);
    expect(listed.stdout).toMatch(
      new RegExp(`^${ids.get('deploy 2')}\\s+info\\s+new\\s+\\S+Z\\s+deploy 2$`, 'm'),
    );
    expect(grouped.stdout).toContain('deploy 2 (+1 in deploy)');
    expect(grouped.stdout).not.toContain('deploy 1');
    expect(parsed(warnings.stdout).map((n) => n.title)).toEqual(['disk 90%']);
    expect(parsed(searched.stdout).map((n) => n.title)).toEqual(['disk 90%']);

    const archived = await pulse(
      ['notifications', 'archive', `${ids.get('deploy 1')},${ids.get('deploy 2')}`],
      asAlice,
    );
    expect(archived).toMatchObject({ code: 0, stdout: 'Archived 2 notifications.\n' });
    const snoozed = await pulse(
      ['notifications', 'snooze', ids.get('disk 90%')!, '--for', '2h'],
      asAlice,
    );
    expect(snoozed.code).toBe(0);
    expect(snoozed.stdout).toMatch(/^Snoozed 1 notification until \S+Z\.$/m);
    const [inbox, archive, sleeping] = await Promise.all([
      pulse(['notifications', 'list'], asAlice),
      pulse(['notifications', 'list', '--archived', '--json'], asAlice),
      pulse(['notifications', 'list', '--snoozed', '--json'], asAlice),
    ]);
    expect(inbox.stdout).toBe('No notifications.\n');
    expect(parsed(archive.stdout).map((n) => n.title)).toEqual(['deploy 2', 'deploy 1']);
    const [disk] = parsed(sleeping.stdout);
    const wakes = Date.parse(disk!.snoozedUntil!) - Date.now();
    expect(wakes).toBeGreaterThan(3_600_000);
    expect(wakes).toBeLessThanOrEqual(7_200_000);

    await pulse(['notifications', 'unsnooze', ids.get('disk 90%')!], asAlice);
    await pulse(['notifications', 'unarchive', ids.get('deploy 1')!], asAlice);
    // The inbox is disk (back where it was) and deploy 1; deploy 2 stays archived, above them.
    const seen = await pulse(['notifications', 'seen'], asAlice);
    expect(seen).toMatchObject({ code: 0, stdout: 'Marked 2 notifications seen.\n' });
    expect(await alice.notifications.unseenCount.query()).toBe(0);

    const set = await pulse(
      [
        'notifications',
        'prefs',
        '--mute-severity',
        'info',
        '--mute-team',
        'ops',
        '--mute-group',
        'deploy',
        '--quiet',
        '22:00-07:00',
        '--tz',
        'Europe/Paris',
      ],
      asAlice,
    );
    expect(set.stderr).toBe('');
    expect(set.stdout).toBe(
      [
        'muted severities: info',
        'muted teams:      ops',
        'muted groups:     deploy',
        'quiet hours:      22:00-07:00 Europe/Paris',
        '',
      ].join('\n'),
    );
    expect(await alice.notifications.preferences.query()).toEqual({
      mutedSeverities: ['info'],
      mutedTeamIds: [t.team('ops').team.id],
      mutedGroupKeys: ['deploy'],
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Paris' },
    });
    const cleared = await pulse(
      ['notifications', 'prefs', '--unmute-all', '--no-quiet', '--json'],
      asAlice,
    );
    expect(JSON.parse(cleared.stdout)).toEqual({
      mutedSeverities: [],
      mutedTeamIds: [],
      mutedGroupKeys: [],
      quietHours: null,
    });
  });

  it('refuses bad usage with exit 2 and ids that are not yours with NOT_FOUND', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const admin = await t.client({ username: 'admin' });
    await admin.notifications.send.mutate({
      to: { usernames: ['bob'] },
      title: 'for bob',
      severity: 'info',
    });
    const bob = await t.client({ username: 'bob' });
    const [bobs] = (await bob.notifications.list.query({})).items;
    const asAlice = cliEnv(t, { token: await tokenFor(t, 'alice') });
    const [badFor, both, foreign, badZone] = await Promise.all([
      pulse(['notifications', 'snooze', bobs!.id, '--for', '2x'], asAlice),
      pulse(['notifications', 'snooze', bobs!.id, '--for', '2h', '--until', 'x'], asAlice),
      pulse(['notifications', 'archive', bobs!.id], asAlice),
      pulse(['notifications', 'prefs', '--quiet', '22:00-07:00', '--tz', 'Nowhere/City'], asAlice),
    ]);
    expect(badFor.code).toBe(2);
    expect(badFor.stderr).toContain("--for '2x'");
    expect(both.code).toBe(2);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain(`NOT_FOUND: No notification '${bobs!.id}'`);
    expect(badZone.code).toBe(1);
    expect(badZone.stderr).toContain('BAD_REQUEST');
    expect((await bob.notifications.list.query({})).items[0]!.archivedAt).toBeNull();
  });
});
