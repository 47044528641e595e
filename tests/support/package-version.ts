import { readFileSync } from 'node:fs';

/** The package's version: the API version `system.health` reports (`npm run api:accept` raises it). */
export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
