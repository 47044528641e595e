import { useEffect } from 'react';
import { wsTransport } from '../../trpc.ts';
import { setOutboxUser } from './chat-outbox.ts';

/**
 * Ties chat to the signed-in user: the WebSocket opens (or reopens) with their cookie, and
 * their outbox is loaded and sent from whichever page they are on. Mount once, in the app shell.
 */
export function useChatSession(userId: string): void {
  useEffect(() => {
    wsTransport.setIdentity(userId);
    setOutboxUser(userId);
    return () => {
      wsTransport.setIdentity(null);
      setOutboxUser(null);
    };
  }, [userId]);
}
