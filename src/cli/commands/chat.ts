import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Message, Room } from '../../shared/schemas/chat.ts';
import { backoffMs, type PulseClient } from '../../sdk/client.ts';
import { allPages } from '../../sdk/pages.ts';
import { defineCommand } from '../command.ts';
import { CliError, errorCode } from '../errors.ts';
import { follow } from '../follow.ts';
import { oneLine } from '../format.ts';

/** A room by id, by incident id, or by name (`#ops`, `ops`, an incident's title). */
export function findRoom(rooms: readonly Room[], wanted: string): Room | undefined {
  const bare = wanted.replace(/^#/, '');
  return (
    rooms.find((r) => r.id === wanted || r.incidentId === wanted) ??
    rooms.find((r) => r.name === wanted || r.name === `#${bare}`)
  );
}

/** Sends one message, retrying (same clientMessageId, so never twice) until the server answers. */
async function sendOnce(
  pulse: PulseClient,
  roomId: string,
  text: string,
  signal: AbortSignal,
): Promise<Message> {
  const clientMessageId = randomUUID();
  for (let attempt = 0; ; attempt++) {
    try {
      return await pulse.chat.send.mutate({ roomId, text, clientMessageId });
    } catch (error) {
      const code = errorCode(error);
      // Refusals are final; a lost connection or a rate limit is worth another try.
      if ((code !== undefined && code !== 'TOO_MANY_REQUESTS') || signal.aborted) throw error;
      await new Promise((r) => setTimeout(r, Math.max(250, backoffMs(attempt))));
    }
  }
}

export const chatCommand = defineCommand({
  path: ['chat'],
  args: ['ROOM'],
  usage: 'ROOM [--history N]',
  summary: 'Print a chat room live and send each line of stdin as a message',
  details: [
    'ROOM is a room id, an incident id, or a name (#ops, or an incident title); `pulse chat`',
    'rooms come from the teams you are in. Chat goes over a WebSocket; a dropped connection',
    'resumes from the last message printed, and sends are retried without ever doubling.',
    'Ends at the end of stdin (after the last send is answered) or on Ctrl-C.',
    '',
    'Options:',
    '  --history N   print the last N messages first (default 20, 0 for none)',
  ],
  options: { history: { type: 'string' } },
  async run({ args, values, config, client, out, note, io }) {
    const pulse = client({ webSocket: true });
    const wanted = args[0] ?? '';
    const rooms = await allPages((page) => pulse.chat.rooms.query(page));
    const room = findRoom(rooms, wanted);
    if (!room)
      throw new CliError(
        `No room '${wanted}' you may enter (${rooms.map((r) => r.name).join(', ') || 'none'})`,
      );
    const historySize = Number(values.history ?? 20);
    const names = new Map(
      (await pulse.chat.members.query({ roomId: room.id })).map((p) => [p.userId, p.username]),
    );
    const print = (m: Message) => {
      if (values.json) return out(JSON.stringify(m));
      const time = m.createdAt.slice(11, 19);
      out(`${time} ${names.get(m.authorId) ?? m.authorId}: ${oneLine(m.text)}`);
    };

    let last: string | null = null;
    if (historySize > 0) {
      const page = await pulse.chat.history.query({
        roomId: room.id,
        limit: Math.min(100, historySize),
      });
      for (const m of page.items) print(m);
      last = page.items.at(-1)?.id ?? null;
    }
    note(`joined ${room.name} (${room.id})`);

    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const following = follow<Message>({
      url: config.url,
      lastEventId: last,
      signal: stop.signal,
      open: (lastEventId, observer) =>
        pulse.chat.onMessage.subscribe(
          { roomId: room.id, ...(lastEventId ? { lastEventId } : {}) },
          observer,
        ),
      onEvent: (_id, message) => print(message),
      onState: (state, reason) => note(`${state}${reason ? ` (${reason})` : ''}`),
      onWarning: (message) => note(`warning: ${message}`),
    });

    // Lines are sent in order, one at a time; the echo arrives through the stream.
    let failed = false;
    const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (stop.signal.aborted) break;
        if (line.trim() === '') continue;
        try {
          const sent = await sendOnce(pulse, room.id, line, stop.signal);
          if (stop.signal.aborted) break;
          last = sent.id;
        } catch (error) {
          failed = true;
          note(`not sent: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (!stop.signal.aborted) {
        // End of input: give the stream a moment to echo the last message, then leave.
        await new Promise((r) => setTimeout(r, 500));
        stop.abort();
      }
      await following;
    } finally {
      lines.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return failed ? 1 : 0;
  },
});
