import type { IncomingMessage } from 'node:http';
import { parse as parseCookie } from 'cookie';
import type { TokenScope, User } from '../../shared/schemas/auth.ts';
import type { Services } from '../services.ts';
import { hashSecret } from '../features/auth/secrets.ts';

export const SESSION_COOKIE = 'pulse_session';

/** How the caller proved who they are; `key` names the credential for revocation. */
export interface Credential {
  kind: 'session' | 'token';
  /** The session's hash or the token's id. */
  key: string;
  /** Token scopes; `null` for sessions, which may do all their role allows. */
  scopes: ReadonlySet<TokenScope> | null;
}

export interface ContextInnerOptions {
  services: Services;
  user?: User | null;
  credential?: Credential | null;
  /** False when a browser sent an `Origin` this server does not allow (and no bearer token). */
  originAllowed?: boolean;
  /** The peer's address, for rate limits. */
  ip?: string;
  /** Sets a cookie on the HTTP response; absent where there is none (WebSocket, callers). */
  setCookie?: ((header: string) => void) | undefined;
}

/** The context every procedure sees, whatever the transport; tests build it directly. */
export function createContextInner(opts: ContextInnerOptions) {
  return {
    services: opts.services,
    user: opts.user ?? null,
    credential: opts.credential ?? null,
    originAllowed: opts.originAllowed ?? true,
    ip: opts.ip ?? 'local',
    setCookie: opts.setCookie,
  };
}

export type Context = ReturnType<typeof createContextInner>;

/**
 * Where a browser request may come from: the server's own origins (from `HOST`,
 * `PULSE_PUBLIC_HOSTS` and the port) plus `PULSE_ALLOWED_ORIGINS`. Programs send no `Origin`.
 */
export function isOriginAllowed(services: Services, req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  return origin === undefined || services.hosts.originAllowed(origin);
}

function bearerOf(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1] ?? null;
}

/** Resolves whichever credential the request carries: bearer token, `connectionParams.token`, or the session cookie. */
export async function authenticate(
  services: Services,
  req: IncomingMessage,
  connectionParams: Record<string, unknown> | null,
): Promise<{ user: User | null; credential: Credential | null; bearer: boolean }> {
  const paramToken = connectionParams?.['token'];
  const token = bearerOf(req) ?? (typeof paramToken === 'string' ? paramToken : null);
  if (token !== null) {
    const found = await services.users.tokens.byHash(hashSecret(token));
    const user = found ? await services.users.byId(found.userId) : null;
    if (!found || !user) return { user: null, credential: null, bearer: true };
    services.touchToken(found.id);
    return {
      user,
      credential: { kind: 'token', key: found.id, scopes: new Set(found.scopes) },
      bearer: true,
    };
  }
  const cookieHeader = req.headers.cookie;
  const sessionSecret = cookieHeader ? parseCookie(cookieHeader)[SESSION_COOKIE] : undefined;
  if (sessionSecret) {
    const idHash = hashSecret(sessionSecret);
    const idleSince = new Date(Date.now() - services.env.PULSE_SESSION_IDLE_S * 1000).toISOString();
    const userId = await services.users.sessions.userIdOf(idHash, idleSince);
    if (userId) services.touchSession(idHash);
    const user = userId ? await services.users.byId(userId) : null;
    if (user) return { user, credential: { kind: 'session', key: idHash, scopes: null }, bearer: false };
  }
  return { user: null, credential: null, bearer: false };
}

type Authentication = Awaited<ReturnType<typeof authenticate>>;
const socketCredentials = new WeakMap<IncomingMessage, Promise<Authentication>>();

/**
 * A WebSocket's credentials, resolved once per socket however many parts ask (the upgrade,
 * tRPC's context, the feed fast path): from its cookie or bearer header, or from the
 * `connectionParams` of its first message.
 */
export function authenticateSocket(
  services: Services,
  req: IncomingMessage,
  connectionParams: Record<string, unknown> | null,
): Promise<Authentication> {
  let found = socketCredentials.get(req);
  if (!found) socketCredentials.set(req, (found = authenticate(services, req, connectionParams)));
  return found;
}

export function peerAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Builds the context for an HTTP, SSE or WebSocket request. Never throws for bad credentials. */
export async function createRequestContext(
  services: Services,
  req: IncomingMessage,
  opts: {
    connectionParams: Record<string, unknown> | null;
    setCookie?: (header: string) => void;
  },
): Promise<Context> {
  const { user, credential, bearer } = await authenticate(services, req, opts.connectionParams);
  return createContextInner({
    services,
    user,
    credential,
    originAllowed: bearer || isOriginAllowed(services, req),
    ip: peerAddress(req),
    setCookie: opts.setCookie,
  });
}
