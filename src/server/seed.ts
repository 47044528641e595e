import { randomBytes } from 'node:crypto';
import type { Env } from './env.ts';
import type { PasswordHasher } from './features/auth/secrets.ts';
import type { NotificationActions } from './features/notifications/actions.ts';
import type { TeamStore, UserStore } from './features/users/store.ts';

export const DEMO_PASSWORD = 'pulse';
const DEMO_USERS = [
  { username: 'alice', displayName: 'Alice Martin' },
  { username: 'bob', displayName: 'Bob Okafor' },
  { username: 'carol', displayName: 'Carol Nguyen' },
] as const;

/**
 * First start on an empty database: the admin, and with `PULSE_DEMO` the demo team, its users
 * and a few notifications so the first look is not empty. Returns what to tell the operator.
 */
export async function seedIfEmpty(deps: {
  env: Pick<Env, 'PULSE_ADMIN_PASSWORD' | 'PULSE_DEMO'>;
  users: UserStore;
  teams: TeamStore;
  passwords: PasswordHasher;
  notifications: NotificationActions;
}): Promise<string[]> {
  const { users, teams, passwords, notifications, env } = deps;
  if ((await users.count()) > 0) return [];
  const lines: string[] = [];
  const adminPassword = env.PULSE_ADMIN_PASSWORD ?? randomBytes(12).toString('base64url');
  const admin = await users.create({
    username: 'admin',
    displayName: 'Administrator',
    role: 'admin',
    passwordHash: await passwords.hash(adminPassword),
    teamIds: [],
  });
  // Another instance starting at the same time seeded first: its admin (and password) stands.
  if (!admin) return [];
  lines.push(
    env.PULSE_ADMIN_PASSWORD
      ? 'Created user admin with the password from PULSE_ADMIN_PASSWORD'
      : `Created user admin with password ${adminPassword} (shown once; change by setting PULSE_ADMIN_PASSWORD on a fresh database)`,
  );
  if (!env.PULSE_DEMO) return lines;

  const team = await teams.create('ops');
  if (!team) return lines;
  const passwordHash = await passwords.hash(DEMO_PASSWORD);
  const ids: string[] = [];
  for (const demo of DEMO_USERS) {
    const user = await users.create({ ...demo, role: 'member', passwordHash, teamIds: [team.id] });
    if (user) ids.push(user.id);
  }
  const samples = [
    {
      title: 'Welcome to Pulse',
      body: 'Notifications for you and your team arrive here live.',
      severity: 'info',
    },
    {
      title: 'Disk usage above 80% on db-1',
      body: '/var/lib/postgresql is at 83%.',
      severity: 'warning',
    },
    {
      title: 'Checkout latency p99 over 2 s',
      body: 'Since 09:41 UTC on the checkout service.',
      severity: 'critical',
    },
  ] as const;
  for (const sample of samples) {
    await notifications.notify({ kind: 'team', teamId: team.id }, { ...sample, link: null });
  }
  lines.push(
    `Demo data: users ${DEMO_USERS.map((u) => u.username).join(', ')} (team ops), password '${DEMO_PASSWORD}'`,
  );
  return lines;
}
