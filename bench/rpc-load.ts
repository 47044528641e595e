/**
 * The load of bench/rpc.ts: connections that each keep one request in flight, sending the next
 * as soon as the answer arrives, and checking every answer. HTTP goes over raw kept-alive
 * sockets (the request's exact bytes, written again and again; answers read by the test
 * suite's `completeResponse`), so the load costs far less per request than `node:http` would;
 * WebSockets go through `ws`.
 */
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { completeResponse } from '../tests/support/raw-http.ts';
import { coreBusySeconds, cpuSeconds, sleep } from './common.ts';
import { Histogram, pinning } from './bench-proc.ts';

/** What a right answer's JSON looks like. */
export interface Expected {
  /** Said in a failure's description: `not <what>`. */
  what: string;
  ok: (json: unknown) => boolean;
}

/** One connection answering one request at a time. */
export interface Channel {
  /** Sends the request; resolves with what is wrong with the answer, or null when it is right. */
  call(): Promise<string | null>;
  close(): void;
  /** Bytes of the last answer: its body (HTTP) or its frame (WebSocket). */
  answerBytes: number;
}

/** A socket that has sent nothing and received nothing for this long is ended (and the call fails). */
const IDLE_TIMEOUT_MS = 10_000;

const clip = (text: string) => (text.length > 160 ? `${text.slice(0, 160)}…` : text);

function judge(text: string, expected: Expected): string | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return `not JSON: ${clip(text)}`;
  }
  return expected.ok(json) ? null : `not ${expected.what}: ${clip(text)}`;
}

/**
 * A kept-alive HTTP/1.1 connection to `target` that sends `request` (its exact bytes) per call
 * and expects 200 with `expected` JSON. A connection the server ended is opened again.
 */
export function httpChannel(target: URL, request: Buffer, expected: Expected): Channel {
  let socket: Socket | null = null;
  let received: Buffer = Buffer.alloc(0);
  let pending: ((problem: string | null) => void) | null = null;
  const settle = (problem: string | null) => {
    const resolve = pending;
    pending = null;
    resolve?.(problem);
  };
  const open = (): Socket => {
    const s = connect(Number(target.port), target.hostname);
    s.setNoDelay(true);
    s.setTimeout(IDLE_TIMEOUT_MS, () => s.destroy(new Error(`no answer in ${IDLE_TIMEOUT_MS} ms`)));
    s.on('data', (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const answer = completeResponse(received, false);
      if (!answer) return;
      received = Buffer.alloc(0);
      channel.answerBytes = Buffer.byteLength(answer.body);
      settle(
        answer.status === 200
          ? judge(answer.body, expected)
          : `HTTP ${answer.status}: ${clip(answer.body)}`,
      );
    });
    s.on('error', (error) => settle(`connection failed: ${error.message}`));
    s.on('close', () => {
      if (socket === s) socket = null;
      settle('connection closed before the answer');
    });
    return s;
  };
  const channel: Channel = {
    call() {
      const s = (socket ??= open());
      received = Buffer.alloc(0);
      return new Promise((resolve) => {
        pending = resolve;
        s.write(request);
      });
    },
    close() {
      socket?.destroy();
      socket = null;
    },
    answerBytes: 0,
  };
  return channel;
}

/**
 * The bytes of one request as a browser's `fetch` sends it on a kept-alive connection; an
 * `Accept` in `headers` replaces fetch's "any type" (an EventSource sends `text/event-stream`).
 */
