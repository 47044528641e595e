import { useCallback, useEffect } from 'react';
import { incidentPath } from '../../../shared/paths.ts';
import type { User } from '../../../shared/schemas/auth.ts';
import { errorCode } from '../../lib/errors.ts';
import { useCurrentUser } from '../auth/current-user.tsx';
import { useWsTransport } from '../../pulse-provider.tsx';
import { trpc } from '../../trpc.ts';
import { useNames } from '../people/use-names.ts';
import { chatLinkUp } from './chat-outbox.ts';
import { useChatOutbox } from './chat-session.tsx';
import { markSeen } from './chat-storage.ts';
import { Composer } from './composer.tsx';
import { MessageList } from './message-list.tsx';
import { PresenceAvatars } from './presence-avatars.tsx';
import { typingText } from './typing.ts';
import { useChatMessages, useChatPeople, useWsLink } from './use-chat-room.ts';
import './chat.css';

export interface ChatPanelProps {
  roomId: string;
  /** The heading instead of the room's name (an incident page names the incident already). */
  heading?: string;
  /** Links an incident room to its incident's page (not wanted on that page itself). */
  linkIncident?: boolean;
}

/** A room: who is here, the messages, and the composer. Used on incident pages and on /chat. */
export function ChatPanel(props: ChatPanelProps) {
  const me = useCurrentUser();
  if (!me) return null;
  // A fresh panel per room: the live list, scroll position and typing state belong to one room.
  return <RoomPanel key={props.roomId} {...props} me={me} />;
}

const WAITING_HINT: Record<string, string> = {
  offline: 'You are offline: messages wait here and are sent when the connection is back.',
  reconnecting: 'Reconnecting: messages wait here and are sent when the connection is back.',
  connecting: 'Connecting…',
};

function RoomPanel({ roomId, heading, linkIncident = false, me }: ChatPanelProps & { me: User }) {
  const utils = trpc.useUtils();
  // Asked for by id: the rooms list comes a page at a time, and this one may be on any page.
  const room = trpc.chat.room.useQuery({ roomId }, { staleTime: 30_000 }).data;
  const roomName = room?.name ?? roomId;
  const messages = useChatMessages(roomId, me.id);
  const people = useChatPeople(roomId);
  // Messages carry the author's id only: present or not, each is shown by name.
  const name = useNames(
    messages.items.map((item) => (item.kind === 'message' ? item.message.authorId : me.id)),
  );
  const link = useWsLink();
  const wsTransport = useWsTransport();
  const outbox = useChatOutbox();

  // Seen up to the newest message while the page is on screen (for the rooms' unread markers).
  const { newest } = messages;
  useEffect(() => {
    if (!newest) return;
    const mark = () => {
      if (document.visibilityState === 'visible') markSeen(me.id, roomId, newest);
    };
    mark();
    document.addEventListener('visibilitychange', mark);
    return () => document.removeEventListener('visibilitychange', mark);
  }, [newest, me.id, roomId]);

  const onTyping = useCallback(
    (typing: boolean) => {
      // A typing state queued behind a reconnect would be stale when it arrives.
      if (!chatLinkUp(wsTransport.view.get())) return;
      utils.client.chat.setTyping.mutate({ roomId, typing }).catch(() => undefined);
    },
    [utils, wsTransport, roomId],
  );
  const onSend = useCallback((text: string) => outbox.queue(roomId, text), [outbox, roomId]);

  // Who is here and typing is only as fresh as the link: while it is down, typing is hidden
  // (it would not clear) and presence is shown as stale.
  const live = link.state === 'connected' || link.state === 'fallback';
  const typing = live
    ? typingText(people.typing.filter((p) => p.userId !== me.id).map((p) => p.displayName))
    : '';
  const notFound = errorCode(messages.error) === 'NOT_FOUND';

  return (
    <section
      className="card chat-panel"
      data-testid="chat-panel"
      data-room-id={roomId}
      aria-labelledby={`chat-title-${roomId}`}
    >
      <header className="panel-header chat-panel__header">
        <div className="chat-panel__title">
          <h2 id={`chat-title-${roomId}`} data-testid="chat-room-name">
            {heading ?? roomName}
          </h2>
          {linkIncident && room?.incidentId && (
            <a className="small" href={incidentPath(room.incidentId)}>
              Incident page
            </a>
          )}
        </div>
        <PresenceAvatars people={people.present} count={people.count} me={me.id} stale={!live} />
      </header>
      {notFound ? (
        <p className="error-text pad" role="alert">
          No room &apos;{roomId}&apos; (or not one of your teams&apos;).
        </p>
      ) : (
        <>
          {messages.error && (
            <p className="error-text pad small" role="alert">
              {messages.error.message}
            </p>
          )}
          <MessageList
            items={messages.items}
            me={me.id}
            name={name}
            loading={messages.loading}
            hasOlder={messages.hasOlder}
            loadingOlder={messages.loadingOlder}
            onLoadOlder={() => void messages.loadOlder()}
            onRetry={outbox.retry}
            onDiscard={outbox.discard}
          />
          <p className="chat-typing small muted" data-testid="chat-typing" aria-live="polite">
            {typing}
          </p>
          <Composer
            roomName={roomName}
            onSend={onSend}
            onTyping={onTyping}
            hint={WAITING_HINT[link.state] ?? null}
          />
        </>
      )}
    </section>
  );
}
