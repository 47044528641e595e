/**
 * The load of bench/connections.ts: WebSockets opened as fast as the server accepts them and then
 * closed (raw sockets: the upgrade's bytes and a close frame), and subscriptions held open over
 * SSE (raw sockets, frames found with `indexOf` as bench/load.ts finds them) and WebSocket (`ws`,
 * any number of subscriptions a socket), each subscription tallying the events of the measured
 * phase by id. Servers are measured from /proc.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { coreBusySeconds, cpuSeconds, rssKiB, sleep } from './common.ts';
import { Histogram, pinning, wallNow } from './bench-proc.ts';
import { rssReading, type Collector } from './heap.ts';
import { httpRequestBytes } from './rpc-load.ts';

const OPEN_TIMEOUT_MS = 30_000;
const CREATED_AT = '"createdAt":"';
const ISO_LENGTH = 24; // 2025-01-01T00:00:00.000Z

const clip = (text: string) => (text.length > 160 ? `${text.slice(0, 160)}…` : text);
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Runs `task(i)` for every i < count, at most `inFlight` at once; resolves with what failed. */
export async function bounded(
  count: number,
  inFlight: number,
  task: (i: number) => Promise<void>,
): Promise<string[]> {
  let next = 0;
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) {
        const i = next++;
        await task(i).catch((error: unknown) => failures.push(messageOf(error)));
      }
    }),
  );
  return failures;
}

// ---------------------------------------------------------------------------------------------
// Measuring.

/** What the server and the load used over a stretch of time. */
export interface Metered {
  seconds: number;
  serverCpuS: number;
  /** Share of one core the load (this process) used. */
  loadCpuShare: number;
  /** Share of CPU 0 (the server's) and CPU 1 (the load's) other processes took; NaN unpinned. */
  otherShareServerCore: number;
  otherShareLoadCore: number;
}

/** Starts measuring `pid` and this process; the function it returns stops and tells. */
export function meter(pid: number): () => Metered {
  const cpu0 = cpuSeconds(pid);
  const load0 = process.cpuUsage();
  const cores0 = [coreBusySeconds(0), coreBusySeconds(1)];
  const t0 = performance.now();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const serverCpuS = cpuSeconds(pid) - cpu0;
    const load = process.cpuUsage(load0);
    const loadS = (load.user + load.system) / 1e6;
    const other = (core: 0 | 1, own: number) =>
      pinning ? Math.max(0, (coreBusySeconds(core) - (cores0[core] ?? NaN) - own) / seconds) : NaN;
    return {
      seconds,
      serverCpuS,
      loadCpuShare: loadS / seconds,
      otherShareServerCore: other(0, serverCpuS),
      otherShareLoadCore: other(1, loadS),
    };
  };
}

/**
 * The server's RSS once it stops moving: sampled every 250 ms until the last five readings lie
 * within 1% of each other (at most 15 s), then their median.
 */
