import { allPages } from '../../sdk/pages.ts';
import type { PulseClient } from '../../sdk/client.ts';
import { defineCommand } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';

export const userAddCommand = defineCommand({
  path: ['user', 'add'],
  args: ['NAME'],
  usage: 'NAME --password P [--display-name D] [--admin] [--team TEAM ...]',
  summary: 'Create a user (admins only)',
  details: [
    'Options:',
    '  --password P        their password',
    '  --display-name D    shown in the app (default: NAME)',
    '  --admin             make them an admin (default: member)',
    '  --team TEAM         add them to this team, by name; repeat for several',
  ],
  options: {
    password: { type: 'string' },
    'display-name': { type: 'string' },
    admin: { type: 'boolean' },
    team: { type: 'string', multiple: true },
  },
  async run({ values, args: [username = ''], client, out }) {
    const password = values.password;
    if (password === undefined) throw new UsageError('Missing --password P');
    const pulse = client();
    const teamNames = values.team ?? [];
    let teamIds: string[] = [];
    if (teamNames.length > 0) {
      const teams = await pulse.teams.list.query();
      teamIds = teamNames.map((name) => {
        const team = teams.find((t) => t.name === name);
        if (!team) throw new CliError(`NOT_FOUND: No team '${name}'`);
        return team.id;
      });
    }
    const user = await pulse.users.create.mutate({
      username,
      password,
      displayName: values['display-name'],
      role: values.admin ? 'admin' : 'member',
      teamIds,
    });
    if (values.json) return out(JSON.stringify(user));
    const teams = teamNames.length > 0 ? `, teams ${teamNames.join(', ')}` : '';
    out(`Created ${user.role} ${user.username} (id ${user.id}${teams}).`);
  },
});

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** A user's id from a username (admins list every user) or an id given as is. */
async function userIdOf(pulse: PulseClient, nameOrId: string): Promise<string> {
  const users = await allPages((page) => pulse.users.list.query(page));
  const user = users.find((u) => u.username === nameOrId || u.id === nameOrId);
  if (!user) throw new CliError(`NOT_FOUND: No user '${nameOrId}'`);
  return user.id;
}

const disableOrEnable = (disabled: boolean) =>
  defineCommand({
    path: ['user', disabled ? 'disable' : 'enable'],
    args: ['NAME'],
    usage: 'NAME',
    summary: disabled
      ? 'Disable a user: sign-in refused, sessions ended, tokens stopped, connections closed (admins only)'
      : 'Enable a disabled user again; their tokens work again (admins only)',
    options: {},
    async run({ values, args: [name = ''], client, out }) {
      const pulse = client();
      const result = await pulse.users.setDisabled.mutate({
        userId: await userIdOf(pulse, name),
        disabled,
      });
      if (values.json) return out(JSON.stringify(result));
      out(
        disabled
          ? `Disabled ${name} (${plural(result.sessionsEnded, 'session')} ended).`
          : `Enabled ${name}.`,
      );
    },
  });

export const userDisableCommand = disableOrEnable(true);
export const userEnableCommand = disableOrEnable(false);

export const userSignOutCommand = defineCommand({
  path: ['user', 'sign-out'],
  args: ['NAME'],
  usage: 'NAME [--tokens]',
  summary:
    "End a user's sessions everywhere, and with --tokens revoke their API tokens too (admins only)",
  options: { tokens: { type: 'boolean' } },
  async run({ values, args: [name = ''], client, out }) {
    const pulse = client();
    const userId = await userIdOf(pulse, name);
    const sessions = await pulse.users.revokeSessions.mutate({ userId });
    const tokens = values.tokens ? await pulse.users.revokeTokens.mutate({ userId }) : null;
    if (values.json)
      return out(JSON.stringify({ sessions: sessions.count, tokens: tokens?.count ?? 0 }));
    out(
      `Ended ${plural(sessions.count, 'session')}${tokens ? ` and revoked ${plural(tokens.count, 'token')}` : ''} of ${name}.`,
    );
  },
});
