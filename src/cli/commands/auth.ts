import { hostname } from 'node:os';
import type { TokenScope } from '../../shared/schemas/auth.ts';
import { createPulseClient } from '../../sdk/client.ts';
import { defineCommand } from '../command.ts';
import { removeCredentials, writeCredentials } from '../config.ts';
import { CliError, UsageError } from '../errors.ts';
import { promptHidden } from '../prompt.ts';

const SESSION_COOKIE = 'pulse_session';

export const loginCommand = defineCommand({
  path: ['login'],
  args: [],
  usage: '--user NAME [--password P]',
  summary: 'Sign in and save an API token for this machine',
  details: [
    'Signs in, creates an API token named cli@<hostname> (scopes read, write, ingest; plus',
    'notify for admins), saves it with the server URL in the credentials file (mode 0600),',
    'and ends the sign-in session. The password comes from --password, env PULSE_PASSWORD,',
    'or a prompt when run on a terminal. Logging in again replaces (and revokes) the saved token.',
  ],
  options: {
    user: { type: 'string', short: 'u' },
    password: { type: 'string' },
  },
  signsIn: true,
  async run({ values, config, io, out }) {
    const username = values.user;
    if (!username) throw new UsageError('Missing --user NAME');
    const password =
      values.password ??
      (io.env['PULSE_PASSWORD'] || undefined) ??
      (io.stdin.isTTY
        ? await promptHidden(`Password for ${username}: `, io.stdin, io.stderr)
        : undefined);
    if (!password)
      throw new UsageError(
        'Missing password: give --password, set PULSE_PASSWORD, or run on a terminal',
      );

    // The session arrives only as a Set-Cookie header, which the typed client does not surface.
    let cookie: string | undefined;
    const anonymous = createPulseClient({
      url: config.url,
      checkVersion: true,
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        const session = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
        if (session) cookie = session.split(';')[0];
        return res;
      },
    });
    const { user } = await anonymous.auth.login.mutate({ username, password });
    if (!cookie) throw new CliError('The server accepted the sign-in but sent no session cookie');

    const session = createPulseClient({ url: config.url, headers: { cookie } });
    let created: { id: string; token: string };
    try {
      const scopes: TokenScope[] = ['read', 'write', 'ingest'];
      if (user.role === 'admin') scopes.push('notify');
      created = await session.auth.createToken.mutate({ name: `cli@${hostname()}`, scopes });
    } finally {
      // The token is what this machine keeps; the session has served its purpose.
      await session.auth.logout.mutate().catch(() => undefined);
    }

    const previous = config.credentials;
    writeCredentials(config.credentialsPath, {
      url: config.url,
      token: created.token,
      tokenId: created.id,
      username: user.username,
    });
    if (previous?.tokenId && previous.url === config.url) {
      // Best effort: the old token may already be revoked, or belong to a server now gone.
      const old = createPulseClient({ url: previous.url, token: previous.token });
      await old.auth.revokeToken.mutate({ id: previous.tokenId }).catch(() => undefined);
    }
    out(`Logged in to ${config.url} as ${user.username} (${user.role}).`);
    out(`Token cli@${hostname()} saved to ${config.credentialsPath}`);
  },
});

export const logoutCommand = defineCommand({
  path: ['logout'],
  args: [],
  usage: '',
  summary: 'Revoke the saved token and delete the credentials file',
  options: {},
  async run({ config, out }) {
    const saved = config.credentials;
    if (!saved) {
      out('Not logged in.');
      return;
    }
    if (saved.tokenId) {
      const client = createPulseClient({ url: saved.url, token: saved.token });
      await client.auth.revokeToken.mutate({ id: saved.tokenId }).catch(() => undefined);
    }
    removeCredentials(config.credentialsPath);
    out(`Logged out of ${saved.url}.`);
  },
});

export const whoamiCommand = defineCommand({
  path: ['whoami'],
  args: [],
  usage: '',
  summary: 'Show who the current credentials act as',
  options: {},
  async run({ values, config, client, out }) {
    const pulse = client();
    const [me, teams] = await Promise.all([pulse.auth.me.query(), pulse.teams.list.query()]);
    if (values.json) {
      out(JSON.stringify({ ...me, url: config.url }));
      return;
    }
    const names = me.teamIds.map((id) => teams.find((t) => t.id === id)?.name ?? id);
    out(`${me.username} (${me.displayName}), ${me.role}, on ${config.url}`);
    out(`teams: ${names.length > 0 ? names.join(', ') : 'none'}`);
  },
});
