import { describe, expect, it } from 'vitest';
import {
  afterSend,
  discardEntry,
  drainOutbox,
  enqueue,
  failureKind,
  nextToSend,
  parseOutbox,
  rateLimitWaitMs,
  retryEntry,
  serializeOutbox,
  type OutboxEntry,
  type SendOutcome,
} from '../../src/client/features/chat/outbox.ts';
import type { Message } from '../../src/shared/schemas/chat.ts';

const ROOM = 'room_team_ops';
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function outboxOf(...texts: string[]): OutboxEntry[] {
  return texts.reduce<OutboxEntry[]>(
    (entries, text, i) =>
      enqueue(entries, { clientMessageId: id(i + 1), roomId: ROOM, text }, 1000),
    [],
  );
}

let seq = 0;
const stored = (entry: OutboxEntry): Message => ({
  id: `msg_${++seq}`,
  roomId: entry.roomId,
  authorId: 'usr_alice',
  text: entry.text,
  clientMessageId: entry.clientMessageId,
  createdAt: new Date(0).toISOString(),
});
const ok = (entry: OutboxEntry): SendOutcome => ({ ok: true, message: stored(entry) });
const fail = (code: string | undefined, error = code ?? 'WebSocket closed'): SendOutcome => ({
  ok: false,
  code,
  error,
});

/** An outbox in memory with a scripted server: each send answers with the next outcome. */
function harness(entries: OutboxEntry[], answers: ((entry: OutboxEntry) => SendOutcome)[]) {
  let state: readonly OutboxEntry[] = entries;
  let now = 10_000;
  let up = true;
  const sent: string[] = [];
  const confirmed: string[] = [];
  const sending: (string | null)[] = [];
  const deps = {
    read: () => state,
    write: (next: OutboxEntry[]) => {
      state = next;
    },
    send: async (entry: OutboxEntry) => {
      sent.push(entry.text);
      const answer = answers.shift() ?? ok;
      return answer(entry);
    },
    linkUp: () => up,
    now: () => now,
    onSending: (clientMessageId: string | null) => sending.push(clientMessageId),
    onSent: (message: Message) => confirmed.push(message.text),
  };
  return {
    drain: () => drainOutbox(deps),
    get state() {
      return state;
    },
    set: (next: readonly OutboxEntry[]) => {
      state = next;
    },
    advance: (ms: number) => {
      now += ms;
    },
    setLink: (value: boolean) => {
      up = value;
    },
    sent,
    confirmed,
    sending,
  };
}

