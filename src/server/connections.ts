import type { Metrics } from './metrics.ts';

export type Transport = 'sse' | 'ws';

/** An open connection that can be ended from elsewhere (logout, revocation, shutdown). */
export interface Closable {
  close(reason: 'revoked' | 'shutdown'): void;
}

/**
 * Every open SSE stream and WebSocket, indexed by user (for per-user caps) and by credential
 * (so that logout or revocation closes what the credential opened).
 */
export class ConnectionRegistry {
  private readonly byCredential = new Map<string, Set<Closable>>();
  private readonly perUser = new Map<string, number>();
  private readonly all = new Set<Closable>();

  constructor(
    private readonly metrics: Metrics,
    private readonly maxPerUser: number,
  ) {}

  /** Registers a connection; `null` when the user is at the cap for this transport. */
  add(
    transport: Transport,
    userId: string | null,
    credentialKey: string | null,
    conn: Closable,
  ): (() => void) | null {
    const userKey = userId ? `${transport}:${userId}` : null;
    if (userKey) {
      const n = this.perUser.get(userKey) ?? 0;
      if (n >= this.maxPerUser) return null;
      this.perUser.set(userKey, n + 1);
    }
    if (credentialKey) {
      let set = this.byCredential.get(credentialKey);
      if (!set) this.byCredential.set(credentialKey, (set = new Set()));
      set.add(conn);
    }
    this.all.add(conn);
    this.metrics.counts[transport]++;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.all.delete(conn);
      this.metrics.counts[transport]--;
      if (userKey) {
        const n = (this.perUser.get(userKey) ?? 1) - 1;
        if (n === 0) this.perUser.delete(userKey);
        else this.perUser.set(userKey, n);
      }
      if (credentialKey) {
        const set = this.byCredential.get(credentialKey);
        set?.delete(conn);
        if (set?.size === 0) this.byCredential.delete(credentialKey);
      }
    };
  }

  closeCredential(key: string): void {
    for (const conn of [...(this.byCredential.get(key) ?? [])]) conn.close('revoked');
  }

  closeAll(): void {
    for (const conn of [...this.all]) conn.close('shutdown');
  }
}
