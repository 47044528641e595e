import type { Credential } from './context.ts';
import type { Metrics } from './telemetry.ts';

export type Transport = 'sse' | 'ws';

/** An open connection that can be ended from elsewhere (logout, revocation, shutdown). */
export interface Closable {
  close(reason: 'revoked' | 'shutdown'): void;
}

export interface ConnectionLimits {
  /** Open connections per user and transport. */
  perUser: number;
  /** Open subscriptions per user, all transports together. */
  subscriptionsPerUser: number;
  /** WebSockets per address that carry no valid credentials (yet). */
  anonymousPerAddress: number;
}

/**
 * Per-user connection counts of every instance, for caps that hold across instances
 * (`redis-connection-counts.ts`). Best effort by design: an answer that cannot come in time is
 * `null`, and the local count alone decides.
 */
export interface SharedConnectionCounts {
  /**
   * This instance now holds `count` connections for `key` (the new one included): may it, given
   * what the other live instances hold? Records `count` for the others when it may. `null` when
   * the shared count cannot tell soon (Redis down or slow).
   */
  admit(key: string, count: number, max: number): Promise<boolean | null>;
  /** This instance now holds `count` for `key` (0: none); fire and forget. */
  report(key: string, count: number): void;
}

/** Who opened a connection, so that a re-check can close it when its credential ended. */
export type OpenCredential = Pick<Credential, 'kind' | 'key'>;

/** Counts per key with a cap; `take` answers the function that gives the slot back, once. */
class Quota {
  private readonly held = new Map<string, number>();

  constructor(private readonly max: number) {}

  take(key: string): (() => void) | null {
    const n = this.held.get(key) ?? 0;
    if (n >= this.max) return null;
    this.held.set(key, n + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left === 0) this.held.delete(key);
      else this.held.set(key, left);
    };
  }

  count(key: string): number {
    return this.held.get(key) ?? 0;
  }

  entries(): IterableIterator<[string, number]> {
    return this.held.entries();
  }
}

function addTo<K>(index: Map<K, Set<Closable>>, key: K, conn: Closable): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(conn);
}

function removeFrom<K>(index: Map<K, Set<Closable>>, key: K, conn: Closable): void {
  const set = index.get(key);
  set?.delete(conn);
  if (set?.size === 0) index.delete(key);
}

/**
 * Every open SSE stream and WebSocket, indexed by user (for per-user caps, and to close a
 * disabled user's) and by credential (so that logout or revocation closes what the credential
 * opened); plus the per-user subscription and per-address anonymous-socket quotas.
 */
export class ConnectionRegistry {
  private readonly byCredential = new Map<string, Set<Closable>>();
  private readonly credentials = new Map<string, OpenCredential>();
  private readonly byUser = new Map<string, Set<Closable>>();
  private readonly all = new Set<Closable>();
  private readonly perUser: Quota;
  private readonly subscriptions: Quota;
  private readonly anonymous: Quota;

  constructor(
    private readonly metrics: Metrics,
    private readonly limits: ConnectionLimits,
    private readonly shared: SharedConnectionCounts | null = null,
  ) {
    this.perUser = new Quota(limits.perUser);
    this.subscriptions = new Quota(limits.subscriptionsPerUser);
    this.anonymous = new Quota(limits.anonymousPerAddress);
  }

  /**
   * Registers a connection; `null` when the user is at the cap for this transport, on this
   * instance or (with shared counts) on all of them together.
   */
  async add(
    transport: Transport,
    userId: string | null,
    credential: OpenCredential | null,
    conn: Closable,
  ): Promise<(() => void) | null> {
    const key = userId ? `${transport}:${userId}` : null;
    const slot = key ? this.perUser.take(key) : null;
    if (key && !slot) return null;
    if (key && slot && this.shared) {
      const admitted = await this.shared.admit(key, this.perUser.count(key), this.limits.perUser);
      if (admitted === false) {
        slot();
        this.shared.report(key, this.perUser.count(key));
        return null;
      }
    }
    const credentialKey = credential?.key ?? null;
    if (credential) {
      addTo(this.byCredential, credential.key, conn);
      this.credentials.set(credential.key, { kind: credential.kind, key: credential.key });
    }
    if (userId) addTo(this.byUser, userId, conn);
    this.all.add(conn);
    this.metrics.counts[transport]++;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      slot?.();
      if (key) this.shared?.report(key, this.perUser.count(key));
      this.all.delete(conn);
      this.metrics.counts[transport]--;
      if (credentialKey) {
        removeFrom(this.byCredential, credentialKey, conn);
        if (!this.byCredential.has(credentialKey)) this.credentials.delete(credentialKey);
      }
      if (userId) removeFrom(this.byUser, userId, conn);
    };
  }

  /** This instance's per-user connection counts (`transport:userId` → count), for shared counts. */
  userCounts(): IterableIterator<[string, number]> {
    return this.perUser.entries();
  }

  /** The credentials of every open connection, for re-checking them against the database. */
  openCredentials(): OpenCredential[] {
    return [...this.credentials.values()];
  }

  /** A subscription slot of the user's; `null` past `subscriptionsPerUser`. */
  takeSubscription(userId: string): (() => void) | null {
    return this.subscriptions.take(userId);
  }

  /** A slot for a WebSocket from `address` without credentials; `null` past the cap. */
  takeAnonymous(address: string): (() => void) | null {
    return this.anonymous.take(address);
  }

  subscriptionsOf(userId: string): number {
    return this.subscriptions.count(userId);
  }

  closeCredential(key: string): void {
    for (const conn of [...(this.byCredential.get(key) ?? [])]) conn.close('revoked');
  }

  closeUser(userId: string): void {
    for (const conn of [...(this.byUser.get(userId) ?? [])]) conn.close('revoked');
  }

  closeAll(): void {
    for (const conn of [...this.all]) conn.close('shutdown');
  }
}
