import { sql, type Kysely } from 'kysely';
import type { Database } from './db.ts';
import { dialectOf } from './dialect.ts';

/** The replayable logs: tables whose growing key is a position that followers and clients resume from. */
export type AppendLog =
  'notifications' | 'incident_changes' | 'chat_messages' | 'metric_points' | 'inbox_changes';

/** First key of Pulse's two-key advisory locks ("PULS"): apart from any other user of them. */
export const LOCK_SPACE = 0x50554c53;

/**
 * Makes positions commit in order (decision 0009). Call it inside the writing transaction right
 * before the insert that takes the log's next position, and commit soon after: on PostgreSQL it
 * takes a transaction-level advisory lock for this log (in this schema), held until the
 * transaction ends, so the next writer takes its position only after this one's commit is
 * visible (PostgreSQL makes a commit visible before it releases the transaction's locks). Every
 * row a reader sees is then preceded by every row with a smaller position, and reading
 * `position > cursor` never skips a row that commits later. SQLite runs one write transaction at
 * a time, which gives the same order by itself: there it does nothing.
 */
export async function lockForAppend(tx: Kysely<Database>, log: AppendLog): Promise<void> {
  if (dialectOf(tx) !== 'postgres') return;
  await sql`select pg_advisory_xact_lock(${sql.lit(LOCK_SPACE)}, hashtext(current_schema() || ${'.' + log}))`.execute(
    tx,
  );
}
