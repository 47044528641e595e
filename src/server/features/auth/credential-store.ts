import type { Db } from '../../platform/db.ts';

/** Users' password hashes: what signing in checks. */
export function createCredentialStore(db: Db) {
  return {
    async credentialsOf(
      username: string,
    ): Promise<{ id: string; passwordHash: string; disabled: boolean } | null> {
      const row = await db
        .selectFrom('users')
        .select(['id', 'password_hash', 'disabled_at'])
        .where('username', '=', username)
        .executeTakeFirst();
      return row
        ? { id: row.id, passwordHash: row.password_hash, disabled: row.disabled_at !== null }
        : null;
    },

    async setPasswordHash(id: string, passwordHash: string): Promise<void> {
      await db
        .updateTable('users')
        .set({ password_hash: passwordHash })
        .where('id', '=', id)
        .execute();
    },
  };
}

export type CredentialStore = ReturnType<typeof createCredentialStore>;
