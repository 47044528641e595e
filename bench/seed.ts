import type { BenchCredentials } from './common.ts';
import { seedUsers } from './bench-proc.ts';

/**
 * A fresh Pulse database for the benchmark, made with the server's own stores: an admin with
 * a `notify` token, and `members` users in one team, each with a `read` token. The admin
 * exists, so the server's first-start seeding does nothing.
 */
export async function seedDatabase(path: string, members: number): Promise<BenchCredentials> {
  return seedUsers(path, members, ['notify'], ['read']);
}
