import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { openDatabase } from '../../src/server/platform/db.ts';

/**
 * The migrations have shipped: on SQLite they must build exactly the schema they always built
 * (the snapshot is that schema, from before they learned PostgreSQL), whatever they do there.
 */
it('builds the same SQLite schema as the shipped migrations did', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-schema-'));
  try {
    const path = join(dir, 'pulse.db');
    await (await openDatabase(`sqlite:${path}`)).destroy();
    const sqlite = new Database(path, { readonly: true });
    const rows = sqlite
      .prepare(
        "select type, name, sql from sqlite_master where name not like 'kysely_%' order by name",
      )
      .all() as { type: string; name: string; sql: string | null }[];
    sqlite.close();
    const text = rows.map((r) => `-- ${r.type} ${r.name}\n${r.sql ?? '(automatic)'};\n`).join('\n');
    await expect(text).toMatchFileSnapshot('./__snapshots__/sqlite-schema.sql');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
