import { setMaxListeners } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { createTRPCClient, httpBatchLink, isTRPCClientError, type TRPCClient } from '@trpc/client';
import type { AlertRule, Incident } from '../../shared/schemas/incidents.ts';
import type { TokenScope } from '../../shared/schemas/auth.ts';
import {
  CHAT_PAGE_MAX,
  CLIENT_BATCH_MAX,
  CLIENT_URL_MAX,
  LIST_PAGE_MAX,
} from '../../shared/limits.ts';
import { TRPC_PATH } from '../../shared/paths.ts';
import { incidentRoomId, teamRoomId } from '../../shared/rooms.ts';
import { DEFAULT_LAYOUT } from '../features/metrics/dashboard-router.ts';
import { SESSION_COOKIE } from '../platform/context.ts';
import type { Leases } from '../platform/lease.ts';
import type { AppRouter } from '../router.ts';
import { DEMO_PASSWORD } from '../seed.ts';
import { createFleet, FLEET_SERIES, SERVICES, type Fleet } from './fleet.ts';
import {
  createSchedule,
  DEMO_LAYOUT,
  DEMO_RULES,
  demoTiming,
  HISTORY,
  ON_CALL,
  RESOLVED_TEXT,
  stableUuid,
  type DemoRule,
  type DemoTiming,
  type DemoUsername,
  type Schedule,
} from './script.ts';

/**
 * The living demo's simulator: a program like any other, talking to this server over HTTP
 * with the typed tRPC client. It signs in as the demo users (their seeded password), makes
 * itself API tokens (revoking those of its earlier runs), creates the demo's alert rules and
 * the team room's history when they are missing, gives the demo users a dashboard of the
 * fleet, fills the last hour of the fleet's series, then ingests a point per series every few
 * seconds. It resolves the incidents its rules opened once their service is calm again, and
 * the on-call person says a word in each incident's room. Nothing here touches the database.
 */

type Client = TRPCClient<AppRouter>;

/** The team whose room, rules and incidents the demo plays in. */
export const DEMO_TEAM = 'ops';
/** Names of the tokens the simulator makes (and revokes on its next start). */
export const DEMO_TOKEN_NAMES = {
  user: 'Pulse demo: chat and incidents',
  fleet: 'Pulse demo: simulated fleet',
} as const;

/** How far back a fresh start fills the fleet's series, and the spacing of those points. */
const BACKFILL_MS = 3_600_000;
const BACKFILL_STEP_MS = 10_000;
/** Points per backfill call, under the 5,000 one ingest takes. */
const BACKFILL_BATCH = 4_000;
/** The same failure is told at most this often. */
const WARN_EVERY_MS = 60_000;

export interface DemoOptions {
  /** The server's own address, `http://127.0.0.1:3000`. */
  url: string;
  /** `PULSE_DEMO_SPEED`. */
  speed: number;
  /** `PULSE_METRICS_RETENTION_H`: the backfill stays inside it. */
  retentionH: number;
  /** Where instances agree which of them runs the simulator (one at a time). */
  leases: Leases;
  log?: Pick<Console, 'log' | 'warn'>;
}

export interface Demo {
  /**
   * Stops at once: no call starts after this, and the one in flight is aborted. Resolves when
   * the simulator has settled (its timers cleared).
   */
  stop(): Promise<void>;
  /**
   * Resolves once the demo data is in place and the fleet is live here (or the demo ended);
   * on an instance that does not hold the demo's lease, only when it ends.
   */
  readonly ready: Promise<void>;
  /** Resolves when the simulator has ended: stopped, or given up (it says why). */
  readonly finished: Promise<void>;
}

/** What the simulator acts with once signed in. */
interface Cast {
  people: Record<DemoUsername, Client>;
  /** The fleet: a token that may only ingest. */
  fleet: Client;
  teamId: string;
  /** The demo's rules by id. */
  rules: Map<string, DemoRule>;
}

/** A failure the demo cannot get past by waiting: it says why and stops. */
class DemoUnavailable extends Error {}

const codeOf = (error: unknown) =>
  isTRPCClientError<AppRouter>(error) ? error.data?.code : undefined;

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `work` with a signal of its own that `signal` aborts. tRPC's links add an abort listener
 * to the signal of every call and never take it off, so the simulator's long-lived signal is
 * never handed to a call: each round of calls gets a fresh one, dropped with its listeners.
 */
