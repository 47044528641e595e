import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { AppRouter } from '../../src/server/router.ts';
import { createPulseClient, type PulseClient } from '../../src/sdk/client.ts';

/**
 * What every router gives its callers, spelled out rather than derived from the schemas: a
 * change to a field's name, type, optionality or nullability fails here first.
 */
type In = inferRouterInputs<AppRouter>;
type Out = inferRouterOutputs<AppRouter>;
const client = createPulseClient({ url: 'http://127.0.0.1:1' });

/** What a subscription hands to `onData`. */
type Yielded<S extends { subscribe: (...args: never[]) => unknown }> = Parameters<
  NonNullable<NonNullable<Parameters<S['subscribe']>[1]>['onData']>
>[0];

type Severity = 'info' | 'warning' | 'critical';
type Role = 'admin' | 'member';
type Scope = 'read' | 'write' | 'ingest' | 'notify';
type UserOut = { id: string; username: string; displayName: string; role: Role; teamIds: string[] };
type PersonOut = { userId: string; username: string; displayName: string };
type Ok = { ok: true };
/** The input of the lists that grow, which may be left out altogether. */
type PageIn = void | { cursor?: string | null | undefined; limit?: number | undefined } | undefined;
/** Where a tracked stream resumes, if anywhere. */
type ResumeIn = void | { lastEventId?: string | null | undefined } | undefined;
type NotificationOut = {
  id: string;
  title: string;
  body: string;
  severity: Severity;
  link: string | null;
  createdAt: string;
  readAt: string | null;
};
type IncidentOut = {
  id: string;
  teamId: string;
  title: string;
  severity: Severity;
  status: 'open' | 'acknowledged' | 'resolved';
  assigneeId: string | null;
  version: number;
  openedAt: string;
  updatedAt: string;
  ruleId: string | null;
};
type MessageOut = {
  id: string;
  roomId: string;
  authorId: string;
  text: string;
  clientMessageId: string;
  createdAt: string;
};
type RoomOut = {
  id: string;
  kind: 'team' | 'incident';
  teamId: string;
  incidentId: string | null;
  name: string;
};
type LayoutShape = { tiles: string[]; charts: { series: string; range: '5m' | '1h' | '24h' }[] };

describe('auth', () => {
  it('signs in and out, says who the caller is, and manages tokens', () => {
    expectTypeOf<In['auth']['login']>().toEqualTypeOf<{ username: string; password: string }>();
    expectTypeOf<Out['auth']['login']>().toEqualTypeOf<{ user: UserOut }>();
    expectTypeOf<In['auth']['logout']>().toEqualTypeOf<void>();
    expectTypeOf<Out['auth']['logout']>().toEqualTypeOf<Ok>();
    expectTypeOf<In['auth']['me']>().toEqualTypeOf<void>();
    expectTypeOf<Out['auth']['me']>().toEqualTypeOf<UserOut>();
    expectTypeOf<In['auth']['createToken']>().toEqualTypeOf<{ name: string; scopes: Scope[] }>();
    // The secret is shown once, at creation.
    expectTypeOf<Out['auth']['createToken']>().toEqualTypeOf<{ id: string; token: string }>();
    expectTypeOf<In['auth']['revokeToken']>().toEqualTypeOf<{ id: string }>();
    expectTypeOf<Out['auth']['revokeToken']>().toEqualTypeOf<Ok>();
    expectTypeOf<In['auth']['listTokens']>().toEqualTypeOf<PageIn>();
    expectTypeOf<Out['auth']['listTokens']>().toEqualTypeOf<
      { id: string; name: string; scopes: Scope[]; createdAt: string; lastUsedAt: string | null }[]
    >();
    expectTypeOf<Out['auth']['listTokens'][number]>().not.toHaveProperty('token');
  });
});

