import type { User } from '../../../shared/schemas/auth.ts';
import type { Env } from '../../env.ts';
import type { Authenticator, Credential } from '../../platform/context.ts';
import type { UserStore } from '../users/store.ts';
import { hashSecret } from './secrets.ts';
import type { SessionStore } from './session-store.ts';
import type { TokenStore } from './token-store.ts';

/** Credentials re-checked per query. */
const CHECK_CHUNK = 500;
/** At most this many sessions, and as many tokens, are remembered; past it the oldest go first. */
const CACHE_MAX = 10_000;

/** Who a credential was found to be, and until when that answer may be reused. */
interface Remembered {
  user: User;
  credential: Credential;
  /** ms since the epoch: the soonest of the cache's lifetime, the session's expiry and idle-out. */
  until: number;
}

/**
 * Whose credential a request presents: a live token of an enabled user, or else a session that
 * has neither expired nor idled out (`PULSE_SESSION_IDLE_S`). Each use is recorded, throttled:
 * a token at most once a minute, a session often enough that one in use never idles out
 * between two records.
 *
 * With `cacheMs` > 0, an answer is reused for that long (less when the session expires or idles
 * out sooner), so a signed-in request costs no lookup; `forgetCached` must then be called on
 * every change to a credential or a user (`auth.revoked`, `users.changed`), which is only exact
 * when every such change is heard at once: one instance, whose bus is in process.
 */
export function createAuthenticator(deps: {
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenStore;
  env: Pick<Env, 'PULSE_SESSION_IDLE_S'>;
  cacheMs: number;
}): Authenticator & {
  forgetStaleUses(): void;
  forgetCached(): void;
  ended(credentials: readonly Pick<Credential, 'kind' | 'key'>[]): Promise<string[]>;
} {
  const { users, sessions, tokens, env, cacheMs } = deps;

  // By the secret as presented, one map per kind: a hit needs no hashing.
  const cache = { token: new Map<string, Remembered>(), session: new Map<string, Remembered>() };
  // Bumped by `forgetCached`: a lookup that began before a change must not remember its answer.
  let generation = 0;
  const remember = (
    kind: keyof typeof cache,
    secret: string,
    found: Omit<Remembered, 'until'>,
    until: number,
    at: number,
  ) => {
    if (cacheMs <= 0 || at !== generation) return;
    const remembered = cache[kind];
    if (remembered.size >= CACHE_MAX) remembered.delete(remembered.keys().next().value as string);
    remembered.set(secret, { ...found, until });
  };
  const recall = (kind: keyof typeof cache, secret: string): Remembered | null => {
    const hit = cache[kind].get(secret);
    if (!hit) return null;
    if (hit.until > Date.now()) return hit;
    cache[kind].delete(secret);
    return null;
  };

  // When each token or session was last recorded as used; pruned after each expiry sweep.
  const touched = new Map<string, number>();
  const throttled = (key: string, everyMs: number): boolean => {
    const now = Date.now();
    if ((touched.get(key) ?? 0) > now - everyMs) return true;
    touched.set(key, now);
    return false;
  };
  const touchToken = (id: string) => {
    if (throttled(id, 60_000)) return;
    void tokens.touch(id).catch(() => undefined);
  };
  const touchSession = (idHash: string) => {
    if (throttled(idHash, Math.min(60_000, (env.PULSE_SESSION_IDLE_S * 1000) / 4))) return;
    void sessions.touch(idHash).catch(() => undefined);
  };

  return {
    async authenticate({ token, sessionSecret }) {
      const at = generation;
      if (token !== null) {
        const hit = recall('token', token);
        if (hit) {
          touchToken(hit.credential.key);
          return { user: hit.user, credential: hit.credential };
        }
        const found = await tokens.byHash(hashSecret(token));
        const user = found ? await users.byId(found.userId) : null;
        if (!found || !user) return { user: null, credential: null };
        touchToken(found.id);
        const credential: Credential = {
          kind: 'token',
          key: found.id,
          scopes: new Set(found.scopes),
        };
        remember('token', token, { user, credential }, Date.now() + cacheMs, at);
        return { user, credential };
      }
      if (sessionSecret !== null) {
        const hit = recall('session', sessionSecret);
        if (hit) {
          touchSession(hit.credential.key);
          return { user: hit.user, credential: hit.credential };
        }
        const idHash = hashSecret(sessionSecret);
        const idleMs = env.PULSE_SESSION_IDLE_S * 1000;
        const session = await sessions.live(idHash, new Date(Date.now() - idleMs).toISOString());
        if (session) touchSession(idHash);
        const user = session ? await users.byId(session.userId) : null;
        if (session && user) {
          const credential: Credential = { kind: 'session', key: idHash, scopes: null };
          const until = Math.min(
            Date.now() + cacheMs,
            Date.parse(session.expiresAt),
            Date.parse(session.seenAt) + idleMs,
          );
          remember('session', sessionSecret, { user, credential }, until, at);
          return { user, credential };
        }
      }
      return { user: null, credential: null };
    },

    /** Forgets every remembered answer: a credential ended or a user changed. */
    forgetCached() {
      generation += 1;
      cache.token.clear();
      cache.session.clear();
    },

    /**
     * The keys of those credentials that no longer authenticate (session ended, expired or
     * idle, token revoked, user disabled): after a bus outage, revocations announced meanwhile
     * were not heard, and the connections they opened are closed by this re-check instead.
     */
    async ended(credentials) {
      const idleSince = new Date(Date.now() - env.PULSE_SESSION_IDLE_S * 1000).toISOString();
      const ended: string[] = [];
      for (const kind of ['session', 'token'] as const) {
        const keys = credentials.filter((c) => c.kind === kind).map((c) => c.key);
        for (let i = 0; i < keys.length; i += CHECK_CHUNK) {
          const chunk = keys.slice(i, i + CHECK_CHUNK);
          const live =
            kind === 'session'
              ? await sessions.liveAmong(chunk, idleSince)
              : await tokens.liveAmong(chunk);
          ended.push(...chunk.filter((key) => !live.has(key)));
        }
      }
      return ended;
    },

    /** Forgets uses recorded over a minute ago, so the record stays as small as what is in use. */
    forgetStaleUses() {
      const stale = Date.now() - 60_000;
      for (const [key, at] of touched) if (at < stale) touched.delete(key);
    },
  };
}
