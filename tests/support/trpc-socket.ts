import WebSocket from 'ws';
import { DEFAULT_TIMEOUT_MS, NoAnswerError } from './raw-http.ts';
import { clip, parseJson, type TrpcFrame } from './trpc-wire.ts';

/** The server refused the upgrade with this HTTP status. */
export class UpgradeRefusedError extends Error {
  constructor(readonly status: number) {
    super(`WebSocket upgrade refused with HTTP ${status}`);
    this.name = 'UpgradeRefusedError';
  }
}

export interface CloseInfo {
  code: number;
  reason: string;
}

/** What ended a wait: a frame, or the socket's close. */
export type FrameOrClose =
  { frame: TrpcFrame; close?: undefined } | { close: CloseInfo; frame?: undefined };

/** Matches the frames for `id` (compared as JSON, so `null` matches frames without one). */
export const forId =
  (id: unknown) =>
  (frame: TrpcFrame): boolean =>
    JSON.stringify(frame.id ?? null) === JSON.stringify(id ?? null);

export interface SocketOptions {
  /** Sent with the upgrade request (cookie, origin, host, authorization). */
  headers?: Record<string, string>;
  /** Sends `?connectionParams=1` and these params as the first message. */
  connectionParams?: Record<string, unknown>;
  timeoutMs?: number;
}

export const wsUrlOf = (url: string, connectionParams: boolean): string =>
  `${url.replace(/^http/, 'ws')}/trpc${connectionParams ? '?connectionParams=1' : ''}`;

/**
 * A raw WebSocket speaking tRPC's protocol by hand: every frame the server sends is kept, waits
 * are event-driven with deadlines, and anything can be sent (broken frames included). Answers
 * `PING` with `PONG` as tRPC's client does.
 */
export class TrpcSocket {
  /** JSON frames received, in order. */
  readonly frames: TrpcFrame[] = [];
  /** Text frames that were not JSON (besides PING/PONG). */
  readonly texts: string[] = [];
  closeInfo: CloseInfo | null = null;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const text = data.toString('utf8');
      if (!isBinary && text === 'PING') {
        if (ws.readyState === WebSocket.OPEN) ws.send('PONG');
        return;
      }
      if (!isBinary && text === 'PONG') return;
      const json = parseJson(text);
      if (typeof json === 'object' && json !== null && !Array.isArray(json)) this.frames.push(json);
      else this.texts.push(text);
      this.wake();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  private wake() {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Opens a socket; rejects with `UpgradeRefusedError` when the server answers the upgrade with a status. */
  static open(url: string, opts: SocketOptions = {}): Promise<TrpcSocket> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const ws = new WebSocket(wsUrlOf(url, opts.connectionParams !== undefined), {
      headers: opts.headers ?? {},
      perMessageDeflate: false,
    });
    const socket = new TrpcSocket(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new NoAnswerError('timeout', `WebSocket not open within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        if (opts.connectionParams !== undefined) {
          ws.send(JSON.stringify({ method: 'connectionParams', data: opts.connectionParams }));
        }
        resolve(socket);
      });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        res.resume();
        ws.terminate();
        reject(new UpgradeRefusedError(res.statusCode ?? 0));
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(new NoAnswerError('error', error.message));
      });
    });
  }

  /** The HTTP status of the upgrade: 101 when it opened (then closed again), else the refusal's. */
  static async upgradeStatus(
    url: string,
    headers: Record<string, string>,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<number> {
    try {
      const socket = await TrpcSocket.open(url, { headers, timeoutMs });
      await socket.close();
      return 101;
    } catch (error) {
      if (error instanceof UpgradeRefusedError) return error.status;
      throw error;
    }
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /**
   * Resolves with the first frame (already received or to come) that satisfies `match`; rejects
   * when the socket closes first or the deadline passes.
   */
  waitFor(
    match: (frame: TrpcFrame) => boolean,
    what: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<TrpcFrame> {
    return this.until<TrpcFrame>(
      () => {
        const found = this.frames.find(match);
        if (found) return { value: found };
        if (this.closeInfo) {
          return {
            error: new NoAnswerError(
              'closed',
              `socket closed (${this.closeInfo.code}) before ${what}`,
            ),
          };
        }
        return null;
      },
      () =>
        `${what} within ${timeoutMs} ms (last frames: ${clip(JSON.stringify(this.frames.slice(-3)))})`,
      timeoutMs,
    );
  }

  /**
   * Resolves with the first frame that satisfies `match` (already received or to come), or with
   * the close when the socket closes first.
   */
  frameOrClose(
    match: (frame: TrpcFrame) => boolean,
    what: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<FrameOrClose> {
    return this.until<FrameOrClose>(
      () => {
        const frame = this.frames.find(match);
        if (frame) return { value: { frame } };
        if (this.closeInfo) return { value: { close: this.closeInfo } };
        return null;
      },
      () => `${what} or a close within ${timeoutMs} ms`,
      timeoutMs,
    );
  }

  /** Resolves with the close, whenever it comes (bounded). */
  closed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CloseInfo> {
    return this.until<CloseInfo>(
      () => (this.closeInfo ? { value: this.closeInfo } : null),
      () => `a close within ${timeoutMs} ms`,
      timeoutMs,
    );
  }

  /** Resolves once `condition` holds (checked on every frame and on close); rejects at the deadline. */
  waitUntil(condition: () => boolean, what: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    return this.until<void>(
      () => (condition() ? { value: undefined } : null),
      () =>
        `${what} within ${timeoutMs} ms (last frames: ${clip(JSON.stringify(this.frames.slice(-3)))})`,
      timeoutMs,
    );
  }

  private until<T>(
    check: () => { value: T } | { error: Error } | null,
    describe: () => string,
    timeoutMs: number,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const settle = (result: { value: T } | { error: Error }) => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
        if ('value' in result) resolve(result.value);
        else reject(result.error);
      };
      const waiter = () => {
        const result = check();
        if (result) settle(result);
      };
      const timer = setTimeout(
        () => settle({ error: new NoAnswerError('timeout', describe()) }),
        timeoutMs,
      );
      this.waiters.add(waiter);
      waiter();
    });
  }

  /** A query or mutation; resolves with its answer frame (result or error). */
  async call(
    id: number | string,
    method: 'query' | 'mutation',
    path: string,
    input?: unknown,
  ): Promise<TrpcFrame> {
    this.send({ id, method, params: { path, input } });
    return this.waitFor(
      (f) => f.id === id && (f.result !== undefined || f.error !== undefined),
      `the answer to ${path}`,
    );
  }

  /** Starts a subscription; resolves with its `started` frame or its error frame. */
  async subscribe(
    id: number | string,
    path: string,
    input?: unknown,
    lastEventId?: string,
  ): Promise<TrpcFrame> {
    this.send({
      id,
      method: 'subscription',
      params: { path, input, ...(lastEventId ? { lastEventId } : {}) },
    });
    return this.waitFor(
      (f) => f.id === id && (f.result?.type === 'started' || f.error !== undefined),
      `the start of ${path} (id ${id})`,
    );
  }

  /** Frames received for `id`. */
  framesFor(id: unknown): TrpcFrame[] {
    return this.frames.filter(forId(id));
  }

  /** Closes cleanly and waits for the close (terminates when the server does not answer). */
  async close(): Promise<void> {
    if (this.closeInfo) return;
    if (this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
    } else {
      this.ws.close(1000);
    }
    await this.closed(5000).catch(() => this.ws.terminate());
  }

  terminate(): void {
    this.ws.terminate();
  }
}
