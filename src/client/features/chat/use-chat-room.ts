import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { CHAT_PAGE_DEFAULT } from '../../../shared/limits.ts';
import type { Message, Person } from '../../../shared/schemas/chat.ts';
import { useLiveStream } from '../../lib/live-stream.ts';
import { useWsTransport } from '../../pulse-provider.tsx';
import { trpc } from '../../trpc.ts';
import { rememberPeople } from '../people/use-names.ts';
import { useChatOutbox, useRoomOutbox } from './chat-session.tsx';
import { addMessages, mergeMessages } from './messages.ts';
import type { OutboxEntry } from './outbox.ts';

/** One row of the room: a message the server stored, or one of ours it has not confirmed yet. */
export type ChatItem =
  | { kind: 'message'; key: string; message: Message }
  | { kind: 'outbox'; key: string; entry: OutboxEntry; sending: boolean };

/** The WebSocket link as the header shows it. */
export function useWsLink() {
  const { view } = useWsTransport();
  return useSyncExternalStore(view.subscribe, view.get);
}

/**
 * A room's messages: history pages (older ones on demand), live arrivals from `chat.onMessage`,
 * and this user's outbox, merged into one list with each message once. The live list starts
 * with the subscription; each (re)start also fetches the newest page, so what came between the
 * history's fetch and the stream's start, or while the stream was down and could not be
 * replayed, is not missed.
 */
export function useChatMessages(roomId: string, me: string) {
  const utils = trpc.useUtils();
  const wsTransport = useWsTransport();
  const outbox = useChatOutbox();
  const [live, setLive] = useState<Message[]>([]);
  const append = useCallback((incoming: readonly Message[]) => {
    setLive((current) => addMessages(current, incoming));
  }, []);

  // Newest page first; each next page is older (`cursor`: the oldest message loaded).
  const history = trpc.chat.history.useInfiniteQuery(
    { roomId, limit: CHAT_PAGE_DEFAULT },
    {
      getNextPageParam: (page) => page.nextCursor,
      // The stream keeps it current; a refetch of every loaded page on focus would only cost.
      staleTime: Infinity,
      refetchOnWindowFocus: false,
      refetchOnReconnect: false,
    },
  );

  const catchUp = useCallback(() => {
    utils.client.chat.history
      .query({ roomId, limit: CHAT_PAGE_DEFAULT })
      .then((page) => append(page.items))
      .catch(() => undefined); // the stream's own error says what is wrong
  }, [utils, roomId, append]);

  const mode = useSyncExternalStore(wsTransport.mode.subscribe, wsTransport.mode.get);
  const { refetch } = history;
  const { status, error: streamError } = useLiveStream(
    trpc.chat.onMessage,
    { roomId },
    {
      name: `chat.onMessage:${roomId}`,
      // Over SSE (the fallback), the header's SSE indicator speaks for this stream too.
      reported: mode === 'fallback',
      onStarted: catchUp,
      onData: ({ data }) => append([data]),
      // What we hold stays: it is all real messages.
      onResumeRefused: () => void refetch(),
    },
  );

  // The answers to our own sends, which may come before (or instead of) the stream's echo.
  useEffect(
    () =>
      outbox.onSent((message) => {
        if (message.roomId === roomId) append([message]);
      }),
    [outbox, roomId, append],
  );

  const waiting = useRoomOutbox(roomId);
  const pages = history.data?.pages;
  const confirmed = useMemo(
    () => mergeMessages(...(pages ?? []).map((p) => p.items), live),
    [pages, live],
  );
  const items = useMemo((): ChatItem[] => {
    // Ours, confirmed by the answer or by the echo, whichever came first: shown once.
    const done = new Set(confirmed.filter((m) => m.authorId === me).map((m) => m.clientMessageId));
    return [
      ...confirmed.map((message): ChatItem => ({ kind: 'message', key: message.id, message })),
      ...waiting.entries
        .filter((entry) => !done.has(entry.clientMessageId))
        .map((entry): ChatItem => ({
          kind: 'outbox',
          key: entry.clientMessageId,
          entry,
          sending: waiting.sendingId === entry.clientMessageId,
        })),
    ];
  }, [confirmed, waiting, me]);

  return {
    items,
    newest: confirmed.at(-1) ?? null,
    loading: history.isPending,
    // While reconnecting the stream carries the last socket error; the header says that.
    error: (status === 'error' ? streamError : null) ?? history.error,
    hasOlder: history.hasNextPage,
    loadingOlder: history.isFetchingNextPage,
    loadOlder: history.fetchNextPage,
  };
}

/**
 * Who is in the room and who is typing, each person once. Presence comes as a summary: everyone
 * in a room of up to PRESENCE_LIST_MAX people, else a sample (`present`) and the count, so a
 * big room costs a page the same as a small one.
 */
export function useChatPeople(roomId: string): {
  present: Person[];
  /** Everyone present, `present` included. */
  count: number;
  typing: Person[];
} {
  const utils = trpc.useUtils();
  // The people of a room are known by name from here on, wherever they appear.
  const presence = trpc.chat.onPresenceSummary.useSubscription(
    { roomId },
    { onData: (summary) => rememberPeople(utils, summary.people) },
  );
  const typing = trpc.chat.onTyping.useSubscription(
    { roomId },
    { onData: (people) => rememberPeople(utils, people) },
  );
  const present = useMemo(() => uniquePeople(presence.data?.people ?? []), [presence.data]);
  const typingNow = useMemo(() => uniquePeople(typing.data ?? []), [typing.data]);
  return {
    present,
    count: Math.max(presence.data?.count ?? 0, present.length),
    typing: typingNow,
  };
}

function uniquePeople(list: readonly Person[]): Person[] {
  const byId = new Map<string, Person>();
  for (const p of list) byId.set(p.userId, p);
  return [...byId.values()].sort((a, b) => a.displayName.localeCompare(b.displayName));
}
