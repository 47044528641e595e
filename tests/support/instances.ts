import type { TeamSpec } from './people.ts';
import { createPostgresSchema, postgresAnswers, POSTGRES_URL } from './database.ts';
import { redisMissing, startRedis, type PrivateRedis } from './redis.ts';
import { startTestServer, type TestServer } from './server.ts';

/**
 * Why several instances cannot be tried here (never under CI=true, where they must run): they
 * share one PostgreSQL database and one Redis, as in production.
 */
export const scaleOutMissing: string | null =
  redisMissing ??
  (process.env['CI'] !== 'true' && !(await postgresAnswers())
    ? `no PostgreSQL answers at ${POSTGRES_URL}: the several-instance tests are skipped`
    : null);
if (scaleOutMissing) console.warn(scaleOutMissing);

export interface Cluster extends AsyncDisposable {
  /** The instances, all on one database and one Redis (the first made the teams). */
  servers: TestServer[];
  /** This cluster's own redis-server: kill it, hang it, start it again. */
  redis: PrivateRedis;
  /** What every instance was started with (DATABASE_URL, REDIS_URL, …), for more of them. */
  env: Record<string, string>;
}

/**
 * `count` real Pulse servers in this process sharing one database and a private Redis, with
 * `teams` made through the first. Heartbeats are fast (`PULSE_HEARTBEAT_S`, 1 s) unless `env`
 * says otherwise.
 */
export async function startCluster(
  count: number,
  opts: { teams?: readonly TeamSpec[]; env?: Record<string, string> } = {},
): Promise<Cluster> {
  const redis = await startRedis();
  const database = await createPostgresSchema();
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    PULSE_HEARTBEAT_S: '1',
    ...opts.env,
  };
  const servers: TestServer[] = [];
  const dispose = async () => {
    for (const server of servers) await server[Symbol.asyncDispose]();
    await redis[Symbol.asyncDispose]();
    await database.drop();
  };
  try {
    servers.push(await startTestServer(env, { teams: opts.teams ?? [] }));
    // The others find the admin and the teams in the database already.
    for (let i = 1; i < count; i++) servers.push(await startTestServer(env));
  } catch (error) {
    await dispose();
    throw error;
  }
  return { servers, redis, env, [Symbol.asyncDispose]: dispose };
}
