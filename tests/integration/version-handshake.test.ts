import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkServerVersion,
  PULSE_API_RANGE,
  PulseVersionError,
} from '../../src/sdk/api-version.ts';
import { createPulseClient } from '../../src/sdk/client.ts';
import { API_VERSION } from '../../src/shared/version.ts';
import { cleanupCli, cliEnv, credentialsFile, pulse, tempHome, tokenFor } from '../support/cli.ts';
import { MEMBER_PASSWORD, OPS } from '../support/people.ts';
import { startTestServer } from '../support/server.ts';
import { NEXT_MAJOR, PREVIOUS } from '../support/versions.ts';

const versionError = (error: unknown) =>
  error instanceof Error && error.cause instanceof PulseVersionError ? error.cause : null;

afterEach(cleanupCli);

describe('the API version handshake', { timeout: 90_000 }, () => {
  it('checkServerVersion answers a version the SDK speaks, and says which side is behind otherwise', async () => {
    await using t = await startTestServer();
    expect(await checkServerVersion(await t.client(null))).toBe(API_VERSION);

    const cases = [
      { version: NEXT_MAJOR, reason: 'server-newer', says: `use a client of Pulse ${NEXT_MAJOR}` },
      { version: PREVIOUS, reason: 'server-older', says: 'upgrade the server' },
      { version: 'nightly', reason: 'unreadable', says: 'cannot read' },
    ];
    for (const { version, reason, says } of cases) {
      await t.stop();
      await t.restart({}, { version });
      const error: unknown = await checkServerVersion(await t.client(null)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PulseVersionError);
      expect(error).toMatchObject({ serverVersion: version, reason, supported: PULSE_API_RANGE });
      expect((error as Error).message).toContain(says);
    }
  });

  it('with checkVersion, a client sends nothing to a server it does not speak', async () => {
    await using t = await startTestServer({}, { version: NEXT_MAJOR });
    const cookie = await t.login('admin');
    const checked = createPulseClient({ url: t.url, headers: { cookie }, checkVersion: true });
    const refused = await checked.teams.create.mutate({ name: 'never' }).catch((e: unknown) => e);
    expect(versionError(refused)).toMatchObject({ serverVersion: NEXT_MAJOR });
    // Later calls are refused as well.
    const again = await checked.teams.list.query().catch((e: unknown) => e);
    expect(versionError(again)).toMatchObject({ serverVersion: NEXT_MAJOR });

    const admin = await t.client({ username: 'admin' });
    expect((await admin.teams.list.query()).map((team) => team.name)).not.toContain('never');

    await t.stop();
    await t.restart({}, { version: API_VERSION });
    const current = createPulseClient({ url: t.url, headers: { cookie }, checkVersion: true });
    expect(await current.teams.create.mutate({ name: 'now' })).toMatchObject({ name: 'now' });
  });

  it('pulse names the versions and exits 1 when the server runs one it does not speak', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const token = await tokenFor(t, 'alice');
    await t.stop();
    await t.restart({}, { version: NEXT_MAJOR });
    const expected = `Cannot use Pulse at ${t.url}: The server runs Pulse API ${NEXT_MAJOR}, which this client does not speak (${PULSE_API_RANGE}): use a client of Pulse ${NEXT_MAJOR}\n`;

    const whoami = await pulse(['whoami'], cliEnv(t, { token }));
    expect(whoami).toEqual({ code: 1, stdout: '', stderr: expected });

    const home = tempHome();
    const login = await pulse(
      ['login', '--user', 'alice', '--password', MEMBER_PASSWORD],
      cliEnv(t, { home }),
    );
    expect(login).toEqual({ code: 1, stdout: '', stderr: expected });
    expect(existsSync(credentialsFile(home))).toBe(false);
  });
});
