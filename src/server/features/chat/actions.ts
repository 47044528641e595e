import type { User } from '../../../shared/schemas/auth.ts';
import type { Person, Room } from '../../../shared/schemas/chat.ts';
import { chatRoomPath, incidentPath } from '../../../shared/paths.ts';
import type { EventBus } from '../../platform/bus.ts';
import { seesTeam } from '../../platform/policy.ts';
import type { NotificationActions } from '../notifications/actions.ts';
import type { UserStore } from '../users/store.ts';
import type { ChatStore, SendResult } from './store.ts';

export const personOf = (user: User): Person => ({
  userId: user.id,
  username: user.username,
  displayName: user.displayName,
});

/** Sending messages and typing signals: each stored (messages) and announced on the bus. */
export function createChatActions(deps: {
  store: ChatStore;
  bus: EventBus;
  notifications: NotificationActions;
  /** Whom `@mentions` name. */
  users: UserStore;
}) {
  const { store, bus, notifications, users } = deps;

  /** Users named `@username` in the text who may read the room, besides the author. */
  async function mentioned(text: string, room: Room, authorId: string): Promise<string[]> {
    const names = [
      ...new Set([...text.matchAll(/(?:^|[^\w@])@([a-z0-9_.-]{1,40})/g)].map((m) => m[1] ?? '')),
    ];
    if (names.length === 0) return [];
    const ids = await users.idsByUsernames(names);
    const found = await Promise.all([...ids.values()].map((id) => users.byId(id)));
    return found
      .filter((u): u is User => u !== null && u.id !== authorId && seesTeam(u, room.teamId))
      .map((u) => u.id);
  }

  /** Announces who is typing in a room; every instance's chat feed keeps the list. */
  const setTyping = (roomId: string, person: Person, on: boolean) =>
    bus.publish('chat.typing', { roomId, person, typing: on });

  return {
    setTyping,

    /**
     * Stores a message (idempotent by `clientMessageId`); a new one is announced, ends its
     * author's typing indicator, and notifies whom it mentions.
     */
    async send(
      room: Room,
      author: User,
      input: { text: string; clientMessageId: string },
    ): Promise<SendResult> {
      const result = await store.send({ ...input, roomId: room.id, authorId: author.id });
      if (result.kind === 'created') {
        const { seq, message } = result;
        await bus.publish('chat.messages', { seq, row: { seq, message } });
        await setTyping(room.id, personOf(author), false);
        const targets = await mentioned(input.text, room, author.id);
        await notifications.notify(
          { kind: 'users', userIds: targets },
          {
            title: `${author.displayName} mentioned you in ${room.name}`,
            body: input.text.length > 300 ? `${input.text.slice(0, 300)}…` : input.text,
            severity: 'info',
            link: room.incidentId ? incidentPath(room.incidentId) : chatRoomPath(room.id),
          },
        );
      }
      return result;
    },
  };
}

export type ChatActions = ReturnType<typeof createChatActions>;
