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
