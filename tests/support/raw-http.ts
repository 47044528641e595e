import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { SseFrame } from './raw-sse.ts';

/**
 * HTTP clients for hostile traffic: exact bytes over `node:net` (nothing normalizes the URL or
 * the headers), `node:http` for ordinary requests with any `Host`, and an SSE reader that stops
 * at the first frame that decides the outcome. Every call has a deadline, and a request that
 * gets no complete response rejects with `NoAnswerError`, never hangs.
 */

export interface HttpAnswer {
  status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
}

/** No complete response arrived: the deadline passed, or the connection ended or failed first. */
export class NoAnswerError extends Error {
  constructor(
    readonly reason: 'timeout' | 'closed' | 'error',
    detail: string,
  ) {
    super(`no answer (${reason}): ${detail}`);
    this.name = 'NoAnswerError';
  }
}

export const DEFAULT_TIMEOUT_MS = 10_000;

interface Head {
  status: number;
  headers: Record<string, string>;
  /** Bytes after the blank line that ends the head. */
  rest: Buffer;
}

function parseHead(buf: Buffer): Head | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0]?.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status, headers, rest: buf.subarray(end + 4) };
}

/** Decodes complete chunks; `done` once the last (empty) chunk arrived. */
function dechunk(buf: Buffer): { body: Buffer; done: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) break;
    if (buf.length < lineEnd + 2 + size + 2) break;
    if (size === 0) return { body: Buffer.concat(parts), done: true };
    parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return { body: Buffer.concat(parts), done: false };
}

/** The response in `buf`, once complete; `ended` says the peer closed (a body without length ends there). */
export function completeResponse(buf: Buffer, ended: boolean): HttpAnswer | null {
  const head = parseHead(buf);
  if (!head) return null;
  const { status, headers, rest } = head;
  const answer = (body: Buffer): HttpAnswer => ({ status, headers, body: body.toString('utf8') });
  if (status === 204 || status === 304 || (status >= 100 && status < 200))
    return answer(Buffer.alloc(0));
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
    const { body, done } = dechunk(rest);
    return done ? answer(body) : null;
  }
  const length = headers['content-length'];
  if (length !== undefined) {
    const n = Number(length);
    return rest.length >= n ? answer(rest.subarray(0, n)) : null;
  }
  return ended ? answer(rest) : null;
}

/**
 * Sends exactly `bytes` to the server of `url` and resolves with the first complete response.
 * `url` only names the server (`http://127.0.0.1:port`).
 */
export function rawRequest(
  url: string,
  bytes: string | Buffer,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<HttpAnswer> {
  return exchange<HttpAnswer>(
    new URL(url),
    typeof bytes === 'string' ? Buffer.from(bytes) : bytes,
    { ms: timeoutMs, message: () => `nothing complete within ${timeoutMs} ms` },
    (buf, ended, finish, error) => {
      const answer = completeResponse(buf, ended);
      if (answer) finish(answer);
      else if (error) finish(new NoAnswerError('error', error.message));
      else if (ended) finish(new NoAnswerError('closed', `closed after ${buf.length} bytes`));
    },
  );
}

/**
 * One exchange on a fresh connection: sends `bytes` (paced, until the server answers), and after
 * every chunk received, and once more when the connection ends or fails (`ended`, with the
 * `error` if any), lets `read` look at all bytes so far and settle with `finish`: a result, or a
 * `NoAnswerError`. The first settlement wins; it clears the deadline and closes the connection.
 */
function exchange<T>(
  target: URL,
  bytes: Buffer,
  deadline: { ms: number; message: () => string },
  read: (
    buf: Buffer,
    ended: boolean,
    finish: (result: T | NoAnswerError) => void,
    error?: Error,
  ) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname);
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (result: T | NoAnswerError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof NoAnswerError) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(
      () => finish(new NoAnswerError('timeout', deadline.message())),
      deadline.ms,
    );
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      read(buf, false, finish);
    });
    socket.on('end', () => read(buf, true, finish));
    socket.on('close', () => read(buf, true, finish));
    socket.on('error', (error) => read(buf, true, finish, error));
    writePaced(socket, bytes, () => settled || buf.length > 0);
  });
}

/** Past this, a request goes out in pieces, and stops once the server has answered. */
const PACED_ABOVE = 64 * 1024;
const PIECE = 16 * 1024;

/**
 * Writes `bytes`; a large request goes in pieces, yielding between them and stopping as soon as
 * `answered()`. A server that refuses an oversized head (Node's 431) answers and closes while the
 * client still writes: a client that writes on into the reset may lose the answer it was sent.
 */
function writePaced(socket: Socket, bytes: Buffer, answered: () => boolean): void {
  if (bytes.length <= PACED_ABOVE) {
    socket.write(bytes);
    return;
  }
  let at = 0;
  const next = () => {
    if (answered() || socket.destroyed || at >= bytes.length) return;
    const piece = bytes.subarray(at, at + PIECE);
    at += piece.length;
    socket.write(piece, () => setImmediate(next));
  };
  next();
}

