import type { Env } from '../../env.ts';
import type { Authenticator, Credential } from '../../platform/context.ts';
import type { UserStore } from '../users/store.ts';
import { hashSecret } from './secrets.ts';
import type { SessionStore } from './session-store.ts';
import type { TokenStore } from './token-store.ts';

/** Credentials re-checked per query. */
const CHECK_CHUNK = 500;

/**
 * Whose credential a request presents: a live token of an enabled user, or else a session that
 * has neither expired nor idled out (`PULSE_SESSION_IDLE_S`). Each use is recorded, throttled:
 * a token at most once a minute, a session often enough that one in use never idles out
 * between two records.
 */
export function createAuthenticator(deps: {
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenStore;
  env: Pick<Env, 'PULSE_SESSION_IDLE_S'>;
}): Authenticator & {
  forgetStaleUses(): void;
  ended(credentials: readonly Pick<Credential, 'kind' | 'key'>[]): Promise<string[]>;
} {
  const { users, sessions, tokens, env } = deps;

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
      if (token !== null) {
        const found = await tokens.byHash(hashSecret(token));
        const user = found ? await users.byId(found.userId) : null;
        if (!found || !user) return { user: null, credential: null };
        touchToken(found.id);
        return {
          user,
          credential: { kind: 'token', key: found.id, scopes: new Set(found.scopes) },
        };
      }
      if (sessionSecret !== null) {
        const idHash = hashSecret(sessionSecret);
        const idleSince = new Date(Date.now() - env.PULSE_SESSION_IDLE_S * 1000).toISOString();
        const userId = await sessions.userIdOf(idHash, idleSince);
        if (userId) touchSession(idHash);
        const user = userId ? await users.byId(userId) : null;
        if (user) return { user, credential: { kind: 'session', key: idHash, scopes: null } };
      }
      return { user: null, credential: null };
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
