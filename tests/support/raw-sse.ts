import { connect, type Socket } from 'node:net';
import { parseSseFrames } from './raw-http.ts';

export interface SseFrame {
  event: string;
  id: string | null;
  data: string;
}

/**
 * A bare SSE client over a plain TCP socket: exact frames, no reconnect, and real control over
 * reading (a paused socket stops reading from the kernel, as a stalled browser would). Unlike
 * Node's HTTP client, it keeps what arrived before the server hung up.
 */
export function openRawSse(
  url: string,
  headers: Record<string, string> = {},
  /** A POST with this JSON body (the live stream, `/trpc-live`) instead of a GET. */
  post?: string,
) {
  const target = new URL(url);
  const frames: SseFrame[] = [];
  let raw = Buffer.alloc(0);
  let body = '';
  let status = 0;
  let headersDone = false;
  let ended = false;
  /** The chunked body's last (empty) chunk arrived: the server ended the response cleanly. */
  let complete = false;
  let markClosed: (at: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => (markClosed = resolve));

  function parseFrames() {
    const parsed = parseSseFrames(body);
    frames.push(...parsed.frames);
    body = parsed.rest;
  }

  // Decodes `Transfer-Encoding: chunked` as far as complete chunks go.
  function decode() {
    if (!headersDone) {
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) return;
      status = Number(raw.subarray(0, end).toString('latin1').split(' ')[1]);
      raw = raw.subarray(end + 4);
      headersDone = true;
    }
    for (;;) {
      const lineEnd = raw.indexOf('\r\n');
      if (lineEnd === -1) return;
      const size = parseInt(raw.subarray(0, lineEnd).toString('latin1'), 16);
      if (raw.length < lineEnd + 2 + size + 2) return;
      body += raw.subarray(lineEnd + 2, lineEnd + 2 + size).toString('utf8');
      raw = raw.subarray(lineEnd + 2 + size + 2);
      parseFrames();
      if (size === 0) {
        complete = true;
        return;
      }
    }
  }

  const socket: Socket = connect(Number(target.port), target.hostname);
  const lines = [
    `${post === undefined ? 'GET' : 'POST'} ${target.pathname}${target.search} HTTP/1.1`,
    `Host: ${target.host}`,
    'Accept: text/event-stream',
    ...(post === undefined
      ? []
      : ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(post)}`]),
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n${post ?? ''}`);
  socket.on('data', (chunk: Buffer) => {
    raw = Buffer.concat([raw, chunk]);
    decode();
  });
  socket.on('close', () => {
    ended = true;
    markClosed(performance.now());
  });
  socket.on('error', () => (ended = true));

  return {
    frames,
    get status() {
      return status;
    },
    get ended() {
      return ended;
    },
    /** Whether the response ended cleanly (its last chunk came) rather than being cut. */
    get complete() {
      return complete;
    },
    /** Resolves with `performance.now()` when the connection closes (unbounded: race it). */
    closed,
    /** Data frames (events with no name), parsed. */
    data<T>(): { id: string | null; data: T }[] {
      return frames
        .filter((f) => f.event === 'message')
        .map((f) => ({ id: f.id, data: JSON.parse(f.data) as T }));
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    /** Cuts the connection without a goodbye. */
    destroy: () => socket.destroy(),
  };
}

export const subscriptionUrl = (base: string, path: string, input?: unknown) =>
  `${base}/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`;