export async function settledRssKiB(pid: number): Promise<number> {
  const samples: number[] = [];
  const deadline = performance.now() + 15_000;
  for (;;) {
    samples.push(rssKiB(pid));
    const last = samples.slice(-5).sort((a, b) => a - b);
    const spread = (last.at(-1) ?? 0) - (last[0] ?? 0);
    if (last.length === 5 && (spread <= 0.01 * (last[0] ?? 0) || performance.now() > deadline))
      return last[2] ?? NaN;
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// Tallies: what each subscription received in the measured phase.

/** The measured phase: only events whose frame carries `tag` count. */
export class Recorder {
  tag: string | null = null;
  hist = new Histogram();
  deliveries = 0;
  begin(tag: string): void {
    this.tag = tag;
    this.hist = new Histogram();
    this.deliveries = 0;
  }
}

/** One subscription's events of the phase: ids must only grow (an id again is a duplicate). */
export class Tally {
  got = 0;
  duplicates = 0;
  private last = 0;
  constructor(private readonly recorder: Recorder) {}
  reset(): void {
    this.got = this.duplicates = 0;
  }
  /** An event: its frame, its id's sequence number, where its `createdAt` starts in the frame. */
  add(frame: string, seq: number, createdAtIndex: number): void {
    const recorder = this.recorder;
    if (recorder.tag === null || !frame.includes(recorder.tag)) return;
    if (seq > this.last) {
      this.last = seq;
      this.got++;
    } else this.duplicates++;
    recorder.deliveries++;
    if (createdAtIndex === -1) return;
    const at = createdAtIndex + CREATED_AT.length;
    recorder.hist.add(wallNow() - Date.parse(frame.slice(at, at + ISO_LENGTH)));
  }
}

/** An open connection of the load. */
export interface Stream {
  /** Cuts it without a goodbye. */
  close(): void;
  /** Ended by the other side before `close()`. */
  readonly lost: boolean;
}

// ---------------------------------------------------------------------------------------------
// SSE.

const SSE_ID = '\nid: ';

/**
 * `GET path` as an EventSource sends it, over a raw socket; resolves at `event: connected`.
 * Every `id: <prefix>_<n>` event after it goes to `tally`.
 */
export function openSse(
  server: URL,
  path: string,
  headers: Record<string, string>,
  tally: Tally | null,
): Promise<Stream> {
  const socket = connect(Number(server.port), server.hostname);
  socket.setNoDelay(true);
  socket.setEncoding('latin1');
  let closing = false;
  let lost = false;
  const stream: Stream = {
    close() {
      closing = true;
      socket.destroy();
    },
    get lost() {
      return lost;
    },
  };
  return new Promise((resolve, reject) => {
    let connected = false;
    let head = true;
    let pending = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail('no connected event in 30 s'), OPEN_TIMEOUT_MS);
    socket.on('data', (text: string) => {
      const buf = pending === '' ? text : pending + text;
      let start = 0;
      if (head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return void (pending = buf);
        if (!buf.startsWith('HTTP/1.1 200 ')) return fail(clip(buf.slice(0, buf.indexOf('\r\n'))));
        head = false;
        start = end + 4;
      }
      // Each frame is one chunk of the chunked body: `<size>\r\n` + frame + `\r\n`, and a frame
      // ends with a blank line; chunk sizes never hold one.
      for (let end = buf.indexOf('\n\n', start); end !== -1; end = buf.indexOf('\n\n', start)) {
        const id = buf.indexOf(SSE_ID, start);
        if (id !== -1 && id < end) {
          const frame = buf.slice(id, end);
          const seq = Number(frame.slice(frame.indexOf('_') + 1, frame.indexOf('\n', 1)));
          tally?.add(frame, seq, frame.indexOf(CREATED_AT));
        } else if (!connected && buf.slice(start, end).includes('event: connected')) {
          connected = true;
          clearTimeout(timer);
          resolve(stream);
        } else if (buf.slice(start, end).includes('event: serialized-error')) {
          if (!connected) return fail(clip(buf.slice(start, end)));
          lost = true;
        }
        start = end + 2;
      }
      pending = buf.slice(start);
    });
    socket.on('error', (error) => fail(error.message));
    socket.on('close', () => {
      if (!connected) fail('closed before the connected event');
      else if (!closing) lost = true;
    });
    socket.write(httpRequestBytes(server, 'GET', path, headers));
  });
}

// ---------------------------------------------------------------------------------------------
// WebSocket.

const MESSAGE_ID = '"id":"msg_';

/**
 * A WebSocket to `url`, upgraded with `headers`. With `subscribe` frames (ids 1, 2, …), resolves
 * once every one is `started`, and each later event of subscription `id` goes to `tallies[id - 1]`;
 * without, once it is open.
 */
export function openWs(
  url: string,
  headers: Record<string, string>,
  subscribe: string[] = [],
  tallies: Tally[] = [],
): Promise<Stream> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  let closing = false;
  let lost = false;
  const socket: Stream = {
    close() {
      closing = true;
      ws.terminate();
    },
    get lost() {
      return lost;
    },
  };
  return new Promise((resolve, reject) => {
    let started = 0;
    let ready = false;
    const fail = (why: string) => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail('not open and subscribed in 30 s'), OPEN_TIMEOUT_MS);
    const settle = () => {
      ready = true;
      clearTimeout(timer);
      resolve(socket);
    };
    ws.on('open', () => {
      if (subscribe.length === 0) return settle();
      for (const frame of subscribe) ws.send(frame);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const text = data.toString();
      if (text === 'PING') return ws.send('PONG');
      // `{"id":<n>,"result":…}` or `{"id":<n>,"error":…}`
      const comma = text.indexOf(',');
      if (text.startsWith(',"result":{"type":"data"', comma)) {
        const at = text.indexOf(MESSAGE_ID, comma);
        const tally = tallies[Number(text.slice(6, comma)) - 1];
        if (at === -1 || !tally) return;
        const from = at + MESSAGE_ID.length;
        const seq = Number(text.slice(from, text.indexOf('"', from)));
        tally.add(text, seq, text.indexOf(CREATED_AT, at));
      } else if (text.startsWith(',"result":{"type":"started"', comma)) {
        if (++started === subscribe.length) settle();
      } else if (text.startsWith(',"error"', comma)) {
        if (!ready) return fail(clip(text));
        lost = true;
      }
    });
    ws.on('error', (error) => {
      if (!ready) fail(error.message);
    });
    ws.on('close', (code, reason) => {
      if (!ready) fail(`closed (${code} ${reason.toString()})`);
      else if (!closing) lost = true;
    });
  });
}

