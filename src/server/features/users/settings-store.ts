import type { Db } from '../../platform/db.ts';

/** Per-user settings, by key (the dashboard layout, say). */
export function createSettingsStore(db: Db) {
  return {
    async get(userId: string, key: string): Promise<string | null> {
      const row = await db
        .selectFrom('user_settings')
        .select('value')
        .where('user_id', '=', userId)
        .where('key', '=', key)
        .executeTakeFirst();
      return row?.value ?? null;
    },
    async set(userId: string, key: string, value: string): Promise<void> {
      await db
        .insertInto('user_settings')
        .values({ user_id: userId, key, value })
        .onConflict((oc) => oc.columns(['user_id', 'key']).doUpdateSet({ value }))
        .execute();
    },
  };
}

export type SettingsStore = ReturnType<typeof createSettingsStore>;
