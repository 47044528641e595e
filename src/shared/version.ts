/**
 * The version of Pulse this source is: what `system.health` reports as the API's version, what
 * the web app compares the server's with to notice a deploy, and what the SDK speaks. It is
 * package.json's `version` (a unit test keeps the two equal), written here so that the browser
 * bundle and the client package carry it without reading a file.
 */
export const API_VERSION = '0.1.0';

/** A plain `major.minor.patch`, as Pulse's versions are (no pre-release or build suffix). */
export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** The version `text` names, or null when it is not a plain `major.minor.patch`. */
export function parseVersion(text: string): Version | null {
  const match = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$/.exec(text);
  if (!match) return null;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** Negative when `a` is older than `b`, positive when newer, 0 when they are the same. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/**
 * Whether `version` is in the caret range of `base` (`^base`): `base` or later with the same
 * major version, and under 1.0 the same minor too, since there a minor release may break.
 */
export function withinCaret(version: Version, base: Version): boolean {
  if (compareVersions(version, base) < 0) return false;
  if (base.major > 0) return version.major === base.major;
  return version.major === 0 && version.minor === base.minor;
}
