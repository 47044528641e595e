import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenScope, User } from '../../src/shared/schemas/auth.ts';
import { createContextInner } from '../../src/server/platform/context.ts';
import { createApp, type App } from '../../src/server/app.ts';
import { parseEnv } from '../../src/server/env.ts';
import { testDatabase } from './database.ts';
import { createCallerFactory } from '../../src/server/platform/trpc.ts';
import {
  createTeamWithMembers,
  createTeams,
  type PeopleAdmin,
  type TeamSpec,
  type TeamWithMembers,
} from './people.ts';

/**
 * The server's parts (`app`, its jobs started) on a fresh database (SQLite, or a PostgreSQL schema
 * under `PULSE_TEST_DB=postgres`) that holds the admin alone, then the teams of `opts` (made by the
 * admin through the API), with callers for any user; `overrides` adds or overrides configuration
 * (limits, say; a `DATABASE_URL` there is used as given, and not dropped).
 */
export async function createTestServices(
  overrides: Record<string, string> = {},
  opts: { teams?: readonly TeamSpec[] } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-caller-'));
  const database = overrides['DATABASE_URL'] ? null : await testDatabase(dir);
  const env = parseEnv({
    ...(database ? { DATABASE_URL: database.url } : {}),
    PULSE_ADMIN_PASSWORD: 'admin-secret',
    PULSE_SCRYPT_LOG_N: '10',
    ...overrides,
  });
  let app: App;
  try {
    app = await createApp(env);
  } catch (error) {
    await database?.drop();
    throw error;
  }
  await app.startJobs();
  await app.seedIfEmpty();
  const createCaller = createCallerFactory(app.router);
  let users: User[] = [];
  const loadUsers = async () => {
    users = (await app.stores.users.list({ cursor: null, limit: 500 })) ?? [];
  };
  await loadUsers();
  const byName = (name: string): User => {
    const user = users.find((u) => u.username === name);
    if (!user) throw new Error(`no user ${name} made for this test`);
    return user;
  };
  const callerAs = (user: User | null, key: string, scopes?: TokenScope[]) =>
    createCaller(
      createContextInner({
        user,
        credential: user
          ? { kind: scopes ? 'token' : 'session', key, scopes: scopes ? new Set(scopes) : null }
          : null,
      }),
    );
  const asAdmin = (): PeopleAdmin => {
    const admin = callerAs(byName('admin'), 'test-admin');
    return {
      createUser: (input) => admin.users.create(input),
      createTeam: (name) => admin.teams.create({ name }),
      addMember: (teamId, userId) => admin.teams.addMember({ teamId, userId }),
    };
  };
  const teams: TeamWithMembers[] = await createTeams(asAdmin(), opts.teams ?? []);
  await loadUsers();
  return {
    app,
    user: byName,
    /** The teams made at start and by `createTeamWithMembers`. */
    teams,
    /** A team made for this test, by name. */
    team(name: string): TeamWithMembers {
      const team = teams.find((t) => t.team.name === name);
      if (!team) throw new Error(`no team ${name} made for this test`);
      return team;
    },
    /** Creates a team and its members through the API, as the admin. */
    async createTeamWithMembers(spec: TeamSpec): Promise<TeamWithMembers> {
      const made = await createTeamWithMembers(asAdmin(), spec, users);
      teams.push(made);
      await loadUsers();
      return made;
    },
    /** A caller as `username` by session, or with a token's scopes. */
    caller(username: string | null, scopes?: TokenScope[]) {
      return callerAs(username === null ? null : byName(username), `test-${username}`, scopes);
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
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type TestServices = Awaited<ReturnType<typeof createTestServices>>;
export type { App };
