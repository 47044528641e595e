// @vitest-environment happy-dom
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageList } from '../../src/client/features/chat/message-list.tsx';
import type { ChatItem } from '../../src/client/features/chat/use-chat-room.ts';
import { rememberPeople, useNames } from '../../src/client/features/people/use-names.ts';
import { createPulseClients } from '../../src/client/pulse-clients.ts';
import { PulseProvider } from '../../src/client/pulse-provider.tsx';
import { trpc } from '../../src/client/trpc.ts';
import type { User } from '../../src/shared/schemas/auth.ts';
import type { Person } from '../../src/shared/schemas/chat.ts';
import { fakeLink } from '../support/fake-link.ts';
import { deferred } from '../support/live.ts';
import { renderWithClients } from '../support/react.tsx';

afterEach(cleanup);

const me: User = {
  id: 'usr_bob',
  username: 'bob',
  displayName: 'Bob Okafor',
  role: 'member',
  teamIds: ['team_ops'],
};
const directory: Record<string, Person> = {
  usr_bob: { userId: 'usr_bob', username: 'bob', displayName: 'Bob Okafor' },
  usr_alice: { userId: 'usr_alice', username: 'alice', displayName: 'Alice Martin' },
  usr_carol: { userId: 'usr_carol', username: 'carol', displayName: 'Carol Nguyen' },
};

const message = (id: string, authorId: string): ChatItem => ({
  kind: 'message',
  key: id,
  message: {
    id,
    roomId: 'room_ops',
    authorId,
    text: `hello from ${authorId}`,
    clientMessageId: crypto.randomUUID(),
    createdAt: '2025-01-01T00:00:00.000Z',
  },
});

/** A room's messages named the way the chat panel names them. */
function Room({ items }: { items: ChatItem[] }) {
  const name = useNames(
    items.map((item) => (item.kind === 'message' ? item.message.authorId : me.id)),
  );
  return (
    <MessageList
      items={items}
      me={me.id}
      name={name}
      loading={false}
      hasOlder={false}
      loadingOlder={false}
      onLoadOlder={() => undefined}
      onRetry={() => undefined}
      onDiscard={() => undefined}
    />
  );
}

/** What the app knows before a room opens: the caller, and carol, whom presence brought along. */
function Known() {
  const utils = trpc.useUtils();
  useState(() => {
    utils.auth.me.setData(undefined, me);
    rememberPeople(utils, [directory['usr_carol']!]);
  });
  return null;
}

/** Someone named on another part of the page (a board's assignee, say). */
function Assignee({ userId }: { userId: string }) {
  const name = useNames([userId]);
  return <p data-testid="assignee">{name(userId)}</p>;
}

const authors = () => screen.getAllByText(/./, { selector: '.chat-msg__author' });

describe('people by name', () => {
  it('names authors who are not in the room, and an id that is no user as unknown, asking once per person', async () => {
    const asked: string[] = [];
    const answer = deferred();
    renderWithClients(
      <>
        <Room
          items={[
            message('msg_1', 'usr_alice'),
            message('msg_2', 'usr_gone'),
            message('msg_3', me.id),
            message('msg_4', 'usr_alice'),
          ]}
        />
        <Assignee userId="usr_alice" />
      </>,
      {
        'users.person': async (op) => {
          const { userId } = op.input as { userId: string };
          asked.push(userId);
          await answer.promise;
          return directory[userId] ?? null;
        },
      },
    );
    // Never an id, not even while the names are on their way.
    expect(authors().map((a) => a.textContent)).toEqual(['…', '…', '…', '…']);
    answer.resolve();
    await waitFor(() =>
      expect(authors().map((a) => a.textContent)).toEqual([
        'Alice Martin',
        'Unknown user',
        'Bob Okafor',
        'Alice Martin',
      ]),
    );
    expect(screen.getByTestId('assignee').textContent).toBe('Alice Martin');
    expect(asked.sort()).toEqual(['usr_alice', 'usr_bob', 'usr_gone']);
  });

  it('needs no request for the caller, nor for people a room already brought along, nor twice', async () => {
    const asked: string[] = [];
    const clients = createPulseClients({
      links: [
        fakeLink({
          'users.person': (op) => {
            const { userId } = op.input as { userId: string };
            asked.push(userId);
            return directory[userId] ?? null;
          },
        }),
      ],
    });
    const view = (items: ChatItem[]) => (
      <PulseProvider clients={clients}>
        <Known />
        <Room items={items} />
      </PulseProvider>
    );
    const { rerender } = render(view([message('msg_1', 'usr_carol'), message('msg_2', me.id)]));
    expect(authors().map((a) => a.textContent)).toEqual(['Carol Nguyen', 'Bob Okafor']);

    // A new message brings a new author: only she is looked up, and only once.
    rerender(
      view([
        message('msg_1', 'usr_carol'),
        message('msg_2', me.id),
        message('msg_3', 'usr_alice'),
        message('msg_4', 'usr_alice'),
      ]),
    );
    await waitFor(() =>
      expect(authors().map((a) => a.textContent)).toEqual([
        'Carol Nguyen',
        'Bob Okafor',
        'Alice Martin',
        'Alice Martin',
      ]),
    );
    expect(asked).toEqual(['usr_alice']);
  });
});
