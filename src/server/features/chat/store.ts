import type { Message } from '../../../shared/schemas/chat.ts';
import type { Selectable } from 'kysely';
import type { Database, Db } from '../../platform/db.ts';
import { nowIso } from '../../platform/ids.ts';
import { lockForAppend } from '../../platform/log-lock.ts';

const PREFIX = 'msg_';
export const messageId = (seq: number) => `${PREFIX}${seq}`;
export function messageSeq(id: string): number | null {
  if (!id.startsWith(PREFIX)) return null;
  const seq = Number(id.slice(PREFIX.length));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

type Row = Selectable<Database['chat_messages']>;
const toMessage = (r: Row): Message => ({
  id: messageId(r.seq),
  roomId: r.room_id,
  authorId: r.author_id,
  text: r.text,
  clientMessageId: r.client_message_id,
  createdAt: r.created_at,
});

export type SendResult =
  | { kind: 'created'; seq: number; message: Message }
  | { kind: 'existing'; message: Message }
  | { kind: 'conflict' };

/** Chat messages; `client_message_id` is unique, which makes sends idempotent. */
export function createChatStore(db: Db) {
  async function byClientId(clientMessageId: string): Promise<Row | undefined> {
    return db
      .selectFrom('chat_messages')
      .selectAll()
      .where('client_message_id', '=', clientMessageId)
      .executeTakeFirst();
  }

  return {
    /** The message an earlier send with this client id stored, if any (retries). */
    async existing(
      authorId: string,
      roomId: string,
      clientMessageId: string,
    ): Promise<SendResult | null> {
      const row = await byClientId(clientMessageId);
      if (!row) return null;
      return row.author_id === authorId && row.room_id === roomId
        ? { kind: 'existing', message: toMessage(row) }
        : { kind: 'conflict' };
    },

    async send(input: {
      roomId: string;
      authorId: string;
      text: string;
      clientMessageId: string;
    }): Promise<SendResult> {
      return db.transaction().execute(async (tx): Promise<SendResult> => {
        const seen = await tx
          .selectFrom('chat_messages')
          .selectAll()
          .where('client_message_id', '=', input.clientMessageId)
          .executeTakeFirst();
        if (seen) {
          return seen.author_id === input.authorId && seen.room_id === input.roomId
            ? { kind: 'existing', message: toMessage(seen) }
            : { kind: 'conflict' };
        }
        const row = {
          room_id: input.roomId,
          author_id: input.authorId,
          text: input.text,
          client_message_id: input.clientMessageId,
          created_at: nowIso(),
        };
        await lockForAppend(tx, 'chat_messages');
        // A concurrent send with the same client id may have committed since the check above
        // (PostgreSQL runs writers side by side): the unique client id refuses the second row,
        // and the first one is the answer.
        const inserted = await tx
          .insertInto('chat_messages')
          .values(row)
          .onConflict((oc) => oc.column('client_message_id').doNothing())
          .returning('seq')
          .executeTakeFirst();
        if (!inserted) {
          const winner = await tx
            .selectFrom('chat_messages')
            .selectAll()
            .where('client_message_id', '=', input.clientMessageId)
            .executeTakeFirstOrThrow();
          return winner.author_id === input.authorId && winner.room_id === input.roomId
            ? { kind: 'existing', message: toMessage(winner) }
            : { kind: 'conflict' };
        }
        const { seq } = inserted;
        return { kind: 'created', seq, message: toMessage({ ...row, seq }) };
      });
    },

    /** One page ending before `beforeSeq`, oldest first; `hasMore` when older ones remain. */
    async history(
      roomId: string,
      beforeSeq: number | null,
      limit: number,
    ): Promise<{ items: Message[]; hasMore: boolean }> {
      const rows = await db
        .selectFrom('chat_messages')
        .selectAll()
        .where('room_id', '=', roomId)
        .$if(beforeSeq !== null, (q) => q.where('seq', '<', beforeSeq ?? 0))
        .orderBy('seq', 'desc')
        .limit(limit + 1)
        .execute();
      return { items: rows.slice(0, limit).reverse().map(toMessage), hasMore: rows.length > limit };
    },

    /** Messages of a room after `seq`, oldest first (replay). */
    async after(roomId: string, seq: number, limit: number): Promise<Message[]> {
      const rows = await db
        .selectFrom('chat_messages')
        .selectAll()
        .where('room_id', '=', roomId)
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(toMessage);
    },

    /** Every room's messages after `seq` (fan-out). */
    async since(seq: number, limit: number): Promise<{ seq: number; message: Message }[]> {
      const rows = await db
        .selectFrom('chat_messages')
        .selectAll()
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ seq: r.seq, message: toMessage(r) }));
    },

    async roomOf(seq: number): Promise<string | null> {
      const row = await db
        .selectFrom('chat_messages')
        .select('room_id')
        .where('seq', '=', seq)
        .executeTakeFirst();
      return row?.room_id ?? null;
    },

    async maxSeq(): Promise<number> {
      const row = await db
        .selectFrom('chat_messages')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      return Number(row?.seq ?? 0);
    },
  };
}

export type ChatStore = ReturnType<typeof createChatStore>;
