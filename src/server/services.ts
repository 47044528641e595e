import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { consume, createMemoryBus, type EventBus } from './bus.ts';
import { ConnectionRegistry } from './connections.ts';
import type { Env } from './env.ts';
import { HostPolicy } from './hosts.ts';
import { createPasswordHasher, type PasswordHasher } from './auth/secrets.ts';
import { Hub } from './live/hub.ts';
import { startAlertEngine } from './alerts.ts';
import { startSessionSweeper } from './auth/sessions.ts';
import { startHealthSampler } from './health-sampler.ts';
import { startChatFanout, type ChatFanout } from './live/chat-fanout.ts';
import { startIncidentFanout } from './live/incident-fanout.ts';
import { startMetricsFanout, type MetricsFanout } from './live/metrics-fanout.ts';
import { startNotificationFanout } from './live/notification-fanout.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { openDatabase, type Db } from './store/db.ts';
import { createChatStore, type ChatStore } from './store/chat.ts';
import { createIncidentStore, type IncidentStore } from './store/incidents.ts';
import { createMetricStore, type MetricStore } from './store/metrics.ts';
import { createNotificationStore, type NotificationStore } from './store/notifications.ts';
import { createUserStore, type UserStore } from './store/users.ts';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** Everything a request may use, made once per server. */
export interface Services {
  env: Env;
  db: Db;
  users: UserStore;
  notifications: NotificationStore;
  metricStore: MetricStore;
  incidents: IncidentStore;
  metricsFanout: MetricsFanout;
  chat: ChatStore;
  chatFanout: ChatFanout;
  bus: EventBus;
  hub: Hub;
  metrics: Metrics;
  connections: ConnectionRegistry;
  /** Which Host headers and browser origins this server answers. */
  hosts: HostPolicy;
  /** Password hashing, bounded in concurrency. */
  passwords: PasswordHasher;
  loginLimits: { byUsername: RateLimiterMemory; byAddress: RateLimiterMemory };
  /** Per user: messages (`PULSE_CHAT_SENDS_PER_10S`) and typing signals. */
  chatLimits: { send: RateLimiterMemory; typing: RateLimiterMemory };
  instance: string;
  version: string;
  startedAt: number;
  /** Records a token's use, at most once a minute per token. */
  touchToken(id: string): void;
  /** Records a session's use (it idles out `PULSE_SESSION_IDLE_S` after the last), throttled. */
  touchSession(idHash: string): void;
}

/** Opens the database, starts the fan-out and wires the services; `close` undoes it all. */
export async function createServices(
  env: Env,
): Promise<{ services: Services; close: () => Promise<void> }> {
  if (env.REDIS_URL) {
    // Refused rather than ignored: several instances without a shared bus would each miss the
    // others' events.
    throw new Error('REDIS_URL is set, but this version runs one instance with an in-process bus: unset it');
  }
  const db = await openDatabase(env.DATABASE_URL);
  const metrics = createMetrics();
  const bus = createMemoryBus();
  const hub = new Hub(metrics);
  const stop = new AbortController();
  // Every background loop of this server listens to it.
  setMaxListeners(100, stop.signal);
  const users = createUserStore(db);
  const notifications = createNotificationStore(db);
  const metricStore = createMetricStore(db);
  const incidents = createIncidentStore(db);
  const metricsFanout = startMetricsFanout({ bus, hub, store: metricStore, signal: stop.signal });
  const chat = createChatStore(db);
  const instance = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const chatFanout = startChatFanout({ bus, hub, store: chat, instance, signal: stop.signal });
  const connections = new ConnectionRegistry(metrics, {
    perUser: env.PULSE_MAX_CONNECTIONS_PER_USER,
    subscriptionsPerUser: env.PULSE_MAX_SUBSCRIPTIONS_PER_USER,
    anonymousPerAddress: env.PULSE_MAX_ANON_CONNECTIONS_PER_ADDRESS,
  });

  // When each token or session was last recorded as used; pruned with the expiry sweep.
  const touched = new Map<string, number>();
  const throttled = (key: string, everyMs: number): boolean => {
    const now = Date.now();
    if ((touched.get(key) ?? 0) > now - everyMs) return true;
    touched.set(key, now);
    return false;
  };
  const services: Services = {
    env,
    db,
    users,
    notifications,
    metricStore,
    incidents,
    metricsFanout,
    chat,
    chatFanout,
    bus,
    hub,
    metrics,
    connections,
    hosts: new HostPolicy(env),
    passwords: createPasswordHasher({
      logN: env.PULSE_SCRYPT_LOG_N,
      concurrency: env.PULSE_KDF_CONCURRENCY,
      queue: env.PULSE_KDF_QUEUE,
    }),
    loginLimits: {
      byUsername: new RateLimiterMemory({
        points: env.PULSE_LOGIN_FAILURES_PER_USER,
        duration: env.PULSE_LOGIN_WINDOW_S,
      }),
      byAddress: new RateLimiterMemory({
        points: env.PULSE_LOGIN_FAILURES_PER_ADDRESS,
        duration: env.PULSE_LOGIN_WINDOW_S,
      }),
    },
    chatLimits: {
      send: new RateLimiterMemory({ points: env.PULSE_CHAT_SENDS_PER_10S, duration: 10 }),
      typing: new RateLimiterMemory({ points: 60, duration: 10 }),
    },
    instance,
    version,
    startedAt: Date.now(),
    touchToken(id) {
      if (throttled(id, 60_000)) return;
      void users.tokens.touch(id).catch(() => undefined);
    },
    touchSession(idHash) {
      // Often enough that a session in use never idles out between two touches.
      if (throttled(idHash, Math.min(60_000, (env.PULSE_SESSION_IDLE_S * 1000) / 4))) return;
      void users.sessions.touch(idHash).catch(() => undefined);
    },
  };

  const fanout = startNotificationFanout({ bus, hub, store: notifications, signal: stop.signal });
  const incidentFanout = startIncidentFanout({ bus, hub, store: incidents, signal: stop.signal });
  await Promise.all([fanout.ready, incidentFanout.ready, metricsFanout.ready, chatFanout.ready]);
  startAlertEngine(services, stop.signal);
  startHealthSampler(services, stop.signal);
  const retentionMs = env.PULSE_METRICS_RETENTION_H * 3_600_000;
  const prune = () => void metricStore.prune(Date.now() - retentionMs).catch(() => undefined);
  prune();
  const pruner = setInterval(prune, 60_000);
  pruner.unref();
  stop.signal.addEventListener('abort', () => clearInterval(pruner), { once: true });
  consume({
    subscribe: () => bus.subscribe('auth.revoked', stop.signal),
    signal: stop.signal,
    what: 'revocation',
    handle: ({ kind, key }) => (kind === 'user' ? connections.closeUser(key) : connections.closeCredential(key)),
  });
  startSessionSweeper(services, stop.signal, () => {
    const stale = Date.now() - 60_000;
    for (const [key, at] of touched) if (at < stale) touched.delete(key);
  });

  return {
    services,
    async close() {
      stop.abort();
      metrics.stop();
      metricsFanout.stop();
      await bus.close();
      await db.destroy();
    },
  };
}
