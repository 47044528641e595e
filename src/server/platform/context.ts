import type { IncomingMessage } from 'node:http';
import type { TokenScope, User } from '../../shared/schemas/auth.ts';
import { parse as parseCookie } from 'cookie';
import type { ClientAddress } from './client-address.ts';

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
  user?: User | null;
  credential?: Credential | null;
  /** False when a browser sent an `Origin` this server does not allow (and no bearer token). */
  originAllowed?: boolean;
  /** The client's address (through trusted proxies), for rate limits. */
  ip?: string;
  /** Sets a cookie on the HTTP response; absent where there is none (WebSocket, callers). */
  setCookie?: ((header: string) => void) | undefined;
  /** Counts a call of a deprecated procedure in this server's `/metrics`; absent for direct callers. */
  countDeprecatedCall?: ((path: string) => void) | undefined;
}

/** The context every procedure sees, whatever the transport; tests build it directly. */
export function createContextInner(opts: ContextInnerOptions) {
  return {
    user: opts.user ?? null,
    credential: opts.credential ?? null,
    originAllowed: opts.originAllowed ?? true,
    ip: opts.ip ?? 'local',
    setCookie: opts.setCookie,
    countDeprecatedCall: opts.countDeprecatedCall,
  };
}

export type Context = ReturnType<typeof createContextInner>;

/** Who a request is: resolved from its credentials by the auth feature's `Authenticator`. */
export interface Authentication {
  user: User | null;
  credential: Credential | null;
  /** The request carried a bearer token (header or `connectionParams.token`), valid or not. */
  bearer: boolean;
}

/** The secrets a request presents: a bearer (or `connectionParams`) token, or a session cookie. */
export interface PresentedSecrets {
  token: string | null;
  sessionSecret: string | null;
}

/**
 * Looks up whose credential a request presents; never throws for bad credentials, which resolve
 * to no user. The auth feature implements it, so the platform knows nothing of how users,
 * sessions and tokens are stored, and the auth feature nothing of HTTP.
 */
export interface Authenticator {
  authenticate(secrets: PresentedSecrets): Promise<Omit<Authentication, 'bearer'>>;
}

function bearerOf(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1] ?? null;
}

/** Which secrets a request presents: a token, when there is one, is the credential (the cookie is not looked at). */
export function presentedSecrets(
  req: IncomingMessage,
  connectionParams: Record<string, unknown> | null,
): PresentedSecrets {
  const paramToken = connectionParams?.['token'];
  const token = bearerOf(req) ?? (typeof paramToken === 'string' ? paramToken : null);
  const cookieHeader = token === null ? req.headers.cookie : undefined;
  const sessionSecret = cookieHeader ? parseCookie(cookieHeader)[SESSION_COOKIE] : undefined;
  return { token, sessionSecret: sessionSecret || null };
}

/** The facts about one request a context is made of; `createContextInner` takes them. */
export type RequestFacts = ContextInnerOptions;

/**
 * The one way every transport makes a procedure's context: HTTP calls and SSE streams per
 * request, a WebSocket once per socket (its upgrade or its first message authenticates it, and
 * tRPC's adapter and the feed fast path share the one context).
 */
export interface ContextFactory {
  /** Resolves the credentials a request (or a socket's first message) presents. */
  authenticate(
    req: IncomingMessage,
    connectionParams: Record<string, unknown> | null,
  ): Promise<Authentication>;
  /**
   * Where a browser request may come from: the server's own origins plus
   * `PULSE_ALLOWED_ORIGINS`. Programs send no `Origin` and pass.
   */
  originAllowed(req: IncomingMessage): boolean;
  /** The client's address: the peer's, or what trusted proxies say they forward (`PULSE_TRUSTED_PROXIES`). */
  clientAddress: ClientAddress;
  /** The context of a request whose credentials are resolved. */
  fromAuthentication(
    req: IncomingMessage,
    authentication: Authentication,
    setCookie?: (header: string) => void,
  ): Context;
  /** Authenticates and builds, for one HTTP request. Never throws for bad credentials. */
  forRequest(
    req: IncomingMessage,
    opts: {
      connectionParams: Record<string, unknown> | null;
      setCookie?: (header: string) => void;
    },
  ): Promise<Context>;
}

/** Who a request without credentials is. */
const ANONYMOUS: Authentication = Object.freeze({ user: null, credential: null, bearer: false });

export function createContextFactory(deps: {
  authenticator: Authenticator;
  /** Whether a browser page from `origin` may call this server. */
  originAllowed: (origin: string) => boolean;
  /** Who a request comes from (see client-address.ts). */
  clientAddress: ClientAddress;
  /** Where calls of deprecated procedures are counted (telemetry). */
  countDeprecatedCall?: (path: string) => void;
}): ContextFactory {
  const originAllowed = (req: IncomingMessage) => {
    const origin = req.headers.origin;
    return origin === undefined || deps.originAllowed(origin);
  };
  const fromAuthentication: ContextFactory['fromAuthentication'] = (
    req,
    { user, credential, bearer },
    setCookie,
  ) =>
    createContextInner({
      user,
      credential,
      // A bearer token is no ambient credential: a foreign page cannot make the browser send it.
      originAllowed: bearer || originAllowed(req),
      ip: deps.clientAddress(req),
      setCookie,
      countDeprecatedCall: deps.countDeprecatedCall,
    });
  const authenticate: ContextFactory['authenticate'] = async (req, connectionParams) => {
    const secrets = presentedSecrets(req, connectionParams);
    if (secrets.token === null && secrets.sessionSecret === null) return ANONYMOUS;
    const { user, credential } = await deps.authenticator.authenticate(secrets);
    return { user, credential, bearer: secrets.token !== null };
  };
  return {
    authenticate,
    originAllowed,
    clientAddress: deps.clientAddress,
    fromAuthentication,
    async forRequest(req, opts) {
      return fromAuthentication(
        req,
        await authenticate(req, opts.connectionParams),
        opts.setCookie,
      );
    },
  };
}
