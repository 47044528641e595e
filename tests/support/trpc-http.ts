import { httpRequest, type HttpRequestOptions } from './raw-http.ts';
import { clip, parseJson } from './trpc-wire.ts';

/**
 * Ordinary tRPC calls over HTTP for fixtures and load (plain JSON on the wire, as any client
 * may send): what a call answers, and sign-in returning the session cookie.
 */

export type Headers = Record<string, string>;

/** The request of one query (GET) or mutation (POST). */
export function trpcRequest(
  kind: 'query' | 'mutation',
  path: string,
  input: unknown,
  headers: Headers,
): HttpRequestOptions {
  if (kind === 'query') {
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return { path: `/trpc/${path}${query}`, headers };
  }
  return {
    method: 'POST',
    path: `/trpc/${path}`,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(input ?? {}),
  };
}

/** Calls a procedure and resolves with its data; throws with the answer when it is not a success. */
export async function trpcCall<T = unknown>(
  url: string,
  kind: 'query' | 'mutation',
  path: string,
  input: unknown,
  headers: Headers,
  extra: Partial<HttpRequestOptions> = {},
): Promise<T> {
  const answer = await httpRequest(url, { ...trpcRequest(kind, path, input, headers), ...extra });
  const body = parseJson(answer.body) as { result?: { data?: T } } | undefined;
  if (answer.status !== 200 || body?.result === undefined) {
    throw new Error(`${path} answered HTTP ${answer.status}: ${clip(answer.body)}`);
  }
  return body.result.data as T;
}

/** Signs in and returns the `Cookie` header value (`pulse_session=…`). */
export async function signIn(url: string, username: string, password: string): Promise<string> {
  const answer = await httpRequest(
    url,
    trpcRequest('mutation', 'auth.login', { username, password }, {}),
  );
  const cookie = answer.headers['set-cookie']?.split(';')[0];
  if (answer.status !== 200 || !cookie) {
    throw new Error(`sign-in as ${username} answered HTTP ${answer.status}: ${clip(answer.body)}`);
  }
  return cookie;
}
