import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PULSE_API_RANGE, speaksApiVersion } from '../../src/sdk/api-version.ts';
import {
  API_VERSION,
  compareVersions,
  parseVersion,
  withinCaret,
  type Version,
} from '../../src/shared/version.ts';
import { NEXT_MAJOR, NEXT_PATCH, PREVIOUS } from '../support/versions.ts';

const v = (text: string): Version => {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`not a version: ${text}`);
  return parsed;
};

describe('versions', () => {
  it("is package.json's version, a plain major.minor.patch", () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(API_VERSION).toBe(pkg.version);
    expect(parseVersion(API_VERSION)).not.toBeNull();
  });

  it('reads plain versions only', () => {
    expect(parseVersion('1.20.3')).toEqual({ major: 1, minor: 20, patch: 3 });
    for (const text of ['1.2', '1.2.3-rc.1', 'v1.2.3', '1.2.3 ', '', 'nightly']) {
      expect(parseVersion(text)).toBeNull();
    }
  });

  it('orders by major, then minor, then patch, as numbers', () => {
    expect(compareVersions(v('1.10.0'), v('1.9.9'))).toBeGreaterThan(0);
    expect(compareVersions(v('0.9.9'), v('1.0.0'))).toBeLessThan(0);
    expect(compareVersions(v('2.3.4'), v('2.3.4'))).toBe(0);
  });

  it('takes a caret range as npm does for plain versions', () => {
    expect(withinCaret(v('1.2.3'), v('1.2.3'))).toBe(true);
    expect(withinCaret(v('1.9.0'), v('1.2.3'))).toBe(true);
    expect(withinCaret(v('1.2.2'), v('1.2.3'))).toBe(false);
    expect(withinCaret(v('2.0.0'), v('1.2.3'))).toBe(false);
    // Under 1.0 a minor release may break.
    expect(withinCaret(v('0.1.7'), v('0.1.0'))).toBe(true);
    expect(withinCaret(v('0.2.0'), v('0.1.0'))).toBe(false);
    expect(withinCaret(v('1.0.0'), v('0.1.0'))).toBe(false);
  });

  it('the SDK speaks its own version and the later ones of its range', () => {
    expect(PULSE_API_RANGE).toBe(`^${API_VERSION}`);
    expect(speaksApiVersion(API_VERSION)).toBe(true);
    expect(speaksApiVersion(NEXT_PATCH)).toBe(true);
    expect(speaksApiVersion(PREVIOUS)).toBe(false);
    expect(speaksApiVersion(NEXT_MAJOR)).toBe(false);
    expect(speaksApiVersion('nightly')).toBe(false);
  });
});
