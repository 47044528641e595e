import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createPulseClient } from '../../src/sdk/client.ts';
import { teamRoomId } from '../../src/shared/rooms.ts';
import { describeWithNginx, runClusterScript, startCluster } from '../support/cluster.ts';
import { eventually, record } from '../support/live.ts';
import { MEMBER_PASSWORD } from '../support/people.ts';
import { openRawSse, subscriptionUrl } from '../support/raw-sse.ts';
import { ADMIN_PASSWORD } from '../support/server-process.ts';
import { signIn } from '../support/trpc-http.ts';

/**
 * A failed sign-in sent from `localAddress` (a loopback address of its own, so the server can
 * tell clients apart), with an `X-Forwarded-For` if given; resolves with the HTTP status.
 */
function signInFrom(
  url: string,
  localAddress: string,
  username: string,
  forwardedFor?: string,
): Promise<number> {
  const body = JSON.stringify({ username, password: 'not-the-password' });
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/trpc/auth.login`,
      {
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.once('error', reject);
    req.end(body);
  });
}

describeWithNginx('Pulse behind nginx', () => {
  it('serves queries, SSE that receives events, and WebSocket chat through nginx', async () => {
    await using cluster = await startCluster();
    const health = await fetch(`${cluster.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('server')).toMatch(/^nginx/);

    const cookie = await signIn(cluster.url, 'admin', ADMIN_PASSWORD);
    const admin = createPulseClient({ url: cluster.url, headers: { cookie } });
    expect(await admin.system.health.query()).toMatchObject({ status: 'ok' });

    // SSE through nginx: an event sent after the stream opened arrives unbuffered.
    const sse = openRawSse(subscriptionUrl(cluster.url, 'notifications.onNotification'), {
      Cookie: cookie,
    });
    await eventually(() => sse.frames.some((f) => f.event === 'connected'), 10_000, 'connected');
    await admin.notifications.send.mutate({
      to: { usernames: ['admin'] },
      title: 'through nginx',
      severity: 'info',
    });
    await eventually(() => sse.data().length === 1, 10_000, 'the notification over SSE');
    expect(sse.data<{ title: string }>()[0]?.data.title).toBe('through nginx');
    sse.destroy();

    // WebSocket through nginx (the upgrade passed on), with the SDK's wsLink for chat.
    const team = await admin.teams.create.mutate({ name: 'ops' });
    await admin.users.create.mutate({
      username: 'alice',
      password: MEMBER_PASSWORD,
      teamIds: [team.id],
    });
    const alice = createPulseClient({
      url: cluster.url,
      headers: { cookie: await signIn(cluster.url, 'alice', MEMBER_PASSWORD) },
      webSocket: true,
    });
    const roomId = teamRoomId(team.id);
    const messages = record<{ data: { text: string } }>((handlers) =>
      alice.chat.onMessage.subscribe({ roomId }, handlers),
    );
    await messages.started;
    await alice.chat.send.mutate({ roomId, text: 'hello over ws', clientMessageId: randomUUID() });
    const [first] = await messages.waitFor(1, 10_000);
    expect(first?.data.text).toBe('hello over ws');
    messages.stop();
  });

  it('keeps a client through a rolling restart behind nginx: its stream resumes on the successor', async () => {
    await using cluster = await startCluster({ env: { PULSE_DRAIN_S: '1' } });
    const cookie = await signIn(cluster.url, 'admin', ADMIN_PASSWORD);
    const admin = createPulseClient({ url: cluster.url, headers: { cookie } });
    const notifications = record<{ id: string; data: { title: string } }>((handlers) =>
      admin.notifications.onNotification.subscribe(undefined, handlers),
    );
    await notifications.started;
    const send = (title: string) =>
      admin.notifications.send.mutate({ to: { usernames: ['admin'] }, title, severity: 'info' });
    await send('before');
    await notifications.waitFor(1, 10_000);
    const before = cluster.instances[0]!.pid;

    await cluster.rollingRestart();
    expect(cluster.instances[0]!.pid).not.toBe(before);
    await send('after');
    await notifications.waitFor(2, 20_000);
    expect(notifications.items.map((n) => n.data.title)).toEqual(['before', 'after']);
    notifications.stop();
  });

  it('reads the client address from X-Forwarded-For only when nginx (a trusted proxy) sends it', async () => {
    await using cluster = await startCluster({ env: { PULSE_LOGIN_FAILURES_PER_ADDRESS: '2' } });
    const direct = cluster.instances[0]!.url;
    // Through nginx, from 127.0.0.2: two failures lock that address out.
    expect(await signInFrom(cluster.url, '127.0.0.2', 'nobody-1')).toBe(401);
    expect(await signInFrom(cluster.url, '127.0.0.2', 'nobody-2')).toBe(401);
    expect(await signInFrom(cluster.url, '127.0.0.2', 'nobody-3')).toBe(429);
    // Another client through the same nginx is another address, whatever it claims to be.
    expect(await signInFrom(cluster.url, '127.0.0.3', 'nobody-4', '127.0.0.2')).toBe(401);
    // Straight from a trusted peer, its header is believed...
    expect(await signInFrom(direct, '127.0.0.1', 'nobody-5', '127.0.0.2')).toBe(429);
    // ...and from any other peer it is not.
    expect(await signInFrom(direct, '127.0.0.4', 'nobody-6', '127.0.0.2')).toBe(401);
  });

  it('npm run cluster: starts behind nginx, restarts one instance at a time on SIGHUP, drains and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-cluster-'));
    // One instance on SQLite and no Redis: the script's smallest form.
    const cluster = await runClusterScript(1, {
      DATABASE_URL: `sqlite:${join(dir, 'pulse.db')}`,
      REDIS_URL: '',
    });
    const { child, url, exited } = cluster;
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const admin = createPulseClient({
        url,
        headers: { cookie: await signIn(url, 'admin', ADMIN_PASSWORD) },
      });
      const before = (await admin.system.stats.query()).instance;

      child.kill('SIGHUP');
      await cluster.printed(/Rolling restart done/, 60_000, 'the rolling restart');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      // Another process answers, on the same database (the session still works).
      expect((await admin.system.stats.query()).instance).not.toBe(before);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(cluster.output()).toMatch(/draining the instances/);
      expect(cluster.output()).toMatch(/Stopped/);
      // nginx went with it.
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
