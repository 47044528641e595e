import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { CliError, UsageError } from './errors.ts';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** What `pulse login` saves: enough to act as that user on that server. */
const credentialsSchema = z.object({
  url: z.string(),
  token: z.string().min(1),
  /** The token's id, so a later login or logout can revoke it. */
  tokenId: z.string().optional(),
  username: z.string().optional(),
});
export type Credentials = z.infer<typeof credentialsSchema>;

/** `$XDG_CONFIG_HOME/pulse/credentials.json`, else `~/.config/pulse/credentials.json`. */
export function credentialsPath(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CONFIG_HOME'];
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(env['HOME'] || homedir(), '.config');
  return join(base, 'pulse', 'credentials.json');
}

export function readCredentials(path: string): Credentials | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  const parsed = credentialsSchema.safeParse(json);
  if (!parsed.success)
    throw new CliError(`${path} is not a Pulse credentials file; run \`pulse login\` again`);
  return parsed.data;
}

/** Writes atomically, readable by the owner only (0600, in a 0700 directory). */
export function writeCredentials(path: string, credentials: Credentials): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // `mode` only applies when the file is created, and the umask may have narrowed it anyway.
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

export function removeCredentials(path: string): void {
  rmSync(path, { force: true });
}

export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`Invalid server URL '${raw}': expected e.g. ${DEFAULT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`Invalid server URL '${raw}': expected http:// or https://`);
  }
  return url.href.replace(/\/+$/, '');
}

export interface Config {
  url: string;
  token: string | undefined;
  /** Where the token came from, for hints when it is refused. */
  tokenSource: 'flag' | 'env' | 'file' | null;
  credentialsPath: string;
  credentials: Credentials | null;
}

/**
 * Server: `--url`, `PULSE_URL`, the saved login's server, the default. Token: `--token`,
 * `PULSE_TOKEN`, the saved one — the latter only for the server it was issued by, so a token
 * never travels to another host.
 */
export function resolveConfig(
  flags: { url?: string | undefined; token?: string | undefined },
  env: NodeJS.ProcessEnv,
): Config {
  const path = credentialsPath(env);
  const saved = readCredentials(path);
  const url = normalizeUrl(flags.url ?? (env['PULSE_URL'] || saved?.url || DEFAULT_URL));
  const savedHere = saved && normalizeUrl(saved.url) === url ? saved : null;
  const envToken = env['PULSE_TOKEN'] || undefined;
  const token = flags.token ?? envToken ?? savedHere?.token;
  const tokenSource =
    flags.token !== undefined ? 'flag' : envToken ? 'env' : savedHere ? 'file' : null;
  return { url, token, tokenSource, credentialsPath: path, credentials: saved };
}
