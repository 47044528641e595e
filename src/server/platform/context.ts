import type { IncomingMessage } from 'node:http';
import type { TokenScope, User } from '../../shared/schemas/auth.ts';
import type { Services } from '../services.ts';

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

/** Who a request is: resolved from its credentials by the auth feature's `Authenticator`. */
export interface Authentication {
  user: User | null;
  credential: Credential | null;
  /** The request carried a bearer token (header or `connectionParams.token`), valid or not. */
  bearer: boolean;
}

/**
 * Resolves whichever credential a request carries (bearer token, `connectionParams.token`, or the
 * session cookie); never throws for bad credentials, which resolve to no user. Injected, so that
 * the platform knows nothing of how users, sessions and tokens are stored.
 */
export interface Authenticator {
  authenticate(req: IncomingMessage, connectionParams: Record<string, unknown> | null): Promise<Authentication>;
}

/** The facts about one request a context is made of; `createContextInner` takes them. */
export type RequestFacts = Omit<ContextInnerOptions, 'services'>;

export function peerAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * The one way every transport makes a procedure's context: HTTP calls and SSE streams per
 * request, a WebSocket once per socket (its upgrade or its first message authenticates it, and
 * tRPC's adapter and the feed fast path share the one context).
 */
export interface ContextFactory {
  authenticate: Authenticator['authenticate'];
  /**
   * Where a browser request may come from: the server's own origins plus
   * `PULSE_ALLOWED_ORIGINS`. Programs send no `Origin` and pass.
   */
  originAllowed(req: IncomingMessage): boolean;
  /** The context of a request whose credentials are resolved. */
  fromAuthentication(
    req: IncomingMessage,
    authentication: Authentication,
    setCookie?: (header: string) => void,
  ): Context;
  /** Authenticates and builds, for one HTTP request. Never throws for bad credentials. */
  forRequest(
    req: IncomingMessage,
    opts: { connectionParams: Record<string, unknown> | null; setCookie?: (header: string) => void },
  ): Promise<Context>;
}

export function createContextFactory(deps: {
  authenticator: Authenticator;
  /** Whether a browser page from `origin` may call this server. */
  originAllowed: (origin: string) => boolean;
  /** Makes the context of these facts; the composition root binds whatever else it carries. */
  build: (facts: RequestFacts) => Context;
}): ContextFactory {
  const originAllowed = (req: IncomingMessage) => {
    const origin = req.headers.origin;
    return origin === undefined || deps.originAllowed(origin);
  };
  const fromAuthentication: ContextFactory['fromAuthentication'] = (req, { user, credential, bearer }, setCookie) =>
    deps.build({
      user,
      credential,
      // A bearer token is no ambient credential: a foreign page cannot make the browser send it.
      originAllowed: bearer || originAllowed(req),
      ip: peerAddress(req),
      setCookie,
    });
  return {
    authenticate: (req, connectionParams) => deps.authenticator.authenticate(req, connectionParams),
    originAllowed,
    fromAuthentication,
    async forRequest(req, opts) {
      return fromAuthentication(req, await deps.authenticator.authenticate(req, opts.connectionParams), opts.setCookie);
    },
  };
}
