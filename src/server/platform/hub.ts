import { TRPCError, tracked, type TrackedEnvelope } from '@trpc/server';
import type { Metrics } from './telemetry.ts';

/**
 * One event, prepared once for every subscriber: its JSON is made once, and transports cache
 * their framed bytes on it, so a broadcast to N subscribers serializes once, not N times.
 */
export interface LiveEvent {
  /** Position in its feed; replay and de-duplication compare it. 0 for untracked events. */
  readonly seq: number;
  /** The `tracked()` id, or null for untracked events. */
  readonly id: string | null;
  readonly data: unknown;
  readonly json: string;
  /** When the event was stored, for the delivery-latency histogram. */
  readonly at: number;
  /** Cached SSE frame. */
  sse?: Buffer;
  /** Cached SSE frame as one HTTP/1.1 chunk (`<size>\r\n<frame>\r\n`), for chunked responses. */
  sseChunk?: Buffer;
}

export function liveEvent(
  data: unknown,
  id: string | null = null,
  seq = 0,
  at = Date.now(),
): LiveEvent {
  return { seq, id, data, json: JSON.stringify(data), at };
}

/** Where a subscription's events go: an SSE response, a socket, or an async iterator. */
export interface Sink {
  deliver(event: LiveEvent): void;
  /** The feed is over: an error ends it for the client, none means it finished. */
  end(error?: TRPCError): void;
  /** Resolves when the sink can take more (replay waits on it); undefined when it can now. */
  ready?(): Promise<void> | undefined;
  /** The backlog (snapshot, replay) is delivered: what follows is live. */
  live?(): void;
}

/** A subscriber: de-duplicates by `seq` and holds live events back while its backlog replays. */
class Subscriber {
  lastSeq = 0;
  private held: LiveEvent[] | null = [];

  constructor(
    readonly sink: Sink,
    private readonly select?: (event: LiveEvent) => LiveEvent | null,
  ) {}

  offer(event: LiveEvent): void {
    if (this.held === null) return this.forward(event);
    if (this.held.length >= MAX_HELD) {
      this.sink.end(slowConsumerError());
      return;
    }
    this.held.push(event);
  }

  forward(event: LiveEvent): void {
    if (event.seq !== 0) {
      if (event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
    }
    const chosen = this.select ? this.select(event) : event;
    if (chosen) this.sink.deliver(chosen);
  }

  goLive(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const event of held) this.forward(event);
  }
}

/** Live events arriving while a backlog replays; past this, the subscriber starts over. */
const MAX_HELD = 10_000;
const REPLAY_PAGE = 500;

/** A subscriber that fell too far behind: SSE drops the stream (the client resumes by replay). */
class SlowConsumerError extends TRPCError {
  constructor() {
    super({
      code: 'TOO_MANY_REQUESTS',
      message: 'Subscriber fell too far behind; resume from the last event id',
    });
  }
}
export const slowConsumerError = (): TRPCError => new SlowConsumerError();
export const isSlowConsumerError = (error: unknown): boolean => error instanceof SlowConsumerError;

/** The answer to a subscription past the caller's `PULSE_MAX_SUBSCRIPTIONS_PER_USER`. */
export const tooManySubscriptions = (max: number): TRPCError =>
  new TRPCError({
    code: 'TOO_MANY_REQUESTS',
    message: `At most ${max} open subscriptions per user: close some first`,
  });

/** Local fan-out: channels of subscribers on this instance, fed by the sources. */
export class Hub {
  private readonly channels = new Map<string, Set<Subscriber>>();

  constructor(readonly metrics: Metrics) {}

  dispatch(channel: string, event: LiveEvent): void {
    const subscribers = this.channels.get(channel);
    if (!subscribers) return;
    for (const subscriber of subscribers) {
      try {
        subscriber.offer(event);
      } catch (cause) {
        // One broken subscriber ends alone; the others still get the event.
        console.error(`Delivery on '${channel}' failed; ending that subscription`, cause);
        subscriber.sink.end(
          new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Delivery failed', cause }),
        );
      }
    }
  }

  has(channel: string): boolean {
    return this.channels.has(channel);
  }

  private attach(channel: string, subscriber: Subscriber): void {
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(subscriber);
  }

  private detach(channel: string, subscriber: Subscriber): void {
    const set = this.channels.get(channel);
    if (!set?.delete(subscriber)) return;
    if (set.size === 0) this.channels.delete(channel);
  }

  /**
   * Starts a feed into a sink: attach first, then replay from the database, then release what
   * arrived meanwhile, skipping what the replay already sent. Returns the function that ends it.
   */
  open(spec: FeedSpec, sink: Sink): () => void {
    const subscriber = new Subscriber(sink, spec.select);
    const channels = typeof spec.channel === 'string' ? [spec.channel] : spec.channel;
    let closed = false;
    for (const channel of channels) this.attach(channel, subscriber);
    this.metrics.counts.subscriptions++;
    const close = () => {
      if (closed) return;
      closed = true;
      for (const channel of channels) this.detach(channel, subscriber);
      this.metrics.counts.subscriptions--;
      spec.onClose?.();
    };
    spec.onOpen?.();
    void (async () => {
      if (spec.initial) for (const event of await spec.initial()) sink.deliver(event);
      if (spec.lastEventId && spec.replay) {
        let after = await spec.replay.resolve(spec.lastEventId);
        subscriber.lastSeq = after;
        for (;;) {
          const page = await spec.replay.after(after, REPLAY_PAGE);
          for (const event of page) subscriber.forward(event);
          const last = page.at(-1);
          if (closed || page.length < REPLAY_PAGE || !last) break;
          after = last.seq;
          await sink.ready?.();
        }
      }
      if (closed) return;
      subscriber.goLive();
      if (!closed) sink.live?.();
    })().catch((cause: unknown) => {
      close();
      sink.end(
        cause instanceof TRPCError
          ? cause
          : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Feed failed', cause }),
      );
    });
    return close;
  }
}

