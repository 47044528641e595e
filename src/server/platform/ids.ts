import { randomBytes } from 'node:crypto';

/** A short random id with a readable prefix: `usr_3k9x0…`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

export const nowIso = (): string => new Date().toISOString();
