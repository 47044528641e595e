import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Cli, cleanupCli, cliEnv, pulse, tokenFor } from '../support/cli.ts';
import { startTestServer } from '../support/server.ts';
import { OPS } from '../support/people.ts';

afterEach(cleanupCli);

describe('pulse chat', () => {
  it(
    'prints a room live over WebSocket and sends stdin lines, each once',
    { timeout: 90_000 },
    async () => {
      await using t = await startTestServer({}, { teams: [OPS] });
      const bob = await t.client({ username: 'bob' });
      const roomId = (await bob.chat.rooms.query()).find((r) => r.kind === 'team')!.id;
      await bob.chat.send.mutate({ roomId, text: 'earlier', clientMessageId: randomUUID() });
      const env = cliEnv(t, { token: await tokenFor(t, 'alice') });
      const chat = new Cli(['chat', '#ops', '--history', '5'], env, { stdin: true });
      await chat.waitFor((c) => c.stderr.includes('connected'), 'the room to connect');
      expect(chat.lines).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d bob: earlier$/)]);
      await bob.chat.send.mutate({ roomId, text: 'hello alice', clientMessageId: randomUUID() });
      await chat.waitFor((c) => c.lines.length === 2, 'the live message');
      chat.write('hi bob\nsecond line\n');
      await chat.waitFor((c) => c.lines.length === 4, 'our own messages echoed');
      expect(chat.lines.slice(1).map((l) => l.slice(9))).toEqual([
        'bob: hello alice',
        'alice: hi bob',
        'alice: second line',
      ]);
      chat.end();
      expect(await chat.exited).toBe(0);
      const history = await bob.chat.history.query({ roomId });
      expect(history.items.map((m) => m.text)).toEqual([
        'earlier',
        'hello alice',
        'hi bob',
        'second line',
      ]);
      // An unknown room is reported by name, with the rooms there are.
      const missing = await pulse(['chat', '#nowhere'], env, '');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("No room '#nowhere'");
      expect(missing.stderr).toContain('#ops');
    },
  );
});
