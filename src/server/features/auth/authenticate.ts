import type { Env } from '../../env.ts';
import type { Authenticator } from '../../platform/context.ts';
import type { UserStore } from '../users/store.ts';
import { hashSecret } from './secrets.ts';
import type { SessionStore } from './session-store.ts';
import type { TokenStore } from './token-store.ts';

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
}): Authenticator & { forgetStaleUses(): void } {
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

    /** Forgets uses recorded over a minute ago, so the record stays as small as what is in use. */
    forgetStaleUses() {
      const stale = Date.now() - 60_000;
      for (const [key, at] of touched) if (at < stale) touched.delete(key);
    },
  };
}
