import type { Operation, OperationResultEnvelope, TRPCClientError, TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable, type Observer } from '@trpc/server/observable';
import { describe, expect, it } from 'vitest';
import { countUnread, mergeMessages } from '../../src/client/features/chat/messages.ts';
import { createTypingReporter, typingText } from '../../src/client/features/chat/typing.ts';
import { backoffDelayMs } from '../../src/client/transport/backoff.ts';
import { createExternalStore } from '../../src/client/lib/external-store.ts';
import {
  transportSwitchLink,
  withLastEventId,
} from '../../src/client/transport/transport-switch-link.ts';
import {
  initialWsMachine,
  openDelayMs,
  wsLinkState,
  wsStep,
  type WsEvent,
  type WsMachine,
} from '../../src/client/transport/ws-fallback.ts';
import type { Message } from '../../src/shared/schemas/chat.ts';

const run = (events: WsEvent[], from: WsMachine = initialWsMachine) =>
  events.reduce((state, event) => wsStep(state, event, 3), from);
const failed: WsEvent = { type: 'closed', wasOpen: false };
const dropped: WsEvent = { type: 'closed', wasOpen: true };
const opened: WsEvent = { type: 'opened' };
const stable: WsEvent = { type: 'stable' };
const timedOut: WsEvent = { type: 'closed', wasOpen: false, timedOut: true };

describe('WebSocket fallback state machine', () => {
  it('falls back after three failed opens on a page where no socket ever opened', () => {
    expect(run([failed, failed]).mode).toBe('ws');
    const refused = run([failed, failed, failed]);
    expect(refused).toMatchObject({ mode: 'fallback', failedOpens: 3, everOpened: false });
    expect(wsLinkState(refused, true)).toBe('fallback');
  });

  it('never falls back once a socket has proved usable: closes then are restarts, not a proxy', () => {
    const restarting = run([opened, stable, dropped, failed, failed, failed, failed, failed]);
    expect(restarting.mode).toBe('ws');
    expect(wsLinkState(restarting, true)).toBe('reconnecting');
    expect(wsLinkState(run([opened]), true)).toBe('connected');
  });

  it('counts a socket accepted and closed at once as a failed open', () => {
    const cut = run([opened, dropped, opened, dropped, opened, dropped]);
    expect(cut).toMatchObject({ mode: 'fallback', lastFailure: 'closed-early', everUsable: false });
    expect(wsLinkState(cut, true)).toBe('fallback');
  });

  it('falls back at once when an upgrade gets no answer within the open timeout', () => {
    expect(run([timedOut])).toMatchObject({ mode: 'fallback', lastFailure: 'timed-out' });
    // Not once a socket has worked on this page: then it is the network or a restart.
    expect(run([opened, stable, dropped, timedOut]).mode).toBe('ws');
  });

  it('ignores the sockets it closes itself', () => {
    const purposeful: WsEvent = { type: 'closed', wasOpen: true, purposeful: true };
    expect(run([opened, purposeful, opened, purposeful, opened, purposeful])).toMatchObject({
      mode: 'ws',
      failedOpens: 0,
    });
  });

  it('falls back at once when the server refuses another socket for this user', () => {
    const capped = run([opened, { type: 'closed', wasOpen: true, code: 1008 }]);
    expect(capped.mode).toBe('fallback');
    // The next probe opens and is closed at once again: no flapping back to the socket…
    expect(run([opened, { type: 'closed', wasOpen: true, code: 1008 }], capped).mode).toBe(
      'fallback',
    );
    expect(wsLinkState(run([opened], capped), true)).toBe('fallback');
    // …until one stays open.
    expect(run([opened, stable], capped)).toMatchObject({ mode: 'ws', capped: false });
  });

  it('counts failures in a row only', () => {
    expect(run([failed, failed, opened, stable, dropped, failed, failed]).mode).toBe('ws');
  });

  it('comes back to the socket when a probe opens and stays open', () => {
    expect(run([failed, failed, failed, opened]).mode).toBe('fallback');
    const back = run([failed, failed, failed, opened, stable]);
    expect(back).toMatchObject({ mode: 'ws', open: true, failedOpens: 0 });
    expect(wsLinkState(back, true)).toBe('connected');
  });

  it('says connecting before the first open and offline without a network', () => {
    expect(wsLinkState(initialWsMachine, true)).toBe('connecting');
    expect(wsLinkState(run([opened]), false)).toBe('offline');
  });

  it('backs off from about 1 s to 30 s with jitter, and probes slowly in fallback', () => {
    const low = () => 0;
    const high = () => 0.999999;
    const ws = run([opened, dropped]);
    expect(openDelayMs(ws, null)).toBe(0);
    expect(openDelayMs(ws, 0, { random: low })).toBe(500);
    expect(openDelayMs(ws, 0, { random: high })).toBeCloseTo(1000, 0);
    expect(openDelayMs(ws, 1, { random: low })).toBe(1000);
    expect(openDelayMs(ws, 4, { random: high })).toBeCloseTo(16_000, 0);
    expect(openDelayMs(ws, 20, { random: high })).toBeCloseTo(30_000, 0);
    expect(openDelayMs(ws, 20, { random: low })).toBe(15_000);
    const refused = run([failed, failed, failed]);
    expect(openDelayMs(refused, 7, { probeMs: 30_000, random: low })).toBe(15_000);
    expect(backoffDelayMs(1, low)).toBe(500);
  });
});