/** What a subscription streams, described rather than iterated, so transports can fan out cheaply. */
export interface FeedSpec {
  hub: Hub;
  /** One channel, or several whose events are merged (their `seq`s must share one order). */
  channel: string | readonly string[];
  lastEventId?: string | null | undefined;
  replay?: {
    /** The seq of `lastEventId`; throws `PRECONDITION_FAILED` when it cannot resume from there. */
    resolve(lastEventId: string): Promise<number>;
    /** Events after `seq`, oldest first, at most `limit`. */
    after(seq: number, limit: number): Promise<LiveEvent[]>;
  };
  /**
   * What this subscriber gets of each event, live or replayed: the event, another one in its
   * place (a variant made once and shared), or nothing. For what differs per subscriber, such
   * as their preferences.
   */
  select?: (event: LiveEvent) => LiveEvent | null;
  /** Events sent first, such as a snapshot of current state. */
  initial?: () => Promise<LiveEvent[]>;
  onOpen?: () => void;
  onClose?: () => void;
}

/** Most events an iterator consumer may leave unread before it is ended. */
const MAX_ITERATOR_QUEUE = 5_000;

/**
 * What a subscription resolver returns: a described feed. It is two things at once, on purpose
 * and in the open: an `AsyncIterable` (what tRPC documents a subscription returns, so tRPC's own
 * adapters and `createCaller` iterate it, one event at a time, like any other), and a described
 * value (`spec`: channel, replay, snapshot) that our SSE and WebSocket fast paths recognise with
 * `isFeed` and fan out from the hub without iterating. A class rather than a hidden property, so
 * the type says what a feed is and a reader finds both uses from here.
 */
export class Feed<TYield> implements AsyncIterable<TYield, void> {
  constructor(
    readonly spec: FeedSpec,
    private readonly wrap: (event: LiveEvent) => TYield,
  ) {}

  /** Starts the feed into a sink (the fast paths); returns the function that ends it. */
  open(sink: Sink): () => void {
    return this.spec.hub.open(this.spec, sink);
  }

  /** The generic path: each iteration is one subscriber, with a bounded queue of unread events. */
  [Symbol.asyncIterator](): AsyncIterator<TYield, void> {
    const { wrap } = this;
    const queue: TYield[] = [];
    let ended: { error?: TRPCError | undefined } | null = null;
    let wake: (() => void) | null = null;
    const close = this.open({
      deliver(event) {
        if (ended) return;
        if (queue.length >= MAX_ITERATOR_QUEUE) return this.end(slowConsumerError());
        queue.push(wrap(event));
        wake?.();
      },
      end(error) {
        ended ??= { error };
        close?.();
        wake?.();
      },
    });
    return {
      async next(): Promise<IteratorResult<TYield, void>> {
        for (;;) {
          if (queue.length > 0) return { value: queue.shift() as TYield, done: false };
          if (ended) {
            if (ended.error) throw ended.error;
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      },
      async return(): Promise<IteratorResult<TYield, void>> {
        ended ??= {};
        close();
        return { value: undefined, done: true };
      },
    };
  }
}

/** Whether a subscription's result is a `Feed` the fast paths can fan out. */
export function isFeed(value: unknown): value is Feed<unknown> {
  return value instanceof Feed;
}

/** A replayable feed: yields `tracked(id, data)`. */
export function trackedFeed<T>(spec: FeedSpec): Feed<TrackedEnvelope<T>> {
  return new Feed(spec, (e) => tracked(e.id ?? String(e.seq), e.data as T));
}

/** A feed of plain values (snapshots, batches): yields `data`. */
export function valueFeed<T>(spec: FeedSpec): Feed<T> {
  return new Feed(spec, (e) => e.data as T);
}

/**
 * Replay over a log whose ids encode their position: resumes only from an id the caller may
 * see, and answers `PRECONDITION_FAILED` otherwise, so the client refetches instead of
 * silently missing events.
 */
export function replayLog<T>(opts: {
  seqOf: (id: string) => number | null;
  mayResumeFrom: (seq: number) => Promise<boolean>;
  after: (seq: number, limit: number) => Promise<T[]>;
  toEvent: (row: T) => LiveEvent;
}): NonNullable<FeedSpec['replay']> {
  return {
    async resolve(id) {
      const seq = opts.seqOf(id);
      if (seq === null || !(await opts.mayResumeFrom(seq))) {
        throw new TRPCError({
          code: 'PRECONDITION_FAILED',
          message: `Cannot resume from '${id}': refetch and subscribe afresh`,
        });
      }
      return seq;
    },
    async after(seq, limit) {
      return (await opts.after(seq, limit)).map(opts.toEvent);
    },
  };
}