export function httpRequestBytes(
  target: URL,
  method: 'GET' | 'POST',
  path: string,
  { Accept = '*/*', ...headers }: Record<string, string>,
): Buffer {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${target.host}`,
    `Accept: ${Accept}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    // What tRPC's httpLink sends for a mutation without input: JSON content type, empty body.
    ...(method === 'POST' ? ['Content-Type: application/json', 'Content-Length: 0'] : []),
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/**
 * A WebSocket to `url` (upgraded with `headers`) that sends `frame(id)` per call, ids counting up
 * from 1, and expects the answer to that id with `expected` JSON. Rejects when it cannot open.
 */
export function wsChannel(
  url: string,
  headers: Record<string, string>,
  frame: (id: number) => string,
  expected: Expected,
): Promise<Channel> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  let id = 0;
  let closed: string | null = null;
  let pending: ((problem: string | null) => void) | null = null;
  const settle = (problem: string | null) => {
    const resolve = pending;
    pending = null;
    resolve?.(problem);
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const text = data.toString();
    if (!isBinary && text === 'PING') return ws.send('PONG');
    channel.answerBytes = data.length;
    const problem = judge(text, {
      what: `${expected.what} for request ${id}`,
      ok: (json) => (json as { id?: unknown }).id === id && expected.ok(json),
    });
    settle(problem);
  });
  ws.on('close', (code, reason) => {
    closed = `socket closed (${code} ${reason.toString()})`;
    settle(closed);
  });
  const channel: Channel = {
    call() {
      if (closed) return Promise.resolve(closed);
      return new Promise((resolve) => {
        pending = resolve;
        ws.send(frame(++id));
      });
    },
    close: () => ws.terminate(),
    answerBytes: 0,
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(channel));
    // Before `open` (a refused upgrade: "Unexpected server response: 401"), or after it, when
    // `close` follows and fails the call in flight.
    ws.on('error', reject);
  });
}

/** One scenario's figures, from its measured phase (failures: over the warm-up too). */
export interface Measured {
  /** Right answers that arrived in the measured phase. */
  requests: number;
  seconds: number;
  requestsPerS: number;
  latencyMs: { p50: number; p99: number; max: number };
  serverCpuUsPerRequest: number;
  /** Share of one core the server and the load used. */
  serverCpuShare: number;
  loadCpuShare: number;
  /** Share of CPU 0 (the server's) and CPU 1 (the load's) other processes took; NaN unpinned. */
  otherShareServerCore: number;
  otherShareLoadCore: number;
  /** Wrong answers and failed calls, warm-up included, and the first few of them. */
  failures: number;
  failureSamples: string[];
  /** Bytes of one right answer (body or frame). */
  answerBytes: number;
}

/**
 * Runs every channel flat out, one call in flight each: `warmupS` unmeasured, then `seconds`
 * measured (answers that arrive in it, and the server's CPU from /proc over it).
 */
export async function closedLoop(
  channels: Channel[],
  opts: { pid: number; warmupS: number; seconds: number },
): Promise<Measured> {
  let phase: 'warmup' | 'measured' | 'done' = 'warmup';
  const hist = new Histogram();
  let requests = 0;
  let maxLatency = 0;
  let failures = 0;
  const failureSamples: string[] = [];
  const workers = channels.map(async (channel) => {
    while (phase !== 'done') {
      const sent = performance.now();
      const problem = await channel.call();
      if (problem !== null) {
        failures++;
        if (failureSamples.length < 5) failureSamples.push(problem);
        // A server that refuses at once must not turn the loop into a flood of failures.
        await sleep(10);
      } else if (phase === 'measured') {
        const latency = performance.now() - sent;
        requests++;
        hist.add(latency);
        if (latency > maxLatency) maxLatency = latency;
      }
    }
  });
  await sleep(opts.warmupS * 1000);
  const cpu0 = cpuSeconds(opts.pid);
  const load0 = process.cpuUsage();
  const cores0 = [coreBusySeconds(0), coreBusySeconds(1)];
  const t0 = performance.now();
  phase = 'measured';
  await sleep(opts.seconds * 1000);
  phase = 'done';
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(opts.pid) - cpu0;
  const load = process.cpuUsage(load0);
  const loadS = (load.user + load.system) / 1e6;
  const other = (core: 0 | 1, own: number) =>
    pinning ? Math.max(0, (coreBusySeconds(core) - (cores0[core] ?? NaN) - own) / seconds) : NaN;
  await Promise.all(workers);
  return {
    requests,
    seconds,
    requestsPerS: requests / seconds,
    latencyMs: { p50: hist.percentile(0.5), p99: hist.percentile(0.99), max: maxLatency },
    serverCpuUsPerRequest: (cpu * 1e6) / Math.max(1, requests),
    serverCpuShare: cpu / seconds,
    loadCpuShare: loadS / seconds,
    otherShareServerCore: other(0, cpu),
    otherShareLoadCore: other(1, loadS),
    failures,
    failureSamples,
    answerBytes: channels[0]?.answerBytes ?? 0,
  };
}
