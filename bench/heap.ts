/**
 * Full garbage collections in a server under measurement, so that memory figures count what
 * the server holds and not the garbage it has yet to collect.
 *
 * A Node process starts its inspector when it receives SIGUSR1 (documented Node behaviour; it
 * listens on 127.0.0.1 at the port of `--inspect-port`). Over it, `HeapProfiler.collectGarbage`
 * runs V8's full, compacting collection, as the "collect garbage" button of Chrome's DevTools
 * does. No server code is involved: the baselines are collected exactly as Pulse is.
 *
 * Why: a burst of new subscriptions leaves the server's heap full of what opening them
 * allocated (requests, queries, authorization); V8 returns it only at its next major collection,
 * which an idle server makes on its own 10–40 s later (its memory reducer). RSS read before that
 * counts the burst's garbage as if each subscription held it.
 */
import { WebSocket } from 'ws';
import { sleep } from './common.ts';

/** The node flag that puts a process's inspector, once SIGUSR1 starts it, on `port`. */
export const inspectPortFlag = (port: number) => `--inspect-port=127.0.0.1:${port}`;

/** Full collections of one process, over one inspector session held for the whole measurement. */
export interface Collector {
  /** Collects all garbage V8 can (compacting); resolves once the process has answered. */
  collect(): Promise<void>;
  close(): void;
}

/**
 * Starts the inspector of `pid` (which was started with `inspectPortFlag(port)`) and opens a
 * session on it. Its own memory (the inspector, one session) is paid here, before any reading.
 */
export async function attachCollector(pid: number, port: number): Promise<Collector> {
  process.kill(pid, 'SIGUSR1');
  const deadline = performance.now() + 10_000;
  let target: string | undefined;
  while (target === undefined) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json/list`);
      const list = (await res.json()) as { webSocketDebuggerUrl?: string }[];
      target = list[0]?.webSocketDebuggerUrl;
    } catch {
      // Not listening yet.
    }
    if (target === undefined) {
      if (performance.now() > deadline)
        throw new Error(`pid ${pid}: no inspector on port ${port} 10 s after SIGUSR1`);
      await sleep(100);
    }
  }
  const socket = new WebSocket(target);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : waiting.get(message.id);
    if (!waiter || message.id === undefined) return;
    waiting.delete(message.id);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve();
  });
  socket.once('close', () => {
    for (const waiter of waiting.values()) waiter.reject(new Error('inspector session closed'));
    waiting.clear();
  });
  return {
    collect() {
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
    },
    close: () => socket.close(),
  };
}

/**
 * A memory reading: RSS as `settle` reads it (`read`), then after a full collection (`held`:
 * what the server holds, not the garbage it has yet to collect); both the same without one.
 */
export async function rssReading(
  settle: () => Promise<number>,
  collector: Collector | null,
): Promise<{ read: number; held: number }> {
  const read = await settle();
  if (!collector) return { read, held: read };
  await collector.collect();
  return { read, held: await settle() };
}
