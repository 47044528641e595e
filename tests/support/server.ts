import { subscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../../src/server/env.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { createPulseClient, type PulseClient } from '../../src/sdk/client.ts';
import { testDatabase, type TestDatabase } from './database.ts';
import { signIn } from './trpc-http.ts';
import {
  createTeamWithMembers,
  createTeams,
  MEMBER_PASSWORD,
  type PeopleAdmin,
  type TeamSpec,
  type TeamWithMembers,
} from './people.ts';

export const ADMIN_PASSWORD = 'admin-secret';

/**
 * This process's open client sockets (fetch's pool, EventSource, WebSocket) by the port they
 * reached: `stop()` waits for those of the stopped server to close, so that no request after a
 * restart goes out on a pooled connection the old server already closed.
 */
const clientSockets = new Map<Socket, number>();
subscribe('net.client.socket', (message) => {
  const { socket } = message as { socket: Socket };
  socket.once('connect', () => {
    if (socket.remotePort !== undefined && !socket.destroyed)
      clientSockets.set(socket, socket.remotePort);
  });
  socket.once('close', () => clientSockets.delete(socket));
});

/** Resolves once every client socket to `port` has closed; fails after `ms` saying how many. */
function clientSocketsClosed(port: number, ms = 5000): Promise<void> {
  const open = [...clientSockets].filter(([, p]) => p === port).map(([socket]) => socket);
  return new Promise((resolve, reject) => {
    let left = open.length;
    if (left === 0) return resolve();
    const timer = setTimeout(
      () =>
        reject(new Error(`${left} client sockets to port ${port} still open ${ms} ms after stop`)),
      ms,
    );
    for (const socket of open) {
      const done = () => {
        if (--left > 0) return;
        clearTimeout(timer);
        resolve();
      };
      if (socket.destroyed) done();
      else socket.once('close', done);
    }
  });
}

export interface TestServerOptions {
  /** Teams and their members, created through the API by the admin once the server is up. */
  teams?: readonly TeamSpec[];
  /** The version the server reports (`system.health`), to stand for another deploy. */
  version?: string;
}

export interface TestServer extends AsyncDisposable {
  url: string;
  server: RunningServer;
  dir: string;
  /** Its database's URL (a SQLite file in `dir`, or a PostgreSQL schema under `PULSE_TEST_DB=postgres`). */
  databaseUrl: string;
  /** Stops the server, keeping its database (for restart tests). */
  stop(): Promise<void>;
  /**
   * Starts a server again on the same database and port; `env` changes its configuration, and
   * `version` what it reports (a deploy of another version).
   */
  restart(env?: Record<string, string>, opts?: { version?: string }): Promise<void>;
  /** The teams made at start (`TestServerOptions.teams`) and by `createTeamWithMembers`. */
  teams: TeamWithMembers[];
  /** A team made for this test, by name. */
  team(name: string): TeamWithMembers;
  /** Creates a team and its members through the API, as the admin. */
  createTeamWithMembers(spec: TeamSpec): Promise<TeamWithMembers>;
  /** Signs in (members with `MEMBER_PASSWORD` by default) and returns the session cookie header. */
  login(username: string, password?: string): Promise<string>;
  /** A typed client signed in as `username` (by cookie), or with `token`. */
  client(
    auth: { username: string; password?: string } | { token: string } | null,
  ): Promise<PulseClient>;
}

/**
 * A real Pulse server on an ephemeral port with a fresh database (SQLite, or a PostgreSQL schema
 * under `PULSE_TEST_DB=postgres`, dropped on dispose) that holds the admin alone, then the teams
 * of `opts`. A `DATABASE_URL` in `env` is used as given (several servers sharing one) and not
 * dropped.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  opts: TestServerOptions = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-test-'));
  const database: TestDatabase | null = env['DATABASE_URL'] ? null : await testDatabase(dir);
  const baseEnv: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    ...(database ? { DATABASE_URL: database.url } : {}),
    PULSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    PULSE_SCRYPT_LOG_N: '10',
    // No surprise traffic: a test that seeds the demo users gets them without the living demo.
    PULSE_DEMO_FLEET: '0',
    PULSE_STATIC_DIR: join(dir, 'no-web-app'),
    ...env,
  };
  let server: RunningServer;
  try {
    server = await startServer(parseEnv(baseEnv), { version: opts.version });
  } catch (error) {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const admin = async (): Promise<PeopleAdmin> => {
    const client = await self.client({ username: 'admin' });
    return {
      createUser: (input) => client.users.create.mutate(input),
      createTeam: (name) => client.teams.create.mutate({ name }),
      addMember: (teamId, userId) => client.teams.addMember.mutate({ teamId, userId }),
    };
  };
  const self: TestServer = {
    get url() {
      return server.url;
    },
    get server() {
      return server;
    },
    dir,
    databaseUrl: baseEnv['DATABASE_URL'] ?? '',
    teams: [],
    team(name) {
      const team = self.teams.find((t) => t.team.name === name);
      if (!team) throw new Error(`no team ${name} made for this test`);
      return team;
    },
    async createTeamWithMembers(spec) {
      const made = await createTeamWithMembers(
        await admin(),
        spec,
        self.teams.flatMap((t) => t.members),
      );
      self.teams.push(made);
      return made;
    },
    async stop() {
      await server.close();
      await clientSocketsClosed(server.port);
    },
    async restart(env = {}, { version = opts.version } = {}) {
      server = await startServer(parseEnv({ ...baseEnv, ...env, PORT: String(server.port) }), {
        version,
      });
    },
    login: (username, password = username === 'admin' ? ADMIN_PASSWORD : MEMBER_PASSWORD) =>
      signIn(server.url, username, password),
    async client(auth) {
      if (auth === null) return createPulseClient({ url: server.url, subscriptionRetries: 0 });
      if ('token' in auth) return createPulseClient({ url: server.url, token: auth.token });
      const cookie = await self.login(auth.username, auth.password);
      return createPulseClient({ url: server.url, headers: { cookie } });
    },
    async [Symbol.asyncDispose]() {
      await server.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    self.teams.push(...(await createTeams(await admin(), opts.teams ?? [])));
  } catch (error) {
    await self[Symbol.asyncDispose]();
    throw error;
  }
  return self;
}

/** Sends `username` one notification per title, as the admin, in order. */
export async function sendTo(t: TestServer, username: string, titles: readonly string[]) {
  const admin = await t.client({ username: 'admin' });
  for (const title of titles) {
    await admin.notifications.send.mutate({
      to: { usernames: [username] },
      title,
      severity: 'info',
    });
  }
}

/**
 * Sends `username` notifications of ~2 KB, titled `big 0`, `big 1`, …, 50 at a time, until the
 * server drops one of their streams as a slow reader (loopback socket buffers hold megabytes) or
 * 6,000 have gone; answers how many were sent.
 */
export async function floodUntilDropped(t: TestServer, username: string): Promise<number> {
  const admin = await t.client({ username: 'admin' });
  const { counts } = t.server.app.metrics;
  const body = 'x'.repeat(2000);
  let sent = 0;
  while (counts.dropped === 0 && sent < 6000) {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        admin.notifications.send.mutate({
          to: { usernames: [username] },
          title: `big ${sent + i}`,
          body,
          severity: 'info',
        }),
      ),
    );
    sent += 50;
  }
  return sent;
}
