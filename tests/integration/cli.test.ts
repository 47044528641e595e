import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notification } from '../../src/shared/schemas/notifications.ts';
import {
  Cli,
  cleanupCli,
  cliEnv,
  connections,
  credentialsFile,
  pulse,
  tempHome,
  tokenFor,
} from '../support/cli.ts';
import { ADMIN_PASSWORD, startTestServer } from '../support/server.ts';
import { MEMBER_PASSWORD, OPS } from '../support/people.ts';

afterEach(cleanupCli);

// Each step spawns a Node process, so these take seconds, more on a busy machine.
describe('pulse CLI', { timeout: 90_000 }, () => {
  it('login writes a 0600 credentials file that whoami then uses', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const home = tempHome();
    const login = await pulse(
      ['login', '--user', 'alice', '--password', MEMBER_PASSWORD],
      cliEnv(t, { home }),
    );
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('as alice');

    const file = credentialsFile(home);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { url: string; token: string };
    expect(saved.url).toBe(t.url);
    expect(saved.token).toMatch(/^pulse_/);

    const whoami = await pulse(['whoami'], cliEnv(t, { home }));
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toContain('alice (Alice Martin), member');
    expect(whoami.stdout).toContain('teams: ops');

    const tokens = await pulse(['token', 'list', '--json'], cliEnv(t, { home }));
    const listed = JSON.parse(tokens.stdout) as { name: string; scopes: string[] }[];
    expect(listed).toEqual([
      expect.objectContaining({ name: `cli@${hostname()}`, scopes: ['read', 'write', 'ingest'] }),
    ]);

    // Admins also get `notify`; the password may come from the environment.
    const adminHome = tempHome();
    const admin = await pulse(
      ['login', '--user', 'admin'],
      cliEnv(t, { home: adminHome, env: { PULSE_PASSWORD: ADMIN_PASSWORD } }),
    );
    expect(admin.code).toBe(0);
    const adminTokens = await pulse(['token', 'list', '--json'], cliEnv(t, { home: adminHome }));
    expect(JSON.parse(adminTokens.stdout)).toEqual([
      expect.objectContaining({ scopes: ['read', 'write', 'ingest', 'notify'] }),
    ]);
  });

  it('login with a wrong password fails with the server message and saves nothing', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const home = tempHome();
    const login = await pulse(
      ['login', '--user', 'alice', '--password', 'nope'],
      cliEnv(t, { home }),
    );
    expect(login.code).toBe(1);
    expect(login.stderr.trim()).toBe('UNAUTHORIZED: Wrong username or password');
    expect(() => statSync(credentialsFile(home))).toThrow();

    const anonymous = await pulse(['whoami'], cliEnv(t, { home }));
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('UNAUTHORIZED: Sign in or send an API token');
  });

  it('user add: an admin creates a user who can then log in; a member is refused', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const asAdmin = cliEnv(t, { token: await tokenFor(t, 'admin') });
    const added = await pulse(
      [
        'user',
        'add',
        'dave',
        '--password',
        'dave-secret',
        '--display-name',
        'Dave Doe',
        '--team',
        'ops',
      ],
      asAdmin,
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('Created member dave');

    const home = tempHome();
    expect(
      (await pulse(['login', '--user', 'dave', '--password', 'dave-secret'], cliEnv(t, { home })))
        .code,
    ).toBe(0);
    const whoami = await pulse(['whoami'], cliEnv(t, { home }));
    expect(whoami.stdout).toContain('dave (Dave Doe), member');
    expect(whoami.stdout).toContain('teams: ops');

    const unknownTeam = await pulse(
      ['user', 'add', 'erin', '--password', 'erin-secret', '--team', 'nope'],
      asAdmin,
    );
    expect(unknownTeam.code).toBe(1);
    expect(unknownTeam.stderr).toContain("No team 'nope'");

    const asMember = cliEnv(t, { token: await tokenFor(t, 'alice') });
    const refused = await pulse(['user', 'add', 'eve', '--password', 'eve-secret'], asMember);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe('FORBIDDEN: Admins only');
    const admin = await t.client({ username: 'admin' });
    expect((await admin.users.list.query()).map((u) => u.username)).not.toContain('eve');
  });

  it('user disable, enable and sign-out act on a user by name, for admins only', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const asAdmin = cliEnv(t, { token: await tokenFor(t, 'admin') });
    const bobToken = await tokenFor(t, 'bob');
    const asBob = cliEnv(t, { token: bobToken });

    const disabled = await pulse(['user', 'disable', 'bob'], asAdmin);
    expect(disabled.stderr).toBe('');
    expect(disabled.stdout.trim()).toBe('Disabled bob (1 session ended).');
    const refused = await pulse(['whoami'], asBob);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('UNAUTHORIZED');

    expect((await pulse(['user', 'enable', 'bob'], asAdmin)).stdout.trim()).toBe('Enabled bob.');
    expect((await pulse(['whoami'], asBob)).stdout).toContain('bob (Bob Okafor)');
    const anon = await t.client(null);
    await expect(
      anon.auth.login.mutate({ username: 'bob', password: MEMBER_PASSWORD }),
    ).resolves.toBeTruthy();

    const signedOut = await pulse(['user', 'sign-out', 'bob', '--tokens', '--json'], asAdmin);
    expect(JSON.parse(signedOut.stdout)).toEqual({ sessions: 1, tokens: 1 });
    expect((await pulse(['whoami'], asBob)).code).toBe(1);

    const unknown = await pulse(['user', 'disable', 'nobody'], asAdmin);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe("NOT_FOUND: No user 'nobody'");
    const asAlice = cliEnv(t, { token: await tokenFor(t, 'alice') });
    const notAdmin = await pulse(['user', 'disable', 'bob'], asAlice);
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.stderr.trim()).toBe('FORBIDDEN: Admins only');
  });

  it('token create prints a token that works, and token revoke stops it', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const home = tempHome();
    await pulse(['login', '--user', 'alice', '--password', MEMBER_PASSWORD], cliEnv(t, { home }));

    const created = await pulse(
      ['token', 'create', 'ci', '--scopes', 'read,write'],
      cliEnv(t, { home }),
    );
    expect(created.code).toBe(0);
    const id = /^id: (\S+)$/m.exec(created.stdout)?.[1];
    const token = /^token: (\S+)$/m.exec(created.stdout)?.[1];
    expect(id).toBeDefined();
    expect(token).toBeDefined();

    const client = await t.client({ token: token ?? '' });
    expect((await client.auth.me.query()).username).toBe('alice');
    const listed = await pulse(['token', 'list'], cliEnv(t, { home }));
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+ci\\s+read,write\\s`, 'm'));

    const revoked = await pulse(['token', 'revoke', id ?? ''], cliEnv(t, { home }));
    expect(revoked.code).toBe(0);
    await expect(client.auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const withRevoked = await pulse(['whoami'], cliEnv(t, { token: token ?? '' }));
    expect(withRevoked.code).toBe(1);
    expect(withRevoked.stderr).toContain('UNAUTHORIZED');

    const badScope = await pulse(
      ['token', 'create', 'x', '--scopes', 'read,root'],
      cliEnv(t, { home }),
    );
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toContain("Unknown scope 'root'");
  });

  it('notify reaches a user, several users, and a team', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const home = tempHome();
    await pulse(['login', '--user', 'admin', '--password', ADMIN_PASSWORD], cliEnv(t, { home }));
    const alice = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });

    const one = await pulse(
      [
        'notify',
        '--to',
        'user:alice',
        '--title',
        'Deploy done',
        '--body',
        'v42 is live',
        '--severity',
        'warning',
        '--link',
        '/deploys/42',
      ],
      cliEnv(t, { home }),
    );
    expect(one.stderr).toBe('');
    expect(one.stdout.trim()).toBe('Sent to 1 recipient.');
    const [latest] = (await alice.notifications.list.query({ limit: 1 })).items;
    expect(latest).toMatchObject({
      title: 'Deploy done',
      body: 'v42 is live',
      severity: 'warning',
      link: '/deploys/42',
    });
    expect((await bob.notifications.list.query({ limit: 1 })).items[0]?.title).not.toBe(
      'Deploy done',
    );

    const two = await pulse(
      ['notify', '--to', 'user:alice', '--to', 'user:bob', '--title', 'Pair'],
      cliEnv(t, { home }),
    );
    expect(two.stdout.trim()).toBe('Sent to 2 recipients.');

    const team = await pulse(
      ['notify', '--to', 'team:ops', '--title', 'Ops standup', '--severity', 'critical'],
      cliEnv(t, { home }),
    );
    expect(team.stdout.trim()).toBe('Sent to 3 recipients.');
    for (const member of [alice, bob]) {
      expect((await member.notifications.list.query({ limit: 1 })).items[0]).toMatchObject({
        title: 'Ops standup',
        severity: 'critical',
      });
    }
  });

  it('bad input exits non-zero with a message that names the problem', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const env = cliEnv(t, { token: await tokenFor(t, 'admin', ['read', 'write', 'notify']) });
    const alice = await t.client({ username: 'alice' });
    const before = await alice.notifications.unreadCount.query();

    const [loud, link, nobody, mixed, unknownOption, missing, unknown] = await Promise.all([
      pulse(['notify', '--to', 'user:alice', '--title', 'x', '--severity', 'loud'], env),
      // Validated by the server: BAD_REQUEST names the field.
      pulse(['notify', '--to', 'user:alice', '--title', 'x', '--link', 'ftp://host/file'], env),
      pulse(['notify', '--to', 'user:nobody', '--title', 'x'], env),
      pulse(['notify', '--to', 'team:ops', '--to', 'user:alice', '--title', 'x'], env),
      pulse(['whoami', '--colour'], env),
      pulse(['token', 'revoke'], env),
      pulse(['frobnicate'], env),
    ]);
    expect(loud.code).toBe(2);
    expect(loud.stderr).toContain("--severity 'loud' is not one of info, warning, critical");

    expect(link.code).toBe(1);
    expect(link.stderr.trim()).toBe(
      'BAD_REQUEST: Invalid input: link: a path on this site (/…, not //…) or an absolute http(s) URL, without spaces',
    );

    expect(nobody.code).toBe(1);
    expect(nobody.stderr.trim()).toBe("NOT_FOUND: No user 'nobody'");

    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('cannot be combined');
    expect(await alice.notifications.unreadCount.query()).toBe(before);

    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toContain("Unknown option '--colour'");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Missing ID');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown command 'frobnicate'");
  });

  it('help lists every command, and <command> --help shows its usage', async () => {
    await using t = await startTestServer();
    const [help, notifyHelp] = await Promise.all([
      pulse(['help'], cliEnv(t)),
      pulse(['notify', '--help'], cliEnv(t)),
    ]);
    expect(help.code).toBe(0);
    for (const usage of [
      'pulse login --user NAME',
      'pulse whoami',
      'pulse user add NAME',
      'pulse token create NAME',
      'pulse token list',
      'pulse token revoke ID',
      'pulse notify --to',
      'pulse tail',
    ]) {
      expect(help.stdout).toContain(usage);
    }
    expect(notifyHelp.code).toBe(0);
    expect(notifyHelp.stdout).toContain(
      'Usage: pulse notify --to user:NAME|team:NAME|all --title T',
    );
  });

  it('tail prints notifications live as lines, and as NDJSON with --json', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const env = cliEnv(t, { token: await tokenFor(t, 'alice') });
    const admin = await t.client({ username: 'admin' });
    const lines = new Cli(['tail'], env);
    const json = new Cli(['tail', '--json'], env);
    await lines.waitFor((c) => c.stderr.includes('connected'), 'tail to connect');
    await json.waitFor((c) => c.stderr.includes('connected'), 'tail --json to connect');
    expect(lines.stderr).toMatch(/^connecting to /);

    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'CPU high',
      severity: 'warning',
    });
    await lines.waitFor((c) => c.lines.length >= 1, 'a line');
    await json.waitFor((c) => c.lines.length >= 1, 'a JSON line');
    // Only what arrives while tailing: the seeded notifications are not printed.
    expect(lines.lines).toHaveLength(1);
    expect(lines.lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}warning {3}CPU high {2}ntf_\w+$/);
    expect(JSON.parse(json.lines[0] ?? '')).toMatchObject({
      title: 'CPU high',
      severity: 'warning',
      readAt: null,
    });

    expect(await lines.interrupt()).toBe(0);
    expect(await json.interrupt()).toBe(0);
  });

  it('tail keeps printing across a server restart, each notification once and in order', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const env = cliEnv(t, { token: await tokenFor(t, 'alice') });
    const admin = await t.client({ username: 'admin' });
    const send = async (title: string) => {
      await admin.notifications.send.mutate({
        to: { usernames: ['alice'] },
        title,
        severity: 'info',
      });
    };
    const tail = new Cli(['tail', '--json'], env);
    const printed = () => tail.lines.map((line) => JSON.parse(line) as Notification);
    await tail.waitFor((c) => c.stderr.includes('connected'), 'tail to connect');

    for (const title of ['before-1', 'before-2', 'before-3']) await send(title);
    await tail.waitFor((c) => c.lines.length >= 3, 'the notifications sent before the restart');

    await t.stop();
    await tail.waitFor(
      (c) => c.stderr.includes('reconnecting'),
      'tail to notice the server went away',
    );
    await t.restart();
    // Sent while the tail is still reconnecting: they come to it by replay.
    for (const title of ['during-1', 'during-2', 'during-3']) await send(title);
    await tail.waitFor((c) => connections(c) >= 2, 'tail to reconnect');
    for (const title of ['after-1', 'after-2', 'after-3']) await send(title);
    await send('last');
    await tail.waitFor((c) => c.stdout.includes('"last"'), 'the last notification');

    const titles = printed().map((n) => n.title);
    expect(titles).toEqual([
      'before-1',
      'before-2',
      'before-3',
      'during-1',
      'during-2',
      'during-3',
      'after-1',
      'after-2',
      'after-3',
      'last',
    ]);
    const ids = printed().map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(tail.stderr.split('\n').filter(Boolean)).toEqual([
      'connecting to ' + t.url,
      'connected',
      expect.stringMatching(/^reconnecting/),
      'connected',
    ]);
    expect(await tail.interrupt()).toBe(0);
  });

  it('tail --since replays what came after that id; an id it cannot resume from starts afresh', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const env = cliEnv(t, { token: await tokenFor(t, 'alice') });
    const admin = await t.client({ username: 'admin' });
    const send = async (title: string, usernames = ['alice']) => {
      await admin.notifications.send.mutate({ to: { usernames }, title, severity: 'info' });
    };
    for (const title of ['older', 'newer-1', 'newer-2']) await send(title);
    await send('for bob only', ['bob']);
    const alice = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const older = (await alice.notifications.list.query({ limit: 3 })).items.at(-1);
    const bobs = (await bob.notifications.list.query({ limit: 1 })).items[0];
    expect(older?.title).toBe('older');

    const resumed = new Cli(['tail', '--json', '--since', older?.id ?? ''], env);
    await resumed.waitFor((c) => c.lines.length >= 2, 'the replayed notifications');
    const fresh = new Cli(['tail', '--json', '--since', bobs?.id ?? ''], env);
    await fresh.waitFor((c) => connections(c) >= 2, 'tail to subscribe afresh');
    expect(fresh.stderr).toContain(
      `warning: PRECONDITION_FAILED: Cannot resume from '${bobs?.id}'`,
    );

    await send('live');
    await resumed.waitFor((c) => c.lines.length >= 3, 'the live notification');
    await fresh.waitFor((c) => c.lines.length >= 1, 'the live notification');
    const titles = (cli: Cli) => cli.lines.map((line) => (JSON.parse(line) as Notification).title);
    expect(titles(resumed)).toEqual(['newer-1', 'newer-2', 'live']);
    expect(titles(fresh)).toEqual(['live']);
    expect(await resumed.interrupt()).toBe(0);
    expect(await fresh.interrupt()).toBe(0);
  });

  it('tail stops with the server message when its token is revoked', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const { id, token } = await alice.auth.createToken.mutate({ name: 'tail', scopes: ['read'] });
    const tail = new Cli(['tail'], cliEnv(t, { token }));
    await tail.waitFor((c) => c.stderr.includes('connected'), 'tail to connect');
    await alice.auth.revokeToken.mutate({ id });
    expect(await tail.exited).toBe(1);
    expect(tail.stderr).toContain('UNAUTHORIZED');
  });
});
