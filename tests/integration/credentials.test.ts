import { describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/server/features/auth/secrets.ts';
import { createPulseClient } from '../../src/sdk/client.ts';
import type { Notification } from '../../src/shared/schemas/notifications.ts';
import { record } from '../support/live.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { OPS } from '../support/people.ts';
import { wsClient } from '../support/ws.ts';

type Tracked = { id: string; data: Notification };

/** A user of this test's own, signed in by cookie, with an SSE stream and a WebSocket open. */
async function connectedUser(t: TestServer, username: string) {
  const admin = await t.client({ username: 'admin' });
  const user = await admin.users.create.mutate({ username, password: `${username}-password` });
  const cookie = await t.login(username, `${username}-password`);
  const client = createPulseClient({ url: t.url, headers: { cookie } });
  const stream = record<Tracked>((o) =>
    client.notifications.onNotification.subscribe(undefined, o),
  );
  await stream.started;
  const ws = wsClient(t.url, { headers: { cookie } });
  expect((await ws.trpc.auth.me.query()).username).toBe(username);
  const socketClosed = new Promise<number>((resolve) => {
    ws.client.connection?.ws.addEventListener('close', (e) => resolve(e.code));
  });
  return { admin, user, cookie, client, stream, ws, socketClosed };
}

describe('credentials end cleanly', () => {
  it('answers each call as the credential stands now: a change shows on the very next call', async () => {
    await using t = await startTestServer();
    const admin = await t.client({ username: 'admin' });
    const user = await admin.users.create.mutate({ username: 'fay', password: 'fay-password' });
    const team = await admin.teams.create.mutate({ name: 'night-shift' });
    const client = createPulseClient({
      url: t.url,
      headers: { cookie: await t.login('fay', 'fay-password') },
    });
    const { id, token } = await client.auth.createToken.mutate({ name: 'ci', scopes: ['read'] });
    const byToken = createPulseClient({ url: t.url, token });
    // Both credentials have just answered, so whatever the server remembers of them is fresh.
    expect((await client.auth.me.query()).teamIds).toEqual([]);
    expect((await byToken.auth.me.query()).teamIds).toEqual([]);

    await admin.teams.addMember.mutate({ teamId: team.id, userId: user.id });
    expect((await client.auth.me.query()).teamIds).toEqual([team.id]);
    expect((await byToken.auth.me.query()).teamIds).toEqual([team.id]);

    await client.auth.revokeToken.mutate({ id });
    await expect(byToken.auth.me.query()).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
    expect((await client.auth.me.query()).username).toBe('fay');
    await client.auth.logout.mutate();
    await expect(client.auth.me.query()).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
  });

  it('ends idle sessions: their streams close, the session is deleted, and the cookie stops working', async () => {
    await using t = await startTestServer({ PULSE_SESSION_IDLE_S: '1' });
    const { client, stream, ws, socketClosed } = await connectedUser(t, 'dora');
    expect((await stream.waitForError(10_000)).data?.code).toBe('UNAUTHORIZED');
    expect(await socketClosed).toBe(4001);
    await expect(client.auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const left = await t.server.app.db.selectFrom('sessions').select('user_id').execute();
    expect(left).toEqual([]);
    await ws.client.close();
  });

  it('ends sessions at their absolute lifetime even while they are in use', async () => {
    await using t = await startTestServer({ PULSE_SESSION_MAX_S: '2' });
    const { client, stream, ws } = await connectedUser(t, 'dora');
    // In use all along: only the absolute lifetime can end it.
    const busy = setInterval(() => void client.auth.me.query().catch(() => undefined), 200);
    try {
      expect((await stream.waitForError(10_000)).data?.code).toBe('UNAUTHORIZED');
    } finally {
      clearInterval(busy);
    }
    await expect(client.auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    await ws.client.close();
  });

  it('lets an admin disable a user: streams and sockets close, sign-in and tokens are refused until enabled', async () => {
    await using t = await startTestServer();
    const { admin, user, client, stream, ws, socketClosed } = await connectedUser(t, 'eve');
    const { token } = await client.auth.createToken.mutate({ name: 'ci', scopes: ['read'] });
    const byToken = createPulseClient({ url: t.url, token });
    const tokenStream = record<Tracked>((o) =>
      byToken.notifications.onNotification.subscribe(undefined, o),
    );
    await tokenStream.started;

    await expect(
      admin.users.setDisabled.mutate({ userId: user.id, disabled: true }),
    ).resolves.toEqual({
      userId: user.id,
      disabled: true,
      sessionsEnded: 1,
    });
    expect((await stream.waitForError(5000)).data?.code).toBe('UNAUTHORIZED');
    expect((await tokenStream.waitForError(5000)).data?.code).toBe('UNAUTHORIZED');
    expect(await socketClosed).toBe(4001);
    await expect(byToken.auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const anon = await t.client(null);
    await expect(
      anon.auth.login.mutate({ username: 'eve', password: 'eve-password' }),
    ).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });

    await admin.users.setDisabled.mutate({ userId: user.id, disabled: false });
    expect((await byToken.auth.me.query()).username).toBe('eve');
    await expect(
      anon.auth.login.mutate({ username: 'eve', password: 'eve-password' }),
    ).resolves.toMatchObject({
      user: { username: 'eve' },
    });
    await ws.client.close();
  });

  it('refuses to let an admin disable themselves, and members to disable anyone', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const admin = await t.client({ username: 'admin' });
    const me = await admin.auth.me.query();
    await expect(
      admin.users.setDisabled.mutate({ userId: me.id, disabled: true }),
    ).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    const alice = await t.client({ username: 'alice' });
    await expect(
      alice.users.setDisabled.mutate({ userId: me.id, disabled: true }),
    ).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
    await expect(alice.users.revokeSessions.mutate({ userId: me.id })).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
    await expect(admin.users.revokeTokens.mutate({ userId: 'usr_nobody' })).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
  });

  it("lets an admin end another user's sessions and tokens, closing what they opened", async () => {
    await using t = await startTestServer();
    const { admin, user, client, stream, ws, socketClosed } = await connectedUser(t, 'finn');
    const { token } = await client.auth.createToken.mutate({ name: 'ci', scopes: ['read'] });
    const byToken = createPulseClient({ url: t.url, token });
    const tokenStream = record<Tracked>((o) =>
      byToken.notifications.onNotification.subscribe(undefined, o),
    );
    await tokenStream.started;

    await expect(admin.users.revokeSessions.mutate({ userId: user.id })).resolves.toEqual({
      count: 1,
    });
    expect((await stream.waitForError(5000)).data?.code).toBe('UNAUTHORIZED');
    expect(await socketClosed).toBe(4001);
    expect((await byToken.auth.me.query()).username).toBe('finn');

    await expect(admin.users.revokeTokens.mutate({ userId: user.id })).resolves.toEqual({
      count: 1,
    });
    expect((await tokenStream.waitForError(5000)).data?.code).toBe('UNAUTHORIZED');
    await expect(byToken.auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    await ws.client.close();
  });

  it('revokes every token made from a revoked token, at any depth', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const first = await alice.auth.createToken.mutate({ name: 'first', scopes: ['read', 'write'] });
    const second = await createPulseClient({
      url: t.url,
      token: first.token,
    }).auth.createToken.mutate({
      name: 'second',
      scopes: ['read', 'write'],
    });
    const third = await createPulseClient({
      url: t.url,
      token: second.token,
    }).auth.createToken.mutate({
      name: 'third',
      scopes: ['read'],
    });
    const unrelated = await alice.auth.createToken.mutate({ name: 'unrelated', scopes: ['read'] });
    const byThird = createPulseClient({ url: t.url, token: third.token });
    const stream = record<Tracked>((o) =>
      byThird.notifications.onNotification.subscribe(undefined, o),
    );
    await stream.started;

    await alice.auth.revokeToken.mutate({ id: first.id });
    expect((await stream.waitForError(5000)).data?.code).toBe('UNAUTHORIZED');
    for (const { token } of [first, second, third]) {
      await expect(createPulseClient({ url: t.url, token }).auth.me.query()).rejects.toMatchObject({
        data: { code: 'UNAUTHORIZED' },
      });
    }
    expect(
      (await createPulseClient({ url: t.url, token: unrelated.token }).auth.me.query()).username,
    ).toBe('alice');
    expect((await alice.auth.listTokens.query()).map((k) => k.name)).toEqual(['unrelated']);
  });
});

describe('password storage', () => {
  it('stores the cost with each hash and upgrades weaker and older hashes on the next sign-in', async () => {
    await using t = await startTestServer({ PULSE_SCRYPT_LOG_N: '11' });
    const { credentials } = t.server.app.stores;
    const admin = await t.client({ username: 'admin' });
    const dora = await admin.users.create.mutate({ username: 'dora', password: 'dora-password' });
    const storedHash = async () =>
      (
        await t.server.app.db
          .selectFrom('users')
          .select('password_hash')
          .where('id', '=', dora.id)
          .executeTakeFirstOrThrow()
      ).password_hash;
    expect(await storedHash()).toMatch(/^scrypt\$ln=11,r=8,p=1\$/);

    // A hash made at a lower cost, as an older configuration would have.
    await credentials.setPasswordHash(
      dora.id,
      await createPasswordHasher({ logN: 10, concurrency: 1, queue: 1 }).hash('dora-password'),
    );
    expect(await storedHash()).toMatch(/^scrypt\$ln=10,/);
    await t.login('dora', 'dora-password');
    expect(await storedHash()).toMatch(/^scrypt\$ln=11,r=8,p=1\$/);

    // The format before costs were named (`scrypt$<logN>$salt$key`) still verifies, and is upgraded.
    const legacy = (await storedHash()).replace(/^scrypt\$ln=11,r=8,p=1\$/, 'scrypt$11$');
    await credentials.setPasswordHash(dora.id, legacy);
    await t.login('dora', 'dora-password');
    expect(await storedHash()).toMatch(/^scrypt\$ln=11,r=8,p=1\$/);
  });

  it('needs at least 8 characters for a password set through the API', async () => {
    await using t = await startTestServer();
    const admin = await t.client({ username: 'admin' });
    await expect(
      admin.users.create.mutate({ username: 'gus', password: 'seven77' }),
    ).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    await expect(
      admin.users.create.mutate({ username: 'gus', password: 'eight888' }),
    ).resolves.toMatchObject({
      username: 'gus',
    });
  });

  it('answers TOO_MANY_REQUESTS when more sign-ins wait for hashing than the queue holds', async () => {
    // A cost high enough that the first hash is still running when the second arrives.
    await using t = await startTestServer(
      { PULSE_SCRYPT_LOG_N: '15', PULSE_KDF_CONCURRENCY: '1', PULSE_KDF_QUEUE: '0' },
      { teams: [OPS] },
    );
    const anon = await t.client(null);
    const results = await Promise.allSettled([
      anon.auth.login.mutate({ username: 'alice', password: 'wrong-one' }),
      anon.auth.login.mutate({ username: 'bob', password: 'wrong-two' }),
    ]);
    const codes = results.map((r) =>
      r.status === 'rejected' ? (r.reason as { data?: { code?: string } }).data?.code : 'OK',
    );
    expect(codes.sort()).toEqual(['TOO_MANY_REQUESTS', 'UNAUTHORIZED']);
  });
});

describe('/metrics', () => {
  it('answers only the configured bearer token when one is set', async () => {
    const secret = 'metrics-token-0123456789';
    await using t = await startTestServer({ PULSE_METRICS_TOKEN: secret });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    const ok = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${secret}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('pulse_connections_open');
  });
});
