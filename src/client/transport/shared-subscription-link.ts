import type { TRPCClientError, TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { runLinks } from './run-links.ts';
import type { Envelope } from './shared-subscription-codec.ts';
import { createTabRelay, type RelayedStatus, type TabRole } from './shared-subscription-relay.ts';

/**
 * One set of real subscriptions per browser, shared by all of its tabs.
 *
 * Why: on HTTP/1.1 a browser allows about six connections per origin, shared by every tab,
 * and each SSE subscription holds one open. Five tabs with two streams each would starve
 * the tabs' own queries. So one tab, the leader (holder of a Web Lock), opens the streams
 * and relays what they yield to the other tabs over a BroadcastChannel
 * (shared-subscription-relay.ts, speaking shared-subscription-codec.ts). Every tab's
 * `useSubscription` goes through this link unchanged; only the leader's reaches the network.
 * See docs/decisions/0002-one-sse-stream-per-browser.md.
 */
export interface SharedSubscriptionLinkOptions<TRouter extends AnyRouter> {
  /** Names the leader lock, the tab locks and the channel; tabs sharing it share streams. */
  name?: string;
  /** The links that open a real subscription (retry, transport). Only the leader runs them. */
  upstream: TRPCLink<TRouter>[];
  /** Told whenever this tab's role changes (for the UI, and to show desktop notifications once). */
  onRoleChange?: (role: TabRole) => void;
  /** The upstream's state for the header, relayed from the leader to the other tabs. */
  status?: RelayedStatus;
}

export function sharedSubscriptionLink<TRouter extends AnyRouter>(
  opts: SharedSubscriptionLinkOptions<TRouter>,
): TRPCLink<TRouter> {
  return (runtime) => {
    const upstream = opts.upstream.map((link) => link(runtime));
    const supported =
      typeof navigator !== 'undefined' &&
      typeof navigator.locks?.request === 'function' &&
      typeof BroadcastChannel === 'function';
    if (!supported) {
      opts.onRoleChange?.('standalone');
      const status = opts.status;
      if (status) {
        status.shown.set(status.local.get());
        status.local.subscribe(() => status.shown.set(status.local.get()));
      }
      return ({ op }) => runLinks(upstream, op);
    }
    const tabs = createTabRelay<TRouter>(
      opts.name ?? 'pulse-live',
      upstream,
      opts.onRoleChange,
      opts.status,
    );
    return ({ op }) => {
      if (op.type !== 'subscription') return runLinks(upstream, op);
      return observable<Envelope<TRouter>, TRPCClientError<TRouter>>((observer) =>
        tabs.subscribe(op, observer),
      );
    };
  };
}
