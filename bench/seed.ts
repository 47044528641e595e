import { hashPassword, hashSecret, newSecret } from '../src/server/features/auth/secrets.ts';
import { openDatabase } from '../src/server/platform/db.ts';
import { createUserStore } from '../src/server/features/users/store.ts';
import { createTeamStore } from '../src/server/features/users/team-store.ts';
import { createTokenStore } from '../src/server/features/auth/token-store.ts';
import type { BenchCredentials } from './common.ts';

/**
 * A fresh Pulse database for the benchmark, made with the server's own stores: an admin with
 * a `notify` token, and `members` users in one team, each with a `read` token. The admin
 * exists, so the server's first-start seeding does nothing.
 */
export async function seedDatabase(path: string, members: number): Promise<BenchCredentials> {
  const db = await openDatabase(`sqlite:${path}`);
  try {
    const users = createUserStore(db);
    const teams = createTeamStore(db);
    const tokens = createTokenStore(db);
    // Nobody signs in with a password here: one cheap hash serves every user.
    const passwordHash = await hashPassword(newSecret('pw_'), 10);
    const admin = await users.create({
      username: 'admin',
      displayName: 'Administrator',
      role: 'admin',
      passwordHash,
      teamIds: [],
    });
    const team = await teams.create('bench');
    if (!admin || !team) throw new Error('seeding: the database is not empty');

    const adminToken = newSecret('pulse_');
    await tokens.create({
      userId: admin.id,
      name: 'bench sender',
      tokenHash: hashSecret(adminToken),
      scopes: ['notify'],
    });

    const memberTokens: string[] = [];
    for (let i = 0; i < members; i++) {
      const user = await users.create({
        username: `sub${i}`,
        displayName: `Subscriber ${i}`,
        role: 'member',
        passwordHash,
        teamIds: [team.id],
      });
      if (!user) throw new Error(`seeding: user sub${i} exists`);
      const token = newSecret('pulse_');
      await tokens.create({
        userId: user.id,
        name: 'bench subscriber',
        tokenHash: hashSecret(token),
        scopes: ['read'],
      });
      memberTokens.push(token);
    }
    return { teamId: team.id, teamName: team.name, adminToken, memberTokens };
  } finally {
    await db.destroy();
  }
}
