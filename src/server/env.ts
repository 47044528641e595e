import { z } from 'zod';

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'sqlite:<path> or postgres://…')
    .default('sqlite:./data/pulse.db'),
  REDIS_URL: z.string().min(1).optional(),
  PULSE_ADMIN_PASSWORD: z.string().min(1).optional(),
  PULSE_DEMO: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  PULSE_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** Where the built web app lives; the server answers 404 pages when it is missing. */
  PULSE_STATIC_DIR: z.string().default('dist/client'),
  /** Seconds between SSE keep-alive pings. */
  PULSE_SSE_PING_S: z.coerce.number().positive().default(15),
  /** Seconds between WebSocket keep-alive pings; a socket silent for a ping and a wait after it is dropped. */
  PULSE_WS_PING_S: z.coerce.number().positive().default(30),
  /** Bytes a subscriber may leave unread before it is dropped (and resumes by replay). */
  PULSE_SLOW_CONSUMER_BYTES: z.coerce.number().int().positive().default(1 << 20),
  /** Open connections one user may hold, per transport. */
  PULSE_MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(20).default(50),
  /** Hours metric points are kept. */
  PULSE_METRICS_RETENTION_H: z.coerce.number().positive().default(24),
  /** Chat messages one user may send per 10 s (a burst allowance; benchmarks raise it). */
  PULSE_CHAT_SENDS_PER_10S: z.coerce.number().int().positive().default(20),
  /** scrypt cost (log2 N); lower only for tests. */
  PULSE_SCRYPT_LOG_N: z.coerce.number().int().min(10).max(20).default(15),
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
