import { isIP } from 'node:net';
import { z } from 'zod';
import { CLIENT_BATCH_MAX } from '../shared/limits.ts';

/** A comma-separated list; unset means empty. */
const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'sqlite:<path> or postgres://…')
    .default('sqlite:./data/pulse.db'),
  /** PostgreSQL: connections this instance's pool may open (each instance has its own pool). */
  PULSE_PG_POOL: z.coerce.number().int().min(2).max(1000).default(10),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'redis://… or rediss://…')
    .optional(),
  /** Prefix of every Redis key and channel, so several Pulses can share one Redis. */
  PULSE_REDIS_PREFIX: z.string().min(1).default('pulse:'),
  /**
   * Seconds between the heartbeats instances exchange through Redis (presence snapshots,
   * connection-count leases); an instance silent for three is taken for dead.
   */
  PULSE_HEARTBEAT_S: z.coerce.number().min(0.1).max(60).default(15),
  PULSE_ADMIN_PASSWORD: z.string().min(1).optional(),
  PULSE_DEMO: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  /**
   * With `PULSE_DEMO`: run the living demo (a simulated fleet ingesting metrics, its alert
   * rules, the team's chat). `0` keeps the demo users and notifications alone (test servers).
   */
  PULSE_DEMO_FLEET: z
    .enum(['0', '1'])
    .default('1')
    .transform((v) => v === '1'),
  /**
   * How many times faster the demo's schedule runs (points, breaches, rule windows); tests
   * compress it. Timestamps and the daily shape stay on the wall clock.
   */
  PULSE_DEMO_SPEED: z.coerce.number().min(1).max(1000).default(1),
  PULSE_ALLOWED_ORIGINS: list,
  /**
   * Where the built web app lives (unset: the repository's `dist/client`, found from the code,
   * so from `src/` and from the compiled `dist/server/` alike); 404 pages when it is missing.
   */
  PULSE_STATIC_DIR: z.string().optional(),
  /** Seconds between SSE keep-alive pings. */
  PULSE_SSE_PING_S: z.coerce.number().positive().default(15),
  /** Seconds between WebSocket keep-alive pings; a socket silent for a ping and a wait after it is dropped. */
  PULSE_WS_PING_S: z.coerce.number().positive().default(30),
  /** Bytes a subscriber may leave unread before it is dropped (and resumes by replay). */
  PULSE_SLOW_CONSUMER_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1 << 20),
  /** Open connections one user may hold, per transport. */
  PULSE_MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(20).default(50),
  /** Hours metric points are kept. */
  PULSE_METRICS_RETENTION_H: z.coerce.number().positive().default(24),
  /** Inbox changes kept per user (`notifications.onInboxChange` resumes within them). */
  PULSE_INBOX_CHANGES_KEPT: z.coerce.number().int().min(10).default(500),
  /** Chat messages one user may send per 10 s (a burst allowance; benchmarks raise it). */
  PULSE_CHAT_SENDS_PER_10S: z.coerce.number().int().positive().default(20),
  /** scrypt cost (log2 N) for new password hashes; OWASP's minimum is 17. Lower only for tests. */
  PULSE_SCRYPT_LOG_N: z.coerce.number().int().min(10).max(20).default(17),
  /** Password hashes computed at once; sign-ins past `PULSE_KDF_QUEUE` waiting answer TOO_MANY_REQUESTS. */
  PULSE_KDF_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  PULSE_KDF_QUEUE: z.coerce.number().int().min(0).default(32),
  /** Failed sign-ins allowed per username, and per address, within `PULSE_LOGIN_WINDOW_S`. */
  PULSE_LOGIN_FAILURES_PER_USER: z.coerce.number().int().min(1).max(10).default(10),
  PULSE_LOGIN_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(100),
  PULSE_LOGIN_WINDOW_S: z.coerce.number().int().min(900).default(900),
  /** A session unused this long ends; any session ends this long after sign-in. */
  PULSE_SESSION_IDLE_S: z.coerce
    .number()
    .positive()
    .default(7 * 86_400),
  PULSE_SESSION_MAX_S: z.coerce
    .number()
    .positive()
    .default(30 * 86_400),
  /** Host names (optionally `name:port`) this server answers for besides HOST, localhost and loopback. */
  PULSE_PUBLIC_HOSTS: list,
  /**
   * Peers whose `X-Forwarded-For` names the client (a balancer in front); unset: none, and the
   * client is always the peer.
   */
  PULSE_TRUSTED_PROXIES: list.pipe(
    z.array(
      z.string().refine((v) => isIP(v) !== 0, 'a list of IP addresses (no names, no ranges)'),
    ),
  ),
  /**
   * Seconds a shutdown (SIGTERM, SIGINT) spreads the ending of open streams over, so that their
   * clients reconnect to other instances a few at a time; 0 ends them all at once.
   */
  PULSE_DRAIN_S: z.coerce.number().min(0).max(600).default(10),
  /** When set, `/metrics` answers only `Authorization: Bearer <this>`. */
  PULSE_METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** Request bounds: body bytes (413), calls per batch, URL bytes (414), SSE `input` bytes. */
  PULSE_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1 << 20),
  PULSE_MAX_BATCH_CALLS: z.coerce.number().int().min(CLIENT_BATCH_MAX).default(100),
  PULSE_MAX_URL_BYTES: z.coerce.number().int().min(1024).max(65_536).default(8192),
  PULSE_MAX_SSE_INPUT_BYTES: z.coerce.number().int().min(256).default(4096),
  /** Nesting of arrays and objects in a request body, a URL's `input` or a WebSocket message. */
  PULSE_MAX_JSON_DEPTH: z.coerce.number().int().min(16).default(64),
  /** Open subscriptions per WebSocket, and per user across transports. */
  PULSE_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).default(100),
  PULSE_MAX_SUBSCRIPTIONS_PER_USER: z.coerce.number().int().min(20).default(1000),
  /** WebSockets without credentials one address may hold open. */
  PULSE_MAX_ANON_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(20).default(20),
  /** Distinct series all `metrics.onPoints` subscriptions of this instance may watch together. */
  PULSE_MAX_WATCHED_SERIES: z.coerce.number().int().min(50).default(10_000),
  /** Alert rules one team may have. */
  PULSE_MAX_RULES_PER_TEAM: z.coerce.number().int().min(1).default(100),
  /** Stored points one `metrics.range` may read; a wider read answers PAYLOAD_TOO_LARGE. */
  PULSE_RANGE_MAX_ROWS: z.coerce.number().int().min(10_000).default(1_000_000),
  /** How far in the future a metric point may be stamped. */
  PULSE_MAX_CLOCK_SKEW_S: z.coerce.number().int().min(0).default(300),
  /** Mark the session cookie Secure (set when served over HTTPS). */
  PULSE_SECURE_COOKIE: z
    .enum(['0', '1'])
    .default('0')
    .transform((v) => v === '1'),
});

export type Env = z.infer<typeof envSchema>;

/** Parses configuration once; every other module receives it as a value. */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // An empty variable counts as unset, as shells and compose files often leave them.
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