async function inRound<T>(signal: AbortSignal, work: (round: AbortSignal) => Promise<T>) {
  const round = new AbortController();
  // A round makes a bounded number of calls (setting up makes the most, about 40).
  setMaxListeners(100, round.signal);
  const abort = () => round.abort();
  signal.addEventListener('abort', abort, { once: true });
  if (signal.aborted) round.abort();
  try {
    return await work(round.signal);
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

function connect(url: string, headers: Record<string, string>, fetchImpl?: typeof fetch): Client {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${url}${TRPC_PATH}`,
        headers: () => headers,
        fetch: fetchImpl,
        maxItems: CLIENT_BATCH_MAX,
        maxURLLength: CLIENT_URL_MAX,
      }),
    ],
  });
}

/** Every page of a list that pages by the id of its last item. */
async function allPages<T extends { id: string }>(
  page: (input: { cursor: string | null; limit: number }) => Promise<T[]>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (;;) {
    const got = await page({ cursor, limit: LIST_PAGE_MAX });
    items.push(...got);
    const last = got.at(-1);
    if (got.length < LIST_PAGE_MAX || !last) return items;
    cursor = last.id;
  }
}

/**
 * Signs in as `username`, revokes the tokens earlier runs made, makes the ones asked for, and
 * signs out: the secrets live in this process only, and at most one run's tokens work.
 */
async function tokensOf(
  url: string,
  username: DemoUsername,
  wanted: readonly { name: string; scopes: TokenScope[] }[],
  signal: AbortSignal,
): Promise<string[]> {
  let cookie: string | null = null;
  const door = connect(url, {}, async (input, init) => {
    const response = await fetch(input, init);
    for (const header of response.headers.getSetCookie()) {
      const pair = header.split(';')[0] ?? '';
      if (pair.startsWith(`${SESSION_COOKIE}=`)) cookie = pair;
    }
    return response;
  });
  try {
    await door.auth.login.mutate({ username, password: DEMO_PASSWORD }, { signal });
  } catch (error) {
    const code = codeOf(error);
    if (code === 'UNAUTHORIZED' || code === 'FORBIDDEN') {
      throw new DemoUnavailable(
        `cannot sign in as ${username} with the demo password (${describe(error)})`,
      );
    }
    throw error;
  }
  if (cookie === null) throw new Error(`signing in as ${username} set no session cookie`);
  const session = connect(url, { cookie });
  try {
    const names = new Set(wanted.map((w) => w.name));
    const earlier = await allPages((page) => session.auth.listTokens.query(page, { signal }));
    for (const token of earlier) {
      if (names.has(token.name))
        await session.auth.revokeToken.mutate({ id: token.id }, { signal });
    }
    const secrets: string[] = [];
    for (const spec of wanted) {
      secrets.push((await session.auth.createToken.mutate(spec, { signal })).token);
    }
    return secrets;
  } finally {
    // A session that cannot be ended here (its user was just disabled, say) ends by itself.
    if (!signal.aborted) await session.auth.logout.mutate(undefined, { signal }).catch(() => null);
  }
}

/** Signs the cast in, and puts the demo's rules, history and dashboards in place where missing. */
async function setUp(opts: DemoOptions, timing: DemoTiming, signal: AbortSignal): Promise<Cast> {
  const { url } = opts;
  const user = { name: DEMO_TOKEN_NAMES.user, scopes: ['read', 'write'] as TokenScope[] };
  const [alice] = await tokensOf(url, 'alice', [user], signal);
  const [bob] = await tokensOf(url, 'bob', [user], signal);
  // Carol runs the fleet's agent: its token may ingest and nothing else.
  const [carol, fleet] = await tokensOf(
    url,
    'carol',
    [user, { name: DEMO_TOKEN_NAMES.fleet, scopes: ['ingest'] }],
    signal,
  );
  if (!alice || !bob || !carol || !fleet) throw new Error('a demo token was not made');
  const bearer = (token: string) => connect(url, { authorization: `Bearer ${token}` });
  const people = { alice: bearer(alice), bob: bearer(bob), carol: bearer(carol) };

  const team = (await people.alice.teams.list.query(undefined, { signal })).find(
    (t) => t.name === DEMO_TEAM,
  );
  if (!team) throw new DemoUnavailable(`alice is not in a team named ${DEMO_TEAM}`);

  const existing = await allPages((page) => people.alice.alerts.listRules.query(page, { signal }));
  const rules = new Map<string, DemoRule>();
  for (const rule of DEMO_RULES) {
    const same = (r: AlertRule) =>
      r.teamId === team.id && r.series === rule.series && r.op === rule.op;
    const made =
      existing.find(same) ??
      (await people.alice.alerts.createRule
        .mutate(
          {
            series: rule.series,
            op: rule.op,
            threshold: rule.threshold,
            forSeconds: timing.forSeconds(rule),
            severity: rule.severity,
            teamId: team.id,
          },
          { signal },
        )
        .catch((error: unknown) => {
          // The team has all the rules it may have: the fleet plays on without this one.
          if (codeOf(error) === 'TOO_MANY_REQUESTS') return null;
          throw error;
        }));
    if (made) rules.set(made.id, rule);
  }

  for (const person of Object.values(people)) {
    const layout = await person.dashboard.layout.query(undefined, { signal });
    if (isDeepStrictEqual(layout, DEFAULT_LAYOUT)) {
      await person.dashboard.saveLayout.mutate(DEMO_LAYOUT, { signal });
    }
  }

  const roomId = teamRoomId(team.id);
  const recent = await people.bob.chat.history.query({ roomId, limit: CHAT_PAGE_MAX }, { signal });
  const sent = new Set(recent.items.map((m) => m.clientMessageId));
  for (const [i, line] of HISTORY.entries()) {
    const clientMessageId = stableUuid(`history/${i}`);
    if (sent.has(clientMessageId)) continue;
    await people[line.author].chat.send.mutate(
      { roomId, text: line.text, clientMessageId },
      { signal },
    );
  }

  return { people, fleet: bearer(fleet), teamId: team.id, rules };
}

/**
 * Fills the fleet's series from where they stop (or an hour ago, on a fresh start; never past
 * the retention) up to now, so charts have a past.
 */
async function backfill(cast: Cast, fleet: Fleet, retentionH: number, signal: AbortSignal) {
  const now = Date.now();
  const known = await cast.people.alice.metrics.list.query(undefined, { signal });
  const ours = new Set(FLEET_SERIES);
  const last = Math.max(0, ...known.filter((s) => ours.has(s.series)).map((s) => s.last.ts));
  // A minute inside the retention, so that no point is refused as too old on the way.
  const earliest = now - Math.min(BACKFILL_MS, retentionH * 3_600_000 - 60_000);
  let at = Math.max(earliest, last + BACKFILL_STEP_MS);
  const batch: ReturnType<Fleet['sample']> = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await cast.fleet.metrics.ingest.mutate({ points: batch.splice(0) }, { signal });
  };
  for (; at < now - BACKFILL_STEP_MS / 2; at += BACKFILL_STEP_MS) {
    batch.push(...fleet.sample(at));
    if (batch.length + FLEET_SERIES.length > BACKFILL_BATCH) await flush();
  }
  await flush();
}

/**
 * Looks at the team's open incidents: the on-call person says a word in the room of each one
 * a demo rule opened, and resolves it once it has been open a while and its service is calm.
 */
function createIncidentTending(cast: Cast, timing: DemoTiming, schedule: Schedule) {
  const onCall = cast.people[ON_CALL];
  /** Incidents greeted in this run; only those still open are kept. */
  const greeted = new Set<string>();

  return async function tend(signal: AbortSignal) {
    const now = Date.now();
    const page = await onCall.incidents.list.query({ limit: 50 }, { signal });
    const ours = page.flatMap((incident) => {
      const rule = incident.ruleId === null ? undefined : cast.rules.get(incident.ruleId);
      return rule && incident.status !== 'resolved' ? [{ incident, rule }] : [];
    });
    for (const id of greeted) if (!ours.some((o) => o.incident.id === id)) greeted.delete(id);
    for (const { incident, rule } of ours) {
      const roomId = incidentRoomId(incident.id);
      if (!greeted.has(incident.id)) {
        await onCall.chat.send.mutate(
          {
            roomId,
            text: rule.onOpen,
            clientMessageId: stableUuid(`incident/${incident.id}/open`),
          },
          { signal },
        );
        greeted.add(incident.id);
      }
      const openFor = now - Date.parse(incident.openedAt);
      if (openFor >= timing.resolveAfterMs && !schedule.troubled(rule.service, now)) {
        await resolve(incident, roomId, signal);
      }
    }
  };

  async function resolve(incident: Incident, roomId: string, signal: AbortSignal) {
    try {
      await onCall.incidents.resolve.mutate(
        { id: incident.id, version: incident.version },
        { signal },
      );
    } catch (error) {
      // Someone changed it meanwhile: the next look sees its new version.
      if (codeOf(error) === 'CONFLICT') return;
      throw error;
    }
    await onCall.chat.send.mutate(
      {
        roomId,
        text: RESOLVED_TEXT,
        clientMessageId: stableUuid(`incident/${incident.id}/resolved`),
      },
      { signal },
    );
  }
}

/** Starts the simulator against the server at `opts.url`; `stop()` ends it. */
export function startDemo(opts: DemoOptions): Demo {
  const log = opts.log ?? console;
  const controller = new AbortController();
  const timing = demoTiming(opts.speed);
  const fleet = createFleet();
  const warnedAt = new Map<string, number>();
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  function warn(what: string, error: unknown) {
    const now = Date.now();
    if (now - (warnedAt.get(what) ?? -Infinity) < WARN_EVERY_MS) return;
    warnedAt.set(what, now);
    log.warn(`Demo: ${what} failed (${describe(error)}); trying again`);
  }

  /** Sets up, retrying with backoff; null when the demo cannot run here. */
  async function setUpPatiently(signal: AbortSignal): Promise<Cast | null> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        return await inRound(signal, (round) => setUp(opts, timing, round));
      } catch (error) {
        if (signal.aborted) return null;
        if (error instanceof DemoUnavailable) {
          log.warn(`Demo: not running: ${error.message}`);
          return null;
        }
        warn('setting up', error);
        await sleep(Math.min(30_000, 1000 * 2 ** attempt), signal);
      }
    }
    return null;
  }

  /**
   * The fleet, live, until stopped (resolves) or until its credentials stop working (answers
   * `reauth`: someone revoked a demo token, or changed a demo user).
   */
  async function live(
    cast: Cast,
    schedule: Schedule,
    signal: AbortSignal,
  ): Promise<'stopped' | 'reauth'> {
    const tend = createIncidentTending(cast, timing, schedule);
    let nextLook = 0;
    while (!signal.aborted) {
      const now = Date.now();
      try {
        await inRound(signal, async (round) => {
          const points = fleet.sample(now, schedule.at(now));
          await cast.fleet.metrics.ingest.mutate({ points }, { signal: round });
          if (now >= nextLook) {
            nextLook = now + timing.pollMs;
            await tend(round);
          }
        });
      } catch (error) {
        if (signal.aborted) break;
        if (codeOf(error) === 'UNAUTHORIZED') return 'reauth';
        warn('a fleet round', error);
      }
      await sleep(timing.sampleMs - (Date.now() - now), signal);
    }
    return 'stopped';
  }

  /** One run, while this instance holds the demo's lease (`signal` aborts when it loses it). */
  async function run(signal: AbortSignal) {
    let schedule: Schedule | null = null;
    while (!signal.aborted) {
      const cast = await setUpPatiently(signal);
      if (!cast) return;
      try {
        await inRound(signal, (round) => backfill(cast, fleet, opts.retentionH, round));
      } catch (error) {
        if (signal.aborted) return;
        warn('filling the last hour', error);
      }
      if (!schedule) {
        schedule = createSchedule(timing, Date.now());
        const every =
          timing.sampleMs >= 1000 ? `${timing.sampleMs / 1000} s` : `${timing.sampleMs} ms`;
        log.log(
          `Demo: a simulated fleet (${SERVICES.join(', ')}) sends its metrics every ${every}; its first alert opens an incident in about ${Math.round(timing.firstAlertMs / 1000)} s`,
        );
      }
      markReady();
      if ((await live(cast, schedule, signal)) === 'stopped') return;
    }
  }

  const done = opts.leases
    .hold(
      'demo',
      (held) =>
        run(held).catch((error: unknown) => {
          if (!held.aborted)
            log.warn(`Demo: stopped after an unexpected failure: ${describe(error)}`);
        }),
      controller.signal,
    )
    .catch((error: unknown) => log.warn(`Demo: its lease failed: ${describe(error)}`))
    .finally(markReady);

  return {
    ready,
    finished: done,
    stop() {
      controller.abort();
      return done;
    },
  };
}