/** `METHOD path HTTP/1.1` with the given headers (in order) and `Connection: close`, as bytes. */
export function rawHead(method: string, path: string, headers: [string, string][]): string {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    ...headers.map(([k, v]) => `${k}: ${v}`),
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export interface HttpRequestOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** Defaults to a fresh connection per request (`Connection: close`). */
  agent?: Agent;
  /**
   * A fresh keep-alive connection instead, closed once answered: a server that refuses a body
   * early may then read on and discard it rather than reset the connection under the answer.
   */
  keepAlive?: boolean;
}

/** One request through `node:http` (which sends `Host` and the path as given). */
export function httpRequest(url: string, opts: HttpRequestOptions): Promise<HttpAnswer> {
  if (opts.keepAlive) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    return httpRequest(url, { ...opts, keepAlive: false, agent }).finally(() => agent.destroy());
  }
  const { hostname, port } = new URL(url);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: NoAnswerError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new NoAnswerError('timeout', `${opts.method ?? 'GET'} ${opts.path.slice(0, 80)}`)),
      timeoutMs,
    );
    const req = request(
      {
        host: hostname,
        port: Number(port),
        method: opts.method ?? 'GET',
        path: opts.path,
        headers: opts.headers,
        agent: opts.agent ?? false,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined)
              headers[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers,
            body: Buffer.concat(parts).toString('utf8'),
          });
        });
        res.on('error', (error) => fail(new NoAnswerError('error', error.message)));
        res.on('aborted', () => fail(new NoAnswerError('closed', 'response aborted')));
      },
    );
    req.on('error', (error) => fail(new NoAnswerError('error', error.message)));
    req.end(opts.body);
  });
}

/** What an SSE request came to: a non-200 answer, or the frames up to the deciding one. */
export interface SseOutcome {
  status: number;
  headers: Record<string, string>;
  /** The body of a non-200 answer; empty for a stream. */
  body: string;
  frames: SseFrame[];
}

/** Frames of an SSE body (`retry:`-only blocks are skipped). */
export function parseSseFrames(text: string): { frames: SseFrame[]; rest: string } {
  const frames: SseFrame[] = [];
  let rest = text;
  let cut: number;
  while ((cut = rest.indexOf('\n\n')) !== -1) {
    const block = rest.slice(0, cut);
    rest = rest.slice(cut + 2);
    const frame: SseFrame = { event: 'message', id: null, data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') frame.event = value;
      else if (field === 'id') frame.id = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0 && frame.event === 'message') continue;
    frame.data = data.join('\n');
    frames.push(frame);
  }
  return { frames, rest };
}

/** Frames that settle a subscription attempt: an error, data, or the end of the stream. */
export const isDecidingFrame = (f: SseFrame): boolean =>
  f.event !== 'connected' && f.event !== 'ping';

/**
 * `GET path` (or `method` with `body`) as an SSE client (raw bytes, so the path and headers go out exactly as given), read
 * until a frame satisfies `stop` (by default: the first error, data or `return` frame), then cut.
 * A non-200 answer resolves with its body and no frames.
 */
export function sseUntil(
  url: string,
  path: string,
  headers: Record<string, string> = {},
  opts: {
    stop?: (frame: SseFrame) => boolean;
    timeoutMs?: number;
    method?: string;
    body?: string;
  } = {},
): Promise<SseOutcome> {
  const stop = opts.stop ?? isDecidingFrame;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const target = new URL(url);
  let frames: SseFrame[] = [];
  const describe = () => frames.map((f) => f.event).join(', ') || 'none';
  const body = opts.body === undefined ? null : Buffer.from(opts.body);
  const lines = [
    `${opts.method ?? 'GET'} ${path} HTTP/1.1`,
    `Host: ${target.host}`,
    'Accept: text/event-stream',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ...(body ? [`Content-Length: ${body.length}`] : []),
  ];
  const requestHead = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
  return exchange<SseOutcome>(
    target,
    body ? Buffer.concat([requestHead, body]) : requestHead,
    {
      ms: timeoutMs,
      message: () => `no deciding SSE frame within ${timeoutMs} ms (frames: ${describe()})`,
    },
    (buf, ended, finish) => {
      const head = parseHead(buf);
      if (!head) {
        if (ended) finish(new NoAnswerError('closed', `closed after ${buf.length} bytes`));
        return;
      }
      if (head.status !== 200 || !head.headers['content-type']?.startsWith('text/event-stream')) {
        const answer = completeResponse(buf, ended);
        if (answer) finish({ ...answer, frames: [] });
        else if (ended) finish(new NoAnswerError('closed', `incomplete ${head.status} response`));
        return;
      }
      const chunked = head.headers['transfer-encoding']?.toLowerCase().includes('chunked') ?? false;
      const text = (chunked ? dechunk(head.rest).body : head.rest).toString('utf8');
      frames = parseSseFrames(text).frames;
      if (frames.some(stop)) {
        finish({ status: head.status, headers: head.headers, body: '', frames });
      } else if (ended) {
        finish(
          new NoAnswerError(
            'closed',
            `stream ended before a deciding frame (frames: ${describe()})`,
          ),
        );
      }
    },
  );
}

