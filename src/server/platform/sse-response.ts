import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { LiveEvent } from './hub.ts';
import type { Metrics } from './telemetry.ts';
import { sseWire } from './trpc-internals.ts';

/** The headers of every event stream: no caching, no buffering by proxies (nginx reads the last). */
export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
} as const;

const PING = Buffer.from(sseWire.ping);

/**
 * One open event-stream response, whatever it carries (one subscription, sse.ts; many,
 * sse-live.ts): its writes are bounded (a reader past `slowConsumerBytes` of unsent bytes is
 * dropped and resumes by replay), it is pinged, and replay waits on it.
 */
export abstract class SseResponse {
  protected done = false;
  private checking = false;

  constructor(
    protected readonly res: ServerResponse,
    protected readonly metrics: Metrics,
    private readonly slowConsumerBytes: number,
    /** The socket events are written to directly, if any (see SseConnection). */
    protected readonly socket: Socket | null = null,
  ) {}

  /** Counts a delivered event, and drops the reader when too much of what it was sent is unsent. */
  protected delivered(event: LiveEvent): void {
    const { metrics, slowConsumerBytes } = this;
    metrics.counts.delivered++;
    metrics.deliveryLatency.observe((Date.now() - event.at) / 1000);
    // tRPC would pause here and queue forever; past the bound the reader resumes by replay.
    if (!this.checking && this.res.writableLength > slowConsumerBytes) {
      this.checking = true;
      // Writes made in one tick are corked until the next: judge the backlog only once the
      // socket has had its chance to flush, so a burst to a healthy reader is not a drop.
      setImmediate(() => {
        this.checking = false;
        if (this.res.writableLength > slowConsumerBytes) this.drop();
      });
    }
  }

  /** Ends the connection without a goodbye: the client reconnects and resumes from its last ids. */
  drop(): void {
    if (this.done) return;
    this.done = true;
    this.metrics.counts.dropped++;
    this.res.destroy();
  }

  /** Resolves when the reader has taken what it was sent; undefined when it has. */
  ready(): Promise<void> | undefined {
    const socket = this.socket;
    if (!this.res.writableNeedDrain && !(socket?.writableNeedDrain ?? false)) return undefined;
    return new Promise((resolve) => {
      const settle = () => {
        this.res.off('drain', settle);
        this.res.off('close', settle);
        socket?.off('drain', settle);
        resolve();
      };
      this.res.on('drain', settle);
      this.res.on('close', settle);
      // Direct writes fill the socket, whose 'drain' the response does not repeat.
      socket?.on('drain', settle);
    });
  }

  ping(): void {
    if (!this.done) this.res.write(PING);
  }

  /**
   * Ends cleanly without a `return` event (a drain): clients reconnect with their last event ids,
   * to another instance or this one once it is back. The connection goes too, so that the
   * reconnect opens a new one (through the balancer) instead of reusing this one.
   */
  protected endForRestart(): void {
    if (this.done) return;
    this.done = true;
    const socket = this.res.socket;
    this.res.end(() => socket?.end());
  }
}
