import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../../src/server/env.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { createPulseClient, type PulseClient } from '../../src/sdk/client.ts';

export const ADMIN_PASSWORD = 'admin-secret';
export const DEMO_PASSWORD = 'pulse';

export interface TestServer extends AsyncDisposable {
  url: string;
  server: RunningServer;
  dir: string;
  /** Stops the server, keeping its database (for restart tests). */
  stop(): Promise<void>;
  /** Starts a server again on the same database and port; `env` changes its configuration. */
  restart(env?: Record<string, string>): Promise<void>;
  /** Signs in and returns the session cookie header. */
  login(username: string, password?: string): Promise<string>;
  /** A typed client signed in as `username` (by cookie), or with `token`. */
  client(
    auth: { username: string; password?: string } | { token: string } | null,
  ): Promise<PulseClient>;
}

/** A real Pulse server on an ephemeral port with a fresh SQLite database. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-test-'));
  const baseEnv = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${join(dir, 'pulse.db')}`,
    PULSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    PULSE_DEMO: '1',
    PULSE_SCRYPT_LOG_N: '10',
    PULSE_STATIC_DIR: join(dir, 'no-web-app'),
    ...env,
  };
  let server = await startServer(parseEnv(baseEnv));
  const self: TestServer = {
    get url() {
      return server.url;
    },
    get server() {
      return server;
    },
    dir,
    async stop() {
      await server.close();
      // Let clients in this process see their sockets close before anything reuses them.
      await new Promise((r) => setTimeout(r, 50));
    },
    async restart(env = {}) {
      server = await startServer(parseEnv({ ...baseEnv, ...env, PORT: String(server.port) }));
    },
    async login(username, password = username === 'admin' ? ADMIN_PASSWORD : DEMO_PASSWORD) {
      const res = await fetch(`${server.url}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      const cookie = res.headers.getSetCookie()[0];
      if (!res.ok || !cookie) throw new Error(`login as ${username} failed: ${res.status}`);
      return cookie.split(';')[0] ?? '';
    },
    async client(auth) {
      if (auth === null) return createPulseClient({ url: server.url, subscriptionRetries: 0 });
      if ('token' in auth) return createPulseClient({ url: server.url, token: auth.token });
      const cookie = await self.login(auth.username, auth.password);
      return createPulseClient({ url: server.url, headers: { cookie } });
    },
    async [Symbol.asyncDispose]() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}
