import type { EventBus } from '../../platform/bus.ts';
import type { SessionStore } from './session-store.ts';
import type { TokenStore } from './token-store.ts';

/**
 * Ending sessions and revoking tokens: each is deleted (or marked revoked), then announced on
 * `auth.revoked`, so the streams and sockets it opened close on every instance.
 */
export function createAuthActions(deps: {
  sessions: SessionStore;
  tokens: TokenStore;
  bus: EventBus;
}) {
  const { sessions, tokens, bus } = deps;

  async function announce(kind: 'session' | 'token', keys: string[]): Promise<void> {
    for (const key of keys) await bus.publish('auth.revoked', { kind, key });
  }

  return {
    /** Signs one session out. */
    async endSession(idHash: string): Promise<void> {
      await sessions.delete(idHash);
      await announce('session', [idHash]);
    },

    /** Ends every session of a user (signs them out everywhere); returns how many ended. */
    async endSessionsOf(userId: string): Promise<number> {
      const ended = await sessions.deleteAllOf(userId);
      await announce('session', ended);
      return ended.length;
    },

    /**
     * Ends every session of a user who was just disabled, and closes everything they have open,
     * tokens' streams included (their tokens stop working as the user is disabled); returns how
     * many sessions ended.
     */
    async endUser(userId: string): Promise<number> {
      const ended = await sessions.deleteAllOf(userId);
      await bus.publish('auth.revoked', { kind: 'user', key: userId });
      return ended.length;
    },

    /** Ends sessions past their expiry or idle since `idleSince`, at most `limit`; returns how many. */
    async endExpiredSessions(idleSince: string, limit: number): Promise<number> {
      const ended = await sessions.deleteExpired(idleSince, limit);
      await announce('session', ended);
      return ended.length;
    },

    /** Revokes one of the user's tokens and every token made from it; returns the ids revoked. */
    async revokeToken(userId: string, id: string): Promise<string[]> {
      const revoked = await tokens.revoke(userId, id);
      await announce('token', revoked);
      return revoked;
    },

    /** Revokes every token of a user; returns how many. */
    async revokeTokensOf(userId: string): Promise<number> {
      const revoked = await tokens.revokeAllOf(userId);
      await announce('token', revoked);
      return revoked.length;
    },

    /** Announces that a user's teams changed, so what was remembered of them is read again. */
    async userChanged(userId: string): Promise<void> {
      await bus.publish('users.changed', { userId });
    },
  };
}

export type AuthActions = ReturnType<typeof createAuthActions>;
