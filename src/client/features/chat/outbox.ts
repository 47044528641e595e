import { z } from 'zod';
import { CHAT_TEXT_MAX } from '../../../shared/limits.ts';
import type { Message } from '../../../shared/schemas/chat.ts';

/**
 * Messages this user wrote that the server has not confirmed yet, oldest first. Every send goes
 * through here, online or not: the outbox is what the room shows as pending, what survives a
 * reload (it is kept in localStorage), and what is sent, one at a time and in order, whenever
 * the link is up. A send carries a clientMessageId, so sending an entry again (after a socket
 * dropped mid-send, after a reload) stores nothing new: the server answers with the same message.
 */
export const outboxEntrySchema = z.object({
  clientMessageId: z.string().min(1),
  roomId: z.string().min(1),
  text: z.string().min(1).max(CHAT_TEXT_MAX),
  queuedAt: z.string(),
  /** Sends tried that did not go through. */
  attempts: z.number().int().min(0),
  /** Not sent before this time (ms since epoch): the server said TOO_MANY_REQUESTS. */
  notBefore: z.number(),
  /** Why the last try did not go through, for the UI. */
  lastError: z.string().nullable(),
  /** Refused for good (not retried by itself): the user retries or discards it. */
  failed: z.boolean(),
});
export type OutboxEntry = z.infer<typeof outboxEntrySchema>;

