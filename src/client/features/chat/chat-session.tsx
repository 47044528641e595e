import {
  createContext,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import { useWsTransport } from '../../pulse-provider.tsx';
import { trpc } from '../../trpc.ts';
import { createChatOutbox, type ChatOutbox } from './chat-outbox.ts';
import type { OutboxEntry } from './outbox.ts';

const OutboxContext = createContext<ChatOutbox | null>(null);

/**
 * Ties chat to the signed-in user: the WebSocket opens (or reopens) with their cookie, and
 * their outbox is loaded and sent from whichever page they are on. Mount once, in the app shell.
 */
export function ChatSession({ userId, children }: { userId: string; children: ReactNode }) {
  const utils = trpc.useUtils();
  const wsTransport = useWsTransport();
  const [outbox] = useState(() =>
    createChatOutbox({
      send: (input) => utils.client.chat.send.mutate(input),
      link: wsTransport.view,
    }),
  );
  useEffect(() => outbox.start(), [outbox]);
  useEffect(() => {
    wsTransport.setIdentity(userId);
    outbox.setUser(userId);
    return () => {
      wsTransport.setIdentity(null);
      outbox.setUser(null);
    };
  }, [wsTransport, outbox, userId]);
  return <OutboxContext.Provider value={outbox}>{children}</OutboxContext.Provider>;
}

/** The signed-in user's outbox: queue, retry, discard, and the answers to this tab's sends. */
export function useChatOutbox(): ChatOutbox {
  const outbox = useContext(OutboxContext);
  if (!outbox) throw new Error('Chat needs a <ChatSession> above it');
  return outbox;
}

/** The room's waiting messages, oldest first, and which one is on its way now. */
export function useRoomOutbox(roomId: string): {
  entries: OutboxEntry[];
  sendingId: string | null;
} {
  const { entries, sending } = useChatOutbox();
  const all = useSyncExternalStore(entries.subscribe, entries.get);
  const sendingId = useSyncExternalStore(sending.subscribe, sending.get);
  const mine = useMemo(() => all.filter((e) => e.roomId === roomId), [all, roomId]);
  return { entries: mine, sendingId };
}
