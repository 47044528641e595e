import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Who a request comes from, for the limits kept per address (sign-in attempts, WebSockets
 * without credentials). Behind a balancer every request comes from the balancer, so its
 * `X-Forwarded-For` is the only way to tell clients apart; but anyone can send that header, so
 * it is read only when the peer is one of `PULSE_TRUSTED_PROXIES`. The list is then walked
 * from its right end (the hop nearest to us) past every trusted proxy; the first address that
 * is not one is the client (whatever a client wrote further left is its own claim, unchecked).
 */
export type ClientAddress = (req: IncomingMessage) => string;

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) → `10.0.0.1`; others as they are. */
export function normalizeAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return mapped?.[1] ?? lower;
}

/** The addresses an `X-Forwarded-For` header lists (several headers count as one list), oldest first. */
function forwardedFor(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const joined = Array.isArray(header) ? header.join(',') : header;
  return joined
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

export function createClientAddress(trustedProxies: readonly string[]): ClientAddress {
  const trusted = new Set(trustedProxies.map(normalizeAddress));
  return (req) => {
    const peer = normalizeAddress(req.socket.remoteAddress ?? 'unknown');
    if (!trusted.has(peer)) return peer;
    let client = peer;
    for (const hop of forwardedFor(req.headers['x-forwarded-for']).reverse()) {
      const address = normalizeAddress(hop);
      // Not an address (a name, `unknown`, garbage): nothing to its left can be believed.
      if (isIP(address) === 0) break;
      client = address;
      if (!trusted.has(address)) break;
    }
    return client;
  };
}
