import { describe, expect, it } from 'vitest';
import { ConnectionRegistry, type Closable } from '../../src/server/platform/connections.ts';
import type { Metrics } from '../../src/server/platform/telemetry.ts';

function registry(limits: Partial<ConstructorParameters<typeof ConnectionRegistry>[1]> = {}) {
  const metrics = { counts: { sse: 0, ws: 0 } } as unknown as Metrics;
  const connections = new ConnectionRegistry(metrics, {
    perUser: 2,
    subscriptionsPerUser: 3,
    anonymousPerAddress: 2,
    ...limits,
  });
  return { connections, counts: metrics.counts };
}

/** A connection that records why it was closed. */
const conn = () => {
  const closed: string[] = [];
  return {
    closed,
    close: (reason: 'revoked' | 'shutdown') => void closed.push(reason),
  } satisfies Closable & {
    closed: string[];
  };
};

describe('connection bookkeeping', () => {
  it('caps open connections per user and transport, and gives a slot back once when one closes', async () => {
    const { connections, counts } = registry();
    const first = await connections.add('sse', 'u1', { kind: 'session', key: 'k1' }, conn());
    expect(
      await connections.add('sse', 'u1', { kind: 'session', key: 'k1' }, conn()),
    ).not.toBeNull();
    expect(await connections.add('sse', 'u1', { kind: 'session', key: 'k2' }, conn())).toBeNull();
    // Other transports and other users have their own caps; connections without a user none.
    expect(
      await connections.add('ws', 'u1', { kind: 'session', key: 'k1' }, conn()),
    ).not.toBeNull();
    expect(
      await connections.add('sse', 'u2', { kind: 'session', key: 'k3' }, conn()),
    ).not.toBeNull();
    for (let i = 0; i < 5; i++)
      expect(await connections.add('sse', null, null, conn())).not.toBeNull();
    expect(counts).toMatchObject({ sse: 8, ws: 1 });
    first?.();
    first?.();
    expect(counts).toMatchObject({ sse: 7, ws: 1 });
    expect(
      await connections.add('sse', 'u1', { kind: 'session', key: 'k1' }, conn()),
    ).not.toBeNull();
    expect(await connections.add('sse', 'u1', { kind: 'session', key: 'k1' }, conn())).toBeNull();
  });

  it('counts subscriptions per user across transports, up to the cap', () => {
    const { connections } = registry();
    const slots = [1, 2, 3].map(() => connections.takeSubscription('u1'));
    expect(slots.every((slot) => slot !== null)).toBe(true);
    expect(connections.takeSubscription('u1')).toBeNull();
    expect(connections.takeSubscription('u2')).not.toBeNull();
    expect(connections.subscriptionsOf('u1')).toBe(3);
    slots[0]?.();
    slots[0]?.();
    expect(connections.subscriptionsOf('u1')).toBe(2);
    expect(connections.takeSubscription('u1')).not.toBeNull();
  });

  it('lets each address hold a few anonymous sockets', () => {
    const { connections } = registry();
    const a = connections.takeAnonymous('10.0.0.1');
    expect(connections.takeAnonymous('10.0.0.1')).not.toBeNull();
    expect(connections.takeAnonymous('10.0.0.1')).toBeNull();
    expect(connections.takeAnonymous('10.0.0.2')).not.toBeNull();
    a?.();
    expect(connections.takeAnonymous('10.0.0.1')).not.toBeNull();
  });

  it("closes a user's connections, or a credential's, as revoked, and everything at shutdown", async () => {
    const { connections } = registry({ perUser: 10 });
    const aliceSession = conn();
    const aliceToken = conn();
    const bob = conn();
    const anonymous = conn();
    await connections.add('sse', 'alice', { kind: 'session', key: 'session-a' }, aliceSession);
    await connections.add('ws', 'alice', { kind: 'token', key: 'token-a' }, aliceToken);
    await connections.add('ws', 'bob', { kind: 'session', key: 'session-b' }, bob);
    await connections.add('ws', null, null, anonymous);

    connections.closeCredential('token-a');
    expect([aliceSession.closed, aliceToken.closed, bob.closed]).toEqual([[], ['revoked'], []]);
    connections.closeUser('alice');
    expect([aliceSession.closed, aliceToken.closed, bob.closed]).toEqual([
      ['revoked'],
      ['revoked', 'revoked'],
      [],
    ]);
    connections.closeAll();
    expect(bob.closed).toEqual(['shutdown']);
    expect(anonymous.closed).toEqual(['shutdown']);
  });

  it('lists the credentials of open connections once each, for re-checking after an outage', async () => {
    const { connections } = registry({ perUser: 10 });
    const session = { kind: 'session', key: 'session-a' } as const;
    const token = { kind: 'token', key: 'token-a' } as const;
    const first = await connections.add('sse', 'alice', session, conn());
    const second = await connections.add('ws', 'alice', session, conn());
    const byToken = await connections.add('ws', 'alice', token, conn());
    await connections.add('ws', null, null, conn());
    expect(connections.openCredentials()).toEqual([session, token]);
    byToken?.();
    first?.();
    expect(connections.openCredentials()).toEqual([session]);
    second?.();
    expect(connections.openCredentials()).toEqual([]);
  });

  it('forgets a closed connection: revocation no longer reaches it', async () => {
    const { connections } = registry();
    const c = conn();
    const unregister = await connections.add(
      'sse',
      'alice',
      { kind: 'session', key: 'session-a' },
      c,
    );
    unregister?.();
    connections.closeUser('alice');
    connections.closeCredential('session-a');
    connections.closeAll();
    expect(c.closed).toEqual([]);
  });
});
