import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Env } from './env.ts';
import type { Demo } from './demo/simulator.ts';
import { createAuthActions } from './features/auth/actions.ts';
import { createAuthenticator } from './features/auth/authenticate.ts';
import { createCredentialStore } from './features/auth/credential-store.ts';
import { createPasswordHasher } from './features/auth/secrets.ts';
import { createSessionStore } from './features/auth/session-store.ts';
import { startSessionSweeper } from './features/auth/session-sweeper.ts';
import { createTokenStore } from './features/auth/token-store.ts';
import { createChatActions } from './features/chat/actions.ts';
import { createChatFeed } from './features/chat/feed.ts';
import { createChatStore } from './features/chat/store.ts';
import { createIncidentActions } from './features/incidents/actions.ts';
import { startAlertEngine } from './features/incidents/alert-engine.ts';
import { createIncidentFeed } from './features/incidents/feed.ts';
import { createRuleStore } from './features/incidents/rule-store.ts';
import { createIncidentStore } from './features/incidents/store.ts';
import { createMetricActions } from './features/metrics/actions.ts';
import { createMetricsFeed } from './features/metrics/feed.ts';
import { startHealthSampler } from './features/metrics/health-sampler.ts';
import { startPruner } from './features/metrics/pruner.ts';
import { createMetricStore } from './features/metrics/store.ts';
import { createNotificationActions } from './features/notifications/actions.ts';
import { createNotificationFeed } from './features/notifications/feed.ts';
import { createInboxStore } from './features/notifications/inbox-store.ts';
import { startSnoozeWaker } from './features/notifications/snooze-waker.ts';
import { createNotificationStore } from './features/notifications/store.ts';
import { createSettingsStore } from './features/users/settings-store.ts';
import { createUserStore } from './features/users/store.ts';
import { createTeamStore } from './features/users/team-store.ts';
import { consume, createMemoryBus } from './platform/bus.ts';
import { ConnectionRegistry } from './platform/connections.ts';
import { redisLeases, soleLeases } from './platform/lease.ts';
import { openDatabase } from './platform/db.ts';
import { memoryRateLimiters, redisRateLimiters } from './platform/rate-limits.ts';
import { HostPolicy } from './platform/hosts.ts';
import { Hub } from './platform/hub.ts';
import { createMetrics } from './platform/telemetry.ts';
import { createAppRouter } from './router.ts';
import { seedIfEmpty } from './seed.ts';
import { API_VERSION } from '../shared/version.ts';

export interface AppOptions {
  /**
   * The version `system.health` reports; by default the one this code is (`API_VERSION`).
   * Tests start a server that stands for a newer deploy with it.
   */
  version?: string;
}

/**
 * How long one instance reuses who a session or token is (decision 0016): a signed-in request
 * then costs no lookup. Every revocation and user change forgets it at once.
 */
const AUTH_CACHE_MS = 5_000;

/**
 * How long a lease (the demo's simulator) outlives its holder: another instance takes over
 * within this of a crash (a clean stop gives it up at once).
 */
const LEASE_TTL_MS = 15_000;

/**
 * The composition root: opens the database, builds the platform (bus, hub, telemetry,
 * connection bookkeeping, hosts), then each feature with the few things it uses, and the
 * router over them. Nothing runs in the background until `startJobs()`; `close` undoes it all.
 */