describe('users and teams', () => {
  it('creates users with optional name, role and teams, and pages them', () => {
    expectTypeOf<In['users']['create']>().toEqualTypeOf<{
      username: string;
      password: string;
      displayName?: string | undefined;
      role?: Role | undefined;
      teamIds?: string[] | undefined;
    }>();
    expectTypeOf<Out['users']['create']>().toEqualTypeOf<UserOut>();
    expectTypeOf<Out['users']['create']>().not.toHaveProperty('passwordHash');
    expectTypeOf<In['users']['list']>().toEqualTypeOf<PageIn>();
    expectTypeOf<Out['users']['list']>().toEqualTypeOf<UserOut[]>();
    expectTypeOf<In['users']['revokeTokens']>().toEqualTypeOf<{ userId: string }>();
    expectTypeOf<Out['users']['revokeSessions']>().toEqualTypeOf<{ count: number }>();
  });

  it('creates teams, lists them, and names their people', () => {
    expectTypeOf<In['teams']['create']>().toEqualTypeOf<{ name: string }>();
    expectTypeOf<Out['teams']['create']>().toEqualTypeOf<{ id: string; name: string }>();
    expectTypeOf<In['teams']['list']>().toEqualTypeOf<void>();
    expectTypeOf<Out['teams']['list']>().toEqualTypeOf<{ id: string; name: string }[]>();
    expectTypeOf<In['teams']['members']>().toEqualTypeOf<{ teamId: string }>();
    expectTypeOf<Out['teams']['members']>().toEqualTypeOf<PersonOut[]>();
    expectTypeOf<In['teams']['addMember']>().toEqualTypeOf<{ teamId: string; userId: string }>();
    expectTypeOf<Out['teams']['addMember']>().toEqualTypeOf<UserOut>();
  });
});

describe('notifications', () => {
  it('sends to one kind of recipient, with an optional body and link', () => {
    expectTypeOf<In['notifications']['send']>().toEqualTypeOf<{
      to:
        | { userIds: string[] }
        | { usernames: string[] }
        | { teamId: string }
        | { teamName: string }
        | { all: true };
      title: string;
      body?: string | undefined;
      severity: Severity;
      link?: string | null | undefined;
    }>();
    expectTypeOf<Out['notifications']['send']>().toEqualTypeOf<{ count: number }>();
  });

  it('marks read one or all, and counts the unread', () => {
    expectTypeOf<In['notifications']['markRead']>().toEqualTypeOf<{ id: string }>();
    expectTypeOf<Out['notifications']['markRead']>().toEqualTypeOf<NotificationOut>();
    expectTypeOf<In['notifications']['markAllRead']>().toEqualTypeOf<void>();
    expectTypeOf<Out['notifications']['markAllRead']>().toEqualTypeOf<{ count: number }>();
    expectTypeOf<In['notifications']['unreadCount']>().toEqualTypeOf<void>();
    expectTypeOf<Out['notifications']['unreadCount']>().toEqualTypeOf<number>();
  });

  it('streams notifications tracked by id from an optional lastEventId, and read state', () => {
    expectTypeOf<In['notifications']['onNotification']>().toEqualTypeOf<ResumeIn>();
    expectTypeOf<Yielded<PulseClient['notifications']['onNotification']>>().toEqualTypeOf<{
      id: string;
      data: NotificationOut;
    }>();
    expectTypeOf<In['notifications']['onReadState']>().toEqualTypeOf<void>();
    expectTypeOf<Yielded<PulseClient['notifications']['onReadState']>>().toEqualTypeOf<{
      kind: 'read' | 'all';
      ids: string[];
      readAt: string;
      unreadCount: number;
    }>();
  });
});

describe('metrics and the dashboard', () => {
  it('ingests points with an optional timestamp and reads series and ranges', () => {
    expectTypeOf<In['metrics']['ingest']>().toEqualTypeOf<{
      points: { series: string; value: number; ts?: number | undefined }[];
    }>();
    expectTypeOf<Out['metrics']['ingest']>().toEqualTypeOf<{ accepted: number }>();
    expectTypeOf<In['metrics']['list']>().toEqualTypeOf<void>();
    expectTypeOf<Out['metrics']['list']>().toEqualTypeOf<
      { series: string; last: { ts: number; value: number } }[]
    >();
    expectTypeOf<In['metrics']['range']>().toEqualTypeOf<{
      series: string;
      from: number;
      to: number;
      maxPoints?: number | undefined;
    }>();
    expectTypeOf<Out['metrics']['range']>().toEqualTypeOf<{ ts: number; value: number }[]>();
  });

  it('streams batches of points for the watched series', () => {
    expectTypeOf<In['metrics']['onPoints']>().toEqualTypeOf<{ series: string[] }>();
    expectTypeOf<Yielded<PulseClient['metrics']['onPoints']>>().toEqualTypeOf<
      { series: string; points: { ts: number; value: number }[] }[]
    >();
  });

  it('reads and saves the caller’s layout', () => {
    expectTypeOf<In['dashboard']['layout']>().toEqualTypeOf<void>();
    expectTypeOf<Out['dashboard']['layout']>().toEqualTypeOf<LayoutShape>();
    expectTypeOf<In['dashboard']['saveLayout']>().toEqualTypeOf<LayoutShape>();
    expectTypeOf<Out['dashboard']['saveLayout']>().toEqualTypeOf<LayoutShape>();
  });
});

