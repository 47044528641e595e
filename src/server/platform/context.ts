import type { IncomingMessage } from 'node:http';
import { parse as parseCookie } from 'cookie';
import type { TokenScope, User } from '../../shared/schemas/auth.ts';
import type { Env } from '../env.ts';
import type { ConnectionRegistry } from './connections.ts';
import type { HostPolicy } from './hosts.ts';
import type { Metrics } from './telemetry.ts';

export const SESSION_COOKIE = 'pulse_session';

/** How the caller proved who they are; `key` names the credential for revocation. */
export interface Credential {
  kind: 'session' | 'token';
  /** The session's hash or the token's id. */
  key: string;
  /** Token scopes; `null` for sessions, which may do all their role allows. */
  scopes: ReadonlySet<TokenScope> | null;
}

/** The secrets a request presents: a bearer (or `connectionParams`) token, or a session cookie. */
export interface PresentedSecrets {
  token: string | null;
  sessionSecret: string | null;
}

/** Looks up whose credential a request presents; the auth feature implements it. */
export interface Authenticator {
  authenticate(secrets: PresentedSecrets): Promise<{ user: User | null; credential: Credential | null }>;
}

/** What the transports use of the server: its limits, counters, connections, hosts and authenticator. */
export interface TransportDeps {
  env: Env;
  metrics: Metrics;
  connections: ConnectionRegistry;
  hosts: HostPolicy;
  authenticator: Authenticator;
}

export interface ContextInnerOptions {
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
export function isOriginAllowed(services: Pick<TransportDeps, 'hosts'>, req: IncomingMessage): boolean {
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
  services: Pick<TransportDeps, 'authenticator'>,
  req: IncomingMessage,
  connectionParams: Record<string, unknown> | null,
): Promise<{ user: User | null; credential: Credential | null; bearer: boolean }> {
  const paramToken = connectionParams?.['token'];
  const token = bearerOf(req) ?? (typeof paramToken === 'string' ? paramToken : null);
  // A token, when there is one, is the credential: the cookie is not looked at.
  const cookieHeader = token === null ? req.headers.cookie : undefined;
  const sessionSecret = cookieHeader ? parseCookie(cookieHeader)[SESSION_COOKIE] : undefined;
  const found = await services.authenticator.authenticate({ token, sessionSecret: sessionSecret || null });
  return { ...found, bearer: token !== null };
}

type Authentication = Awaited<ReturnType<typeof authenticate>>;
const socketCredentials = new WeakMap<IncomingMessage, Promise<Authentication>>();

/**
 * A WebSocket's credentials, resolved once per socket however many parts ask (the upgrade,
 * tRPC's context, the feed fast path): from its cookie or bearer header, or from the
 * `connectionParams` of its first message.
 */
export function authenticateSocket(
  services: Pick<TransportDeps, 'authenticator'>,
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
  services: Pick<TransportDeps, 'authenticator' | 'hosts'>,
  req: IncomingMessage,
  opts: {
    connectionParams: Record<string, unknown> | null;
    setCookie?: (header: string) => void;
  },
): Promise<Context> {
  const { user, credential, bearer } = await authenticate(services, req, opts.connectionParams);
  return createContextInner({
    user,
    credential,
    originAllowed: bearer || isOriginAllowed(services, req),
    ip: peerAddress(req),
    setCookie: opts.setCookie,
  });
}
