import type { Env } from '../env.ts';

/** Host names every instance answers for, whatever `HOST` says. */
const LOOPBACK = ['localhost', '127.0.0.1', '::1'];

/** How many allowed `Host` (and `Origin`) values are remembered: a name with many ports must not grow it. */
const SEEN_HOSTS_MAX = 64;

/**
 * Remembers `value` in `seen` when it was found allowed, while `seen` holds fewer than
 * SEEN_HOSTS_MAX values (a refused one never is: callers check `seen` first); returns `allowed`.
 */
function remembered(seen: Set<string>, value: string, allowed: boolean): boolean {
  if (allowed && seen.size < SEEN_HOSTS_MAX) seen.add(value);
  return allowed;
}

/** `example.com:8080` → `{ name: 'example.com', port: '8080' }`; `[::1]:3000` → `{ name: '::1', port: '3000' }`. */
function splitHost(value: string): { name: string; port: string | null } | null {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s/@]+))(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return null;
  const name = (match[1] ?? match[2] ?? '').toLowerCase().replace(/\.$/, '');
  return name === '' ? null : { name, port: match[3] ?? null };
}

/** An origin in the form browsers send it (`scheme://host[:port]`, default ports dropped), or null. */
function normalizeOrigin(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * Which `Host` headers this server answers for (DNS rebinding: a page on a hostile domain that
 * resolves to this machine must not reach it) and which browser origins count as its own or are
 * allowed. Both come from configuration (`HOST`, `PULSE_PUBLIC_HOSTS`, `PULSE_ALLOWED_ORIGINS`)
 * and the listening port, never from what a request claims about itself.
 */
export class HostPolicy {
  private readonly names: Set<string>;
  private readonly origins = new Set<string>();
  /** `Host` headers already found allowed, as sent: every request carries one. */
  private readonly seenHosts = new Set<string>();
  /** `Origin` headers already found allowed, as sent (forgotten when the allowed set is rebuilt). */
  private readonly seenOrigins = new Set<string>();

  constructor(
    private readonly env: Pick<Env, 'HOST' | 'PULSE_PUBLIC_HOSTS' | 'PULSE_ALLOWED_ORIGINS'>,
  ) {
    const configured = [env.HOST, ...env.PULSE_PUBLIC_HOSTS]
      .map(splitHost)
      .filter((h) => h !== null);
    this.names = new Set([...LOOPBACK, ...configured.map((h) => h.name)]);
  }

  /** Called once the server listens, when its port is known. */
  listening(port: number): void {
    this.origins.clear();
    this.seenOrigins.clear();
    const add = (origin: string) => {
      const normal = normalizeOrigin(origin);
      if (normal) this.origins.add(normal);
    };
    const bracket = (name: string) => (name.includes(':') ? `[${name}]` : name);
    for (const name of [...LOOPBACK, splitHost(this.env.HOST)?.name ?? 'localhost']) {
      add(`http://${bracket(name)}:${port}`);
      add(`https://${bracket(name)}:${port}`);
    }
    for (const entry of this.env.PULSE_PUBLIC_HOSTS) {
      const host = splitHost(entry);
      if (!host) continue;
      // A public name without a port is served by a proxy on the scheme's default port, or directly.
      const ports = host.port ? [host.port] : ['', String(port)];
      for (const p of ports) {
        const suffix = p ? `:${p}` : '';
        add(`https://${bracket(host.name)}${suffix}`);
        add(`http://${bracket(host.name)}${suffix}`);
      }
    }
    for (const origin of this.env.PULSE_ALLOWED_ORIGINS) add(origin);
  }

  /** Whether a request's `Host` header names this server (any port: the name is what rebinding forges). */
  hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return false;
    if (this.seenHosts.has(host)) return true;
    const parsed = splitHost(host);
    return remembered(this.seenHosts, host, parsed !== null && this.names.has(parsed.name));
  }

  /** Whether a browser `Origin` is this server's own or explicitly allowed. */
  originAllowed(origin: string): boolean {
    if (this.seenOrigins.has(origin)) return true;
    const normal = normalizeOrigin(origin);
    return remembered(this.seenOrigins, origin, normal !== null && this.origins.has(normal));
  }
}
