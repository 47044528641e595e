import { API_VERSION, parseVersion } from '../../src/shared/version.ts';

/** Versions around this one (`API_VERSION`), for servers that stand for other deploys. */
const own = parseVersion(API_VERSION);
if (!own) throw new Error(`API_VERSION is not a plain major.minor.patch: ${API_VERSION}`);
const { major, minor, patch } = own;

export const NEXT_PATCH = `${major}.${minor}.${patch + 1}`;
export const NEXT_MINOR = `${major}.${minor + 1}.0`;
/** A release that may break this one's clients, whatever this one is. */
export const NEXT_MAJOR = `${major + 1}.0.0`;
/** The release just before this one. */
export const PREVIOUS =
  patch > 0
    ? `${major}.${minor}.${patch - 1}`
    : minor > 0
      ? `${major}.${minor - 1}.0`
      : `${major - 1}.0.0`;