/**
 * Sends a request head, then body bytes as fast as the server takes them, until it answers or
 * `totalBytes` are out (`chunked`: Transfer-Encoding chunked instead of Content-Length). Says how
 * many body bytes were sent when the answer came: a server that reads a body into memory before
 * answering has taken all of it by then.
 */
export function uploadUntilAnswered(
  url: string,
  opts: {
    path: string;
    headers: [string, string][];
    totalBytes: number;
    chunked: boolean;
    timeoutMs?: number;
  },
): Promise<{ answer: HttpAnswer; bytesSent: number }> {
  const { hostname, port } = new URL(url);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const piece = Buffer.alloc(64 * 1024, 'a');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    let sent = 0;
    let settled = false;
    const finish = (result: HttpAnswer | NoAnswerError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof NoAnswerError) reject(result);
      else resolve({ answer: result, bytesSent: sent });
    };
    const timer = setTimeout(
      () =>
        finish(
          new NoAnswerError('timeout', `no answer within ${timeoutMs} ms after ${sent} body bytes`),
        ),
      timeoutMs,
    );
    // One piece per turn, stopping as soon as the server starts answering: bytes written into
    // a connection the server has reset would cost the answer it already sent.
    const pump = () => {
      if (settled || socket.destroyed || buf.length > 0) return;
      if (sent >= opts.totalBytes) {
        if (opts.chunked) socket.write('0\r\n\r\n');
        return;
      }
      const size = Math.min(piece.length, opts.totalBytes - sent);
      const bytes = piece.subarray(0, size);
      const frame = opts.chunked
        ? Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), bytes, Buffer.from('\r\n')])
        : bytes;
      sent += size;
      if (socket.write(frame)) setImmediate(pump);
      else socket.once('drain', pump);
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const answer = completeResponse(buf, false);
      if (answer) finish(answer);
    });
    const ended = (detail: string) =>
      finish(
        completeResponse(buf, true) ??
          new NoAnswerError('closed', `${detail} after ${sent} body bytes`),
      );
    socket.on('close', () => ended('closed'));
    socket.on('error', (error) => ended(error.message));
    const lengthHeader: [string, string] = opts.chunked
      ? ['Transfer-Encoding', 'chunked']
      : ['Content-Length', String(opts.totalBytes)];
    // A keep-alive request, as browsers and programs send: the server may answer early and
    // read on (discarding) rather than close on bytes in flight.
    const head = [
      `POST ${opts.path} HTTP/1.1`,
      ...[...opts.headers, lengthHeader].map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    pump();
  });
}

/** A keep-alive agent for many ordinary requests (load generators). */
export const keepAliveAgent = (maxSockets = 32): Agent =>
  new Agent({ keepAlive: true, maxSockets });

/**
 * An SSE stream held open (raw bytes over `node:net`), with event-driven waits on its frames;
 * `close()` cuts it as a client that goes away does.
 */
export class SseStream {
  status = 0;
  readonly frames: SseFrame[] = [];
  ended = false;
  private buf = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();
  private readonly socket: Socket;

  constructor(url: string, path: string, headers: Record<string, string> = {}) {
    const target = new URL(url);
    this.socket = connect(Number(target.port), target.hostname);
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${target.host}`,
      'Accept: text/event-stream',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.parse();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    this.socket.on('close', end);
    this.socket.on('error', end);
  }

  private parse() {
    const head = parseHead(this.buf);
    if (!head) return;
    this.status = head.status;
    const chunked = head.headers['transfer-encoding']?.toLowerCase().includes('chunked') ?? false;
    const text = (chunked ? dechunk(head.rest).body : head.rest).toString('utf8');
    const { frames } = parseSseFrames(text);
    this.frames.splice(0, this.frames.length, ...frames);
    this.wake();
  }

  private wake() {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** The first frame that satisfies `match`; rejects when the stream ends first or the deadline passes. */
  waitFor(
    match: (frame: SseFrame) => boolean,
    what: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<SseFrame> {
    return new Promise((resolve, reject) => {
      const settle = (result: SseFrame | NoAnswerError) => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
        if (result instanceof NoAnswerError) reject(result);
        else resolve(result);
      };
      const waiter = () => {
        const frame = this.frames.find(match);
        if (frame) settle(frame);
        else if (this.ended)
          settle(
            new NoAnswerError('closed', `the stream ended before ${what} (HTTP ${this.status})`),
          );
      };
      const timer = setTimeout(() => {
        const seen = this.frames.map((f) => f.event).join(', ') || 'none';
        settle(
          new NoAnswerError(
            'timeout',
            `${what} within ${timeoutMs} ms (HTTP ${this.status}, frames: ${seen})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
      waiter();
    });
  }

  /** The first frame after `connected`: data when the subscription was accepted, an error when not. */
  firstDeciding(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SseFrame> {
    return this.waitFor(isDecidingFrame, 'a data or error frame', timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}