type Envelope = OperationResultEnvelope<unknown, TRPCClientError<AnyRouter>>;
type Sub = {
  transport: string;
  op: Operation;
  observer: Observer<Envelope, TRPCClientError<AnyRouter>>;
  open: boolean;
};

/** A terminating link that records what runs on which transport. */
function fakeTransports(transport: { get: () => string }) {
  const subs: Sub[] = [];
  const link: TRPCLink<AnyRouter> =
    () =>
    ({ op }) =>
      observable<Envelope, TRPCClientError<AnyRouter>>((observer) => {
        const sub: Sub = { transport: transport.get(), op, observer, open: true };
        subs.push(sub);
        return () => {
          sub.open = false;
          // wsLink completes the observer when unsubscribed; the switch must ignore that.
          observer.complete();
        };
      });
  return { link, subs };
}

function chain(links: TRPCLink<AnyRouter>[], op: Operation) {
  const runtime = {};
  const ready = links.map((l) => l(runtime));
  const exec = (i: number, o: Operation): ReturnType<(typeof ready)[number]> =>
    ready[i]!({ op: o, next: (n) => exec(i + 1, n) });
  return exec(0, op);
}

const op = (type: Operation['type'], path: string, input: unknown): Operation => ({
  id: 1,
  type,
  path,
  input,
  context: {},
  signal: null,
});

describe('transportSwitchLink', () => {
  it('moves a live subscription to the new transport, resuming from the last event id', () => {
    const mode = createExternalStore('ws');
    const { link, subs } = fakeTransports(mode);
    const switcher = transportSwitchLink({
      applies: (o) => o.path.startsWith('chat.'),
      transport: mode,
    });
    const seen: Envelope['result'][] = [];
    let completed = false;
    const sub = chain(
      [switcher, link],
      op('subscription', 'chat.onMessage', { roomId: 'r' }),
    ).subscribe({
      next: (e) => seen.push(e.result),
      complete: () => (completed = true),
    });
    subs[0]!.observer.next({ result: { type: 'started' } });
    subs[0]!.observer.next({ result: { type: 'data', id: 'msg_7', data: 'seven' } });

    mode.set('fallback');
    expect(subs).toHaveLength(2);
    expect(subs[0]!.open).toBe(false);
    expect(subs[1]).toMatchObject({ transport: 'fallback', open: true });
    expect(subs[1]!.op.input).toEqual({ roomId: 'r', lastEventId: 'msg_7' });
    expect(completed).toBe(false);
    expect(seen.at(-1)).toEqual({ type: 'state', state: 'connecting', error: null });

    subs[1]!.observer.next({ result: { type: 'data', id: 'msg_8', data: 'eight' } });
    mode.set('ws');
    expect(subs[2]!.op.input).toEqual({ roomId: 'r', lastEventId: 'msg_8' });
    sub.unsubscribe();
    expect(subs.every((s) => !s.open)).toBe(true);
    mode.set('fallback');
    expect(subs).toHaveLength(3);
  });

  it('sends a query or mutation that has not answered again on the new transport, and only then', () => {
    const mode = createExternalStore('ws');
    const { link, subs } = fakeTransports(mode);
    const switcher = transportSwitchLink({
      applies: (o) => o.path.startsWith('chat.'),
      transport: mode,
    });
    const answers: unknown[] = [];
    chain([switcher, link], op('mutation', 'chat.send', { text: 'hi' })).subscribe({
      next: (e) => answers.push(e.result),
    });
    mode.set('fallback');
    expect(subs.map((s) => [s.transport, s.open])).toEqual([
      ['ws', false],
      ['fallback', true],
    ]);
    subs[1]!.observer.next({ result: { type: 'data', data: 'stored' } });
    subs[1]!.observer.complete();
    mode.set('ws');
    expect(subs).toHaveLength(2);
    expect(answers).toEqual([{ type: 'data', data: 'stored' }]);
  });

  it('leaves other operations alone', () => {
    const mode = createExternalStore('ws');
    const { link, subs } = fakeTransports(mode);
    const switcher = transportSwitchLink({
      applies: (o) => o.path.startsWith('chat.'),
      transport: mode,
    });
    chain(
      [switcher, link],
      op('subscription', 'notifications.onNotification', undefined),
    ).subscribe({});
    mode.set('fallback');
    expect(subs).toHaveLength(1);
    expect(subs[0]!.open).toBe(true);
  });

  it('resumes inputs the way tRPC does', () => {
    expect(withLastEventId({ roomId: 'r' }, undefined)).toEqual({ roomId: 'r' });
    expect(withLastEventId(undefined, 'e1')).toEqual({ lastEventId: 'e1' });
    expect(withLastEventId({ roomId: 'r', lastEventId: 'e0' }, 'e1')).toEqual({
      roomId: 'r',
      lastEventId: 'e1',
    });
  });
});

