import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenScope, User } from '../../src/shared/schemas/auth.ts';
import { createContextInner, type Credential } from '../../src/server/platform/context.ts';
import { createApp, type App } from '../../src/server/app.ts';
import { parseEnv } from '../../src/server/env.ts';
import { createCallerFactory } from '../../src/server/platform/trpc.ts';

/**
 * The server's parts (`app`, its jobs started) on a fresh SQLite database (seeded with admin +
 * demo users), with callers for any user; `env` adds or overrides configuration (limits, say).
 */
export async function createTestServices(overrides: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-caller-'));
  const env = parseEnv({
    DATABASE_URL: `sqlite:${join(dir, 'pulse.db')}`,
    PULSE_ADMIN_PASSWORD: 'admin-secret',
    PULSE_DEMO: '1',
    PULSE_SCRYPT_LOG_N: '10',
    ...overrides,
  });
  const app = await createApp(env);
  await app.startJobs();
  await app.seedIfEmpty();
  const createCaller = createCallerFactory(app.router);
  const users = (await app.stores.users.list({ cursor: null, limit: 500 })) ?? [];
  const byName = (name: string): User => {
    const user = users.find((u) => u.username === name);
    if (!user) throw new Error(`no seeded user ${name}`);
    return user;
  };
  return {
    app,
    user: byName,
    /** A caller as `username` by session, or with a token's scopes. */
    caller(username: string | null, scopes?: TokenScope[]) {
      const user = username === null ? null : byName(username);
      const credential: Credential | null = user
        ? {
            kind: scopes ? 'token' : 'session',
            key: `test-${username}`,
            scopes: scopes ? new Set(scopes) : null,
          }
        : null;
      return createCaller(createContextInner({ user, credential }));
    },
    /** A session caller for a user created during the test. */
    async callerFor(userId: string) {
      const user = await app.stores.users.byId(userId);
      if (!user) throw new Error(`no user ${userId}`);
      return createCaller(
        createContextInner({
          user,
          credential: { kind: 'session', key: `test-${userId}`, scopes: null },
        }),
      );
    },
    /** A caller whose request came from a foreign browser origin. */
    foreignCaller(username: string) {
      return createCaller(
        createContextInner({
          user: byName(username),
          credential: { kind: 'session', key: `test-${username}`, scopes: null },
          originAllowed: false,
        }),
      );
    },
    async [Symbol.asyncDispose]() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type TestServices = Awaited<ReturnType<typeof createTestServices>>;
export type { App };
