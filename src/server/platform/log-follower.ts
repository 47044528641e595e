import { consume } from './bus.ts';
import { createPump } from './pump.ts';

/**
 * Follows an append-only log in the database (rows with a growing `seq`, visible in `seq` order:
 * SQLite has one writer at a time, and on PostgreSQL appends take the log's lock, decision 0009,
 * so reading `seq > cursor` never passes over a row that commits later): announcements say
 * "committed up to seq N"; the follower reads everything after its cursor, in pages, one read
 * at a time, and hands each row over in order. Announcements that arrive during a read are
 * coalesced into the next one.
 *
 * An announcement may carry its row (decision 0012): when that row is the very next one
 * (`seq` = cursor + 1, so nothing before it can still be missing), it is handed over without a
 * read. Any other (a gap, a row out of order, one `carried` cannot use) falls back to reading.
 */
export function followLog<T, A extends { seq: number } = { seq: number }>(opts: {
  signal: AbortSignal;
  /** Subscribes to announcements; called before `start` reads the cursor, so no commit falls between the two. */
  announcements: () => AsyncIterable<A>;
  start: () => Promise<number>;
  read: (afterSeq: number, limit: number) => Promise<T[]>;
  seqOf: (row: T) => number;
  onRow: (row: T) => void;
  /** The row an announcement carries, when it carries one fit to use (null: read it). */
  carried?: (announcement: A) => T | null;
  what: string;
  pageSize?: number;
}) {
  const page = opts.pageSize ?? 1000;
  let cursor = 0;
  let wanted = 0;

  async function drain(): Promise<void> {
    while (cursor < wanted && !opts.signal.aborted) {
      const rows = await opts.read(cursor, page);
      if (rows.length === 0) break;
      for (const row of rows) {
        const seq = opts.seqOf(row);
        // Handed over from its announcement while this read was under way.
        if (seq <= cursor) continue;
        opts.onRow(row);
        cursor = seq;
      }
    }
  }

  const { pump } = createPump({
    drain,
    behind: () => cursor < wanted,
    signal: opts.signal,
    what: `${opts.what} fan-out`,
  });

  let started = false;
  consume({
    subscribe: opts.announcements,
    signal: opts.signal,
    what: `${opts.what} fan-out`,
    handle(announcement) {
      const announced = announcement.seq;
      wanted = Math.max(wanted, announced);
      if (!started) return;
      if (announced === cursor + 1 && opts.carried) {
        const row = opts.carried(announcement);
        if (row !== null && opts.seqOf(row) === announced) {
          try {
            opts.onRow(row);
            cursor = announced;
            return;
          } catch (error) {
            // Subscribers drop what they already have (by seq): reading it again is safe.
            console.error(`${opts.what} fan-out: an announced row could not be handed over`, error);
          }
        }
      }
      pump();
    },
    // Announcements may have been lost: the log itself says how far it goes. Before `ready`,
    // the first read of the log's end covers it.
    resumed() {
      if (!started) return;
      void opts.start().then(
        (seq) => {
          wanted = Math.max(wanted, seq);
          pump();
        },
        (error: unknown) => {
          if (!opts.signal.aborted) console.error(`${opts.what} fan-out could not catch up`, error);
        },
      );
    },
  });
  const ready = opts.start().then((seq) => {
    cursor = seq;
    wanted = Math.max(wanted, seq);
    started = true;
    pump();
  });

  return { ready };
}