describe('chat outbox', () => {
  it('queues in order, once per clientMessageId', () => {
    const entries = outboxOf('one', 'two');
    expect(entries.map((e) => e.text)).toEqual(['one', 'two']);
    expect(entries[0]).toMatchObject({ attempts: 0, failed: false, lastError: null, notBefore: 0 });
    const again = enqueue(entries, { clientMessageId: id(1), roomId: ROOM, text: 'one' }, 2000);
    expect(again.map((e) => e.text)).toEqual(['one', 'two']);
  });

  it('round-trips through storage and drops what does not parse', () => {
    const entries = outboxOf('one', 'two');
    expect(parseOutbox(serializeOutbox(entries))).toEqual(entries);
    expect(parseOutbox(null)).toEqual([]);
    expect(parseOutbox('not json')).toEqual([]);
    expect(parseOutbox('{"a":1}')).toEqual([]);
    const mixed = JSON.stringify([entries[0], { clientMessageId: 'x' }, entries[1]]);
    expect(parseOutbox(mixed).map((e) => e.text)).toEqual(['one', 'two']);
  });

  it('sends everything once each, oldest first, one at a time', async () => {
    const h = harness(outboxOf('one', 'two', 'three'), []);
    expect(await h.drain()).toEqual({ kind: 'empty' });
    expect(h.sent).toEqual(['one', 'two', 'three']);
    expect(h.confirmed).toEqual(['one', 'two', 'three']);
    expect(h.state).toEqual([]);
    // Never two at once: each send's start is followed by its end before the next starts.
    expect(h.sending).toEqual([id(1), null, id(2), null, id(3), null]);
    expect(await h.drain()).toEqual({ kind: 'empty' });
    expect(h.sent).toHaveLength(3);
  });

  it('sends nothing while the link is down, and everything once it is up', async () => {
    const h = harness(outboxOf('one', 'two'), []);
    h.setLink(false);
    expect(await h.drain()).toEqual({ kind: 'link-down' });
    expect(h.sent).toEqual([]);
    expect(h.state.map((e) => e.text)).toEqual(['one', 'two']);
    h.setLink(true);
    expect(await h.drain()).toEqual({ kind: 'empty' });
    expect(h.sent).toEqual(['one', 'two']);
  });

  it('stops at the first send that gets no answer and keeps it and the rest, in order', async () => {
    const h = harness(outboxOf('one', 'two', 'three'), [ok, () => fail(undefined)]);
    expect(await h.drain()).toEqual({ kind: 'stopped', reason: 'transient', attempts: 1 });
    expect(h.sent).toEqual(['one', 'two']);
    expect(h.state.map((e) => [e.text, e.attempts, e.lastError, e.failed])).toEqual([
      ['two', 1, 'WebSocket closed', false],
      ['three', 0, null, false],
    ]);
    // The retry of "two" carries the same clientMessageId: the server answers with the same
    // message instead of storing a second one.
    const clientIds: string[] = [];
    const again = harness(
      [...h.state],
      [
        (entry) => (clientIds.push(entry.clientMessageId), ok(entry)),
        (entry) => (clientIds.push(entry.clientMessageId), ok(entry)),
      ],
    );
    expect(await again.drain()).toEqual({ kind: 'empty' });
    expect(again.sent).toEqual(['two', 'three']);
    expect(clientIds).toEqual([id(2), id(3)]);
  });

  it('waits out TOO_MANY_REQUESTS, keeping the order behind it', async () => {
    const h = harness(outboxOf('one', 'two'), [() => fail('TOO_MANY_REQUESTS', 'slow down')]);
    const result = await h.drain();
    expect(result).toEqual({ kind: 'wait', until: 10_000 + rateLimitWaitMs(1) });
    expect(h.state.map((e) => e.text)).toEqual(['one', 'two']);
    expect(h.sent).toEqual(['one']);
    h.advance(rateLimitWaitMs(1) - 1);
    expect(await h.drain()).toMatchObject({ kind: 'wait' });
    expect(h.sent).toEqual(['one']);
    h.advance(1);
    expect(await h.drain()).toEqual({ kind: 'empty' });
    expect(h.sent).toEqual(['one', 'one', 'two']);
    expect(h.confirmed).toEqual(['one', 'two']);
  });

  it('backs off longer on repeated rate limits, up to the limit window', () => {
    expect([1, 2, 3, 4, 5, 9].map(rateLimitWaitMs)).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });

  it('marks a refused message failed and goes on with the rest; retry puts it back in line', async () => {
    const h = harness(outboxOf('one', 'two'), [() => fail('NOT_FOUND', "No room 'x'")]);
    expect(await h.drain()).toEqual({ kind: 'empty' });
    expect(h.sent).toEqual(['one', 'two']);
    expect(h.state).toHaveLength(1);
    expect(h.state[0]).toMatchObject({ text: 'one', failed: true, lastError: "No room 'x'" });
    expect(nextToSend(h.state, 0)).toBeNull();

    h.set(retryEntry(h.state, id(1)));
    expect(await h.drain()).toEqual({ kind: 'empty' });
    expect(h.confirmed).toEqual(['two', 'one']);
    expect(h.state).toEqual([]);
  });

  it('stops without counting an attempt when the session has ended', async () => {
    const h = harness(outboxOf('one', 'two'), [() => fail('UNAUTHORIZED', 'Sign in')]);
    expect(await h.drain()).toEqual({ kind: 'stopped', reason: 'signed-out', attempts: 1 });
    expect(h.state.map((e) => [e.text, e.attempts, e.failed])).toEqual([
      ['one', 0, false],
      ['two', 0, false],
    ]);
  });

  it('treats a thrown send as no answer', async () => {
    const h = harness(outboxOf('one'), [
      () => {
        throw new Error('socket gone');
      },
    ]);
    expect(await h.drain()).toMatchObject({ kind: 'stopped', reason: 'transient' });
    expect(h.state[0]).toMatchObject({ attempts: 1, lastError: 'socket gone' });
  });

  it('reads the outbox again after each send: a discard or another tab’s send is respected', async () => {
    // While "one" is in flight, the user discards "two" (or another tab sent it).
    const h: ReturnType<typeof harness> = harness(outboxOf('one', 'two', 'three'), [
      (entry) => {
        h.set(discardEntry(h.state, id(2)));
        return ok(entry);
      },
    ]);
    expect(await h.drain()).toEqual({ kind: 'empty' });
    expect(h.sent).toEqual(['one', 'three']);
  });

  it('classifies error codes', () => {
    expect(failureKind(undefined)).toBe('transient');
    expect(failureKind('INTERNAL_SERVER_ERROR')).toBe('transient');
    expect(failureKind('TOO_MANY_REQUESTS')).toBe('rate-limited');
    expect(failureKind('UNAUTHORIZED')).toBe('signed-out');
    for (const code of ['BAD_REQUEST', 'NOT_FOUND', 'FORBIDDEN', 'CONFLICT']) {
      expect(failureKind(code)).toBe('final');
    }
  });

  it('after a send: success removes the entry; a failure records why', () => {
    const entries = outboxOf('one');
    const entry = entries[0]!;
    expect(afterSend(entries, entry.clientMessageId, ok(entry), 0)).toEqual([]);
    expect(
      afterSend(entries, entry.clientMessageId, fail('CONFLICT', 'taken'), 0)[0],
    ).toMatchObject({
      failed: true,
      lastError: 'taken',
      attempts: 1,
    });
    // An entry discarded meanwhile stays gone.
    expect(afterSend([], entry.clientMessageId, fail(undefined), 0)).toEqual([]);
  });
});