/** A `chat.onMessage` subscription as wsLink sends it. */
export const chatSubscription = (id: number, roomId: string) =>
  `{"id":${id},"method":"subscription","params":{"path":"chat.onMessage","input":{"roomId":"${roomId}"}}}`;

// ---------------------------------------------------------------------------------------------
// Scenario 1: accepting and closing WebSockets.

/** A WebSocket that can also close with the close handshake. */
export interface Socket extends Stream {
  /** Closes with code 1000, as a page that goes away does; resolves once the server has closed. */
  end(): Promise<void>;
}

/** A close frame with code 1000, masked (as a client's must be) with a zero key. */
const CLOSE_FRAME = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);

/**
 * A WebSocket upgrade over a raw socket, the bytes a browser sends (without extensions);
 * resolves once `101 Switching Protocols` arrives, when the socket is open on both sides. The
 * load does no more than that, so that it, not the server, is rarely the limit.
 */
function openRawWs(server: URL, path: string, headers: Record<string, string>): Promise<Socket> {
  const socket = connect(Number(server.port), server.hostname);
  socket.setNoDelay(true);
  let closing = false;
  let lost = false;
  let ended: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (ended = resolve));
  const stream: Socket = {
    close() {
      closing = true;
      socket.destroy();
    },
    end() {
      closing = true;
      // The server answers with its close frame and ends the connection.
      if (!socket.destroyed) socket.write(CLOSE_FRAME);
      const timer = setTimeout(() => socket.destroy(), 10_000);
      return closed.finally(() => clearTimeout(timer));
    },
    get lost() {
      return lost;
    },
  };
  return new Promise((resolve, reject) => {
    let head = '';
    let open = false;
    const fail = (why: string) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail('no answer to the upgrade in 30 s'), OPEN_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      if (open) return;
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (!head.startsWith('HTTP/1.1 101 ')) return fail(clip(head.slice(0, head.indexOf('\r\n'))));
      open = true;
      clearTimeout(timer);
      resolve(stream);
    });
    socket.on('error', (error) => fail(error.message));
    socket.on('close', () => {
      ended();
      if (!open) fail('closed before the upgrade was answered');
      else if (!closing) lost = true;
    });
    const key = randomBytes(16).toString('base64');
    socket.write(
      httpRequestBytes(server, 'GET', path, {
        ...headers,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
      }),
    );
  });
}

export interface AcceptResult {
  sockets: number;
  accepted: number;
  failures: number;
  failureSamples: string[];
  acceptedPerS: number;
  /** From the upgrade request to `open`, per socket. */
  handshakeMs: { p50: number; p99: number };
  serverCpuMsPerAccept: number;
  accepting: Metered;
  /** From the first `close(1000)` to the last socket closed. */
  closeSeconds: number;
  serverCpuMsPerClose: number;
  closing: Metered;
}

/**
 * Opens `count` WebSockets to `server`'s `path` (upgrade headers `headersOf(i)`), at most
 * `inFlight` handshakes at once, then closes them all with the close handshake; the server's
 * CPU over each.
 */
