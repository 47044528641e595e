import type { RequestUrl } from './trpc-internals.ts';

/**
 * A request target of a plain path (letters, digits, `_ . , ~ - /`, not starting `//`, which the
 * URL parser reads as a host, and no `.` or `..` segment) and a query of printable ASCII without
 * `#` or `\`: what the WHATWG URL parser returns unchanged, so its parts are taken as they are.
 */
const PLAIN_TARGET = /^(\/(?!\/)[\w.,~\-/]*)(\?[!"$-[\]-~]*)?$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/**
 * What routing reads of a request target: split by hand when it is plain (every API call is),
 * else parsed as a URL (which normalizes dot segments, escapes and backslashes; it throws on
 * what it cannot read).
 */
export function parseTarget(target: string): RequestUrl {
  const plain = PLAIN_TARGET.exec(target);
  const pathname = plain?.[1];
  if (pathname === undefined || DOT_SEGMENT.test(pathname)) {
    return new URL(target, 'http://localhost');
  }
  const search = plain?.[2] ?? '';
  return {
    pathname,
    search: search === '?' ? '' : search,
    searchParams: new URLSearchParams(search),
  };
}
