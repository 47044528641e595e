/**
 * Follows an append-only log in the database (rows with a growing `seq`): announcements say
 * "committed up to seq N"; the follower reads everything after its cursor, in pages, one read
 * at a time, and hands each row over in order. Announcements that arrive during a read are
 * coalesced into the next one.
 */
export function followLog<T>(opts: {
  signal: AbortSignal;
  /** Subscribed before `start` reads the cursor, so no commit falls between the two. */
  announcements: AsyncIterable<{ seq: number }>;
  start: () => Promise<number>;
  read: (afterSeq: number, limit: number) => Promise<T[]>;
  seqOf: (row: T) => number;
  onRow: (row: T) => void;
  what: string;
  pageSize?: number;
}) {
  const page = opts.pageSize ?? 1000;
  let cursor = 0;
  let wanted = 0;
  let running: Promise<void> | null = null;

  async function drain(): Promise<void> {
    while (cursor < wanted && !opts.signal.aborted) {
      const rows = await opts.read(cursor, page);
      if (rows.length === 0) break;
      for (const row of rows) {
        opts.onRow(row);
        cursor = opts.seqOf(row);
      }
    }
  }

  function pump(): void {
    running ??= drain()
      .catch((error: unknown) => console.error(`${opts.what} fan-out failed`, error))
      .finally(() => {
        running = null;
        if (cursor < wanted && !opts.signal.aborted) pump();
      });
  }

  const ready = opts.start().then((seq) => {
    cursor = seq;
    wanted = Math.max(wanted, seq);
    void (async () => {
      for await (const { seq: announced } of opts.announcements) {
        wanted = Math.max(wanted, announced);
        pump();
      }
    })();
  });

  return { ready };
}
