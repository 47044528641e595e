import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createPulseClient } from '../../src/sdk/client.ts';
import type { Notification } from '../../src/shared/schemas/notifications.ts';
import { API_VERSION } from '../../src/shared/version.ts';
import { testDatabase } from '../support/database.ts';
import { eventually, record } from '../support/live.ts';
import { openRawSse, subscriptionUrl } from '../support/raw-sse.ts';
import { sendTo, startTestServer } from '../support/server.ts';
import { MEMBER_PASSWORD, OPS } from '../support/people.ts';
import { wsClient } from '../support/ws.ts';

type Tracked = { id: string; data: Notification };

/** Opens a WebSocket and reports the HTTP status of a refused upgrade, or 101. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/trpc`, { headers });
    socket.on('open', () => {
      socket.close();
      resolve(101);
    });
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('error', () => undefined);
  });
}

async function post(url: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { error?: { data: { code: string } } } };
}

describe('authentication and transports', () => {
  it('sets an HttpOnly SameSite=Lax session cookie and answers bad credentials alike', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const ok = await fetch(`${t.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: MEMBER_PASSWORD }),
    });
    const cookie = ok.headers.getSetCookie()[0] ?? '';
    expect(cookie).toMatch(/^pulse_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const anon = await t.client(null);
    const wrong = await anon.auth.login
      .mutate({ username: 'alice', password: 'nope' })
      .catch((e: Error) => e);
    const unknown = await anon.auth.login
      .mutate({ username: 'mallory', password: 'nope' })
      .catch((e: Error) => e);
    expect(wrong).toMatchObject({
      message: 'Wrong username or password',
      data: { code: 'UNAUTHORIZED' },
    });
    expect(unknown).toMatchObject({
      message: 'Wrong username or password',
      data: { code: 'UNAUTHORIZED' },
    });
  });

  it('rate-limits failed sign-ins per username', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const anon = await t.client(null);
    for (let i = 0; i < 10; i++) {
      await expect(
        anon.auth.login.mutate({ username: 'bob', password: `wrong${i}` }),
      ).rejects.toMatchObject({
        data: { code: 'UNAUTHORIZED' },
      });
    }
    await expect(
      anon.auth.login.mutate({ username: 'bob', password: MEMBER_PASSWORD }),
    ).rejects.toMatchObject({
      data: { code: 'TOO_MANY_REQUESTS' },
    });
    // Others are unaffected.
    await expect(
      anon.auth.login.mutate({ username: 'carol', password: MEMBER_PASSWORD }),
    ).resolves.toMatchObject({
      user: { username: 'carol' },
    });
  });

  it('keeps sessions and tokens across a restart', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const cookie = await t.login('alice');
    const alice = createPulseClient({ url: t.url, headers: { cookie } });
    const { token } = await alice.auth.createToken.mutate({ name: 'ci', scopes: ['read'] });
    await t.stop();
    await t.restart();
    const again = createPulseClient({ url: t.url, headers: { cookie } });
    expect((await again.auth.me.query()).username).toBe('alice');
    const byToken = createPulseClient({ url: t.url, token });
    expect((await byToken.auth.me.query()).username).toBe('alice');
    expect((await byToken.auth.listTokens.query().catch(() => null)) ?? []).toHaveLength(1);
  });

  it('ends open streams and refuses new calls after logout', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const cookie = await t.login('alice');
    const alice = createPulseClient({ url: t.url, headers: { cookie } });
    const live = record<Tracked>((o) => alice.notifications.onNotification.subscribe(undefined, o));
    await live.started;
    await alice.auth.logout.mutate();
    expect((await live.waitForError(5000)).data?.code).toBe('UNAUTHORIZED');
    await expect(alice.auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    expect(t.server.app.metrics.counts.subscriptions).toBe(0);
  });

  it('ends streams and sockets opened with a token when it is revoked', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const alice = await t.client({ username: 'alice' });
    const { id, token } = await alice.auth.createToken.mutate({ name: 'tail', scopes: ['read'] });
    const byToken = createPulseClient({ url: t.url, token });
    const live = record<Tracked>((o) =>
      byToken.notifications.onNotification.subscribe(undefined, o),
    );
    await live.started;
    const ws = wsClient(t.url, { token });
    expect((await ws.trpc.auth.me.query()).username).toBe('alice');
    const closed = new Promise<number>((resolve) => {
      ws.client.connection?.ws.addEventListener('close', (e) => resolve(e.code));
    });
    await alice.auth.revokeToken.mutate({ id });
    expect((await live.waitForError(5000)).data?.code).toBe('UNAUTHORIZED');
    expect(await closed).toBe(4001);
    await expect(byToken.auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    await expect(alice.auth.revokeToken.mutate({ id })).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    await ws.client.close();
  });

  it('refuses cookie mutations from a foreign Origin, allows configured and absent ones', async () => {
    await using t = await startTestServer(
      { PULSE_ALLOWED_ORIGINS: 'http://console.example' },
      { teams: [OPS] },
    );
    await sendTo(t, 'alice', ['one', 'two', 'three']);
    const cookie = await t.login('alice');
    const foreign = await post(
      t.url,
      'notifications.markAllRead',
      {},
      { cookie, origin: 'http://evil.example' },
    );
    expect(foreign.status).toBe(403);
    expect(foreign.json.error?.data.code).toBe('FORBIDDEN');
    expect(
      await t.server.app.stores.notifications.unreadCount(
        (await createPulseClient({ url: t.url, headers: { cookie } }).auth.me.query()).id,
      ),
    ).toBe(3);
    expect(
      (
        await post(
          t.url,
          'notifications.markAllRead',
          {},
          { cookie, origin: 'http://console.example' },
        )
      ).status,
    ).toBe(200);
    expect(
      (await post(t.url, 'notifications.markAllRead', {}, { cookie, origin: t.url })).status,
    ).toBe(200);
    expect((await post(t.url, 'notifications.markAllRead', {}, { cookie })).status).toBe(200);
  });

  it('checks the Origin at the WebSocket upgrade and authenticates by cookie or connectionParams', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const cookie = await t.login('bob');
    expect(await upgradeStatus(t.url, { origin: 'http://evil.example', cookie })).toBe(403);
    expect(await upgradeStatus(t.url, { origin: t.url, cookie })).toBe(101);
    expect(await upgradeStatus(t.url, {})).toBe(101);
    const byCookie = wsClient(t.url, { headers: { cookie, origin: t.url } });
    expect((await byCookie.trpc.auth.me.query()).username).toBe('bob');
    await byCookie.client.close();
    const bad = wsClient(t.url, { token: 'pulse_not-a-token' });
    await expect(bad.trpc.auth.me.query()).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
    await bad.client.close();
  });

  it('closes a WebSocket that sends a frame over 1 MiB and keeps serving the others', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const bystander = wsClient(t.url, { headers: { cookie: await t.login('carol') } });
    expect((await bystander.trpc.auth.me.query()).username).toBe('carol');
    const socket = new WebSocket(`${t.url.replace('http', 'ws')}/trpc`);
    await new Promise((resolve) => socket.once('open', resolve));
    const code = new Promise<number>((resolve) => socket.once('close', (c) => resolve(c)));
    socket.send('x'.repeat(1024 * 1024 + 1));
    expect(await code).toBe(1009);
    expect((await bystander.trpc.auth.me.query()).username).toBe('carol');
    await bystander.client.close();
  });

  it('caps streams per user with a clear error, leaving the open ones alone', async () => {
    await using t = await startTestServer(
      { PULSE_MAX_CONNECTIONS_PER_USER: '20' },
      { teams: [OPS] },
    );
    const cookie = await t.login('alice');
    const url = subscriptionUrl(t.url, 'notifications.onNotification');
    const open = Array.from({ length: 20 }, () => openRawSse(url, { cookie }));
    await eventually(() => open.every((s) => s.frames.some((f) => f.event === 'connected')));
    const extra = openRawSse(url, { cookie });
    await eventually(() => extra.frames.some((f) => f.event === 'serialized-error'));
    const error = JSON.parse(extra.frames.find((f) => f.event === 'serialized-error')!.data) as {
      data: { code: string };
    };
    expect(error.data.code).toBe('TOO_MANY_REQUESTS');
    expect(open.every((s) => !s.ended)).toBe(true);
    const admin = await t.client({ username: 'admin' });
    await admin.notifications.send.mutate({
      to: { usernames: ['alice'] },
      title: 'still live',
      severity: 'info',
    });
    await eventually(() => open.every((s) => s.data().length === 1));
    for (const s of [...open, extra]) s.destroy();
  });

  it('serves health and Prometheus metrics', async () => {
    await using t = await startTestServer();
    const anon = await t.client(null);
    expect(await anon.system.health.query()).toMatchObject({ status: 'ok', version: API_VERSION });
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const text = await (await fetch(`${t.url}/metrics`)).text();
    for (const name of [
      'pulse_connections_open{transport="sse"}',
      'pulse_connections_open{transport="ws"}',
      'pulse_subscriptions_active',
      'pulse_events_published_total',
      'pulse_events_delivered_total',
      'pulse_slow_consumers_dropped_total',
      'pulse_delivery_latency_seconds_bucket',
      'pulse_request_duration_seconds_bucket',
      'pulse_deprecated_calls_total',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('counts every delivery in the delivery-latency histogram, over SSE and WebSocket', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const cookie = await t.login('alice');
    const overSse = createPulseClient({ url: t.url, headers: { cookie } });
    const sse = record<Tracked>((o) =>
      overSse.notifications.onNotification.subscribe(undefined, o),
    );
    const ws = wsClient(t.url, { headers: { cookie } });
    const overWs = record<Tracked>((o) =>
      ws.trpc.notifications.onNotification.subscribe(undefined, o),
    );
    await Promise.all([sse.started, overWs.started]);
    await sendTo(t, 'alice', ['one', 'two']);
    await Promise.all([sse.waitFor(2), overWs.waitFor(2)]);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const value = (line: string) => Number(new RegExp(`^${line} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('pulse_delivery_latency_seconds_count')).toBe(4);
    expect(value('pulse_delivery_latency_seconds_bucket\\{le="\\+Inf"\\}')).toBe(4);
    expect(value('pulse_delivery_latency_seconds_sum')).toBeGreaterThanOrEqual(0);
    await ws.client.close();
  });

  it('prints its URL on start and exits cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-proc-'));
    const database = await testDatabase(dir);
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/index.ts'], {
        env: {
          ...process.env,
          PORT: '0',
          DATABASE_URL: database.url,
          PULSE_DEMO: '0',
          PULSE_SCRYPT_LOG_N: '10',
          PULSE_ADMIN_PASSWORD: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      await eventually(() => /http:\/\/127\.0\.0\.1:\d+/.test(out), 20_000, 'the URL line');
      expect(out).toMatch(/admin with password \S+/);
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out)![0];
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
