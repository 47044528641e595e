import type { LiveSubscription } from '../../src/shared/schemas/live.ts';
import { LIVE_PATH } from '../../src/shared/paths.ts';
import { parseSseFrames } from './raw-http.ts';
import type { SseFrame } from './raw-sse.ts';

/** A frame of the multiplexed stream, with its JSON `data` parsed (null where it has none). */
export interface LiveFrame {
  event: string;
  data: unknown;
}

/** What an error answer carries: tRPC's error shape. */
export interface ErrorAnswer {
  status: number;
  error: { message: string; data: { code: string; issues?: unknown } };
}

/** `{ key, id?, data }` of a data frame. */
export interface LiveData<T = unknown> {
  key: string;
  id?: string;
  data: T;
}

/**
 * A bare client of `POST /trpc-live` (decision 0021) over Node's fetch: the frames exactly as
 * they come, waits that wake on each frame, and its control requests. No reconnect: a test opens
 * a new stream to resume.
 */
export async function openLiveStream(
  base: string,
  opts: { headers?: Record<string, string>; subscriptions?: LiveSubscription[]; body?: string },
) {
  const abort = new AbortController();
  const res = await fetch(`${base}${LIVE_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: opts.body ?? JSON.stringify({ subscriptions: opts.subscriptions ?? [] }),
    signal: abort.signal,
  });
  if (!res.ok) {
    return {
      ok: false as const,
      answer: { status: res.status, ...(await res.json()) } as ErrorAnswer,
    };
  }
  const frames: LiveFrame[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const changed = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const reading = (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += value;
        const parsed = parseSseFrames(text);
        text = parsed.rest;
        frames.push(...parsed.frames.map(toLiveFrame));
        changed();
      }
    } catch {
      // Cut (by the test or the server): `ended` says so.
    }
    ended = true;
    changed();
  })();
  const until = (done: () => boolean, what: string, ms = 5000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for ${what}; frames: ${JSON.stringify(frames.filter((f) => f.event !== 'ping'))}`,
          ),
        );
      }, ms);
      waiters.add(check);
      check();
    });
  await until(() => frames.some((f) => f.event === 'connected'), 'connected');
  const { stream } = frames.find((f) => f.event === 'connected')?.data as { stream: string };
  const byKey = (event: string, key: string) =>
    frames.filter((f) => f.event === event && (f.data as { key?: string } | null)?.key === key);

  return {
    ok: true as const,
    stream,
    frames,
    get ended() {
      return ended;
    },
    /** The data frames of `key`, in order. */
    data<T>(key: string): LiveData<T>[] {
      return byKey('message', key).map((f) => f.data as LiveData<T>);
    },
    /** The frames named `event` for `key` (`started`, `live`, `stopped`, `error`). */
    of: byKey,
    until,
    /** Waits until `key` has `n` data frames. */
    async waitForData<T>(key: string, n: number, ms = 5000): Promise<LiveData<T>[]> {
      await until(() => byKey('message', key).length >= n, `${n} events of ${key}`, ms);
      return byKey('message', key).map((f) => f.data as LiveData<T>);
    },
    waitFor(event: string, key: string, ms = 5000) {
      return until(() => byKey(event, key).length > 0, `${event} of ${key}`, ms);
    },
    waitForEnd: (ms = 5000) => until(() => ended, 'the stream to end', ms),
    /** `POST /trpc-live/<stream>` (or `id`), answered with its status and JSON. */
    async control(
      body: unknown,
      extra: { headers?: Record<string, string>; id?: string; raw?: string } = {},
    ): Promise<{ status: number; json: unknown }> {
      const answer = await fetch(`${base}${LIVE_PATH}/${extra.id ?? stream}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(extra.headers ?? opts.headers) },
        body: extra.raw ?? JSON.stringify(body),
      });
      return { status: answer.status, json: await answer.json() };
    },
    async close() {
      abort.abort();
      await reading;
    },
  };
}

function toLiveFrame(frame: SseFrame): LiveFrame {
  try {
    return {
      event: frame.event,
      data: frame.data === '' ? null : (JSON.parse(frame.data) as unknown),
    };
  } catch {
    return { event: frame.event, data: frame.data };
  }
}