describe('alerts and incidents', () => {
  it('creates, pages and deletes alert rules', () => {
    expectTypeOf<In['alerts']['createRule']>().toEqualTypeOf<{
      series: string;
      op: '>' | '<';
      threshold: number;
      forSeconds: number;
      severity: Severity;
      teamId: string;
    }>();
    expectTypeOf<Out['alerts']['createRule']>().toEqualTypeOf<{
      id: string;
      series: string;
      op: '>' | '<';
      threshold: number;
      forSeconds: number;
      severity: Severity;
      teamId: string;
      createdAt: string;
    }>();
    expectTypeOf<In['alerts']['listRules']>().toEqualTypeOf<PageIn>();
    expectTypeOf<Out['alerts']['listRules']>().toEqualTypeOf<Out['alerts']['createRule'][]>();
    expectTypeOf<In['alerts']['deleteRule']>().toEqualTypeOf<{ id: string }>();
    expectTypeOf<Out['alerts']['deleteRule']>().toEqualTypeOf<Ok>();
  });

  it('pages incidents by status, and reads one with its timeline', () => {
    expectTypeOf<In['incidents']['list']>().toEqualTypeOf<
      | void
      | {
          cursor?: string | null | undefined;
          limit?: number | undefined;
          status?: 'open' | 'acknowledged' | 'resolved' | undefined;
        }
      | undefined
    >();
    expectTypeOf<Out['incidents']['list']>().toEqualTypeOf<IncidentOut[]>();
    expectTypeOf<In['incidents']['get']>().toEqualTypeOf<{ id: string }>();
    type Timeline = { at: string; actorId: string | null; action: string; detail: string }[];
    expectTypeOf<Out['incidents']['get']>().toEqualTypeOf<{
      [K in keyof IncidentOut | 'timeline']: K extends keyof IncidentOut
        ? IncidentOut[K]
        : Timeline;
    }>();
  });

  it('opens incidents and changes them by version', () => {
    expectTypeOf<In['incidents']['create']>().toEqualTypeOf<{
      title: string;
      severity: Severity;
      teamId: string;
    }>();
    expectTypeOf<Out['incidents']['create']>().toEqualTypeOf<IncidentOut>();
    expectTypeOf<In['incidents']['acknowledge']>().toEqualTypeOf<{ id: string; version: number }>();
    expectTypeOf<In['incidents']['resolve']>().toEqualTypeOf<{ id: string; version: number }>();
    expectTypeOf<In['incidents']['assign']>().toEqualTypeOf<{
      id: string;
      version: number;
      assigneeId: string;
    }>();
    expectTypeOf<Out['incidents']['acknowledge']>().toEqualTypeOf<IncidentOut>();
    expectTypeOf<Out['incidents']['assign']>().toEqualTypeOf<IncidentOut>();
    expectTypeOf<Out['incidents']['resolve']>().toEqualTypeOf<IncidentOut>();
  });

  it('streams changes tracked by id from an optional lastEventId', () => {
    expectTypeOf<In['incidents']['onChange']>().toEqualTypeOf<ResumeIn>();
    expectTypeOf<Yielded<PulseClient['incidents']['onChange']>>().toEqualTypeOf<{
      id: string;
      data: IncidentOut;
    }>();
  });
});

