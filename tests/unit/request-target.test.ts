import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../src/server/platform/request-target.ts';

/** What routing reads of a target, as the WHATWG URL parser reads it. */
function asUrl(target: string) {
  const url = new URL(target, 'http://localhost');
  return { pathname: url.pathname, params: [...url.searchParams] };
}

describe('request targets', () => {
  it('reads every target as the WHATWG URL parser does: path and query parameters', () => {
    const targets = [
      '/',
      '/?',
      '/trpc/auth.me',
      '/trpc/auth.me?',
      '/trpc/auth.me?batch=1&input=%7B%220%22%3A%7B%7D%7D',
      '/trpc/auth.me,system.health?batch=1&input={"0":{}}',
      '/trpc/notifications.onNotification?input=%7B%7D&lastEventId=ntf_1&Last-Event-Id=x',
      '/trpc/x?a=1+2&b=%2B&c=&d',
      "/trpc/x?a=<b>&c=`d`|{e}^&f='g'",
      '/trpc/x?input=%ZZ&y=%',
      '/a//b',
      '/a..b/.hidden/c.',
      // Left to the URL parser: dot segments, hosts, escapes, backslashes, fragments, spaces.
      '//evil.example/trpc/x',
      '/trpc/../admin',
      '/trpc/./auth.me',
      '/trpc/%2e%2e/x',
      '/trpc\\auth.me',
      '/trpc/auth.me#frag',
      '/trpc/x?a b',
      '/trpc/é?x=é',
    ];
    for (const target of targets) {
      const ours = parseTarget(target);
      expect({ pathname: ours.pathname, params: [...ours.searchParams] }, target).toEqual(
        asUrl(target),
      );
    }
  });

  it('takes a plain path as it is, and an empty query as none', () => {
    const target = parseTarget('/trpc/auth.me?');
    expect(target).not.toBeInstanceOf(URL);
    expect(target.search).toBe('');
    expect(parseTarget('/trpc/../x')).toBeInstanceOf(URL);
  });
});