/** What stored text holds; entries that do not parse (an older version, a hand edit) are dropped. */
export function parseOutbox(raw: string | null): OutboxEntry[] {
  if (!raw) return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(json)) return [];
  return json.flatMap((item) => {
    const parsed = outboxEntrySchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

export function serializeOutbox(entries: readonly OutboxEntry[]): string {
  return JSON.stringify(entries);
}

export interface Draft {
  clientMessageId: string;
  roomId: string;
  text: string;
}

export function enqueue(entries: readonly OutboxEntry[], draft: Draft, now: number): OutboxEntry[] {
  if (entries.some((e) => e.clientMessageId === draft.clientMessageId)) return [...entries];
  return [
    ...entries,
    {
      ...draft,
      queuedAt: new Date(now).toISOString(),
      attempts: 0,
      notBefore: 0,
      lastError: null,
      failed: false,
    },
  ];
}

/** The next entry to send, or when it may go; `null` when nothing is left to send by itself. */
export function nextToSend(
  entries: readonly OutboxEntry[],
  now: number,
): { entry: OutboxEntry } | { waitUntil: number } | null {
  // Failed ones wait for the user; the rest keep their order behind a rate-limited one.
  const entry = entries.find((e) => !e.failed);
  if (!entry) return null;
  return entry.notBefore > now ? { waitUntil: entry.notBefore } : { entry };
}

export type SendOutcome =
  { ok: true; message: Message } | { ok: false; code: string | undefined; error: string };

/**
 * What a failed send means. `transient`: no answer (socket dropped, server gone), try again
 * later. `rate-limited`: wait, then try again. `signed-out`: nothing can be sent until the user
 * signs in again. `final`: the server refused this message; sending it again will not help.
 */
export type FailureKind = 'transient' | 'rate-limited' | 'signed-out' | 'final';

export function failureKind(code: string | undefined): FailureKind {
  switch (code) {
    case undefined:
    case 'INTERNAL_SERVER_ERROR':
    case 'TIMEOUT':
    case 'CLIENT_CLOSED_REQUEST':
    case 'SERVICE_UNAVAILABLE':
    case 'BAD_GATEWAY':
    case 'GATEWAY_TIMEOUT':
      return 'transient';
    case 'TOO_MANY_REQUESTS':
      return 'rate-limited';
    case 'UNAUTHORIZED':
      return 'signed-out';
    default:
      return 'final';
  }
}

/** After the n-th TOO_MANY_REQUESTS in a row: 1 s doubling to 10 s (the limit's window). */
export const rateLimitWaitMs = (attempts: number) =>
  Math.min(10_000, 1000 * 2 ** Math.max(0, attempts - 1));

/** The outbox once a send of `clientMessageId` has ended with `outcome`. */
export function afterSend(
  entries: readonly OutboxEntry[],
  clientMessageId: string,
  outcome: SendOutcome,
  now: number,
): OutboxEntry[] {
  if (outcome.ok) return entries.filter((e) => e.clientMessageId !== clientMessageId);
  return entries.map((e) => {
    if (e.clientMessageId !== clientMessageId) return e;
    switch (failureKind(outcome.code)) {
      case 'transient':
        return { ...e, attempts: e.attempts + 1, lastError: outcome.error };
      case 'rate-limited': {
        const attempts = e.attempts + 1;
        return {
          ...e,
          attempts,
          notBefore: now + rateLimitWaitMs(attempts),
          lastError: outcome.error,
        };
      }
      case 'signed-out':
        return { ...e, lastError: outcome.error };
      case 'final':
        return { ...e, attempts: e.attempts + 1, failed: true, lastError: outcome.error };
    }
  });
}

/** Back in line, where it was, to be sent by itself. */
export function retryEntry(
  entries: readonly OutboxEntry[],
  clientMessageId: string,
): OutboxEntry[] {
  return entries.map((e) =>
    e.clientMessageId === clientMessageId ? { ...e, failed: false, notBefore: 0 } : e,
  );
}

export function discardEntry(
  entries: readonly OutboxEntry[],
  clientMessageId: string,
): OutboxEntry[] {
  return entries.filter((e) => e.clientMessageId !== clientMessageId);
}

export type DrainResult =
  /** Nothing is left that goes by itself (failed entries wait for the user). */
  | { kind: 'empty' }
  /** The next entry may go at `until` (rate-limited). */
  | { kind: 'wait'; until: number }
  /** The link is down: the rest waits for it. */
  | { kind: 'link-down' }
  /** A send failed in a way that stops the rest: try again later (`transient`) or never by itself. */
  | { kind: 'stopped'; reason: 'transient' | 'signed-out'; attempts: number };

export interface DrainDeps {
  /** The outbox as it is now: other tabs and the user may change it while a send is in flight. */
  read: () => readonly OutboxEntry[];
  write: (entries: OutboxEntry[]) => void;
  send: (entry: OutboxEntry) => Promise<SendOutcome>;
  linkUp: () => boolean;
  now: () => number;
  onSending?: (clientMessageId: string | null) => void;
  onSent?: (message: Message) => void;
}

/**
 * Sends what the outbox holds, one at a time, oldest first, each once; stops at the first send
 * that fails for want of a connection (or of a session) and keeps it and the rest.
 */
export async function drainOutbox(deps: DrainDeps): Promise<DrainResult> {
  for (;;) {
    if (!deps.linkUp()) return { kind: 'link-down' };
    const next = nextToSend(deps.read(), deps.now());
    if (next === null) return { kind: 'empty' };
    if ('waitUntil' in next) return { kind: 'wait', until: next.waitUntil };
    const { entry } = next;
    deps.onSending?.(entry.clientMessageId);
    let outcome: SendOutcome;
    try {
      outcome = await deps.send(entry);
    } catch (error) {
      outcome = {
        ok: false,
        code: undefined,
        error: error instanceof Error ? error.message : String(error),
      };
    } finally {
      deps.onSending?.(null);
    }
    deps.write(afterSend(deps.read(), entry.clientMessageId, outcome, deps.now()));
    if (outcome.ok) {
      deps.onSent?.(outcome.message);
      continue;
    }
    const kind = failureKind(outcome.code);
    // A refused message is marked failed and the rest go on; a rate limit is waited out above.
    if (kind === 'final' || kind === 'rate-limited') continue;
    return { kind: 'stopped', reason: kind, attempts: entry.attempts + 1 };
  }
}