export async function acceptAndClose(
  pid: number,
  server: URL,
  path: string,
  headersOf: (i: number) => Record<string, string>,
  count: number,
  inFlight: number,
): Promise<AcceptResult> {
  const sockets: Socket[] = [];
  const hist = new Histogram();
  const stopAccepting = meter(pid);
  const failures = await bounded(count, inFlight, async (i) => {
    const t0 = performance.now();
    sockets.push(await openRawWs(server, path, headersOf(i)));
    hist.add(performance.now() - t0);
  });
  const accepting = stopAccepting();
  await sleep(500);
  const stopClosing = meter(pid);
  await Promise.all(sockets.map((s) => s.end()));
  const closeSeconds = stopClosing().seconds;
  // The server's side of the last closes (its `close` handlers) runs just after the client's.
  await sleep(200);
  const closing = stopClosing();
  return {
    sockets: count,
    accepted: sockets.length,
    failures: failures.length,
    failureSamples: failures.slice(0, 5),
    acceptedPerS: sockets.length / accepting.seconds,
    handshakeMs: { p50: hist.percentile(0.5), p99: hist.percentile(0.99) },
    serverCpuMsPerAccept: (accepting.serverCpuS * 1000) / Math.max(1, sockets.length),
    accepting,
    closeSeconds,
    serverCpuMsPerClose: (closing.serverCpuS * 1000) / Math.max(1, sockets.length),
    closing,
  };
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: memory of idle subscriptions.

export interface MemoryResult {
  subscriptions: number;
  opened: number;
  failures: number;
  failureSamples: string[];
  openSeconds: number;
  /** Whether every reading below came after a full garbage collection (bench/heap.ts). */
  collected: boolean;
  rssBeforeKiB: number;
  /** RSS once the first batch is open. */
  rssFirstKiB: number;
  /** RSS once every batch is open. */
  rssAfterKiB: number;
  /** The first batch's growth per subscription (includes the heap's one-off growth). */
  firstKiBPerSubscription: number;
  /** The later batches' growth per subscription: what one more costs. */
  kibPerSubscription: number;
  /** The same growth read before collecting: with the garbage opening them left behind. */
  uncollectedKiBPerSubscription: number;
}

/** Batches of idle subscriptions opened: the first, then those whose growth is judged. */
export const MEMORY_BATCHES = 3;

/**
 * What one more idle subscription costs in RSS: after a warm-up (20 opened and closed, so lazily
 * loaded code and first allocations are not counted), `count` subscriptions are opened and the
 * RSS settles (the first batch: the heap grows its young generation and pools, a cost paid once
 * per process whatever the count), then `count` more, MEMORY_BATCHES batches in all; the later
 * batches' growth per subscription is the marginal cost (over several batches, so that memory
 * the process had touched and freed before, which a batch may fill without growing RSS, weighs
 * less). With `collector`, each reading is taken after a full garbage collection (what the
 * server holds, not what it has yet to collect), and the same growth as read before collecting
 * is kept beside.
 */
export async function idleMemory(
  pid: number,
  open: (i: number) => Promise<Stream>,
  count: number,
  inFlight: number,
  collector: Collector | null,
): Promise<MemoryResult> {
  const warm: Stream[] = [];
  await bounded(Math.min(20, count), 10, async (i) => void warm.push(await open(i)));
  for (const s of warm) s.close();
  await sleep(1000);
  const reading = () => rssReading(() => settledRssKiB(pid), collector);
  const before = await reading();
  const streams: Stream[] = [];
  const failures: string[] = [];
  const batch = async (from: number) => {
    const t0 = performance.now();
    const failed = await bounded(
      count,
      inFlight,
      async (i) => void streams.push(await open(from + i)),
    );
    failures.push(...failed);
    const seconds = (performance.now() - t0) / 1000;
    await sleep(1000);
    return { seconds, rss: await reading(), opened: streams.length };
  };
  const first = await batch(0);
  let last = first;
  let uncollectedKiB = 0;
  for (let b = 1; b < MEMORY_BATCHES; b++) {
    const held = last.rss.held;
    last = await batch(b * count);
    uncollectedKiB += last.rss.read - held;
  }
  for (const s of streams) s.close();
  const added = Math.max(1, last.opened - first.opened);
  return {
    subscriptions: MEMORY_BATCHES * count,
    opened: streams.length,
    failures: failures.length,
    failureSamples: failures.slice(0, 5),
    openSeconds: first.seconds,
    collected: collector !== null,
    rssBeforeKiB: before.held,
    rssFirstKiB: first.rss.held,
    rssAfterKiB: last.rss.held,
    firstKiBPerSubscription: (first.rss.held - before.held) / Math.max(1, first.opened),
    kibPerSubscription: (last.rss.held - first.rss.held) / added,
    uncollectedKiBPerSubscription: uncollectedKiB / added,
  };
}
