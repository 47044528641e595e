import { afterEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../src/shared/schemas/incidents.ts';
import { Cli, cleanupCli, cliEnv, pulse, tokenFor } from '../support/cli.ts';
import { eventually } from '../support/live.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { OPS } from '../support/people.ts';

afterEach(cleanupCli);

/** The id of team `ops` (alice, bob, carol), looked up as admin. */
async function opsTeamId(t: TestServer): Promise<string> {
  const admin = await t.client({ username: 'admin' });
  const ops = (await admin.teams.list.query()).find((team) => team.name === 'ops');
  if (!ops) throw new Error('no team ops');
  return ops.id;
}

// Each step spawns a Node process, so these take seconds, more on a busy machine.
describe('pulse CLI: metrics and incidents', { timeout: 90_000 }, () => {
  it('ingest SERIES VALUE stores one point that metrics.range returns', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const env = cliEnv(t, { token: await tokenFor(t, 'alice', ['ingest']) });
    const alice = await t.client({ username: 'alice' });
    const ts = Date.now() - 60_000;

    const one = await pulse(['ingest', 'test.cli.one', '42.5', '--ts', String(ts)], env);
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    expect(one.stdout).toBe('accepted 1\n');
    expect(
      await alice.metrics.range.query({ series: 'test.cli.one', from: ts - 1, to: ts + 1 }),
    ).toEqual([{ ts, value: 42.5 }]);

    // Without --ts the server stamps it now; a negative value goes after `--`.
    const before = Date.now();
    const negative = await pulse(['ingest', '--json', 'test.cli.one', '--', '-3'], env);
    expect(negative.code).toBe(0);
    expect(JSON.parse(negative.stdout)).toEqual({ accepted: 1 });
    const latest = await alice.metrics.range.query({
      series: 'test.cli.one',
      from: before,
      to: Date.now(),
    });
    expect(latest.map((p) => p.value)).toEqual([-3]);

    // Checked locally with the shared schema: bad input never reaches the server.
    const [badSeries, badValue, noValue, readOnly] = await Promise.all([
      pulse(['ingest', 'no spaces!', '1'], env),
      pulse(['ingest', 'test.cli.one', 'NaN'], env),
      pulse(['ingest', 'test.cli.one'], env),
      pulse(
        ['ingest', 'test.cli.one', '1'],
        cliEnv(t, { token: await tokenFor(t, 'alice', ['read']) }),
      ),
    ]);
    expect(badSeries.code).toBe(2);
    expect(badSeries.stderr).toContain('series: 1–100 of A-Z a-z 0-9 _ . : -');
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain("value 'NaN' is not a finite number");
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain('Missing VALUE');
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr.trim()).toBe("FORBIDDEN: This token lacks the 'ingest' scope");
    expect(
      await alice.metrics.range.query({ series: 'test.cli.one', from: 0, to: Date.now() }),
    ).toHaveLength(2);
  });

  it('ingest --stdin stores every good line in batches and reports bad ones by line number', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const env = cliEnv(t, { token: await tokenFor(t, 'alice', ['ingest']) });
    const alice = await t.client({ username: 'alice' });
    const base = Date.now() - 3_600_000;
    const good = 2_500;

    const lines = ['# series value ts', ''];
    for (let i = 0; i < good; i++) lines.push(`test.cli.stdin ${i % 97}.5 ${base + i}`);
    // Bad lines in between, at known line numbers (1-based).
    const bad: [number, string][] = [
      [7, 'test.cli.stdin abc'],
      [500, 'bad/series 1'],
      [1500, 'test.cli.stdin 1 2 3'],
      [2000, 'test.cli.stdin 1 12.5'],
      [2400, 'lonely'],
    ];
    for (const [lineNumber, text] of bad) lines.splice(lineNumber - 1, 0, text);
    // Windows line endings and a missing final newline are fine.
    const input = `${lines.slice(0, 100).join('\r\n')}\r\n${lines.slice(100).join('\n')}`;

    const run = await pulse(['ingest', '--stdin'], env, input);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`accepted ${good}\n`);
    const reported = run.stderr.split('\n').filter((line) => line.startsWith('line '));
    expect(reported).toEqual([
      "line 7: value 'abc' is not a finite number",
      'line 500: series: 1–100 of A-Z a-z 0-9 _ . : -',
      "line 1500: expected 'series value [ts]', got 4 fields",
      "line 2000: timestamp '12.5' is not a whole number of milliseconds since the epoch",
      "line 2400: expected 'series value [ts]', got 1 field",
    ]);
    expect(run.stderr).toContain('skipped 5 bad lines');

    const stored = await alice.metrics.range.query({
      series: 'test.cli.stdin',
      from: base,
      to: base + good,
      maxPoints: 10_000,
    });
    expect(stored).toHaveLength(good);
    expect(stored[0]).toEqual({ ts: base, value: 0.5 });
    expect(stored.at(-1)).toEqual({ ts: base + good - 1, value: ((good - 1) % 97) + 0.5 });

    // All good: exit 0; --batch is bounded by the API's batch limit.
    const clean = await pulse(
      ['ingest', '--stdin', '--batch', '7', '--json'],
      env,
      'test.cli.clean 1\ntest.cli.clean 2\n',
    );
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toEqual({ accepted: 2, bad: 0 });
    const tooBig = await pulse(['ingest', '--stdin', '--batch', '5001'], env, '');
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toContain('--batch');
  });

  it('ingest --stdin streams a live pipe: a partial batch goes out without waiting for more; Ctrl-C ends it', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const env = cliEnv(t, { token: await tokenFor(t, 'alice', ['ingest']) });
    const alice = await t.client({ username: 'alice' });
    const stored = () =>
      alice.metrics.range.query({ series: 'test.cli.live', from: 0, to: Date.now() + 60_000 });

    const cli = new Cli(['ingest', '--stdin'], env, { stdin: true });
    cli.write('test.cli.live 1\ntest.cli.live 2\n');
    await eventually(async () => (await stored()).length === 2, 10_000, 'the first two points');
    expect(cli.exitCode).toBeNull();

    cli.write('test.cli.live 3\n');
    await eventually(async () => (await stored()).length === 3, 10_000, 'the third point');
    // Ctrl-C ends it like the end of input: what was read is sent, then the total.
    expect(await cli.interrupt()).toBe(0);
    expect(cli.stdout).toBe('accepted 3\n');
    expect((await stored()).map((p) => p.value)).toEqual([1, 2, 3]);
  });

  it('incidents lists what the caller may see; ack, assign and resolve change it by version', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const teamId = await opsTeamId(t);
    const admin = await t.client({ username: 'admin' });
    const alice = await t.client({ username: 'alice' });
    const bob = await t.client({ username: 'bob' });
    const created = await admin.incidents.create.mutate({
      title: 'Disk full on db-1',
      severity: 'critical',
      teamId,
    });
    expect(created.version).toBe(1);
    const asAlice = cliEnv(t, { token: await tokenFor(t, 'alice') });
    const asAdmin = cliEnv(t, { token: await tokenFor(t, 'admin') });

    const [listed, json, resolvedOnly, badStatus] = await Promise.all([
      pulse(['incidents'], asAlice),
      pulse(['incidents', '--json', '--status', 'open'], asAlice),
      pulse(['incidents', '--status', 'resolved'], asAlice),
      pulse(['incidents', '--status', 'closed'], asAlice),
    ]);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(
        `^${created.id}\\s+open\\s+critical\\s+1\\s+-\\s+\\S+Z\\s+Disk full on db-1$`,
        'm',
      ),
    );
    const incidents = json.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Incident);
    expect(incidents).toEqual([created]);
    expect(resolvedOnly.stdout).toBe('No resolved incidents.\n');
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain(
      "--status 'closed' is not one of open, acknowledged, resolved",
    );

    const ack = await pulse(['ack', created.id], asAlice);
    expect(ack.stderr).toBe('');
    expect(ack.code).toBe(0);
    expect(ack.stdout).toBe(`Acknowledged ${created.id}: now acknowledged, version 2.\n`);
    expect(await alice.incidents.get.query({ id: created.id })).toMatchObject({
      status: 'acknowledged',
      version: 2,
    });

    const again = await pulse(['ack', created.id], asAlice);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      `CONFLICT: Incident '${created.id}' is acknowledged: cannot acknowledge`,
    );
    expect((await alice.incidents.get.query({ id: created.id })).version).toBe(2);

    // Admins look anyone up by username; members name themselves, or others by user id.
    const bobId = (await bob.auth.me.query()).id;
    const byAdmin = await pulse(['assign', created.id, 'bob'], asAdmin);
    expect(byAdmin.code).toBe(0);
    expect(byAdmin.stdout).toBe(`Assigned ${created.id} to bob: version 3.\n`);
    const self = await pulse(['assign', created.id, 'alice', '--json'], asAlice);
    expect(self.code).toBe(0);
    expect(JSON.parse(self.stdout)).toMatchObject({
      assigneeId: (await alice.auth.me.query()).id,
      version: 4,
    });
    const byName = await pulse(['assign', created.id, 'bob'], asAlice);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toContain("BAD_REQUEST: User 'bob' cannot take incidents of this team");
    expect(byName.stderr).toContain('give their user id');
    const byId = await pulse(['assign', created.id, bobId], asAlice);
    expect(byId.code).toBe(0);
    expect(byId.stdout).toBe(`Assigned ${created.id} to ${bobId}: version 5.\n`);
    const unknown = await pulse(['assign', created.id, 'nobody'], asAdmin);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe("NOT_FOUND: No user 'nobody'");

    const withAssignee = await pulse(['incidents'], asAdmin);
    expect(withAssignee.stdout).toMatch(
      new RegExp(`^${created.id}\\s+acknowledged\\s+critical\\s+5\\s+bob\\s`, 'm'),
    );

    const resolved = await pulse(['resolve', created.id, '--json'], asAlice);
    expect(resolved.code).toBe(0);
    expect(JSON.parse(resolved.stdout)).toMatchObject({ status: 'resolved', version: 6 });
    const reopen = await pulse(['ack', created.id], asAlice);
    expect(reopen.code).toBe(1);
    expect(reopen.stderr).toContain(`CONFLICT: Incident '${created.id}' is resolved`);
  });

  it('a user outside the team neither sees the incident nor can change it: NOT_FOUND', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const teamId = await opsTeamId(t);
    const admin = await t.client({ username: 'admin' });
    const created = await admin.incidents.create.mutate({
      title: 'Ops only',
      severity: 'info',
      teamId,
    });
    await admin.users.create.mutate({ username: 'mallory', password: 'mallory-secret' });
    const mallory = await t.client({ username: 'mallory', password: 'mallory-secret' });
    const { token } = await mallory.auth.createToken.mutate({
      name: 'test',
      scopes: ['read', 'write'],
    });
    const env = cliEnv(t, { token });

    const listed = await pulse(['incidents'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe('No incidents.\n');
    const refusals = await Promise.all([
      pulse(['ack', created.id], env),
      pulse(['resolve', created.id], env),
      pulse(['assign', created.id, 'mallory'], env),
    ]);
    for (const refused of refusals) {
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe(`NOT_FOUND: No incident '${created.id}'`);
    }
    expect(await admin.incidents.get.query({ id: created.id })).toMatchObject({
      status: 'open',
      version: 1,
      assigneeId: null,
    });
  });

  it('help lists the new commands', async () => {
    await using t = await startTestServer();
    const [help, ingestHelp, assignHelp] = await Promise.all([
      pulse(['help'], cliEnv(t)),
      pulse(['help', 'ingest'], cliEnv(t)),
      pulse(['assign', '--help'], cliEnv(t)),
    ]);
    for (const usage of [
      'pulse ingest SERIES VALUE [--ts MS] | --stdin [--batch N]',
      'pulse incidents [--status open|acknowledged|resolved]',
      'pulse ack ID',
      'pulse resolve ID',
      'pulse assign ID USERNAME|USER_ID',
    ]) {
      expect(help.stdout).toContain(usage);
    }
    expect(ingestHelp.stdout).toContain('A partial batch goes out once');
    expect(assignHelp.stdout).toContain('users.list is admin-only');
  });
});
