/**
 * Pulse's real-time path without its store, to tell transport costs from database costs.
 *
 * The real Pulse server (`startServer`, same env as `src/server/index.ts`) serves the SSE
 * subscriptions exactly as in production: auth and input validation through the router once
 * per subscription, the hub, the SSE fast path. Broadcasts, though, come in on a second
 * port and skip the database: each is validated with the notification schema, made into one
 * `LiveEvent` and dispatched to every team member's channel (or, for `to: { usernames }`, to
 * those users' channels), as the notification fan-out does after it has read a new
 * notification back from the store.
 *
 *   node --import tsx bench/pulse-live-server.ts <credentials.json>
 *
 * Prints `Pulse listening on http://… (sends: http://…)`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEnv } from '../src/server/env.ts';
import { liveEvent } from '../src/server/platform/hub.ts';
import { notificationChannel } from '../src/server/features/notifications/feed.ts';
import { freshNotification } from '../src/server/features/notifications/store.ts';
import { startServer } from '../src/server/server.ts';
import type { Severity } from '../src/shared/schemas/common.ts';
import { notificationSchema } from '../src/shared/schemas/notifications.ts';
import type { BenchCredentials } from './common.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: pulse-live-server.ts <credentials.json>');
const creds = JSON.parse(readFileSync(file, 'utf8')) as BenchCredentials;

const pulse = await startServer(parseEnv());
const { app } = pulse;
const members = await app.stores.teams.memberIds(creds.teamId);
const channels = members.map(notificationChannel);
const channelOf = new Map(
  [...(await app.stores.users.idsByUsernames(creds.memberUsernames))].map(([name, id]) => [
    name,
    notificationChannel(id),
  ]),
);
// Above any id the store handed out, so subscribers' de-duplication by seq lets them through.
let seq = 100_000;

const sends = createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    const json = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(json),
    });
    res.end(json);
  };
  if (req.method !== 'POST' || req.url !== '/trpc/notifications.send')
    return reply(404, { error: 'not found' });
  if (req.headers.authorization !== `Bearer ${creds.adminToken}`)
    return reply(401, { error: 'unauthorized' });
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    const input = JSON.parse(body) as {
      to: { usernames?: string[] };
      title: string;
      body?: string;
      severity: string;
      link?: string | null;
    };
    const to = input.to.usernames?.map((name) => channelOf.get(name)) ?? channels;
    if (to.includes(undefined)) return reply(404, { error: 'unknown user' });
    const createdAt = new Date().toISOString();
    // As the store makes a new notification to named users (no group, no team), validated as
    // the schema says (an unknown severity is refused there).
    const data = notificationSchema.parse(
      freshNotification(
        ++seq,
        {
          title: input.title,
          body: input.body ?? '',
          severity: input.severity as Severity,
          link: input.link ?? null,
          created_at: createdAt,
          group_key: null,
        },
        { kind: 'users', userIds: [] },
      ),
    );
    const event = liveEvent(data, data.id, seq, Date.parse(createdAt));
    app.metrics.counts.published++;
    for (const channel of to) if (channel) app.hub.dispatch(channel, event);
    reply(200, { result: { data: { count: to.length } } });
  });
});
await new Promise<void>((resolve) => sends.listen(0, '127.0.0.1', resolve));
const { port } = sends.address() as AddressInfo;
console.log(`Pulse listening on ${pulse.url} (sends: http://127.0.0.1:${port})`);

function stop() {
  sends.close();
  sends.closeAllConnections();
  pulse.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
