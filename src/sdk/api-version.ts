import { API_VERSION, compareVersions, parseVersion, withinCaret } from '../shared/version.ts';

/**
 * The API versions this SDK speaks, as a caret range on the version it was built with: that
 * version or a later one of the same major version (under 1.0, of the same minor version, since
 * there a minor release may break). An older server may lack procedures its types promise; a
 * later major version may have changed what they mean.
 */
export const PULSE_API_RANGE = `^${API_VERSION}`;

/** Why a server's API version is not one this SDK speaks. */
export type VersionMismatch = 'server-older' | 'server-newer' | 'unreadable';

/** Why this SDK does not speak API `version`; null when it does. */
function mismatch(version: string): VersionMismatch | null {
  const server = parseVersion(version);
  const own = parseVersion(API_VERSION);
  if (!server || !own) return 'unreadable';
  if (withinCaret(server, own)) return null;
  return compareVersions(server, own) < 0 ? 'server-older' : 'server-newer';
}

/** Whether this SDK speaks the API version a server reports (`system.health`'s `version`). */
export const speaksApiVersion = (version: string): boolean => mismatch(version) === null;

const ADVICE: Record<VersionMismatch, (version: string) => string> = {
  'server-older': (v) =>
    `The server runs Pulse API ${v}, older than this client speaks (${PULSE_API_RANGE}): upgrade the server, or use a client of Pulse ${v}`,
  'server-newer': (v) =>
    `The server runs Pulse API ${v}, which this client does not speak (${PULSE_API_RANGE}): use a client of Pulse ${v}`,
  unreadable: (v) =>
    `The server reports API version '${v}', which this client cannot read (it speaks ${PULSE_API_RANGE})`,
};

/** The server speaks an API version outside `PULSE_API_RANGE`. */
export class PulseVersionError extends Error {
  override name = 'PulseVersionError';
  /** The range this SDK speaks. */
  readonly supported = PULSE_API_RANGE;

  constructor(
    /** The version the server reported. */
    readonly serverVersion: string,
    readonly reason: VersionMismatch,
  ) {
    super(ADVICE[reason](serverVersion));
  }
}

/** What the check needs of a client: `system.health`, which anyone may call. */
export interface HealthClient {
  system: { health: { query(): Promise<{ version: string }> } };
}

/**
 * Asks the server its API version (`system.health`); resolves with it when this SDK speaks it,
 * else rejects with a `PulseVersionError` saying which side is behind. A server that cannot be
 * reached rejects as any call to it would.
 */
export async function checkServerVersion(client: HealthClient): Promise<string> {
  const { version } = await client.system.health.query();
  const reason = mismatch(version);
  if (reason) throw new PulseVersionError(version, reason);
  return version;
}
