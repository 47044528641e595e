import { describe, expect, it } from 'vitest';
import { record } from '../support/live.ts';
import { startTestServer } from '../support/server.ts';

describe('smoke', () => {
  it('delivers a notification live over SSE through the official link', async () => {
    await using t = await startTestServer();
    const alice = await t.client({ username: 'alice' });
    const admin = await t.client({ username: 'admin' });
    const live = record<{ id: string; data: { title: string } }>((o) =>
      alice.notifications.onNotification.subscribe(undefined, o),
    );
    await live.started;
    await admin.notifications.send.mutate({ to: { usernames: ['alice'] }, title: 'hello', severity: 'info' });
    await live.waitFor(1);
    live.stop();
    expect(live.items.map((e) => e.data.title)).toEqual(['hello']);
  });
});