export async function createApp(env: Env, opts: AppOptions = {}) {
  const db = await openDatabase(env.DATABASE_URL, { poolSize: env.PULSE_PG_POOL });
  const metrics = createMetrics();
  const instance = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const shared = env.REDIS_URL ? await createShared(env.REDIS_URL, env, instance) : null;
  const bus = shared?.bus ?? createMemoryBus();
  if (shared) metrics.trackRedis(() => shared.link.up());
  const hub = new Hub(metrics);
  const connections = new ConnectionRegistry(
    metrics,
    {
      perUser: env.PULSE_MAX_CONNECTIONS_PER_USER,
      subscriptionsPerUser: env.PULSE_MAX_SUBSCRIPTIONS_PER_USER,
      anonymousPerAddress: env.PULSE_MAX_ANON_CONNECTIONS_PER_ADDRESS,
    },
    shared?.counts ?? null,
  );
  const limiters = shared?.limiters ?? memoryRateLimiters;
  /** Which Host headers and browser origins this server answers. */
  const hosts = new HostPolicy(env);

  const stores = {
    users: createUserStore(db),
    teams: createTeamStore(db),
    settings: createSettingsStore(db),
    credentials: createCredentialStore(db),
    sessions: createSessionStore(db),
    tokens: createTokenStore(db),
    notifications: createNotificationStore(db),
    inbox: createInboxStore(db, { keptPerUser: env.PULSE_INBOX_CHANGES_KEPT }),
    metrics: createMetricStore(db),
    incidents: createIncidentStore(db),
    rules: createRuleStore(db),
    chat: createChatStore(db),
  };
  const feeds = {
    notifications: createNotificationFeed({
      bus,
      hub,
      store: stores.notifications,
      inbox: stores.inbox,
    }),
    metrics: createMetricsFeed({ bus, hub, store: stores.metrics }),
    incidents: createIncidentFeed({ bus, hub, store: stores.incidents }),
    chat: createChatFeed({
      bus,
      hub,
      store: stores.chat,
      instance,
      heartbeatMs: shared ? env.PULSE_HEARTBEAT_S * 1000 : null,
    }),
  };
  const notifications = createNotificationActions({
    store: stores.notifications,
    inbox: stores.inbox,
    bus,
  });
  const actions = {
    auth: createAuthActions({ sessions: stores.sessions, tokens: stores.tokens, bus }),
    notifications,
    metrics: createMetricActions({ store: stores.metrics, bus, env }),
    incidents: createIncidentActions({ store: stores.incidents, bus, notifications }),
    chat: createChatActions({ store: stores.chat, bus, notifications, users: stores.users }),
  };
  const authenticator = createAuthenticator({
    users: stores.users,
    sessions: stores.sessions,
    tokens: stores.tokens,
    env,
    // Exact only where every change is heard at once, through the in-process bus (decision 0016).
    cacheMs: shared ? 0 : AUTH_CACHE_MS,
  });
  /** Password hashing, bounded in concurrency. */
  const passwords = createPasswordHasher({
    logN: env.PULSE_SCRYPT_LOG_N,
    concurrency: env.PULSE_KDF_CONCURRENCY,
    queue: env.PULSE_KDF_QUEUE,
  });
  const { users, teams } = stores;

  const router = createAppRouter({
    auth: {
      users,
      credentials: stores.credentials,
      sessions: stores.sessions,
      tokens: stores.tokens,
      actions: actions.auth,
      passwords,
      limiters,
      env,
    },
    users: { users, teams, passwords, auth: actions.auth },
    teams: { teams, users, auth: actions.auth },
    notifications: {
      store: stores.notifications,
      actions: notifications,
      feed: feeds.notifications,
      users,
      teams,
    },
    metrics: { store: stores.metrics, actions: actions.metrics, feed: feeds.metrics, env },
    dashboard: { settings: stores.settings },
    alerts: { rules: stores.rules, teams, env },
    incidents: {
      incidents: stores.incidents,
      actions: actions.incidents,
      feed: feeds.incidents,
      teams,
      users,
    },
    chat: {
      store: stores.chat,
      actions: actions.chat,
      feed: feeds.chat,
      teams,
      incidents: stores.incidents,
      limiters,
      env,
    },
    system: { metrics, version: opts.version ?? API_VERSION, startedAt: Date.now(), instance },
  });

  const stop = new AbortController();
  // Every background loop of this server listens to it.
  setMaxListeners(100, stop.signal);

  /**
   * Starts every background job, once the fan-outs are following their logs: the feeds'
   * followers, the alert engine, the health sampler, the metrics pruner, the session sweeper
   * and the consumer that closes revoked credentials' connections.
   */
  async function startJobs() {
    const { signal } = stop;
    await Promise.all(Object.values(feeds).map((feed) => feed.start(signal).ready));
    const alerts = startAlertEngine(
      { rules: stores.rules, points: stores.metrics, actions: actions.incidents, bus },
      signal,
    );
    const snoozes = startSnoozeWaker(
      { inbox: stores.inbox, actions: actions.notifications, bus },
      signal,
    );
    startHealthSampler({ actions: actions.metrics, metrics }, signal);
    startPruner({ store: stores.metrics, env }, signal);
    consume({
      subscribe: () => bus.subscribe('auth.revoked', signal),
      signal,
      what: 'revocation',
      handle: ({ kind, key }) => {
        authenticator.forgetCached();
        if (kind === 'user') connections.closeUser(key);
        else connections.closeCredential(key);
      },
      // Revocations announced while the bus was down were not heard: ask the database.
      resumed: () => {
        authenticator.forgetCached();
        void authenticator.ended(connections.openCredentials()).then(
          (ended) => ended.forEach((key) => connections.closeCredential(key)),
          (error: unknown) => console.error('revocation could not catch up', error),
        );
      },
    });
    consume({
      subscribe: () => bus.subscribe('users.changed', signal),
      signal,
      what: 'user change',
      handle: () => authenticator.forgetCached(),
      resumed: () => authenticator.forgetCached(),
    });
    shared?.counts.start(() => connections.userCounts(), signal);
    startSessionSweeper({ actions: actions.auth, env }, signal, () =>
      authenticator.forgetStaleUses(),
    );
    return { alerts, snoozes };
  }

  let jobs: Awaited<ReturnType<typeof startJobs>> | null = null;
  let demo: Demo | null = null;
  /** Set once the demo is stopped: it does not start (again) after that. */
  let demoStopped = false;
  async function stopDemo() {
    demoStopped = true;
    await demo?.stop();
  }

  return {
    env,
    db,
    bus,
    hub,
    metrics,
    connections,
    hosts,
    authenticator,
    stores,
    feeds,
    actions,
    router,
    async startJobs() {
      if (jobs) throw new Error('The jobs have started already');
      jobs = await startJobs();
      return jobs;
    },
    /**
     * The running jobs' handles: `alerts.evaluateNow()` evaluates every alert rule at once,
     * `snoozes.wakeNow()` wakes the snoozes due now.
     */
    get jobs() {
      if (!jobs) throw new Error('startJobs() first');
      return jobs;
    },
    /** First start on an empty database: the admin, and the demo data with `PULSE_DEMO`. */
    seedIfEmpty: () => seedIfEmpty({ env, users, teams, passwords, notifications }),
    /**
     * Starts the living demo (`PULSE_DEMO` and `PULSE_DEMO_FLEET`, on a database seeded with the
     * demo users): a simulator that acts on this server through `url`, its own address, with
     * the typed client, as any program would.
     */
    async startDemo(url: string) {
      if (!env.PULSE_DEMO || !env.PULSE_DEMO_FLEET || demo || demoStopped) return;
      const seeded = await stores.credentials.credentialsOf('alice');
      if (!seeded || demo || demoStopped) return;
      // Loaded only for the demo: a server without it holds none of it (nor tRPC's client).
      const { startDemo } = await import('./demo/simulator.ts');
      if (demo || demoStopped) return;
      demo = startDemo({
        url,
        speed: env.PULSE_DEMO_SPEED,
        retentionH: env.PULSE_METRICS_RETENTION_H,
        // Several instances: the one holding the lease runs it, another takes over.
        leases: shared?.leases ?? soleLeases,
      });
    },
    /** The demo's simulator while it runs (tests wait for `demo.ready`). */
    get demo() {
      return demo;
    },
    /** Stops the demo: no call of it starts after this; resolves once it has settled. */
    stopDemo,
    async close() {
      await stopDemo();
      stop.abort();
      metrics.stop();
      await bus.close();
      if (shared) {
        await shared.counts.close(() => connections.userCounts());
        await shared.link.close();
      }
      await db.destroy();
    },
  };
}

/**
 * What instances share through Redis: the bus, the per-user connection counts, the rate
 * limiters' counts and the leases (who runs the demo), over one link (a command connection and a subscriber connection). Loaded
 * only when Redis is configured: one instance on its own does not carry a Redis client.
 */
async function createShared(url: string, env: Env, instance: string) {
  const [{ connectRedis }, { createRedisBus }, { createRedisConnectionCounts }] = await Promise.all(
    [
      import('./platform/redis.ts'),
      import('./platform/redis-bus.ts'),
      import('./platform/redis-connection-counts.ts'),
    ],
  );
  const link = connectRedis(url, { name: `pulse-${instance}` });
  const prefix = env.PULSE_REDIS_PREFIX;
  return {
    link,
    bus: createRedisBus({ link, prefix, instance }),
    counts: createRedisConnectionCounts({
      link,
      prefix,
      instance,
      heartbeatMs: env.PULSE_HEARTBEAT_S * 1000,
    }),
    limiters: redisRateLimiters(link, prefix),
    leases: redisLeases({ link, prefix, instance, ttlMs: LEASE_TTL_MS }),
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;
