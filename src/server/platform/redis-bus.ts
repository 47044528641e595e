import { LocalSubscriptions, type EventBus, type Topic } from './bus.ts';
import type { RedisLink } from './redis.ts';

/** Publishes sent to Redis and not answered yet; past this the rest are dropped (and resynced). */
const MAX_IN_FLIGHT = 5000;
/** After a publish failed while Redis looked up, how soon the others are told to catch up. */
const GAP_RETRY_MS = 1000;
/** The `t` of the message that says "messages from me may have been lost since `since`". */
const GAP = '$gap';

interface Envelope {
  /** The publishing instance: an instance ignores its own messages, delivered locally already. */
  o: string;
  t: Topic | typeof GAP;
  p?: unknown;
  since?: number;
}

/**
 * The bus over Redis pub/sub, for several instances. A message is delivered to this instance's
 * subscribers at once, as by the in-process bus (so an instance keeps serving its own clients
 * whatever Redis does), and published on one Redis channel, tagged with its origin, for the
 * others; each instance holds one subscriber connection, whatever its number of subscriptions.
 *
 * Nothing waits for Redis and nothing is queued for it: while Redis is down (or more than
 * `MAX_IN_FLIGHT` publishes are unanswered) a publish goes to local subscribers only. What the
 * others missed is made good when the link is back: this instance's subscriptions end with
 * `MessagesMayBeLost` once its subscriber is subscribed again (their owners catch up from the
 * database), and an instance that dropped publishes says so on the channel, so the others catch
 * up too. Redis keeps no state of ours: it may come back empty.
 */
export function createRedisBus(deps: {
  link: RedisLink;
  /** Key and channel prefix, so several Pulses (or test runs) can share one Redis. */
  prefix: string;
  /** This instance's unique name. */
  instance: string;
}): EventBus {
  const { link, instance } = deps;
  const channel = `${deps.prefix}bus`;
  const local = new LocalSubscriptions();
  let subscribed = false;
  let closed = false;
  /** Since when this instance may have missed messages (null: it has heard everything). */
  let deafSince: number | null = Date.now();
  /** Since when publishes of this instance did not reach Redis (null: all of them did). */
  let droppedSince: number | null = null;
  let inFlight = 0;
  let gapRetry: NodeJS.Timeout | null = null;
  let warnedMalformed = false;

  const linked = () => subscribed && link.up();

  function dropped() {
    droppedSince ??= Date.now();
  }

  function send(envelope: Envelope, onFailure: () => void): void {
    if (closed) return;
    if (!linked() || inFlight >= MAX_IN_FLIGHT) return onFailure();
    inFlight++;
    link.client.publish(channel, JSON.stringify(envelope)).then(
      () => inFlight--,
      () => {
        inFlight--;
        onFailure();
      },
    );
  }

  /** Tells the others that messages from here may have been lost since `droppedSince`. */
  function announceGap() {
    const since = droppedSince;
    if (since === null || closed) return;
    droppedSince = null;
    send({ o: instance, t: GAP, since }, () => {
      droppedSince = Math.min(droppedSince ?? since, since);
      scheduleGap();
    });
  }

  function scheduleGap() {
    if (gapRetry || closed) return;
    gapRetry = setTimeout(() => {
      gapRetry = null;
      if (linked()) announceGap();
    }, GAP_RETRY_MS);
    gapRetry.unref();
  }

  function subscribe() {
    link.subscriber.subscribe(channel).then(
      () => {
        if (closed || !link.up() || subscribed) return;
        subscribed = true;
        const since = deafSince ?? Date.now();
        deafSince = null;
        // From here on this instance hears everything: what came before, its subscribers'
        // owners read from the database.
        local.loseAll(since);
        announceGap();
      },
      // The connection dropped again; its next `ready` subscribes again.
      () => undefined,
    );
  }

  link.onChange((up) => {
    if (closed) return;
    if (up) return subscribe();
    if (subscribed) {
      subscribed = false;
      deafSince ??= Date.now();
    }
  });
  if (link.up()) subscribe();

  function onMessage(from: string, text: string) {
    if (from !== channel || closed) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      if (!warnedMalformed)
        console.warn(`Ignoring a malformed message on Redis channel ${channel}`);
      warnedMalformed = true;
      return;
    }
    if (envelope.o === instance) return;
    if (envelope.t === GAP) local.loseAll(envelope.since ?? Date.now());
    else local.deliver(envelope.t, envelope.p);
  }
  link.subscriber.on('message', onMessage);

  return {
    async publish(topic, payload) {
      queueMicrotask(() => local.deliver(topic, payload));
      send({ o: instance, t: topic, p: payload }, () => {
        dropped();
        // Redis looks up, but this one failed (timed out, refused): tell the others soon.
        if (linked()) scheduleGap();
      });
    },
    subscribe: (topic, signal) => local.subscribe(topic, signal),
    unavailable: () => (linked() ? [] : ['redis']),
    async close() {
      closed = true;
      if (gapRetry) clearTimeout(gapRetry);
      link.subscriber.off('message', onMessage);
      local.clear();
    },
  };
}
