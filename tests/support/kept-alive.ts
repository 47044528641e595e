import { connect, type Socket } from 'node:net';
import { DEFAULT_TIMEOUT_MS, NoAnswerError, type HttpAnswer } from './raw-http.ts';

/**
 * One kept-alive HTTP/1.1 connection, written by hand: requests go out one at a time on the
 * same socket, and each answer is read up to its `Content-Length` (or the connection's end).
 * For what only a connection opened earlier can show, such as a draining server answering on
 * it after it stopped taking new ones.
 */
export class KeptAliveConnection {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static open(url: string): Promise<KeptAliveConnection> {
    const target = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(target.port), target.hostname);
      socket.once('connect', () => resolve(new KeptAliveConnection(socket, target.host)));
      socket.once('error', reject);
    });
  }

  /** Sends a request (`head` lines after the request line, without Host) and reads its answer. */
  request(
    method: string,
    path: string,
    head: string[] = [],
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<HttpAnswer> {
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${this.host}`, ...head];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new NoAnswerError('timeout', `no answer to ${method} ${path} in ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        const answer = this.take();
        if (answer) {
          clearTimeout(timer);
          this.waiter = null;
          resolve(answer);
        } else if (this.closed) {
          clearTimeout(timer);
          this.waiter = null;
          reject(new NoAnswerError('closed', `the connection closed before answering ${path}`));
        }
      };
      this.waiter = check;
      check();
    });
  }

  /** The first complete answer in the buffer, taken out of it; null while incomplete. */
  private take(): HttpAnswer | null {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end === -1) return null;
    const [statusLine = '', ...headerLines] = this.buffer
      .subarray(0, end)
      .toString('latin1')
      .split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    const rest = this.buffer.subarray(end + 4);
    if (headers['transfer-encoding'] === 'chunked') {
      let body = '';
      let at = 0;
      for (;;) {
        const lineEnd = rest.indexOf('\r\n', at);
        if (lineEnd === -1) return null;
        const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
        if (rest.length < lineEnd + 2 + size + 2) return null;
        body += rest.subarray(lineEnd + 2, lineEnd + 2 + size).toString('utf8');
        at = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      this.buffer = rest.subarray(at);
      return { status, headers, body };
    }
    const length = Number(headers['content-length'] ?? NaN);
    const bodyEnd = Number.isNaN(length) ? (this.closed ? rest.length : -1) : length;
    if (bodyEnd === -1 || rest.length < bodyEnd) return null;
    this.buffer = rest.subarray(bodyEnd);
    return { status, headers, body: rest.subarray(0, bodyEnd).toString('utf8') };
  }

  /** Resolves once the server has closed the connection (bounded). */
  whenClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new NoAnswerError('timeout', `the connection still open after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}
