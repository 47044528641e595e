import type { Message } from '../../../shared/schemas/chat.ts';
import { errorCode } from '../../lib/errors.ts';
import { createExternalStore, type ExternalStore } from '../../lib/external-store.ts';
import { backoffDelayMs } from '../../transport/backoff.ts';
import type { WsLinkView } from '../../transport/ws-transport.ts';
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

const KEY_PREFIX = 'pulse-chat-outbox:';

/** Whether chat calls can reach the server now: the socket is open, or chat runs over HTTP. */
export const chatLinkUp = (view: WsLinkView): boolean =>
  view.state === 'connected' || view.state === 'fallback';

export interface ChatOutboxOptions {
  /** Sends one message (`chat.send`). */
  send: (input: { roomId: string; text: string; clientMessageId: string }) => Promise<Message>;
  /** The WebSocket link as the header shows it: sends go while chat can reach the server. */
  link: Pick<ExternalStore<WsLinkView>, 'get' | 'subscribe'>;
}

export interface ChatOutbox {
  /** The signed-in user's waiting messages, oldest first. */
  entries: Pick<ExternalStore<readonly OutboxEntry[]>, 'get' | 'subscribe'>;
  /** The clientMessageId of the message on its way now. */
  sending: Pick<ExternalStore<string | null>, 'get' | 'subscribe'>;
  /** Whose outbox this is (the signed-in user), or nobody's. */
  setUser: (id: string | null) => void;
  /** Queues a message to `roomId`; it shows as pending at once and goes when it can. */
  queue: (roomId: string, text: string) => void;
  retry: (clientMessageId: string) => void;
  discard: (clientMessageId: string) => void;
  /** Told of every message the server confirmed to this tab's sends. */
  onSent: (listener: (message: Message) => void) => () => void;
  /** Follows the link and the user's other tabs; returns how to stop. */
  start: () => () => void;
}

/**
 * A page's outbox (see outbox.ts): kept in localStorage per user, shared with the user's other
 * tabs (which see it through `storage` events), and sent by one tab at a time (a Web Lock), so
 * each message goes once even with several tabs open.
 */
export function createChatOutbox(opts: ChatOutboxOptions): ChatOutbox {
  let userId: string | null = null;
  /** The stored text last read or written, so an unchanged outbox keeps its identity. */
  let lastRaw: string | null | undefined;
  const entries = createExternalStore<readonly OutboxEntry[]>([]);
  const sending = createExternalStore<string | null>(null);
  const sentListeners = new Set<(message: Message) => void>();

  const storageKey = () => (userId === null ? null : `${KEY_PREFIX}${userId}`);
  const linkUp = () => chatLinkUp(opts.link.get());

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
      const message = await opts.send({
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
        if (result.reason === 'transient') {
          timer = setTimeout(kick, backoffDelayMs(result.attempts));
        }
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
            linkUp,
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

  return {
    entries,
    sending,
    setUser(id) {
      if (id === userId) return;
      userId = id;
      lastRaw = undefined;
      entries.set([]);
      read();
      kick();
    },
    queue(roomId, text) {
      change((current) =>
        enqueue(current, { clientMessageId: crypto.randomUUID(), roomId, text }, Date.now()),
      );
    },
    retry(clientMessageId) {
      change((current) => retryEntry(current, clientMessageId));
    },
    discard(clientMessageId) {
      change((current) => discardEntry(current, clientMessageId));
    },
    onSent(listener) {
      sentListeners.add(listener);
      return () => sentListeners.delete(listener);
    },
    start() {
      const stopFollowingLink = opts.link.subscribe(() => {
        if (linkUp()) kick();
      });
      const onStorage = (event: StorageEvent) => {
        if (event.key !== null && event.key === storageKey()) {
          read();
          kick();
        }
      };
      window.addEventListener('storage', onStorage);
      return () => {
        stopFollowingLink();
        window.removeEventListener('storage', onStorage);
        clearTimeout(timer);
      };
    },
  };
}
