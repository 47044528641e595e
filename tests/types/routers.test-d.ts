import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { AppRouter } from '../../src/server/router.ts';
import { createPulseClient, type PulseClient } from '../../src/sdk/client.ts';
import type {
  messageSchema,
  personSchema,
  presenceSummarySchema,
} from '../../src/shared/schemas/chat.ts';
import type { incidentSchema } from '../../src/shared/schemas/incidents.ts';
import type { pointsBatchSchema } from '../../src/shared/schemas/metrics.ts';
import type {
  notificationSchema,
  readStateEventSchema,
} from '../../src/shared/schemas/notifications.ts';

/**
 * What every router gives its callers, spelled out rather than derived from the schemas: per
 * router, every procedure's input and output at once (a procedure added or removed fails too),
 * then what each subscription yields. A change to a field's name, type, optionality or
 * nullability fails here first. (`void`: no input; `| void | undefined`: an input that may be
 * left out. Subscriptions' outputs are their streams, pinned by what `onData` receives.)
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
/** What a tracked stream yields: the event id (for `lastEventId`) and the item. */
type Tracked<T> = { id: string; data: T };
/** A change to an incident names the version it was made on. */
type Versioned = { id: string; version: number };
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
  seenAt: string | null;
  archivedAt: string | null;
  snoozedUntil: string | null;
  groupKey: string | null;
  teamId: string | null;
  quiet: boolean;
  muted: boolean;
};
type NotificationItemOut = {
  id: string;
  title: string;
  body: string;
  severity: Severity;
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
};
type PreferencesOut = {
  mutedSeverities: ('info' | 'warning')[];
  mutedTeamIds: string[];
  mutedGroupKeys: string[];
  quietHours: { start: string; end: string; timeZone: string } | null;
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
type TokenOut = {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  lastUsedAt: string | null;
};
type RuleIn = {
  series: string;
  op: '>' | '<';
  threshold: number;
  forSeconds: number;
  severity: Severity;
  teamId: string;
};
type TimelineOut = { at: string; actorId: string | null; action: string; detail: string }[];
type Point = { ts: number; value: number };
type LayoutShape = { tiles: string[]; charts: { series: string; range: '5m' | '1h' | '24h' }[] };

describe('auth', () => {
  it('signs in and out, says who the caller is, and manages tokens', () => {
    expectTypeOf<In['auth']>().toEqualTypeOf<{
      login: { username: string; password: string };
      logout: void;
      me: void;
      createToken: { name: string; scopes: Scope[] };
      revokeToken: { id: string };
      listTokens: PageIn;
    }>();
    expectTypeOf<Out['auth']>().toEqualTypeOf<{
      login: { user: UserOut };
      logout: Ok;
      me: UserOut;
      // The secret is shown once, at creation; the list never holds it.
      createToken: { id: string; token: string };
      revokeToken: Ok;
      listTokens: TokenOut[];
    }>();
  });
});

describe('users and teams', () => {
  it('creates users with optional name, role and teams, pages them, names them, and ends their credentials', () => {
    expectTypeOf<In['users']>().toEqualTypeOf<{
      person: { userId: string };
      create: {
        username: string;
        password: string;
        displayName?: string | undefined;
        role?: Role | undefined;
        teamIds?: string[] | undefined;
      };
      list: PageIn;
      setDisabled: { userId: string; disabled: boolean };
      revokeSessions: { userId: string };
      revokeTokens: { userId: string };
    }>();
    expectTypeOf<Out['users']>().toEqualTypeOf<{
      person: PersonOut | null;
      create: UserOut;
      list: UserOut[];
      setDisabled: { userId: string; disabled: boolean; sessionsEnded: number };
      revokeSessions: { count: number };
      revokeTokens: { count: number };
    }>();
  });

  it('creates teams, lists them, and names their people', () => {
    expectTypeOf<In['teams']>().toEqualTypeOf<{
      create: { name: string };
      list: void;
      members: { teamId: string };
      addMember: { teamId: string; userId: string };
    }>();
    expectTypeOf<Out['teams']>().toEqualTypeOf<{
      create: { id: string; name: string };
      list: { id: string; name: string }[];
      members: PersonOut[];
      addMember: UserOut;
    }>();
  });
});

describe('notifications', () => {
  it('pages, counts, marks read, and sends to one kind of recipient', () => {
    expectTypeOf<In['notifications']>().toEqualTypeOf<{
      list: {
        cursor?: string | null | undefined;
        limit?: number | undefined;
        unreadOnly?: boolean | undefined;
        archived?: boolean | undefined;
        snoozed?: boolean | undefined;
        severity?: Severity[] | undefined;
        teamId?: string | undefined;
        search?: string | undefined;
        grouped?: boolean | undefined;
        groupKey?: string | undefined;
      };
      unreadCount: void;
      unseenCount: void;
      markSeen: { upTo: string };
      archive: { ids: string[] };
      unarchive: { ids: string[] };
      snooze: { ids: string[]; until: string };
      unsnooze: { ids: string[] };
      preferences: void;
      setPreferences: PreferencesOut;
      markRead: { id: string };
      markAllRead: void;
      send: {
        to:
          | { userIds: string[] }
          | { usernames: string[] }
          | { teamId: string }
          | { teamName: string }
          | { all: true };
        title: string;
        body?: string | undefined;
        severity: Severity;
        groupKey?: string | undefined;
        link?: string | null | undefined;
      };
      onNotification: ResumeIn;
      onInboxChange: ResumeIn;
      onReadState: void;
    }>();
    expectTypeOf<
      Omit<Out['notifications'], 'onNotification' | 'onInboxChange' | 'onReadState'>
    >().toEqualTypeOf<{
      list: { items: NotificationItemOut[]; nextCursor: string | null };
      unreadCount: number;
      unseenCount: number;
      markSeen: { count: number };
      archive: { notifications: NotificationOut[] };
      unarchive: { notifications: NotificationOut[] };
      snooze: { notifications: NotificationOut[] };
      unsnooze: { notifications: NotificationOut[] };
      preferences: PreferencesOut;
      setPreferences: PreferencesOut;
      markRead: NotificationOut;
      markAllRead: { count: number };
      send: { count: number };
    }>();
  });

  it('streams notifications tracked by id, and read state', () => {
    expectTypeOf<Yielded<PulseClient['notifications']['onNotification']>>().toEqualTypeOf<
      Tracked<NotificationOut>
    >();
    // Read state changed on any of the caller's tabs and devices.
    type ReadStateOut = {
      kind: 'read' | 'all';
      ids: string[];
      readAt: string;
      unreadCount: number;
    };
    expectTypeOf<
      Yielded<PulseClient['notifications']['onReadState']>
    >().toEqualTypeOf<ReadStateOut>();
    // Triage on any tab or device, and snoozes waking.
    expectTypeOf<Yielded<PulseClient['notifications']['onInboxChange']>>().toEqualTypeOf<
      Tracked<{
        kind:
          | 'seen'
          | 'read'
          | 'readAll'
          | 'archived'
          | 'unarchived'
          | 'snoozed'
          | 'unsnoozed'
          | 'woken'
          | 'preferences';
        ids: string[];
        at: string;
        notifications: NotificationOut[];
        upTo: string | null;
        preferences: PreferencesOut | null;
        unseenCount: number;
        unreadCount: number;
      }>
    >();
  });
});

describe('metrics and the dashboard', () => {
  it('ingests points with an optional timestamp, reads and streams them, and keeps layouts', () => {
    expectTypeOf<In['metrics']>().toEqualTypeOf<{
      ingest: { points: { series: string; value: number; ts?: number | undefined }[] };
      list: void;
      range: { series: string; from: number; to: number; maxPoints?: number | undefined };
      onPoints: { series: string[] };
    }>();
    expectTypeOf<Omit<Out['metrics'], 'onPoints'>>().toEqualTypeOf<{
      ingest: { accepted: number };
      list: { series: string; last: Point }[];
      range: Point[];
    }>();
    expectTypeOf<Yielded<PulseClient['metrics']['onPoints']>>().toEqualTypeOf<
      { series: string; points: Point[] }[]
    >();
    // The dashboard: the caller's own layout, read and saved whole.
    expectTypeOf<In['dashboard']>().toEqualTypeOf<{ layout: void; saveLayout: LayoutShape }>();
    expectTypeOf<Out['dashboard']>().toEqualTypeOf<{
      layout: LayoutShape;
      saveLayout: LayoutShape;
    }>();
  });
});

describe('alerts and incidents', () => {
  it('creates, pages and deletes alert rules', () => {
    expectTypeOf<In['alerts']>().toEqualTypeOf<{
      listRules: PageIn;
      createRule: RuleIn;
      deleteRule: { id: string };
    }>();
    type RuleOut = Out['alerts']['createRule'];
    expectTypeOf<RuleOut>().toEqualTypeOf<{
      [K in keyof RuleIn | 'id' | 'createdAt']: K extends keyof RuleIn ? RuleIn[K] : string;
    }>();
    expectTypeOf<Out['alerts']>().toEqualTypeOf<{
      listRules: RuleOut[];
      createRule: RuleOut;
      deleteRule: Ok;
    }>();
  });

  it('pages incidents by status, opens them, changes them by version, and streams changes', () => {
    expectTypeOf<In['incidents']>().toEqualTypeOf<{
      list:
        | void
        | {
            cursor?: string | null | undefined;
            limit?: number | undefined;
            status?: 'open' | 'acknowledged' | 'resolved' | undefined;
          }
        | undefined;
      get: { id: string };
      create: { title: string; severity: Severity; teamId: string };
      acknowledge: Versioned;
      assign: { id: string; version: number; assigneeId: string };
      resolve: Versioned;
      onChange: ResumeIn;
    }>();
    expectTypeOf<Omit<Out['incidents'], 'onChange'>>().toEqualTypeOf<{
      list: IncidentOut[];
      get: {
        [K in keyof IncidentOut | 'timeline']: K extends keyof IncidentOut
          ? IncidentOut[K]
          : TimelineOut;
      };
      create: IncidentOut;
      acknowledge: IncidentOut;
      assign: IncidentOut;
      resolve: IncidentOut;
    }>();
    expectTypeOf<Yielded<PulseClient['incidents']['onChange']>>().toEqualTypeOf<
      Tracked<IncidentOut>
    >();
  });
});

describe('chat', () => {
  it('pages rooms and history, sends with a client message id, and streams the room', () => {
    expectTypeOf<In['chat']>().toEqualTypeOf<{
      rooms: PageIn;
      room: { roomId: string };
      members: { roomId: string };
      // `cursor` is `before` under the name infinite queries use.
      history: {
        roomId: string;
        before?: string | null | undefined;
        cursor?: string | null | undefined;
        limit?: number | undefined;
      };
      send: { roomId: string; text: string; clientMessageId: string };
      onMessage: { roomId: string; lastEventId?: string | null | undefined };
      setTyping: { roomId: string; typing: boolean };
      onTyping: { roomId: string };
      onPresence: { roomId: string };
      onPresenceSummary: { roomId: string };
    }>();
    expectTypeOf<
      Omit<Out['chat'], 'onMessage' | 'onTyping' | 'onPresence' | 'onPresenceSummary'>
    >().toEqualTypeOf<{
      rooms: RoomOut[];
      room: RoomOut;
      members: PersonOut[];
      history: { items: MessageOut[]; nextCursor: string | null };
      send: MessageOut;
      setTyping: Ok;
    }>();
    expectTypeOf<Yielded<PulseClient['chat']['onMessage']>>().toEqualTypeOf<Tracked<MessageOut>>();
    expectTypeOf<Yielded<PulseClient['chat']['onTyping']>>().toEqualTypeOf<PersonOut[]>();
    expectTypeOf<Yielded<PulseClient['chat']['onPresence']>>().toEqualTypeOf<PersonOut[]>();
    expectTypeOf<Yielded<PulseClient['chat']['onPresenceSummary']>>().toEqualTypeOf<{
      count: number;
      people: PersonOut[];
      complete: boolean;
    }>();
  });
});

describe('system', () => {
  it('answers health to anyone and stats to admins', () => {
    expectTypeOf<In['system']>().toEqualTypeOf<{ health: void; stats: void }>();
    expectTypeOf<Out['system']>().toEqualTypeOf<{
      health: { status: 'ok'; version: string; uptimeS: number };
      stats: {
        connections: { sse: number; ws: number };
        subscriptions: number;
        eventsPublished: number;
        eventsDelivered: number;
        droppedSlowConsumers: number;
        instance: string;
      };
    }>();
  });
});

describe("what streams yield is what their contract's schemas say", () => {
  it('matches each subscription to the schema of its meta.yields (api/contract.json)', () => {
    expectTypeOf<Yielded<PulseClient['notifications']['onNotification']>>().toEqualTypeOf<
      Tracked<z.output<typeof notificationSchema>>
    >();
    expectTypeOf<Yielded<PulseClient['notifications']['onReadState']>>().toEqualTypeOf<
      z.output<typeof readStateEventSchema>
    >();
    expectTypeOf<Yielded<PulseClient['metrics']['onPoints']>>().toEqualTypeOf<
      z.output<typeof pointsBatchSchema>
    >();
    expectTypeOf<Yielded<PulseClient['incidents']['onChange']>>().toEqualTypeOf<
      Tracked<z.output<typeof incidentSchema>>
    >();
    expectTypeOf<Yielded<PulseClient['chat']['onMessage']>>().toEqualTypeOf<
      Tracked<z.output<typeof messageSchema>>
    >();
    type People = z.output<typeof personSchema>[];
    expectTypeOf<Yielded<PulseClient['chat']['onTyping']>>().toEqualTypeOf<People>();
    expectTypeOf<Yielded<PulseClient['chat']['onPresence']>>().toEqualTypeOf<People>();
    expectTypeOf<Yielded<PulseClient['chat']['onPresenceSummary']>>().toEqualTypeOf<
      z.output<typeof presenceSummarySchema>
    >();
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
