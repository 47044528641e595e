import { useMemo, useSyncExternalStore } from 'react';
import type { Message } from '../../../shared/schemas/chat.ts';
import { backoffDelayMs } from '../../transport/backoff.ts';
import { createExternalStore } from '../../lib/external-store.ts';
import { errorCode, trpcClient, wsTransport } from '../../trpc.ts';
import {
  discardEntry,
  drainOutbox,
  enqueue,
  parseOutbox,
  retryEntry,
  serializeOutbox,
  type DrainResult,
  type OutboxEntry,
  type SendOutcome,
} from './outbox.ts';

/**
 * The page's outbox (see outbox.ts): kept in localStorage per user, shared with the user's
 * other tabs (which see it through `storage` events), and sent by one tab at a time (a Web
 * Lock), so each message goes once even with several tabs open.
 */
const KEY_PREFIX = 'pulse-chat-outbox:';

let userId: string | null = null;
/** The stored text last read or written, so an unchanged outbox keeps its identity. */
let lastRaw: string | null | undefined;
const entries = createExternalStore<readonly OutboxEntry[]>([]);
const sending = createExternalStore<string | null>(null);
const sentListeners = new Set<(message: Message) => void>();

const storageKey = () => (userId === null ? null : `${KEY_PREFIX}${userId}`);

function read(): readonly OutboxEntry[] {
  const key = storageKey();
  if (key === null) return [];
  let raw: string | null;
  try {
    raw = localStorage.getItem(key);
  } catch {
    return entries.get(); // storage forbidden: the outbox lives as long as the page
  }
  if (raw !== lastRaw) {
    lastRaw = raw;
    entries.set(parseOutbox(raw));
  }
  return entries.get();
}

function store(next: OutboxEntry[]): void {
  const key = storageKey();
  if (key === null) return;
  const raw = next.length > 0 ? serializeOutbox(next) : null;
  try {
    if (raw === null) localStorage.removeItem(key);
    else localStorage.setItem(key, raw);
    lastRaw = raw;
  } catch {
    // Full or forbidden: kept for this page only.
  }
  entries.set(next);
}

function change(update: (current: readonly OutboxEntry[]) => OutboxEntry[]): void {
  store(update(read()));
  kick();
}

async function send(entry: OutboxEntry): Promise<SendOutcome> {
  try {
    const message = await trpcClient.chat.send.mutate({
      roomId: entry.roomId,
      text: entry.text,
      clientMessageId: entry.clientMessageId,
    });
    return { ok: true, message };
  } catch (error) {
    return {
      ok: false,
      code: errorCode(error),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Whether chat calls can reach the server now: the socket is open, or chat runs over HTTP. */
export const chatLinkUp = (): boolean => {
  const { state } = wsTransport.view.get();
  return state === 'connected' || state === 'fallback';
};

function withLock<T>(run: () => Promise<T>): Promise<T> {
  if (typeof navigator === 'undefined' || !navigator.locks?.request) return run();
  return navigator.locks.request(`${KEY_PREFIX}${userId ?? ''}`, run);
}

let running = false;
let again = false;
let timer: ReturnType<typeof setTimeout> | undefined;

function schedule(result: DrainResult): void {
  switch (result.kind) {
    case 'wait':
      timer = setTimeout(kick, Math.max(0, result.until - Date.now()));
      return;
    case 'stopped':
      // No answer although the link looked up: try again with backoff (and at once when the
      // link comes back). Signed out: the app shows the sign-in page; the outbox waits.
      if (result.reason === 'transient') timer = setTimeout(kick, backoffDelayMs(result.attempts));
      return;
    case 'link-down':
    case 'empty':
      return;
  }
}

async function pump(): Promise<void> {
  running = true;
  clearTimeout(timer);
  try {
    let result: DrainResult;
    do {
      again = false;
      result = await withLock(() =>
        drainOutbox({
          read,
          write: store,
          send,
          linkUp: chatLinkUp,
          now: Date.now,
          onSending: sending.set,
          onSent: (message) => {
            for (const listener of sentListeners) listener(message);
          },
        }),
      );
    } while (again);
    schedule(result);
  } finally {
    running = false;
  }
}

/** Sends what is waiting, now, unless a pass is already under way (then it runs once more). */
function kick(): void {
  if (userId === null) return;
  if (running) {
    again = true;
    return;
  }
  void pump();
}

if (typeof window !== 'undefined') {
  wsTransport.view.subscribe(() => {
    if (chatLinkUp()) kick();
  });
  window.addEventListener('storage', (event) => {
    if (event.key !== null && event.key === storageKey()) {
      read();
      kick();
    }
  });
}

/** Whose outbox this page shows and sends (the signed-in user), or nobody's. */
export function setOutboxUser(id: string | null): void {
  if (id === userId) return;
  userId = id;
  lastRaw = undefined;
  entries.set([]);
  read();
  kick();
}

/** Queues a message to `roomId`; it shows as pending at once and goes when it can. */
export function queueMessage(roomId: string, text: string): void {
  change((current) =>
    enqueue(current, { clientMessageId: crypto.randomUUID(), roomId, text }, Date.now()),
  );
}

export function retryMessage(clientMessageId: string): void {
  change((current) => retryEntry(current, clientMessageId));
}

export function discardMessage(clientMessageId: string): void {
  change((current) => discardEntry(current, clientMessageId));
}

/** Told of every message the server confirmed to this tab's sends. */
export function onMessageSent(listener: (message: Message) => void): () => void {
  sentListeners.add(listener);
  return () => sentListeners.delete(listener);
}

/** The room's waiting messages, oldest first, and which one is on its way now. */
export function useRoomOutbox(roomId: string): {
  entries: OutboxEntry[];
  sendingId: string | null;
} {
  const all = useSyncExternalStore(entries.subscribe, entries.get);
  const sendingId = useSyncExternalStore(sending.subscribe, sending.get);
  const mine = useMemo(() => all.filter((e) => e.roomId === roomId), [all, roomId]);
  return { entries: mine, sendingId };
}
