import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryBus } from '../../src/server/platform/bus.ts';
import { followLog } from '../../src/server/platform/log-follower.ts';
import { createPump } from '../../src/server/platform/pump.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A promise and the function that resolves it. */
function deferred<T = void>() {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const isRow = (row: unknown): row is { seq: number } =>
  typeof row === 'object' && row !== null && 'seq' in row && typeof row.seq === 'number';

/** An append-only log of rows `{ seq }`, and a follower of it over a memory bus. */
function followed(
  opts: {
    committed?: number;
    failReads?: number;
    pageSize?: number;
    /** Holds the first read (which has seen the rows committed when it began) until it resolves. */
    firstRead?: { started: () => void; finish: Promise<void> };
  } = {},
) {
  const bus = createMemoryBus();
  const stop = new AbortController();
  const rows = Array.from({ length: opts.committed ?? 0 }, (_, i) => ({ seq: i + 1 }));
  const seen: number[] = [];
  const reads: number[] = [];
  let failures = opts.failReads ?? 0;
  const waiters: { seq: number; wake: () => void }[] = [];
  const follower = followLog({
    signal: stop.signal,
    announcements: () => bus.subscribe('chat.messages', stop.signal),
    start: async () => rows.length,
    async read(after, limit) {
      reads.push(after);
      const page = rows.filter((r) => r.seq > after).slice(0, limit);
      if (reads.length === 1 && opts.firstRead) {
        opts.firstRead.started();
        await opts.firstRead.finish;
      }
      if (failures > 0) {
        failures--;
        throw new Error('database is down');
      }
      return page;
    },
    seqOf: (row) => row.seq,
    carried: ({ row }) => (isRow(row) ? row : null),
    onRow: (row) => {
      seen.push(row.seq);
      for (const w of waiters.filter((w) => row.seq >= w.seq)) w.wake();
    },
    what: 'test',
    pageSize: opts.pageSize,
  });
  return {
    ready: follower.ready,
    seen,
    reads,
    stop: () => stop.abort(),
    /** Commits rows up to `seq` and announces it. */
    async commit(seq: number) {
      while (rows.length < seq) rows.push({ seq: rows.length + 1 });
      await bus.publish('chat.messages', { seq });
    },
    /** Commits rows up to `seq` and announces the last with the row (`row` to send another). */
    async commitCarrying(seq: number, row: unknown = { seq }) {
      while (rows.length < seq) rows.push({ seq: rows.length + 1 });
      await bus.publish('chat.messages', { seq, row });
    },
    /** Resolves once the row `seq` was handed over. */
    handed: (seq: number) =>
      seen.includes(seq)
        ? Promise.resolve()
        : new Promise<void>((wake) => waiters.push({ seq, wake })),
  };
}

describe('the log follower', () => {
  it('hands over, in order and in pages, only rows committed after it started, once announced', async () => {
    const log = followed({ committed: 5, pageSize: 2 });
    await log.ready;
    await log.commit(10);
    await log.handed(10);
    expect(log.seen).toEqual([6, 7, 8, 9, 10]);
    expect(log.reads).toEqual([5, 7, 9]);
    log.stop();
  });

  it('coalesces announcements that arrive during a read into one more read', async () => {
    const started = deferred();
    const finish = deferred();
    const log = followed({ firstRead: { started: started.resolve, finish: finish.promise } });
    await log.ready;
    await log.commit(1);
    await started.promise;
    await log.commit(2);
    await log.commit(3);
    finish.resolve();
    await log.handed(3);
    expect(log.seen).toEqual([1, 2, 3]);
    expect(log.reads).toEqual([0, 1]);
    log.stop();
  });

  it('hands over a row its announcement carries without reading, when it is the next one', async () => {
    const log = followed({ committed: 2 });
    await log.ready;
    await log.commitCarrying(3);
    await log.commitCarrying(4);
    await log.handed(4);
    expect(log.seen).toEqual([3, 4]);
    expect(log.reads).toEqual([]);
    log.stop();
  });

  it('reads instead when a carried row leaves a gap, is unfit, or is not the one announced', async () => {
    const log = followed({ committed: 2 });
    await log.ready;
    // 3 and 4 committed, 4 announced first (its publisher was quicker): 3 must come first.
    await log.commitCarrying(4);
    await log.handed(4);
    expect(log.seen).toEqual([3, 4]);
    expect(log.reads).toEqual([2]);
    await log.commitCarrying(5, 'not a row');
    await log.handed(5);
    await log.commitCarrying(6, { seq: 7 });
    await log.handed(6);
    expect(log.seen).toEqual([3, 4, 5, 6]);
    expect(log.reads).toEqual([2, 4, 5]);
    log.stop();
  });

  it('hands a row over once when it arrives carried while a read that returns it is under way', async () => {
    const started = deferred();
    const finish = deferred();
    const log = followed({ firstRead: { started: started.resolve, finish: finish.promise } });
    await log.ready;
    // Row 1 is heard of first without its row (a resync read the log's end, say): a read begins.
    await log.commit(1);
    await started.promise;
    // Then its announcement with the row arrives: handed over at once.
    await log.commitCarrying(1);
    await log.handed(1);
    // The read returns row 1 as well: it is not handed over again.
    finish.resolve();
    await log.commitCarrying(2);
    await log.handed(2);
    expect(log.seen).toEqual([1, 2]);
    expect(log.reads).toEqual([0]);
    log.stop();
  });

  it('retries a failing read a second later, and then hands over what it missed', async () => {
    vi.useFakeTimers();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const log = followed({ failReads: 1 });
    await log.ready;
    await log.commit(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(log.seen).toEqual([]);
    expect(errors).toHaveBeenCalledWith('test fan-out failed; retrying in 1 s', expect.any(Error));
    await vi.advanceTimersByTimeAsync(1000);
    expect(log.seen).toEqual([1, 2]);
    expect(log.reads).toEqual([0, 0]);
    log.stop();
  });
});

describe('the pump', () => {
  it('runs one drain at a time, and once more after it for all the asks that came during it', async () => {
    const stop = new AbortController();
    const runs: ReturnType<typeof deferred<void>>[] = [];
    const starts: (() => void)[] = [];
    const nextStart = () => new Promise<void>((resolve) => starts.push(resolve));
    let behind = true;
    const { pump, running } = createPump({
      drain: () => {
        const run = deferred();
        runs.push(run);
        for (const started of starts.splice(0)) started();
        return run.promise;
      },
      behind: () => behind,
      signal: stop.signal,
      what: 'test',
    });
    pump();
    pump();
    pump();
    expect(runs).toHaveLength(1);
    expect(running()).toBe(true);
    const second = nextStart();
    runs[0]?.resolve();
    await second;
    expect(runs).toHaveLength(2);
    // The second run found nothing more: the pump rests until asked again.
    behind = false;
    runs[1]?.resolve();
    await runs[1]?.promise;
    await Promise.resolve();
    expect(running()).toBe(false);
    pump();
    expect(runs).toHaveLength(2);
    stop.abort();
  });

  it('does not run when nothing is behind, or after its signal aborted', () => {
    const stop = new AbortController();
    let drains = 0;
    const { pump } = createPump({
      drain: async () => void drains++,
      behind: () => drains === 0,
      signal: stop.signal,
      what: 'test',
    });
    stop.abort();
    pump();
    expect(drains).toBe(0);
  });

  it('neither reports nor retries a run that fails after its signal aborted (the database is closing)', async () => {
    vi.useFakeTimers();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const stop = new AbortController();
    let fail: (error: Error) => void = () => undefined;
    let drains = 0;
    const { pump, running } = createPump({
      drain: () => {
        drains++;
        return new Promise<void>((_, reject) => (fail = reject));
      },
      behind: () => true,
      signal: stop.signal,
      what: 'test',
    });
    pump();
    stop.abort();
    fail(new Error('driver has already been destroyed'));
    await vi.advanceTimersByTimeAsync(2000);
    expect(running()).toBe(false);
    expect(drains).toBe(1);
    expect(errors).not.toHaveBeenCalled();
  });
});