const msg = (id: string, createdAt: string, authorId = 'usr_bob'): Message => ({
  id,
  roomId: 'r',
  authorId,
  text: id,
  clientMessageId: id,
  createdAt,
});

describe('chat messages', () => {
  it('merges pages, live arrivals and answers: each message once, in server order', () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const page = [msg('msg_9', t(1)), msg('msg_10', t(1))];
    const live = [msg('msg_11', t(2)), msg('msg_10', t(1))];
    const answer = [msg('msg_8', t(0))];
    expect(mergeMessages(page, live, answer).map((m) => m.id)).toEqual([
      'msg_8',
      'msg_9',
      'msg_10',
      'msg_11',
    ]);
  });

  it('counts unread after the last one seen, not counting our own', () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const list = [
      msg('msg_1', t(1)),
      msg('msg_2', t(2), 'usr_me'),
      msg('msg_3', t(3)),
      msg('msg_4', t(4)),
    ];
    expect(countUnread(list, null, 'usr_me')).toBe(3);
    expect(countUnread(list, { id: 'msg_1', createdAt: t(1) }, 'usr_me')).toBe(2);
    expect(countUnread(list, { id: 'msg_4', createdAt: t(4) }, 'usr_me')).toBe(0);
  });
});

describe('typing reporter', () => {
  it('says true at most every 2 s while typing, and false once when done', () => {
    let now = 0;
    const sent: boolean[] = [];
    const typing = createTypingReporter({ send: (v) => sent.push(v), now: () => now });
    typing.input('h');
    now = 500;
    typing.input('he');
    now = 1999;
    typing.input('hel');
    expect(sent).toEqual([true]);
    now = 2000;
    typing.input('hell');
    expect(sent).toEqual([true, true]);
    typing.input('');
    expect(sent).toEqual([true, true, false]);
    typing.stop();
    expect(sent).toEqual([true, true, false]);
    // A new burst right after sending is told at once.
    now = 2100;
    typing.input('x');
    expect(sent).toEqual([true, true, false, true]);
    typing.stop();
    typing.stop();
    expect(sent).toEqual([true, true, false, true, false]);
  });

  it('words who is typing', () => {
    expect(typingText([])).toBe('');
    expect(typingText(['Alice Martin'])).toBe('Alice Martin is typing…');
    expect(typingText(['Alice Martin', 'Bob Okafor'])).toBe(
      'Alice Martin and Bob Okafor are typing…',
    );
    expect(typingText(['Alice Martin', 'Bob Okafor', 'Carol Nguyen'])).toBe('3 people are typing…');
  });
});
