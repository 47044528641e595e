import type { Operation, TRPCClientError } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLiveStream, type LiveObserver } from '../../src/client/transport/live-stream.ts';
import type { Envelope } from '../../src/client/transport/shared-subscription-codec.ts';

/** One request the stream made: an open (`stream` is its body's controller) or a control. */
interface Sent {
  url: string;
  body: { subscriptions?: unknown[]; subscribe?: unknown[]; unsubscribe?: string[] };
  push?: (text: string) => void;
  end?: () => void;
}

let requests: Sent[] = [];
/** What control requests answer (status and body); 200 `{open: n}` by default. */
let controlAnswer: () => Response = () => Response.json({ open: 1 });

function fakeFetch(url: string, init?: RequestInit): Promise<Response> {
  const request: Sent = {
    url,
    body: JSON.parse(typeof init?.body === 'string' ? init.body : 'null') as Sent['body'],
  };
  requests.push(request);
  if (request.url !== 'http://pulse.test/trpc-live') return Promise.resolve(controlAnswer());
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      request.push = (text) => controller.enqueue(encoder.encode(text));
      request.end = () => controller.close();
      init?.signal?.addEventListener('abort', () => controller.error(new Error('aborted')));
    },
  });
  return Promise.resolve(
    new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  );
}

const opens = () => requests.filter((r) => r.url === 'http://pulse.test/trpc-live');
const controls = () => requests.filter((r) => r.url !== 'http://pulse.test/trpc-live');
const lastOpen = () => {
  const open = opens().at(-1);
  if (!open?.push) throw new Error('no stream open');
  return open as Required<Sent>;
};
const frame = (event: string, data: unknown) =>
  `${event === 'message' ? '' : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`;

function op(path: string, input?: unknown): Operation {
  return { id: 1, type: 'subscription', path, input, context: {}, signal: null };
}

/** What one subscription saw. */
function observer() {
  const seen: { envelope?: Envelope<AnyRouter>; error?: TRPCClientError<AnyRouter> }[] = [];
  const o: LiveObserver<AnyRouter> = {
    next: (envelope) => seen.push({ envelope }),
    error: (error) => seen.push({ error }),
    complete: () => undefined,
  };
  return { o, seen, types: () => seen.map((s) => s.envelope?.result.type ?? 'error') };
}

const until = (check: () => boolean) =>
  vi.waitFor(() => {
    if (!check()) throw new Error('not yet');
  });

function stream() {
  return createLiveStream<AnyRouter>({
    url: 'http://pulse.test/trpc-live',
    retry: (error) => (error.data as { code?: string } | undefined)?.code !== 'PRECONDITION_FAILED',
    fetch: fakeFetch as typeof fetch,
    lingerMs: 0,
  });
}

beforeEach(() => {
  requests = [];
  controlAnswer = () => Response.json({ open: 1 });
  vi.spyOn(Math, 'random').mockReturnValue(0); // backoff at its low end: 0.5 s first
});
afterEach(() => vi.restoreAllMocks());

