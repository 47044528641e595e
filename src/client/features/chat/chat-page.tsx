import { LIST_PAGE_DEFAULT } from '../../../shared/limits.ts';
import type { User } from '../../../shared/schemas/auth.ts';
import type { Room } from '../../../shared/schemas/chat.ts';
import { trpc } from '../../trpc.ts';
import { LoadMore } from '../../components/load-more.tsx';
import { ChatPanel } from './chat-panel.tsx';
import { useSeen } from './chat-storage.ts';
import { chatRoomPath } from '../../../shared/paths.ts';
import { countUnread } from './messages.ts';
import './chat.css';

/** Team rooms by name, then incident rooms newest first, a page at a time. */
const ROOMS_INPUT = { limit: LIST_PAGE_DEFAULT };
/** Messages looked at per room for its unread marker; more shows as "50+". */
const UNREAD_WINDOW = 50;
/** Rooms not open are checked this often (a stream per room would count us present in each). */
const UNREAD_POLL_MS = 15_000;

/** /chat: the rooms this user may enter, with unread markers; /chat/:roomId opens one. */
export function ChatPage({ user, roomId }: { user: User; roomId: string | null }) {
  const rooms = trpc.chat.rooms.useInfiniteQuery(ROOMS_INPUT, {
    getNextPageParam: (last) => (last.length < ROOMS_INPUT.limit ? undefined : last.at(-1)?.id),
    staleTime: 30_000,
  });
  const list = rooms.data?.pages.flat() ?? [];
  return (
    <div className="chat-page" data-room-open={roomId !== null}>
      {roomId !== null && (
        // Phones show one column: the open room, and this way back to the list.
        <a className="chat-page__back" href="/chat" data-testid="chat-back">
          ← All rooms
        </a>
      )}
      <nav className="card chat-rooms" aria-labelledby="chat-rooms-title" data-testid="chat-rooms">
        <header className="panel-header">
          <h1 id="chat-rooms-title">Rooms</h1>
        </header>
        {rooms.isPending && <p className="muted pad">Loading…</p>}
        {rooms.error && (
          <p className="error-text pad" role="alert">
            Could not load the rooms: {rooms.error.message}
          </p>
        )}
        {rooms.data && list.length === 0 && (
          <p className="muted pad">No rooms: you are in no team yet.</p>
        )}
        <RoomGroup
          title="Teams"
          rooms={list.filter((r) => r.kind === 'team')}
          user={user}
          current={roomId}
        />
        <RoomGroup
          title="Incidents"
          rooms={list.filter((r) => r.kind === 'incident')}
          user={user}
          current={roomId}
        />
        <LoadMore pages={rooms} testId="chat-rooms-more" />
      </nav>
      {roomId === null ? (
        <section className="card pad chat-page__empty">
          <p className="muted">Choose a room. Each team has one, and so does each incident.</p>
        </section>
      ) : (
        <ChatPanel roomId={roomId} linkIncident />
      )}
    </div>
  );
}

function RoomGroup(props: { title: string; rooms: Room[]; user: User; current: string | null }) {
  if (props.rooms.length === 0) return null;
  return (
    <section className="chat-rooms__group">
      <h2 className="chat-rooms__heading small muted">{props.title}</h2>
      <ul>
        {props.rooms.map((room) => (
          <RoomLink
            key={room.id}
            room={room}
            user={props.user}
            current={room.id === props.current}
          />
        ))}
      </ul>
    </section>
  );
}

function RoomLink({ room, user, current }: { room: Room; user: User; current: boolean }) {
  const seen = useSeen(user.id)[room.id] ?? null;
  // The open room is being read: no marker, and no need to ask.
  const recent = trpc.chat.history.useQuery(
    { roomId: room.id, limit: UNREAD_WINDOW },
    { enabled: !current, refetchInterval: UNREAD_POLL_MS, staleTime: 5_000 },
  );
  const unread = current || !recent.data ? 0 : countUnread(recent.data.items, seen, user.id);
  const full = recent.data?.nextCursor != null && unread === recent.data.items.length;
  return (
    <li>
      <a
        className="chat-rooms__link"
        href={chatRoomPath(room.id)}
        aria-current={current ? 'page' : undefined}
        data-testid="chat-room-link"
        data-room-id={room.id}
        data-unread={unread}
      >
        <span className="chat-rooms__name">{room.name}</span>
        {unread > 0 && (
          <span className="chat-unread" data-testid="chat-unread" aria-label={`${unread} unread`}>
            {full ? `${unread}+` : unread}
          </span>
        )}
      </a>
    </li>
  );
}
