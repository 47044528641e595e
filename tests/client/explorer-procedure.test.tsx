// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, within } from '@testing-library/react';
import type { Observer } from '@trpc/server/observable';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProcedureView } from '../../src/client/features/explorer/procedure-view.tsx';
import { EVENTS_KEPT } from '../../src/client/features/explorer/use-event-stream.ts';
import type { ProcedureContract } from '../../src/shared/api-contract.ts';
import type { User } from '../../src/shared/schemas/auth.ts';
import { sendMessageSchema } from '../../src/shared/schemas/chat.ts';
import { onNotificationSchema } from '../../src/shared/schemas/notifications.ts';
import { serverError } from '../support/fake-link.ts';
import { renderWithClients } from '../support/react.tsx';

afterEach(cleanup);

const member: User = {
  id: 'usr_1',
  username: 'alice',
  displayName: 'Alice',
  role: 'member',
  teamIds: [],
};

const input = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input' });

const chatSend: ProcedureContract = {
  path: 'chat.send',
  type: 'mutation',
  access: 'user',
  scope: 'write',
  input: input(sendMessageSchema),
  output: null,
};

const onNotification: ProcedureContract = {
  path: 'notifications.onNotification',
  type: 'subscription',
  access: 'user',
  scope: 'read',
  tracked: true,
  input: input(onNotificationSchema),
  output: null,
};

type Stream = Observer<{ result: { type: 'started' } | { data: unknown } }, never>;

/** A fake subscription: the test drives it, and sees whether it is still open. */
function fakeStream() {
  const opened: Stream[] = [];
  let closed = 0;
  return {
    handler: (_op: unknown, stream: Stream) => {
      opened.push(stream);
      return () => closed++;
    },
    get current(): Stream {
      const stream = opened.at(-1);
      if (!stream) throw new Error('not subscribed');
      return stream;
    },
    get open() {
      return opened.length - closed;
    },
  };
}

const status = () => screen.getByTestId('explorer-stream');

describe('the explorer calling a procedure', () => {
  it('shows a refused input with its code and zod issues', async () => {
    const refused = { roomId: '', text: 'hi', clientMessageId: 'x' };
    const issues = sendMessageSchema.safeParse(refused).error?.issues ?? [];
    renderWithClients(<ProcedureView procedure={chatSend} user={member} />, {
      'chat.send': (op) => {
        expect(op.input).toEqual({ roomId: '', text: 'hi', clientMessageId: 'x' });
        throw serverError('BAD_REQUEST', 'Invalid input', issues);
      },
    });
    fireEvent.change(screen.getByLabelText('text'), { target: { value: 'hi' } });
    fireEvent.change(screen.getByLabelText('clientMessageId'), { target: { value: 'x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send mutation' }));

    const error = await screen.findByTestId('explorer-error');
    expect(error.dataset['code']).toBe('BAD_REQUEST');
    const shown = within(error)
      .getAllByRole('listitem')
      .map((li) => li.textContent);
    expect(shown).toEqual([
      'roomId Too small: expected string to have >=1 characters (too_small)',
      'clientMessageId Invalid UUID (invalid_format)',
    ]);
  });

  it(`streams events newest first, keeps the latest ${EVENTS_KEPT}, and stops on Stop`, () => {
    const stream = fakeStream();
    renderWithClients(<ProcedureView procedure={onNotification} user={member} />, {
      'notifications.onNotification': stream.handler,
    });
    fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    expect(status().dataset['status']).toBe('starting');
    act(() => stream.current.next({ result: { type: 'started' } }));
    expect(status().dataset['status']).toBe('live');

    act(() => {
      for (let i = 1; i <= EVENTS_KEPT + 5; i++) stream.current.next({ result: { data: { i } } });
    });
    const events = screen.getAllByTestId('explorer-event');
    expect(events).toHaveLength(EVENTS_KEPT);
    expect(events[0]?.textContent).toContain(`#${EVENTS_KEPT + 5}`);
    expect(events.at(-1)?.textContent).toContain('#6');
    expect(status().textContent).toContain(
      `${EVENTS_KEPT + 5} events; the latest ${EVENTS_KEPT} are kept.`,
    );

    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(stream.open).toBe(0);
    expect(status().dataset['status']).toBe('stopped');
  });

  it('ends the stream when the page goes', () => {
    const stream = fakeStream();
    const view = renderWithClients(<ProcedureView procedure={onNotification} user={member} />, {
      'notifications.onNotification': stream.handler,
    });
    fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    expect(stream.open).toBe(1);
    view.unmount();
    expect(stream.open).toBe(0);
  });
});