describe('the live stream (client)', () => {
  it('opens one stream for the subscriptions of a tick, and changes it with control requests', async () => {
    const live = stream();
    const notes = observer();
    const room = observer();
    live.subscribe(op('notifications.onNotification'), notes.o);
    live.subscribe(op('chat.onMessage', { roomId: 'r1' }), room.o);
    await until(() => opens().length === 1);
    const open = lastOpen();
    expect(open.body.subscriptions).toEqual([
      { key: '1', path: 'notifications.onNotification' },
      { key: '2', path: 'chat.onMessage', input: { roomId: 'r1' } },
    ]);
    open.push(frame('connected', { stream: 'S1', reconnectAfterInactivityMs: 45_000 }));
    open.push(frame('started', { key: '1' }));
    open.push(frame('message', { key: '1', id: 'n_1', data: { title: 'hi' } }));
    await until(() => notes.seen.length >= 4);
    expect(notes.seen.map((s) => s.envelope)).toEqual([
      { result: { type: 'state', state: 'connecting', error: null } },
      { result: { type: 'started' }, context: { resumed: false } },
      { result: { type: 'state', state: 'pending', error: null } },
      // As tRPC's own links hand a tracked event on.
      { result: { id: 'n_1', data: { id: 'n_1', data: { title: 'hi' } } } },
    ]);

    const points = observer();
    const stop = live.subscribe(op('metrics.onPoints', { series: ['cpu'] }), points.o);
    await until(() => controls().length === 1);
    expect(controls()[0]).toMatchObject({
      url: 'http://pulse.test/trpc-live/S1',
      body: { subscribe: [{ key: '3', path: 'metrics.onPoints', input: { series: ['cpu'] } }] },
    });
    stop();
    await until(() => controls().length === 2);
    expect(controls()[1]?.body).toEqual({ unsubscribe: ['3'] });
    expect(opens()).toHaveLength(1);
  });

  it('resumes each subscription from its own last id after a cut, catching up until its replay is out', async () => {
    const live = stream();
    const notes = observer();
    const reads = observer();
    live.subscribe(op('notifications.onNotification'), notes.o);
    live.subscribe(op('notifications.onReadState'), reads.o);
    await until(() => opens().length === 1);
    const first = lastOpen();
    first.push(frame('connected', { stream: 'S1', reconnectAfterInactivityMs: 45_000 }));
    for (const key of ['1', '2']) {
      first.push(frame('started', { key }));
      first.push(frame('live', { key }));
    }
    first.push(frame('message', { key: '1', id: 'n_7', data: {} }));
    await until(() => live.view.get().state === 'connected' && notes.seen.length === 4);

    first.end();
    await until(() => live.view.get().state === 'reconnecting');
    expect(live.view.get().detail).toMatch(
      /^the server ended the live stream.*Trying again in 1 s\.$/,
    );
    const cut = notes.seen.at(-1)?.envelope?.result;
    expect(cut).toMatchObject({ type: 'state', state: 'connecting' });

    await until(() => opens().length === 2);
    const second = lastOpen();
    expect(second.body.subscriptions).toEqual([
      { key: '1', path: 'notifications.onNotification', lastEventId: 'n_7' },
      { key: '2', path: 'notifications.onReadState' },
    ]);
    second.push(frame('connected', { stream: 'S2', reconnectAfterInactivityMs: 45_000 }));
    second.push(frame('started', { key: '1' }));
    second.push(frame('started', { key: '2' }));
    await until(() => live.view.get().state === 'catching-up');
    expect(live.view.get().detail).toContain('1 of 2 caught up');
    // The one that resumed says so (nothing to refetch); the untracked one starts afresh.
    expect(notes.seen.at(-2)?.envelope).toEqual({
      result: { type: 'started' },
      context: { resumed: true },
    });
    expect(reads.seen.at(-2)?.envelope).toEqual({
      result: { type: 'started' },
      context: { resumed: false },
    });
    second.push(frame('message', { key: '1', id: 'n_8', data: {} }));
    second.push(frame('live', { key: '1' }));
    await until(() => live.view.get().state === 'connected');
  });

  it('opens a new stream with the whole set when a control request finds none (another instance)', async () => {
    const live = stream();
    live.subscribe(op('notifications.onNotification'), observer().o);
    await until(() => opens().length === 1);
    lastOpen().push(frame('connected', { stream: 'S1', reconnectAfterInactivityMs: 45_000 }));
    await until(() => live.view.get().state !== 'connecting');
    controlAnswer = () =>
      Response.json(
        {
          error: {
            message: 'No such live stream',
            code: -32004,
            data: { code: 'NOT_FOUND', httpStatus: 404 },
          },
        },
        { status: 404 },
      );
    live.subscribe(op('incidents.onChange'), observer().o);
    await until(() => opens().length === 2);
    expect(lastOpen().body.subscriptions).toHaveLength(2);
  });

  it('ends a subscription on a final error, and retries one refused for now', async () => {
    const live = stream();
    const gone = observer();
    const later = observer();
    live.subscribe(op('notifications.onNotification', { lastEventId: 'n_1' }), gone.o);
    live.subscribe(op('incidents.onChange'), later.o);
    await until(() => opens().length === 1);
    const open = lastOpen();
    expect(open.body.subscriptions?.[0]).toEqual({
      key: '1',
      path: 'notifications.onNotification',
      lastEventId: 'n_1',
    });
    open.push(frame('connected', { stream: 'S1', reconnectAfterInactivityMs: 45_000 }));
    const shape = (code: string) => ({
      message: code,
      code: -32000,
      data: { code, httpStatus: 400 },
    });
    open.push(frame('error', { key: '1', error: shape('PRECONDITION_FAILED') }));
    open.push(frame('error', { key: '2', error: shape('TOO_MANY_REQUESTS') }));
    await until(() => gone.types().includes('error') && later.seen.length === 2);
    expect(gone.seen.at(-1)?.error?.data).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect(later.seen.at(-1)?.envelope?.result).toMatchObject({
      type: 'state',
      state: 'connecting',
    });
    // Asked again on its own, after a backoff.
    await until(() => controls().length === 1);
    expect(controls()[0]?.body).toEqual({ subscribe: [{ key: '2', path: 'incidents.onChange' }] });
  });
});
