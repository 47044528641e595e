import type { TRPCClientError } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { AppRouter } from '../../src/server/router.ts';
import { createPulseClient } from '../../src/sdk/client.ts';
import type {
  Notification,
  NotificationListItem,
  ReadStateEvent,
} from '../../src/shared/schemas/notifications.ts';

type Out = inferRouterOutputs<AppRouter>;
type In = inferRouterInputs<AppRouter>;
const client = createPulseClient({ url: 'http://127.0.0.1:1' });

describe('what callers see', () => {
  it('types notifications.list end to end', () => {
    expectTypeOf<Out['notifications']['list']>().toEqualTypeOf<{
      items: {
        id: string;
        title: string;
        body: string;
        severity: 'info' | 'warning' | 'critical';
        link: string | null;
        createdAt: string;
        readAt: string | null;
        seenAt: string | null;
        archivedAt: string | null;
        snoozedUntil: string | null;
        groupKey: string | null;
        teamId: string | null;
        quiet: boolean;
        muted: boolean;
        group?: { key: string; count: number; unreadCount: number } | null | undefined;
      }[];
      nextCursor: string | null;
    }>();
    expectTypeOf<
      Out['notifications']['list']['items'][number]
    >().toEqualTypeOf<NotificationListItem>();
    expectTypeOf<In['notifications']['list']>().toEqualTypeOf<{
      cursor?: string | null | undefined;
      limit?: number | undefined;
      unreadOnly?: boolean | undefined;
      archived?: boolean | undefined;
      snoozed?: boolean | undefined;
      severity?: ('info' | 'warning' | 'critical')[] | undefined;
      teamId?: string | undefined;
      search?: string | undefined;
      grouped?: boolean | undefined;
      groupKey?: string | undefined;
    }>();
    expectTypeOf(client.notifications.unreadCount.query).returns.resolves.toEqualTypeOf<number>();
  });

  it('types onNotification as tracked notifications', () => {
    client.notifications.onNotification.subscribe(
      { lastEventId: 'ntf_1' },
      {
        onData(event) {
          expectTypeOf(event).toEqualTypeOf<{ id: string; data: Notification }>();
        },
        onError(error) {
          expectTypeOf(error).toExtend<TRPCClientError<AppRouter>>();
          expectTypeOf(error.data?.issues).toExtend<unknown[] | null | undefined>();
        },
      },
    );
    client.notifications.onReadState.subscribe(undefined, {
      onData(event) {
        expectTypeOf(event).toEqualTypeOf<ReadStateEvent>();
      },
    });
  });

  it('types the admin credential controls and the paged lists', () => {
    expectTypeOf<In['users']['setDisabled']>().toEqualTypeOf<{
      userId: string;
      disabled: boolean;
    }>();
    expectTypeOf<Out['users']['setDisabled']>().toEqualTypeOf<{
      userId: string;
      disabled: boolean;
      sessionsEnded: number;
    }>();
    expectTypeOf<In['users']['revokeSessions']>().toEqualTypeOf<{ userId: string }>();
    expectTypeOf<Out['users']['revokeTokens']>().toEqualTypeOf<{ count: number }>();
    // Paging adds optional input and keeps the arrays the contract fixes.
    expectTypeOf<undefined>().toExtend<In['users']['list']>();
    expectTypeOf<{ cursor: string | null; limit: number }>().toExtend<In['users']['list']>();
    expectTypeOf<Out['users']['list']>().toEqualTypeOf<Out['auth']['me'][]>();
    expectTypeOf<Out['incidents']['list']>().toBeArray();
    expectTypeOf<Out['chat']['rooms']>().toBeArray();
    expectTypeOf<Out['alerts']['listRules']>().toBeArray();
    expectTypeOf<Out['auth']['listTokens']>().toBeArray();
    // @ts-expect-error disabled is a boolean
    void client.users.setDisabled.mutate({ userId: 'usr_1', disabled: 'yes' });
    // @ts-expect-error a user id is needed
    void client.users.revokeSessions.mutate({});
  });

  it('rejects wrong inputs at compile time', () => {
    // @ts-expect-error limit is a number
    void client.notifications.list.query({ limit: '10' });
    // @ts-expect-error severity is one of three
    void client.notifications.send.mutate({ to: { all: true }, title: 't', severity: 'loud' });
    // @ts-expect-error `all` must be true
    void client.notifications.send.mutate({ to: { all: false }, title: 't', severity: 'info' });
    // @ts-expect-error markRead needs an id
    void client.notifications.markRead.mutate({});
    // @ts-expect-error lastEventId is a string
    client.notifications.onNotification.subscribe({ lastEventId: 1 }, {});
    /* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access -- it does not exist: the point */
    // @ts-expect-error no such procedure
    void client.notifications.delete.mutate({ id: 'x' });
    /* eslint-enable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access */
    // @ts-expect-error scopes are a fixed set
    void client.auth.createToken.mutate({ name: 'x', scopes: ['admin'] });
  });
});