describe('chat', () => {
  it('pages rooms, and reads one room and its people', () => {
    expectTypeOf<In['chat']['rooms']>().toEqualTypeOf<PageIn>();
    expectTypeOf<Out['chat']['rooms']>().toEqualTypeOf<RoomOut[]>();
    expectTypeOf<In['chat']['room']>().toEqualTypeOf<{ roomId: string }>();
    expectTypeOf<Out['chat']['room']>().toEqualTypeOf<RoomOut>();
    expectTypeOf<In['chat']['members']>().toEqualTypeOf<{ roomId: string }>();
    expectTypeOf<Out['chat']['members']>().toEqualTypeOf<PersonOut[]>();
  });

  it('pages history by `before` or `cursor`, and sends with a client message id', () => {
    expectTypeOf<In['chat']['history']>().toEqualTypeOf<{
      roomId: string;
      before?: string | null | undefined;
      cursor?: string | null | undefined;
      limit?: number | undefined;
    }>();
    expectTypeOf<Out['chat']['history']>().toEqualTypeOf<{
      items: MessageOut[];
      nextCursor: string | null;
    }>();
    expectTypeOf<In['chat']['send']>().toEqualTypeOf<{
      roomId: string;
      text: string;
      clientMessageId: string;
    }>();
    expectTypeOf<Out['chat']['send']>().toEqualTypeOf<MessageOut>();
    expectTypeOf<In['chat']['setTyping']>().toEqualTypeOf<{ roomId: string; typing: boolean }>();
    expectTypeOf<Out['chat']['setTyping']>().toEqualTypeOf<Ok>();
  });

  it('streams messages tracked by id, and who types and who is here', () => {
    expectTypeOf<In['chat']['onMessage']>().toEqualTypeOf<{
      roomId: string;
      lastEventId?: string | null | undefined;
    }>();
    expectTypeOf<Yielded<PulseClient['chat']['onMessage']>>().toEqualTypeOf<{
      id: string;
      data: MessageOut;
    }>();
    expectTypeOf<In['chat']['onTyping']>().toEqualTypeOf<{ roomId: string }>();
    expectTypeOf<Yielded<PulseClient['chat']['onTyping']>>().toEqualTypeOf<PersonOut[]>();
    expectTypeOf<In['chat']['onPresence']>().toEqualTypeOf<{ roomId: string }>();
    expectTypeOf<Yielded<PulseClient['chat']['onPresence']>>().toEqualTypeOf<PersonOut[]>();
  });
});

describe('system', () => {
  it('answers health to anyone and stats to admins', () => {
    expectTypeOf<In['system']['health']>().toEqualTypeOf<void>();
    expectTypeOf<Out['system']['health']>().toEqualTypeOf<{
      status: 'ok';
      version: string;
      uptimeS: number;
    }>();
    expectTypeOf<In['system']['stats']>().toEqualTypeOf<void>();
    expectTypeOf<Out['system']['stats']>().toEqualTypeOf<{
      connections: { sse: number; ws: number };
      subscriptions: number;
      eventsPublished: number;
      eventsDelivered: number;
      droppedSlowConsumers: number;
      instance: string;
    }>();
  });
});

describe('wrong calls do not compile', () => {
  it('refuses missing and mistyped fields across the routers', () => {
    // @ts-expect-error a rule needs a team
    void client.alerts.createRule.mutate({
      series: 's',
      op: '>',
      threshold: 1,
      forSeconds: 0,
      severity: 'info',
    });
    void client.alerts.createRule.mutate({
      series: 's',
      // @ts-expect-error op is `>` or `<`
      op: '>=',
      threshold: 1,
      forSeconds: 0,
      severity: 'info',
      teamId: 't',
    });
    // @ts-expect-error a change names the version it was made on
    void client.incidents.acknowledge.mutate({ id: 'inc_1' });
    // @ts-expect-error no such status
    void client.incidents.list.query({ status: 'closed' });
    // @ts-expect-error a message needs its client id
    void client.chat.send.mutate({ roomId: 'room_1', text: 'hi' });
    // @ts-expect-error a range is in milliseconds, not dates
    void client.metrics.range.query({ series: 's', from: new Date(), to: 1 });
    // @ts-expect-error no such time range
    void client.dashboard.saveLayout.mutate({ tiles: [], charts: [{ series: 's', range: '1w' }] });
    // @ts-expect-error a role is admin or member
    void client.users.create.mutate({ username: 'u', password: 'p', role: 'owner' });
    // @ts-expect-error onPresence needs a room
    client.chat.onPresence.subscribe({}, {});
  });
});
